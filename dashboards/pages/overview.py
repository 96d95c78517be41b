"""Overview ("Mijn organisatie"): every indicator of the viewer's organisation for the chosen target group and
period — own rate with 95% interval and counts, VSV and national rate, the funnel verdict and a small trend.

The own column is headed by the organisation's name, not "own organisation": an administrator, a VSV looking at a
member or a researcher granted an organisation looks at another's. A VSV's own figures are the VSV's (all its
births): its overview has no second VSV column, and its introduction says so. On a narrow screen the table scrolls
inside its own box, the indicator names pinned (assets/responsive.css).

Every verdict names what it was judged against (the comparator: all organisations of the same type, with its
rate), says an alert or alarm in words (outside the 95% or the 99.8% limits), and says when its limits were
widened for overdispersion; a verdict that another method would give differently is marked so, with a link to the
detail page. Above the table, the page says how the verdicts were made, how many indicators are outside the limits
against how many chance alone would give, and shows every indicator on one axis (the spine chart, NMPA's "slices of
the funnel"). The judging method (`overdispersion=`, default auto) is the page's own choice, kept in the URL like
the detail page's choices and carried on by the links to the detail pages.

The frame and the filter panel are rendered from the URL at once; the indicator rows come from the indicator
engine in a callback (with a loading indicator), so a slow answer never holds up the page. Each indicator links
to its detail page with the same URL state.
"""

from __future__ import annotations

from urllib.parse import urlencode

import dash
from dash import Input, Output, State, ctx, dcc, html, no_update

from dashboards.charts import accessible_chart, empty_state, sparkline, spine_figure
from dashboards.clientside import FRAME_CONSTANTS, clientside
from dashboards.downloads import download_links, report_links
from dashboards.filters import filter_panel
from dashboards.indicator_access import IndicatorRequest, default_grain, has_rate, indicator_request
from dashboards.layout import (
    VIEW_SEARCH,
    PageContext,
    loading,
    organisation_heading,
    page_path,
    radio_group,
    render_page,
    scroll_box,
    section,
    table_data,
    viewing_as_note,
)
from dashboards.tiles import disclosure_notes, figure_class, provisional_notice
from dashboards.view_state import ViewState
from queries.engine import NoDataError
from queries.judgement import DEFAULT_OVERDISPERSION, OVERDISPERSION_CHOICES
from texts import code_label, text
from texts.formatting import format_number, format_period, format_rate
from wording.figures import (
    alerts_line,
    few_peers,
    figure_text,
    indicator_name,
    judged_against,
    method_line,
    verdict_key,
    verdict_text,
)

SPINE_SORTS = ("order", "distance")  # as in the table / largest distance from the comparator first
SPINE_SHOWS = ("all", "outside")  # every judged indicator / only those outside the 95% limits
OVERVIEW_PARTS = ("judgement", "spine", "indicators")


def overdispersion_option(query: dict) -> str:
    """The page's judging method from the query string (`overdispersion=`); anything unknown is the default."""
    value = query.get("overdispersion")
    value = value[0] if isinstance(value, list) and value else value
    return value if value in OVERDISPERSION_CHOICES else DEFAULT_OVERDISPERSION


def layout(**query: object) -> html.Div:
    return render_page("overview", query, lambda view, context: content(view, context, query))


dash.register_page(__name__, path="/mijn-organisatie", name="overview", order=1, layout=layout)
app = dash.get_app()  # the app Dash Pages runs this module for (dashboards/pages/__init__.py)


def detail_href(indicator_id: str, view: ViewState, overdispersion: str) -> str:
    """The detail page of an indicator with the same language, organisation, target group and judging method."""
    query = view.query_string()
    return (page_path("indicator", indicator_id=indicator_id) + query + ("&" if query else "?")
            + urlencode({"overdispersion": overdispersion}))


