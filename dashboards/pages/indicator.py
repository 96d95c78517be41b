"""Indicator detail (/indicator/<id>): one indicator for the viewer's organisation, in every view the product
brief asks for — summary with counts, trend with confidence band and national line, funnel plot of all
organisations of the same type (own highlighted, peers anonymous unless the viewer may name them), breakdown by
a target-group dimension, the case-mix adjusted O/E, and the definition.

Every figure is shown as the engine discloses it (queries/disclosure.py): the viewer's own exactly, others' named
figures (national, the comparator, the VSV) with their counts marked "≈", peers without counts — the funnel draws
them at the middle of their size band and its table gives the band — each with a note in words saying why. With
fewer than five peers (`few_peers`) the engine withholds them, the comparator's rate and the funnel's limits: the
funnel says so in place of the chart, and the summary's verdict says its comparator's rate is not shown. The
summary names each row by what it is: the organisation shown by its name (whoever looks at it), its VSV, the
comparator and national; a VSV's own figures are its VSV's, so it has no second "VSV" row.

The page's own choices (trend grain, overdispersion, breakdown dimension) are kept in the URL too (`grain=`,
`overdispersion=`, `by=`): a change redraws only its chart and rewrites the address with `history.replaceState`,
so focus stays on the control (WCAG 3.2.2) and a copied link still reproduces the view.
"""

from __future__ import annotations

from collections.abc import Callable

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, dcc, html, no_update

from dashboards.charts import (
    accessible_chart,
    breakdown_figure,
    control_chart_figure,
    empty_state,
    funnel_figure,
    rule_text,
    trend_figure,
)
from dashboards.clientside import FRAME_CONSTANTS, clientside
from dashboards.downloads import download_links
from dashboards.filters import filter_panel
from dashboards.indicator_access import IndicatorRequest, default_grain, has_rate, indicator_request
from dashboards.layout import (
    VIEW_SEARCH,
    PageContext,
    counted_terms,
    data_table,
    loading,
    organisation_heading,
    page_path,
    radio_group,
    render_page,
    section,
    table_data,
    viewing_as_note,
)
from dashboards.tiles import disclosure_notes, figure_cell, provisional_notice, verdict_badge
from dashboards.view_state import ViewState, view_from_query
from queries.catalogue import CATALOGUE, INDICATORS
from queries.engine import GRAINS, LEVELS, NoDataError
from queries.filters import DIMENSIONS
from queries.judgement import DEFAULT_OVERDISPERSION, MEASURES, OVERDISPERSION_CHOICES
from texts import code_label, text
from texts.formatting import format_interval, format_number, format_period, format_rate
from wording.figures import (
    count_text,
    counts_text,
    disclosure_note_texts,
    disclosure_text,
    few_peers,
    funnel_drawn,
    funnel_position,
    indicator_name,
    interval_text,
    is_peer,
    judged_against,
    rate_text,
    verdict_text,
)
from wording.provisional import is_provisional

DEFAULT_DIMENSION = "parity"
DETAIL_PARTS = ("summary", "trend", "control", "funnel", "breakdown", "adjusted")


def page_options(query: dict, default_trend_grain: str) -> dict[str, str]:
    """The page's own choices from the query string; anything unknown falls back to the default."""
    def single(name: str) -> str | None:
        value = query.get(name)
        return value[0] if isinstance(value, list) and value else value if isinstance(value, str) else None

    grain = single("grain")
    overdispersion = single("overdispersion")
    dimension = single("by")
    return {
        "grain": grain if grain in GRAINS else default_trend_grain,
        "overdispersion": overdispersion if overdispersion in OVERDISPERSION_CHOICES else DEFAULT_OVERDISPERSION,
        "by": dimension if dimension in DIMENSIONS else DEFAULT_DIMENSION,
    }


def layout(indicator_id: str | None = None, **query: object) -> html.Div:
    # A route always passes an id; a call without one (nothing in this app makes it) gets the first indicator.
    indicator_id = indicator_id if indicator_id is not None else INDICATORS[0].id
    definition = CATALOGUE.get(indicator_id)
    language = view_from_query(query).language
    path = page_path("indicator", indicator_id=indicator_id)
    title = definition.name(language) if definition else None
    return render_page("indicator", query, lambda view, context: content(view, context, indicator_id, query),
                       path=path, title=title)


