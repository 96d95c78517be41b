"""Overview ("Mijn organisatie"): every indicator of the viewer's organisation for the chosen target group and
period — own rate with 95% interval and counts, VSV and national rate, the funnel verdict and a small trend.

The frame and the filter panel are rendered from the URL at once; the indicator rows come from the indicator
engine in a callback (with a loading indicator), so a slow answer never holds up the page. Each indicator links
to its detail page with the same URL state.
"""

from __future__ import annotations

import dash
from dash import Input, Output, dcc, html

from dashboards.charts import empty_state, sparkline
from dashboards.filters import filter_panel
from dashboards.indicator_access import IndicatorRequest, default_grain, has_rate, indicator_request
from dashboards.layout import (
    VIEW_SEARCH,
    PageContext,
    loading,
    organisation_heading,
    page_path,
    render_page,
    section,
    viewing_as_note,
)
from dashboards.tiles import figure_class, figure_text, indicator_name, verdict_key
from dashboards.view_state import ViewState
from queries.engine import NoDataError
from texts import code_label, text
from texts.formatting import format_period, format_rate


def layout(**query: object) -> html.Div:
    return render_page("overview", query, content)


dash.register_page(__name__, path="/mijn-organisatie", name="overview", order=1, layout=layout)
app = dash.get_app()  # the app Dash Pages runs this module for (dashboards/pages/__init__.py)


def detail_href(indicator_id: str, view: ViewState) -> str:
    """The detail page of an indicator with the same language, organisation and target group."""
    return page_path("indicator", indicator_id=indicator_id) + view.query_string()


def content(view: ViewState, context: PageContext) -> list:
    language = view.language
    return [
        organisation_heading(view, context, "overview-organisation"),
        viewing_as_note(view, context, "overview-viewing-as"),
        filter_panel(view, context.status),
        section(
            text("indicators", language),
            html.P(text("overview_intro", language) if view.org_code else text("overview_intro_national", language)),
            loading(html.Div(id="overview-indicators-body")),
            section_id="overview-indicators",
        ),
    ]


@app.callback(Output("overview-indicators-body", "children"), Input(VIEW_SEARCH, "data"))
def show_indicators(search: str | None) -> list:
    return indicator_rows(indicator_request(search))


def indicator_rows(request: IndicatorRequest) -> list:
    """The table of every indicator: own / VSV / national figures, verdict and trend sparkline."""
    language = request.view.language
    try:
        answer = request.engine.overview(request.viewer, request.view.filters, org_code=request.org_code)
    except NoDataError:
        return [empty_state(text("no_published_data", language), "overview-empty")]
    version = answer["data_version"]
    grain = default_grain(request.view.filters, version["period_from"], version["period_to"])
    trends = request.engine.trends(request.viewer, request.view.filters, grain=grain, org_code=request.org_code)
    series_of = {entry["indicator"]["id"]: entry["series"] for entry in trends["indicators"]}
    own_type = request.org_type
    show_own = request.org_code is not None  # a researcher's national view has no organisation of its own
    show_vsv = own_type in {"practice", "hospital"}
    headers = [text("indicator", language)] + ([text("own", language)] if show_own else [])
    headers += [text("vsv", language)] if show_vsv else []
    headers += [text("national", language)] + ([text("verdict", language)] if show_own else [])
    headers += [text("trend", language)]
    rows = []
    for row in answer["rows"]:
        indicator = row["indicator"]
        indicator_id, unit = indicator["id"], indicator["unit"]
        figures = ([("organisation", row["organisation"])] if show_own else []) + (
            [("vsv", row["vsv"])] if show_vsv else [])
        figures.append(("national", row["national"]))
        rows.append(html.Tr([
            html.Td(dcc.Link(indicator_name(indicator, language), href=detail_href(indicator_id, request.view),
                             id=f"overview-link-{indicator_id}", className="indicator-link")),
            *(html.Td(figure_text(cell, unit, language, request.minimum), id=f"overview-{indicator_id}-{part}",
                      className=f"{figure_class(cell)} text-end") for part, cell in figures),
            *([html.Td(code_label("verdict", verdict_key(row["organisation"]), language),
                       id=f"overview-{indicator_id}-verdict",
                       className=f"verdict-cell verdict-{verdict_key(row['organisation'])}")] if show_own else []),
            html.Td(trend_sparkline(series_of[indicator_id], indicator, grain, request)),
        ]))
    parts: list = []
    own_cells = [row["organisation"] for row in answer["rows"] if row["organisation"]]
    if own_cells and not any(has_rate(cell) for cell in own_cells):
        parts.append(empty_state(text("empty_selection", language, minimum=request.minimum), "overview-empty"))
    parts.append(overview_table(text("indicators", language), headers, rows, figure_columns=len(figures)))
    return parts


def overview_table(caption: str, headers: list[str], rows: list[html.Tr], figure_columns: int) -> html.Table:
    """The markup of `layout.data_table`, built here because the cells are the figures themselves: a national
    dataset re-renders this table on every filter change, and each component less is quicker to draw."""
    numeric = range(1, 1 + figure_columns)
    head = html.Tr([html.Th(header, scope="col", className="text-end" if index in numeric else "")
                    for index, header in enumerate(headers)])
    return html.Table([html.Caption(caption, className="visually-hidden"), html.Thead(head), html.Tbody(rows)],
                      className="table table-sm table-striped data-table overview-table", id="overview-table")


def trend_sparkline(series: list[dict], indicator: dict, grain: str, request: IndicatorRequest) -> html.Img | html.Span:
    """The own trend (national dashed) as a small image whose text alternative names first and last figure."""
    language = request.view.language
    unit = indicator["unit"]
    national = next(s for s in series if s["kind"] == "national")["points"]
    own = next((s["points"] for s in series if s["kind"] == "organisation"), None)
    described = own if own is not None else national
    shown = [point for point in described if has_rate(point)]
    if not shown:
        return html.Span(text("sparkline_empty", language, minimum=request.minimum), className="sparkline-empty")
    description = text("sparkline_alt", language, name=indicator_name(indicator, language),
                       grain=code_label("grain", grain, language), first=format_period(shown[0]["period"], language),
                       last=format_period(shown[-1]["period"], language),
                       own_first=format_rate(shown[0]["rate"], unit, language),
                       own_last=format_rate(shown[-1]["rate"], unit, language))
    return sparkline([point["rate"] if has_rate(point) else None for point in (own or [])],
                     [point["rate"] if has_rate(point) else None for point in national], description)