def content(view: ViewState, context: PageContext, query: dict) -> list:
    language = view.language
    judged = view.org_code is not None  # a researcher's national view has no organisation to judge
    judgement = section(
        text("overview_judgement", language),
        html.P(text("spine_intro", language)),
        radio_group("overview-overdispersion", text("overdispersion", language),
                    [(method, code_label("overdispersion", method, language)) for method in OVERDISPERSION_CHOICES],
                    overdispersion_option(query), help_text=text("overdispersion_help", language), inline=False),
        loading(html.Div(id="overview-judgement-body")),
        html.Div([
            radio_group("overview-spine-sort", text("spine_sort", language),
                        [("order", text("spine_sort_order", language)),
                         ("distance", text("spine_sort_distance", language))], "order"),
            radio_group("overview-spine-show", text("spine_show", language),
                        [("all", text("spine_show_all", language)),
                         ("outside", text("spine_show_outside", language))], "all"),
        ], className="spine-controls"),
        loading(html.Div(id="overview-spine-body")),
        section_id="overview-judgement",
    )
    return [
        organisation_heading(view, context, "overview-organisation"),
        viewing_as_note(view, context, "overview-viewing-as"),
        filter_panel(view, context.status),
        # The national view keeps the (hidden) controls: the page's callback reads them either way.
        html.Div(judgement, hidden=not judged),
        section(
            text("indicators", language),
            html.P(overview_intro(view, context), id="overview-intro"),
            loading(html.Div(id="overview-indicators-body")),
            section_id="overview-indicators",
        ),
        dcc.Store(id="overview-url-sync"),
    ]


def overview_intro(view: ViewState, context: PageContext) -> str:
    """What the table shows: a VSV's own figures are the VSV's (all its births), beside national; an organisation's
    are beside its VSV and national; a national view has only national."""
    if not view.org_code:
        return text("overview_intro_national", view.language)
    if context.organisation_type(view.org_code) == "vsv":
        return text("compare.overview_intro_vsv", view.language)
    return text("overview_intro", view.language)


# One callback for the page, as on the detail page: the view (the filter panel's Apply) and the judging method
# redraw every part; the spine chart's own controls only the chart (the engine's answer is cached).
@app.callback(
    *(Output(f"overview-{part}-body", "children") for part in OVERVIEW_PARTS),
    Input(VIEW_SEARCH, "data"),
    Input("overview-overdispersion", "value"),
    Input("overview-spine-sort", "value"),
    Input("overview-spine-show", "value"),
)
def show_overview(search: str | None, overdispersion: str | None, sort: str | None, show: str | None) -> list:
    request = indicator_request(search)
    choice = overdispersion if overdispersion in OVERDISPERSION_CHOICES else DEFAULT_OVERDISPERSION
    try:
        answer = request.engine.overview(request.viewer, request.view.filters, org_code=request.org_code,
                                         overdispersion=choice)
    except NoDataError:
        return [[], [], [empty_state(text("no_published_data", request.view.language), "overview-empty")]]
    spine = spine_part(answer, request, sort if sort in SPINE_SORTS else "order",
                       show if show in SPINE_SHOWS else "all")
    if ctx.triggered_id in ("overview-spine-sort", "overview-spine-show"):
        return [no_update, spine, no_update]
    downloads = download_links(request.view, "overview-download", org=request.org_code, overdispersion=choice)
    # The meeting report of what this page shows (its organisation, target group and judging method).
    report = [report_links(request.view, request.org_code, choice)] if request.org_code else []
    return [[*report, *judgement_lines(answer, request)], spine,
            [*indicator_rows(answer, request, choice), downloads]]


# The judging method in the address without a page reload (the detail page's `keepPageChoices`, which also keeps
# the language switch's link to the whole address).
app.clientside_callback(
    clientside("keepOverviewChoices"),
    Output("overview-url-sync", "data"),
    Output("language-switch", "href", allow_duplicate=True),
    Input("overview-overdispersion", "value"),
    State(FRAME_CONSTANTS, "data"),
    prevent_initial_call="initial_duplicate",
)


def judged_rows(answer: dict) -> list[dict]:
    """The rows whose own organisation has a verdict (the engine's `alerts.judged`)."""
    return [row for row in answer["rows"] if row.get("organisation") and row["organisation"].get("verdict")]


def judgement_lines(answer: dict, request: IndicatorRequest) -> list:
    """How the verdicts were made, how many are outside the limits against chance, and how many depend on the
    method: the engine's `alerts` in words. Nothing for a national view (no verdicts)."""
    alerts = answer.get("alerts")
    if not alerts:
        return []
    language = request.view.language
    return [
        html.P(method_line(alerts, request.level, answer["overdispersion"], language), id="overview-method"),
        html.P(alerts_line(alerts, language), id="overview-alerts", className="overview-alerts"),
        html.P(text("alerts_overlap", language), id="overview-alerts-overlap", className="chart-note"),
        html.P(text("method_dependence_line", language, count=format_number(alerts["depends_on_method"], language),
                    judged=format_number(alerts["judged"], language)), id="overview-method-dependence"),
    ]