# `known`: an address with an id the catalogue does not have is answered with status 404 (layout.page_found).
dash.register_page(__name__, path_template="/indicator/<indicator_id>", name="indicator", order=2, in_navigation=False,
                   layout=layout, known=lambda indicator_id: indicator_id in CATALOGUE)
app = dash.get_app()  # the app Dash Pages runs this module for (dashboards/pages/__init__.py)


def content(view: ViewState, context: PageContext, indicator_id: str | None, query: dict) -> list:
    language = view.language
    overview_href = page_path("overview") + view.query_string()
    back = dcc.Link(text("back_to_overview", language), href=overview_href, id="detail-back", className="back-link")
    if indicator_id not in CATALOGUE:
        return [html.P(text("unknown_indicator", language), id="empty-state"), back]
    status = context.status
    options = page_options(query, default_grain(view.filters, status.period_from if status else None,
                                                status.period_to if status else None))
    definition = CATALOGUE[indicator_id].as_dict()
    return [
        organisation_heading(view, context, "detail-organisation"),
        viewing_as_note(view, context, "detail-viewing-as"),
        back,
        filter_panel(view, context.status),
        section(text("summary", language), loading(html.Div(id="detail-summary-body")), section_id="detail-summary"),
        section(text("trend", language), radio_group("detail-grain", text("grain", language),
                                                [(grain, code_label("grain", grain, language)) for grain in GRAINS],
                                                options["grain"]),
                loading(html.Div(id="detail-trend-body")), section_id="detail-trend"),
        section(text("control_chart", language), html.P(text("control_chart_intro", language)),
                loading(html.Div(id="detail-control-body")), section_id="detail-control"),
        section(text("funnel", language),
                html.P(text("funnel_intro", language) if view.org_code else text("funnel_intro_national", language)),
                radio_group("detail-overdispersion", text("overdispersion", language),
                            [(method, code_label("overdispersion", method, language))
                             for method in OVERDISPERSION_CHOICES],
                            options["overdispersion"], help_text=text("overdispersion_help", language), inline=False),
                loading(html.Div(id="detail-funnel-body")), section_id="detail-funnel"),
        section(text("breakdown", language),
                html.Div([html.Label(text("breakdown_by", language), htmlFor="detail-dimension",
                                     className="form-label"),
                          dbc.Select(id="detail-dimension", value=options["by"], className="filter-select",
                                     options=[{"label": dimension.label(language), "value": name}
                                              for name, dimension in DIMENSIONS.items()])],
                         className="filter-field page-control"),
                loading(html.Div(id="detail-breakdown-body")), section_id="detail-breakdown"),
        section(text("adjusted", language), html.P(text("adjusted_intro", language)),
                loading(html.Div(id="detail-adjusted-body")), section_id="detail-adjusted"),
        definition_section(definition, view),
        dcc.Store(id="detail-indicator", data=indicator_id),
        dcc.Store(id="detail-url-sync"),
    ]


def definition_section(definition: dict, view: ViewState) -> html.Section:
    language = view.language
    facts = [
        (text("definition", language), code_label("indicator_definition", definition["id"], language)),
        *counted_terms(definition, language, none="—"),
        (text("unit", language), definition["unit"]),
        (text("direction", language), code_label("direction", definition["direction"], language)),
        (text("counted_per", language),
         text("per_woman", language) if definition["woman_level"] else text("per_child", language)),
        (text("source", language), definition["source"]),
    ]
    href = page_path("definitions") + view.query_string() + f"#indicator-{definition['id']}"
    return section(
        text("definition", language),
        html.Dl([part for term, value in facts for part in (html.Dt(term), html.Dd(value))], className="facts",
                id="detail-definition"),
        dcc.Link(text("all_definitions", language), href=href),
        section_id="detail-definition-section",
    )


# ---- callbacks -----------------------------------------------------------------------------------------------

