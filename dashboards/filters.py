"""The target-group and period panel. Its state lives in the URL: "Toepassen" writes the choice into the
query string, and every chart and table of the page follows it — so a copied link reproduces the view.

On every screen size the panel is one line while collapsed (the default): the chosen target group in words
(`active_filter_summary`) and a "Wijzig" button (`aria-expanded`, `aria-controls`) that opens the fields with
Toepassen and Wissen; so the results start within the first screen. Printed, only that line is shown
(assets/print.css).

Choices take effect on the button, not on every change, so that keyboard and screen-reader users are not
moved around while they choose (WCAG 3.2.2, on input). The button's callback runs in the browser
(assets/perispiegel.js, `applyFilters`) with the panel's names and values from `filter_constants`; the panel's
callbacks are Dash hooks, like the frame's (dashboards/layout.py). Dimensions, values and their labels come from
`queries.filters.DIMENSIONS`, the same table the engine and the API validate against.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State, hooks, html

from dashboards.clientside import FRAME_CONSTANTS, VIEW_SEARCH, clientside
from dashboards.view_state import ViewState, view_from_search
from queries.filters import DIMENSIONS, FILTER_PARAMETERS, PERIOD_PARAMETER
from queries.status import DataStatus
from texts import text
from texts.formatting import format_month
from wording.target_group import selection_texts

NO_RESTRICTION = "all"  # the select value meaning "no restriction" (an empty value would show a blank select)
PERIOD_CONTROLS = ("period_from", "period_to")
CONTROL_KEYS = (*PERIOD_CONTROLS, *DIMENSIONS)
FILTER_TOGGLE = "filter-toggle"  # "Wijzig": opens and closes the panel's fields
FILTER_FIELDS = "filter-fields"  # the fields with Toepassen and Wissen, hidden while the panel is collapsed


def months_between(first: str, last: str) -> list[str]:
    """Every month "YYYY-MM" from `first` to `last`, inclusive."""
    year, month = map(int, first.split("-"))
    end = tuple(map(int, last.split("-")))
    months = []
    while (year, month) <= end:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def labelled_select(key: str, label: str, options: list[dict], value: str) -> html.Div:
    control_id = f"filter-{key}"
    return html.Div(
        [
            html.Label(label, htmlFor=control_id, className="form-label"),
            dbc.Select(id=control_id, options=options, value=value, className="filter-select"),
        ],
        className="filter-field",
    )


def filter_panel(view: ViewState, status: DataStatus | None) -> html.Section:
    language = view.language
    filters = view.filters
    months = months_between(status.period_from, status.period_to) if status and status.period_from and \
        status.period_to else []
    month_options = [{"label": text("all", language), "value": NO_RESTRICTION}] + [
        {"label": format_month(month, language), "value": month} for month in months
    ]
    fields = [
        labelled_select("period_from", text("period_from", language), month_options,
                        filters.period_from or NO_RESTRICTION),
        labelled_select("period_to", text("period_to", language), month_options, filters.period_to or NO_RESTRICTION),
    ]
    chosen = dict(filters.selections)
    for name, dimension in DIMENSIONS.items():
        labels = dimension.value_labels(language)
        options = [{"label": text("all", language), "value": NO_RESTRICTION}]
        options += [{"label": label, "value": value} for value, label in labels.items()]
        selected = chosen.get(name, ())
        if len(selected) > 1:  # a link or the API may combine values; the panel shows that combination as one choice
            options.append({"label": " + ".join(labels[value] for value in selected), "value": ",".join(selected)})
        fields.append(labelled_select(name, dimension.label(language), options,
                                      ",".join(selected) or NO_RESTRICTION))
    return html.Section(
        [
            # Collapsed: one line, the chosen target group in words and "Wijzig" (a disclosure button, WCAG 4.1.2).
            html.Div(
                [
                    html.H2(text("filters", language), id="filters-heading"),
                    html.P(active_filter_summary(view), id="active-filters", className="active-filters",
                           role="status"),
                    html.Button(text("filter_panel.change", language), id=FILTER_TOGGLE, type="button",
                                className="btn btn-outline-primary btn-sm filter-toggle",
                                **{"aria-expanded": "false", "aria-controls": FILTER_FIELDS}),
                ],
                className="filter-summary",
            ),
            html.Div(
                [
                    html.Div(fields, className="filter-grid"),
                    html.Div(
                        [
                            dbc.Button(text("apply_filters", language), id="filter-apply", color="primary",
                                       className="me-2"),
                            dbc.Button(text("reset_filters", language), id="filter-reset", color="dark",
                                       outline=True),
                        ],
                        className="filter-actions",
                    ),
                ],
                id=FILTER_FIELDS,
                className="filter-fields",
                hidden=True,
            ),
        ],
        className="filter-panel page-section",
        id="filters",
        **{"aria-labelledby": "filters-heading"},
    )


def active_filter_summary(view: ViewState) -> str:
    """The chosen target group in words, e.g. "Gekozen doelgroep: maart 2024 – mei 2024; Pariteit: Nullipara"."""
    language = view.language
    filters = view.filters
    parts = []
    if filters.period_from and filters.period_to:
        parts.append(f"{text('period', language)}: {format_month(filters.period_from, language)} – "
                     f"{format_month(filters.period_to, language)}")
    parts += selection_texts(filters.selections, language)
    if not parts:
        return text("no_filters", language)
    return f"{text('active_filters', language)}: " + "; ".join(parts)


def filter_constants() -> dict:
    """What the panel's script (assets/perispiegel.js, `applyFilters`) needs to know, for the frame's constants."""
    return {"control_keys": list(CONTROL_KEYS), "filter_parameters": list(FILTER_PARAMETERS),
            "no_restriction": NO_RESTRICTION, "period_parameter": PERIOD_PARAMETER}


# Apply and Clear run in the browser (assets/perispiegel.js, `applyFilters`): they rewrite the address in place and
# hand the new query string to the `view-search` store, which every chart and table of the page follows; the summary
# of the chosen target group follows the store. Dash hooks, like the frame's callbacks: every app gets them.
hooks.clientside_callback(
    clientside("applyFilters"),
    Output(VIEW_SEARCH, "data"),
    *(Output(f"filter-{key}", "value") for key in CONTROL_KEYS),
    Input("filter-apply", "n_clicks"),
    Input("filter-reset", "n_clicks"),
    State(VIEW_SEARCH, "data"),
    State("filter-period_from", "options"),
    State(FRAME_CONSTANTS, "data"),
    *(State(f"filter-{key}", "value") for key in CONTROL_KEYS),
    prevent_initial_call=True,
)


# "Wijzig" opens and closes the fields; Toepassen and Wissen close them again, and focus goes back to "Wijzig"
# (assets/perispiegel.js, `togglePanel`), so a keyboard user is where the panel can be opened again.
hooks.clientside_callback(
    clientside("togglePanel"),
    Output(FILTER_FIELDS, "hidden"),
    Output(FILTER_TOGGLE, "aria-expanded"),
    Input(FILTER_TOGGLE, "n_clicks"),
    Input("filter-apply", "n_clicks"),
    Input("filter-reset", "n_clicks"),
    State(FILTER_FIELDS, "hidden"),
    prevent_initial_call=True,
)


@hooks.callback(Output("active-filters", "children"), Input(VIEW_SEARCH, "data"), prevent_initial_call=True)
def summarise_filters(search: str | None) -> str:
    return active_filter_summary(view_from_search(search))