def spine_part(answer: dict, request: IndicatorRequest, sort: str, show: str) -> list:
    """Every judged indicator of the organisation on one axis of standardised position (the engine's), sorted and
    filtered for display; the chart with its spoken summary and its figures as a table."""
    if not answer.get("alerts"):
        return []
    language = request.view.language
    level = request.level
    organisations = code_label("org_type_plural", level, language)
    judged = judged_rows(answer)
    rows = [row for row in judged if row["organisation"].get("standardised") is not None]
    # Beside fewer than five peers the engine gives a verdict but no standardised position (`few_peers`: with the
    # own figures it would give the withheld comparator back): those indicators are not on the axis, and the page
    # says why.
    unplaced = [row for row in judged if row["organisation"].get("standardised") is None
                and few_peers(row.get("reference"))]
    if not rows:
        if unplaced:
            return [empty_state(text("spine_few_peers", language, organisations=organisations),
                                "overview-spine-few-peers")]
        return [empty_state(text("spine_no_verdicts", language), "overview-spine-empty")]
    notes = [html.P(text("spine_few_peers_some", language, count=format_number(len(unplaced), language),
                         organisations=organisations), id="overview-spine-few-peers", className="chart-note")
             ] if unplaced else []
    if show == "outside":
        rows = [row for row in rows if row["organisation"].get("flag")]
        if not rows:
            return [*notes, empty_state(text("spine_nothing_outside", language), "overview-spine-empty")]
    if sort == "distance":
        rows = sorted(rows, key=lambda row: -abs(row["organisation"]["standardised"]))
    organisation = request.org_name or text("own", language)
    points = []
    table_rows = []
    for row in rows:
        cell, unit = row["organisation"], row["indicator"]["unit"]
        name = indicator_name(row["indicator"], language)
        verdict = verdict_text(cell, language)
        comparator = judged_against(cell, unit, language)
        hover = [format_rate(cell["rate"], unit, language), comparator, verdict]
        if cell.get("depends_on_method"):
            hover.append(text("depends_on_method", language))
        points.append({"label": name, "standardised": cell["standardised"], "verdict": verdict_key(cell),
                       "hover": hover})
        table_rows.append([name, format_rate(cell["rate"], unit, language), comparator,
                           format_number(cell["standardised"], language, 2), verdict])
    outside = [f"{point['label']} ({point['hover'][2]})" for point, row in zip(points, rows, strict=True)
               if row["organisation"].get("flag")]
    title = text("spine_title", language, organisation=organisation, organisations=organisations)
    summary = text("spine_summary", language, count=format_number(len(points), language), organisation=organisation,
                   organisations=organisations,
                   outside="; ".join(outside) if outside else text("spine_none_outside", language))
    headers = [text("indicator", language), text("rate", language), text("comparator", language),
               text("spine_position", language), text("verdict", language)]
    table = table_data(title, headers, table_rows, numeric_columns=(1, 3), table_id="overview-spine-table")
    figure = spine_figure(points, title, text("spine_x", language), language)
    return [*notes, accessible_chart("overview-spine-chart", figure, title, summary, table, language)]