# One callback for the whole page: every part follows the view (the filter panel's Apply), and a part with
# its own control (grain, overdispersion, breakdown dimension) also that control, redrawing only itself. One
# answer instead of five: the browser's work per answer grows with the number of components on the page, so
# five answers cost five times the bookkeeping for one filter change.
@app.callback(
    *(Output(f"detail-{part}-body", "children") for part in DETAIL_PARTS),
    Input(VIEW_SEARCH, "data"),
    Input("detail-grain", "value"),
    Input("detail-overdispersion", "value"),
    Input("detail-dimension", "value"),
    State("detail-indicator", "data"),
)
def show_detail(search: str | None, grain: str | None, overdispersion: str | None, dimension: str | None,
                indicator_id: str) -> list:
    # The overdispersion choice makes the verdict: the summary, the funnel and the case-mix block follow it.
    own_control = {"detail-grain": ("trend",), "detail-overdispersion": ("summary", "funnel", "adjusted"),
                   "detail-dimension": ("breakdown",)}
    changed = own_control.get(ctx.triggered_id)
    method = overdispersion if overdispersion in OVERDISPERSION_CHOICES else DEFAULT_OVERDISPERSION
    builders = {
        "summary": lambda r, d: summary_body(r, d, method),
        "trend": lambda r, d: trend_body(r, d, grain if grain in GRAINS else "year"),
        "control": control_body,
        "funnel": lambda r, d: funnel_body(r, d, method),
        "breakdown": lambda r, d: breakdown_body(r, d, dimension or DEFAULT_DIMENSION),
        "adjusted": lambda r, d: adjusted_body(r, d, method),
    }
    if indicator_id not in CATALOGUE:  # only a crafted request; the page itself says "unknown indicator"
        return [no_update] * len(DETAIL_PARTS)
    request = indicator_request(search)
    definition = CATALOGUE[indicator_id].as_dict()
    return [guarded(request, definition, builders[part]) if changed is None or part in changed else no_update
            for part in DETAIL_PARTS]


# "Back to the overview" follows the view, like the header's navigation.
app.clientside_callback(clientside("followLink"), Output("detail-back", "href"), Input(VIEW_SEARCH, "data"),
                        State(FRAME_CONSTANTS, "data"), State("detail-back", "href"), prevent_initial_call=True)


# Keep the page's own choices in the address without a page reload (see the module docstring), from the
# moment the page is drawn: the address then always says which grain is shown, even after a filter change
# whose period would default to another grain; the language switch keeps them too.
app.clientside_callback(
    clientside("keepPageChoices"),
    Output("detail-url-sync", "data"),
    Output("language-switch", "href", allow_duplicate=True),
    Input("detail-grain", "value"), Input("detail-overdispersion", "value"), Input("detail-dimension", "value"),
    State(FRAME_CONSTANTS, "data"),
    prevent_initial_call="initial_duplicate",
)


def guarded(request: IndicatorRequest, definition: dict, build: Callable[[IndicatorRequest, dict], list]) -> list:
    """Build a part of the page, or say plainly that no data version is published."""
    try:
        return build(request, definition)
    except NoDataError:
        return [empty_state(text("no_published_data", request.view.language))]


def own_label(request: IndicatorRequest) -> str:
    return request.org_name or text("own", request.view.language)


def summary_body(request: IndicatorRequest, definition: dict, overdispersion: str) -> list:
    language = request.view.language
    answer = request.engine.overview(request.viewer, request.view.filters, org_code=request.org_code,
                                     overdispersion=overdispersion)
    row = next((row for row in answer["rows"] if row["indicator"]["id"] == definition["id"]), None)
    level = request.org_type if request.org_type in LEVELS else None
    if row is None:  # not an indicator of this type's overview (the catalogue's applies_to)
        return [empty_state(text("indicator_not_for_type", language,
                                 organisations=code_label("org_type_plural", level or "hospital", language)),
                            "detail-not-for-type")]
    unit = definition["unit"]
    own, vsv = row["organisation"], row["vsv"]
    # Each verdict names what it is judged against (the organisation: all organisations of its type; the VSV: all
    # VSVs); the comparators and national are context.
    parts = [(own_label(request), own, True)]
    if request.org_type != "vsv":  # a VSV's own figures are its VSV's: a row "VSV" would only repeat them
        parts.append((text("vsv", language) + (f": {vsv['label']}" if vsv else ""), vsv, True))
    if row.get("reference") and level:
        parts.append((code_label("reference", level, language), row["reference"], False))
    parts.append((text("national", language), row["national"], False))
    table_rows = [
        [label, rate_text(cell, unit, language, request.minimum), interval_text(cell, unit, language),
         count_text(cell["numerator"], cell, language), count_text(cell["denominator"], cell, language),
         f"{verdict_text(cell, language)} ({judged_against(cell, unit, language)})" if judged and cell.get("verdict")
         else "—"]
        for label, cell, judged in parts if cell
    ]
    headers = [text("organisation", language), text("rate", language), text("interval", language),
               text("numerator", language), text("denominator", language), text("verdict", language)]
    headline = [
        figure_cell(own or row["national"], unit, language, request.minimum, "detail-headline"),
        verdict_badge(own, language, "detail-verdict") if own else None,
        *([html.Span(code_label("flag", own["flag"], language), className=f"flag flag-{own['flag']}",
                     id="detail-flag")] if own and own.get("flag") else []),
    ]
    notes = []
    if own and not has_rate(own):
        notes.append(empty_state(text("empty_selection", language, minimum=request.minimum), "detail-empty"))
    elif own and own.get("verdict"):
        judged_by = own["judgement"]
        comparator = code_label("comparator_group", judged_by["comparator"], language)
        method = code_label("limits_method", judged_by["method"], language)
        # Beside fewer than five peers the engine gives the verdict but not the comparator's rate (`few_peers`).
        line = (text("verdict_method_few_peers", language, comparator=comparator, method=method)
                if judged_by["centre"] is None else
                text("verdict_method", language, comparator=comparator,
                     rate=format_rate(judged_by["centre"], unit, language), method=method))
        notes.append(html.P(line, id="detail-verdict-method", className="verdict-method"))
    parts_shown = [html.Div(headline, className="detail-headline"), *notes,
                   *provisional_notice([(label, cell) for label, cell, _ in parts], language, "detail-provisional"),
                   data_table(text("summary", language), headers, table_rows, numeric_columns=range(1, 5),
                              table_id="detail-summary-table"),
                   *disclosure_notes([cell for _, cell, _ in parts], language, "detail-summary-note")]
    if own and own.get("sensitivity"):
        parts_shown.append(sensitivity_table(own, language))
    return parts_shown


def sensitivity_table(cell: dict, language: str) -> html.Div:
    """The verdict under crude / case-mix adjusted × exact / widened limits, and whether it depends on them."""
    sensitivity = cell["sensitivity"]
    widened = code_label("overdispersion", sensitivity["widened_method"], language)
    headers = [text("measure", language), text("sensitivity_exact", language),
               text("sensitivity_widened", language, method=widened)]
    rows = [[code_label("measure", measure, language),
             *(code_label("verdict", sensitivity[measure][column] or "none", language)
               for column in ("exact", "widened"))] for measure in MEASURES]
    note = text("sensitivity_depends", language) if cell["depends_on_method"] else text("sensitivity_same", language)
    return html.Div([
        html.H3(text("sensitivity", language), className="h6"),
        html.P(text("sensitivity_intro", language)),
        data_table(text("sensitivity", language), headers, rows, table_id="detail-sensitivity-table"),
        html.P(note, id="detail-sensitivity-note",
               className="sensitivity-note depends" if cell["depends_on_method"] else "sensitivity-note"),
    ], id="detail-sensitivity")