def indicator_rows(answer: dict, request: IndicatorRequest, overdispersion: str) -> list:
    """The table of every indicator: own / VSV / national figures, verdict against the comparator and trend
    sparkline."""
    language = request.view.language
    version = answer["data_version"]
    grain = default_grain(request.view.filters, version["period_from"], version["period_to"])
    trends = request.engine.trends(request.viewer, request.view.filters, grain=grain, org_code=request.org_code)
    series_of = {entry["indicator"]["id"]: entry["series"] for entry in trends["indicators"]}
    own_type = request.org_type
    show_own = request.org_code is not None  # a researcher's national view has no organisation of its own
    show_vsv = own_type in {"practice", "hospital"}  # a VSV's own figures are its VSV's: no second VSV column
    # The own column is named by what it is: the organisation (or the VSV) shown, never "own organisation" — an
    # administrator, a VSV looking at a member or a researcher granted one does not look at its own.
    own_name = (answer.get("organisation") or {}).get("label") or request.org_name or text("compare.organisation",
                                                                                          language)
    headers = [text("indicator", language)] + ([own_name] if show_own else [])
    headers += [text("vsv", language)] if show_vsv else []
    headers += [text("national", language)] + ([text("verdict", language)] if show_own else [])
    headers += [text("trend", language)]
    rows = []
    shown_cells: list[dict | None] = []
    for row in answer["rows"]:
        indicator = row["indicator"]
        indicator_id, unit = indicator["id"], indicator["unit"]
        href = detail_href(indicator_id, request.view, overdispersion)
        figures = ([("organisation", row["organisation"])] if show_own else []) + (
            [("vsv", row["vsv"])] if show_vsv else [])
        figures.append(("national", row["national"]))
        shown_cells += [cell for _, cell in figures]
        rows.append(html.Tr([
            html.Td(dcc.Link(indicator_name(indicator, language), href=href, id=f"overview-link-{indicator_id}",
                             className="indicator-link")),
            *(html.Td(figure_text(cell, unit, language, request.minimum), id=f"overview-{indicator_id}-{part}",
                      className=f"{figure_class(cell)} text-end") for part, cell in figures),
            *([verdict_cell(row, request, href)] if show_own else []),
            html.Td(trend_sparkline(series_of[indicator_id], indicator, grain, request)),
        ]))
    # Which of the figures shown are provisional, and why (the engine's `provisional` of each cell).
    parts: list = provisional_notice(
        [(label, cell) for row in answer["rows"]
         for label, cell in ((own_name, row["organisation"] if show_own else None),
                             (_vsv_label(row["vsv"], language), row["vsv"] if show_vsv else None),
                             (text("national", language), row["national"]))],
        language, "overview-provisional")
    own_cells = [row["organisation"] for row in answer["rows"] if row["organisation"]]
    if own_cells and not any(has_rate(cell) for cell in own_cells):
        parts.append(empty_state(text("empty_selection", language, minimum=request.minimum), "overview-empty"))
    parts.append(overview_table(text("indicators", language), headers, rows, figure_columns=len(figures)))
    # Why the VSV's and national counts are marked "≈" (the engine's perturbation of others' figures).
    parts += disclosure_notes(shown_cells, language, "overview-note")
    return parts


def _vsv_label(cell: dict | None, language: str) -> str:
    """The VSV's figure named in a notice: "VSV: <its name>" where the answer names it."""
    return text("vsv", language) + (f": {cell['label']}" if cell and cell.get("label") else "")


def verdict_cell(row: dict, request: IndicatorRequest, href: str) -> html.Td:
    """The verdict in words (with an alert or alarm), what it was judged against with its rate, and the widened
    limits when they were: one text node of lines; a verdict another method would give differently also links to
    the detail page, saying so."""
    language = request.view.language
    cell = row["organisation"]
    key = verdict_key(cell)
    lines = [verdict_text(cell, language)]
    if cell and cell.get("verdict"):
        lines.append(judged_against(cell, row["indicator"]["unit"], language))
        method = (cell.get("judgement") or {}).get("method")
        if method and method != "exact":
            lines.append(code_label("limits_method_short", method, language))
    children: list = ["\n".join(lines)]
    if cell and cell.get("verdict") and cell.get("depends_on_method"):
        children.append(dcc.Link(text("depends_on_method", language), href=f"{href}#detail-summary",
                                 id=f"overview-{row['indicator']['id']}-method", className="method-dependent"))
    return html.Td(children, id=f"overview-{row['indicator']['id']}-verdict", className=f"verdict-cell verdict-{key}")


def overview_table(caption: str, headers: list[str], rows: list[html.Tr], figure_columns: int) -> html.Div:
    """The markup of `layout.data_table`, built here because the cells are the figures themselves: a national
    dataset re-renders this table on every filter change, and each component less is quicker to draw."""
    numeric = range(1, 1 + figure_columns)
    head = html.Tr([html.Th(header, scope="col", className="text-end" if index in numeric else "")
                    for index, header in enumerate(headers)])
    table = html.Table([html.Caption(caption, className="visually-hidden"), html.Thead(head), html.Tbody(rows)],
                       className="table table-sm table-striped data-table overview-table", id="overview-table")
    return scroll_box(table, caption)


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