def trend_body(request: IndicatorRequest, definition: dict, grain: str) -> list:
    language = request.view.language
    unit = definition["unit"]
    answer = request.engine.trend(definition["id"], request.viewer, request.view.filters, grain=grain,
                                  org_code=request.org_code)
    national = next(s for s in answer["series"] if s["kind"] == "national")
    own = next((s for s in answer["series"] if s["kind"] == "organisation"), None)
    subject = own or national
    shown = [point for point in subject["points"] if has_rate(point)]
    if not shown:
        return [empty_state(text("empty_selection", language, minimum=request.minimum), "detail-trend-empty")]
    national_shown = [point for point in national["points"] if has_rate(point)]
    title = text("trend_title", language, name=indicator_name(definition, language),
                 grain=code_label("grain", grain, language))
    summary = text("trend_summary", language, subject=own_label(request) if own else text("national", language),
                   first=format_period(shown[0]["period"], language), last=format_period(shown[-1]["period"], language),
                   own_first=format_rate(shown[0]["rate"], unit, language),
                   own_last=format_rate(shown[-1]["rate"], unit, language),
                   national_first=format_rate(national_shown[0]["rate"], unit, language) if national_shown else "—",
                   national_last=format_rate(national_shown[-1]["rate"], unit, language) if national_shown else "—")
    figure = trend_figure(answer["series"], unit, title, own_label(request), language)
    own_points = own["points"] if own else [None] * len(national["points"])
    rows = [[_period_text(point, own_point, language),
             *(_own_columns(own_point, unit, language, request.minimum) if own else []),
             rate_text(point, unit, language, request.minimum), _counts(point, language)]
            for point, own_point in zip(national["points"], own_points, strict=True)]
    headers = [text("period_axis", language), *_series_headers(own_label(request) if own else None, language)]
    notes = disclosure_note_texts([*national["points"], *(own["points"] if own else [])], language)
    table = table_data(title, headers, rows, numeric_columns=range(1, len(headers)), table_id="detail-trend-table",
                       notes=[note for _, note in notes])
    return [accessible_chart("detail-trend-chart", figure, title, summary, table, language),
            download_links(request.view, "detail-trend-download", indicator=definition["id"], org=request.org_code,
                           grain=grain)]


def control_body(request: IndicatorRequest, definition: dict) -> list:
    """The monthly control chart (p′) of the organisation, its signals in words, and the figures as a table."""
    language = request.view.language
    unit = definition["unit"]
    answer = request.engine.control_chart(definition["id"], request.viewer, request.view.filters,
                                          org_code=request.org_code)
    chart = answer["chart"]
    if chart is None:  # an export's masked counts, or a provider's VSV withheld (the engine's `withheld`)
        withheld = (text("control_chart_withheld_complementary", language) if answer.get("withheld") == "complementary"
                    else text("control_chart_withheld", language))
        return [empty_state(withheld, "detail-control-empty")]
    if not chart["points_with_data"]:
        return [empty_state(text("empty_selection", language, minimum=request.minimum), "detail-control-empty")]
    label = own_label(request) if answer["series"]["kind"] == "organisation" else text("national", language)
    title = text("control_chart_title", language, name=indicator_name(definition, language), subject=label)
    signalled = [point for point in chart["points"] if point["rules"]]
    latest = chart["latest_variation"]
    summary = text("control_chart_summary", language, subject=label,
                   centre=format_rate(chart["centre"], unit, language),
                   months=format_number(chart["points_with_data"], language),
                   signals=format_number(len(signalled), language),
                   latest=code_label("spc_variation", latest, language) if latest else "—")
    rules_in_words = sorted({rule for point in signalled for rule in point["rules"]})
    explanations = [html.Li(rule_text(rule, language)) for rule in rules_in_words]
    notes: list = []
    if not chart["frequent_enough"]:
        notes.append(html.P(text("control_chart_too_rare", language,
                                 expected=format_number(chart["expected_events"], language, 1),
                                 minimum=format_number(chart["minimum_expected_events"], language)),
                            id="detail-control-too-rare", className="chart-note"))
    if not chart["enough_points"]:
        notes.append(html.P(text("control_chart_too_few", language, count=format_number(chart["points_with_data"],
                                                                                           language),
                                 minimum=format_number(chart["minimum_points"], language)),
                            id="detail-control-too-few", className="chart-note"))
    if explanations:
        notes.append(html.Ul(explanations, id="detail-control-signals", className="chart-note"))
    disclosure = answer["series"].get("disclosure") or "exact"  # how the engine showed the series' counts
    figure = control_chart_figure(chart, unit, title, label, language, disclosure)
    rows = [[format_period(point["period"], language), format_rate(point["rate"], unit, language),
             format_interval(point["lower_3"], point["upper_3"], unit, language),
             code_label("spc_variation", point["variation"], language) if point["variation"] else "—",
             "; ".join(rule_text(rule, language) for rule in point["rules"]) or "—"]
            for point in chart["points"]]
    headers = [text("period_axis", language), text("rate", language), text("control_chart_limits_column", language),
               text("control_chart_variation", language), text("control_chart_rules", language)]
    table = table_data(title, headers, rows, numeric_columns=(1, 2), table_id="detail-control-table",
                       notes=[note for _, note in disclosure_note_texts([{"disclosure": disclosure}], language)])
    return [*notes, accessible_chart("detail-control-chart", figure, title, summary, table, language),
            download_links(request.view, "detail-control-download", indicator=definition["id"],
                           org=request.org_code, grain="month")]


def _period_text(point: dict, own_point: dict | None, language: str) -> str:
    """A trend table's period, "2026-10 (voorlopig)" where the national or the own figure of it is provisional (the
    chart's open markers, in words)."""
    period = format_period(point["period"], language)
    if is_provisional(point) or is_provisional(own_point):
        return text("provisional.period_marked", language, period=period)
    return period


def _series_headers(own: str | None, language: str) -> list[str]:
    """The figure columns of a trend or breakdown table: the own rate, interval and counts (when there is an own
    series), then the national rate and counts."""
    own_headers = [f"{own}: {text('rate', language)}", f"{own}: {text('interval', language)}",
                   f"{own}: {text('counts', language)}"] if own else []
    national = text("national", language)
    return [*own_headers, f"{national}: {text('rate', language)}", f"{national}: {text('counts', language)}"]


def _own_columns(cell: dict | None, unit: str, language: str, minimum: int) -> list[str]:
    return [rate_text(cell, unit, language, minimum), interval_text(cell, unit, language), _counts(cell, language)]


def _counts(cell: dict | None, language: str, per_woman: bool = False) -> str:
    """Numerator / denominator as the engine discloses them (wording.figures.counts_text): "≈" when perturbed, a
    peer's size band instead of its counts."""
    return counts_text(cell, language, per_woman)


def funnel_body(request: IndicatorRequest, definition: dict, overdispersion: str) -> list:
    language = request.view.language
    unit = definition["unit"]
    per_woman = bool(definition["woman_level"])
    level = request.level
    answer = request.engine.funnel(definition["id"], level, request.viewer, request.view.filters,
                                   overdispersion=overdispersion)
    rows = answer["rows"]
    if few_peers(answer.get("reference")) or any(few_peers(row) for row in rows):
        # Fewer than five peers: the engine withholds them, the comparator and the limits; say so, rather than
        # draw a funnel of the own organisation alone (and not "fewer than 10 births", which is not the reason).
        return [empty_state(text("funnel_few_peers", language,
                                 comparator=code_label("comparator_group", level, language)),
                            "detail-funnel-few-peers")]
    shown = funnel_drawn(rows)
    if not shown or answer.get("target") is None:
        return [empty_state(text("empty_selection", language, minimum=request.minimum), "detail-funnel-empty")]
    subject = next((row for row in rows if row.get("own") or
                    (request.org_code and row.get("org_code") == request.org_code)), None)
    title = text("funnel_title", language, name=indicator_name(definition, language),
                 organisations=code_label("org_type_plural", level, language),
                 count=format_number(len(shown), language))
    target = format_rate(answer["target"], unit, language)
    if subject and has_rate(subject):
        summary = text("funnel_summary", language, count=format_number(len(shown), language), subject=subject["label"],
                       rate=format_rate(subject["rate"], unit, language),
                       denominator=format_number(subject["denominator"], language),
                       position=code_label("position", subject["position"], language),
                       comparator=code_label("comparator_group", level, language), target=target)
    else:
        summary = text("funnel_subject_missing", language, subject=own_label(request), minimum=request.minimum)
    # A row without a rate to show (a peer with a count of 1–4, a denominator under the minimum) is not drawn, but
    # the table lists it with its reason, and the texts say how many there are.
    drawn = {id(row) for row in shown}
    not_drawn = [row for row in rows if id(row) not in drawn and row is not subject]
    said = [summary]
    if any(is_peer(row) for row in rows):
        said.append(text("funnel_summary_peers", language))
    not_drawn_text = (text("funnel_not_drawn", language, count=format_number(len(not_drawn), language),
                           minimum=request.minimum) if not_drawn else None)
    if not_drawn_text:
        said.append(not_drawn_text)
    figure = funnel_figure(answer, unit, title, request.org_code, language,
                           smallest_denominator=min(funnel_position(row) for row in shown))
    # Every organisation of the answer: the subject first, then those drawn outside the limits, the other drawn
    # ones, and last those not drawn.
    listed = ([subject] if subject is not None else []) + sorted(
        (row for row in shown if row is not subject),
        key=lambda row: (row.get("position") in (None, "within"), -(abs(row.get("standardised") or 0.0)))) + not_drawn
    table_rows = [[row["label"], rate_text(row, unit, language, request.minimum), interval_text(row, unit, language),
                   _counts(row, language, per_woman), verdict_text(row, language) if row.get("verdict") else "—",
                   disclosure_text(row, language)] for row in listed]
    headers = [text("organisation", language), text("rate", language), text("interval", language),
               text("counts_or_size", language), text("verdict", language), text("disclosure", language)]
    # The table needs no notes of its own: the legend under the chart (below the table when it is open) says why
    # peers show a band and which organisations are not drawn.
    table = table_data(title, headers, table_rows, numeric_columns=(1, 2, 3), table_id="detail-funnel-table")
    notes = []
    if subject is not None and not has_rate(subject):
        notes.append(empty_state(summary, "detail-funnel-subject-missing"))
    judged = answer["judgement"]
    if judged["phi"] is not None:
        notes.append(html.P(text("overdispersion_estimate", language, phi=format_number(judged["phi"], language, 2),
                                 tau2=format_number(judged["tau2"], language, 5),
                                 units=format_number(judged["units"], language),
                                 p_value=p_value_text(judged["p_value"], language),
                                 method=code_label("limits_method", judged["method"], language)),
                            id="detail-overdispersion-estimate", className="chart-note"))
    legend = [html.P(not_drawn_text, id="detail-funnel-not-drawn", className="chart-note")] if not_drawn_text else []
    legend += disclosure_notes(rows, language, "detail-funnel-note")
    return [*notes, accessible_chart("detail-funnel-chart", figure, title, " ".join(said), table, language), *legend,
            download_links(request.view, "detail-funnel-download", indicator=definition["id"], level=level,
                           overdispersion=overdispersion)]


def p_value_text(p_value: float, language: str) -> str:
    """A p-value as read: "p = 0,042" to three decimals, or "p < 0,001" rather than a misleading "p = 0,000"."""
    if p_value < 0.001:
        return text("p_value_below", language, value=format_number(0.001, language, 3))
    return text("p_value", language, value=format_number(p_value, language, 3))


def breakdown_body(request: IndicatorRequest, definition: dict, dimension: str) -> list:
    language = request.view.language
    unit = definition["unit"]
    dimension = dimension if dimension in DIMENSIONS else DEFAULT_DIMENSION
    answer = request.engine.breakdown(definition["id"], dimension, request.viewer, request.view.filters,
                                      org_code=request.org_code)
    national = next(s for s in answer["series"] if s["kind"] == "national")
    own = next((s for s in answer["series"] if s["kind"] == "organisation"), None)
    if not any(has_rate(value) for value in (own or national)["values"]):
        return [empty_state(text("empty_selection", language, minimum=request.minimum), "detail-breakdown-empty")]
    name = DIMENSIONS[dimension].label(language)
    title = text("breakdown_title", language, name=indicator_name(definition, language), dimension=name)
    labels = [DIMENSIONS[dimension].label_of(value["value"], language) for value in national["values"]]
    own_values = own["values"] if own else [None] * len(national["values"])
    parts = [f"{label} {rate_text(own_value or value, unit, language, request.minimum)}"
             + (f" ({text('national', language).lower()} {rate_text(value, unit, language, request.minimum)})"
                if own_value else "")
             for label, value, own_value in zip(labels, national["values"], own_values, strict=True)]
    summary = text("breakdown_summary", language, dimension=name, parts="; ".join(parts))
    figure = breakdown_figure(answer["series"], labels, unit, title, name, own_label(request) if own else None,
                              language)
    rows = [[label, *(_own_columns(own_value, unit, language, request.minimum) if own else []),
             rate_text(value, unit, language, request.minimum), _counts(value, language)]
            for label, value, own_value in zip(labels, national["values"], own_values, strict=True)]
    headers = [name, *_series_headers(own_label(request) if own else None, language)]
    table = table_data(title, headers, rows, numeric_columns=range(1, len(headers)), table_id="detail-breakdown-table",
                       notes=[note for _, note in disclosure_note_texts([*national["values"], *own_values], language)])
    notes = [html.P(text("breakdown_lifted", language, dimension=name.lower()), id="detail-breakdown-lifted",
                    className="chart-note")] if answer["lifted"] else []
    return [*notes, accessible_chart("detail-breakdown-chart", figure, title, summary, table, language),
            download_links(request.view, "detail-breakdown-download", indicator=definition["id"],
                           org=request.org_code, dimension=dimension)]


def adjusted_body(request: IndicatorRequest, definition: dict, overdispersion: str) -> list:
    language = request.view.language
    unit = definition["unit"]
    level = request.level
    answer = request.engine.adjusted(definition["id"], level, request.viewer, request.view.filters,
                                     overdispersion=overdispersion)
    if answer.get("not_adjusted"):
        return [empty_state(text("adjusted_outcome_is_case_mix", language), "detail-adjusted-empty")]
    own = next((row for row in answer["rows"] if row.get("own") or
                (request.org_code and row.get("org_code") == request.org_code)), None)
    if request.org_code is None:
        return [empty_state(text("adjusted_national_view", language), "detail-adjusted-empty")]
    if own is None or own.get("suppressed"):
        return [empty_state(text("empty_selection", language, minimum=request.minimum), "detail-adjusted-empty")]
    if own.get("ratio") is None:
        return [empty_state(text("adjusted_not_estimable", language), "detail-adjusted-empty")]
    ratio = (f"{format_number(own['ratio'], language, 2)} ({format_number(own['ratio_low'], language, 2)}–"
             f"{format_number(own['ratio_high'], language, 2)})")
    adjusted = (f"{format_rate(own['adjusted_rate'], unit, language)} "
                f"({text('interval', language)} {format_rate(own['adjusted_low'], unit, language)}–"
                f"{format_rate(own['adjusted_high'], unit, language)})")
    facts = [
        (text("observed", language), format_number(own["numerator"], language)),
        (text("expected", language), format_number(own["expected"], language, 1)),
        (text("ratio", language), ratio),
        (text("adjusted_rate", language), adjusted),
        (code_label("reference", level, language), rate_text(answer["reference"], unit, language, request.minimum)),
        (text("national", language), rate_text(answer["national"], unit, language, request.minimum)),
        (text("verdict", language), html.Span([verdict_badge(own, language, "detail-adjusted-verdict"),
                                                f" {code_label('flag', own['flag'], language)}" if own.get("flag")
                                                else ""])),
        (text("limits", language), code_label("limits_method", answer["judgement"]["method"], language)),
    ]
    return [html.Dl([part for term, value in facts for part in (html.Dt(term), html.Dd(value))], className="facts",
                    id="detail-adjusted-facts"),
            download_links(request.view, "detail-adjusted-download", indicator=definition["id"], level=level,
                           overdispersion=overdispersion)]
