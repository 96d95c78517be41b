"""Compare: every indicator side by side — the organisation, its VSV and national, and for a VSV each member
organisation — as a matrix that fits the screen, or as the full sortable table (dash-ag-grid), with a CSV download of
the full table.

The matrix has the indicators as rows and the units as columns (the organisation's own first, then its VSV and
national, then a VSV's members), and shows ONE measure per cell, the page's own choice kept in the URL (`measure=`,
as the overview keeps `overdispersion=`):

- `rate` (default): the rate with its verdict against the comparator, the verdict as a symbol and a short word (the
  legend under the matrix says what they mean; the cell's accessible text has the verdict in full, with its
  comparator);
- `oe`: observed / expected after case-mix adjustment, with the verdict of the O/E funnel — the engine's `adjusted`
  answer per indicator and level (the organisation's type; all VSVs for a VSV), never computed here;
- `full`: today's full grid (rate, interval, counts, disclosure, verdict and comparator per unit).

Its header stays in view when the page scrolls down and its first column when the matrix scrolls sideways (on a
narrow screen it scrolls inside its own box: assets/responsive.css). Up to twelve members fit 1440 px.

The download asks the engine again with `export=True`, so counts of 1–4 (and the rates that would give them
back) are masked by the engine's rules; rows keep the order the user sorted them in, columns are the grid's.
Every download is written to the audit log.

Each unit's figures are shown as the engine discloses them (queries/disclosure.py): the viewer's own exactly,
others' named figures (national, a provider's VSV) with their counts marked "≈"; the column "Weergave" says which,
in words, and a note under the table says why.
"""

# No `from __future__ import annotations`: Dash Pages runs this module before it is in sys.modules, where the
# dataclass below could not resolve string annotations (dashboards/pages/__init__.py).
import csv
import hashlib
import io
import re
from dataclasses import dataclass

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html

import auth
from dashboards.charts import empty_state
from dashboards.clientside import FRAME_CONSTANTS, clientside
from dashboards.downloads import download_links
from dashboards.filters import filter_panel
from dashboards.indicator_access import IndicatorRequest, indicator_request
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
    viewing_as_note,
)
from dashboards.tiles import disclosure_notes
from dashboards.view_state import ViewState
from queries.catalogue import UNIT_SCALE
from queries.engine import NoDataError
from texts import NO_VALUE, code_label, text
from texts.formatting import format_number, separators, spreadsheet_text
from wording.figures import (
    count_text,
    disclosure_text,
    indicator_name,
    interval_text,
    judged_against,
    rate_text,
    verdict_key,
    verdict_text,
)

FIGURE_COLUMNS = ("rate", "interval", "numerator", "denominator", "disclosure", "verdict", "comparator")
COLUMN_WIDTHS = {"rate": 120, "interval": 130, "numerator": 100, "denominator": 100, "disclosure": 170,
                 "verdict": 190, "comparator": 250}
# The columns only an organisation judged against its comparator has (not national).
JUDGED_COLUMNS = ("verdict", "comparator")
# What the page shows (`measure=`): the matrix of one measure (rate with verdict, or case-mix adjusted O/E), or the
# full grid.
MEASURES = ("rate", "oe", "full")
DEFAULT_MEASURE = "rate"
# The flags' marks after the short verdict word in a matrix cell (the legend says what they mean).
FLAG_MARKS = {"alert": "!", "alarm": "!!"}


@dataclass(frozen=True)
class Unit:
    """One column (group) of the table: an organisation, the VSV or national, with its cell per indicator.

    `name` and `kind` head a matrix column ("Ziekenhuis Rivierenland", "Ziekenhuis"); `label` names the grid's
    column group and the CSV's columns; `org_code` and `level` find the unit in the engine's per-level answers
    (none for national)."""

    key: str
    label: str
    cells: dict[str, dict | None]
    has_verdict: bool
    name: str = ""
    kind: str = ""
    org_code: str | None = None
    level: str | None = None


def kind_label(level: str, language: str) -> str:
    """A member's type in a word short enough for a narrow column ("Praktijk"; the column's `title` and the CSV
    say "Verloskundigenpraktijk")."""
    return {"hospital": text("compare.kind_hospital", language), "practice": text("compare.kind_practice", language),
            "vsv": text("vsv", language)}[level]


def measure_option(query: dict) -> str:
    """The page's measure from the query string (`measure=`); anything unknown is the default."""
    value = query.get("measure")
    value = value[0] if isinstance(value, list) and value else value
    return value if value in MEASURES else DEFAULT_MEASURE


def layout(**query: object) -> html.Div:
    return render_page("compare", query, lambda view, context: content(view, context, query))


dash.register_page(__name__, path="/vergelijken", name="compare", order=3, layout=layout)
app = dash.get_app()  # the app Dash Pages runs this module for (dashboards/pages/__init__.py)


def content(view: ViewState, context: PageContext, query: dict) -> list:
    language = view.language
    measure = measure_option(query)
    return [
        organisation_heading(view, context, "compare-organisation"),
        viewing_as_note(view, context, "compare-viewing-as"),
        filter_panel(view, context.status),
        section(
            text("compare_table", language),
            html.P(text("compare_intro", language) if view.org_code else text("compare_intro_national", language)),
            radio_group("compare-measure", text("compare.measure", language),
                        [("rate", text("compare.measure_rate", language)),
                         ("oe", text("compare.measure_oe", language)),
                         ("full", text("compare.measure_full", language))], measure),
            html.Div([dbc.Button(text("compare.download_full", language), id="compare-download-button", color="primary",
                                 outline=True),
                      dcc.Download(id="compare-download")], className="compare-actions"),
            download_links(view, "compare-export", org=view.org_code),
            loading(html.Div([
                html.Div(id="compare-matrix-body"),
                # The full grid stays in the page (its ids serve the download's row order) and is shown on request.
                html.Div(dag.AgGrid(id="compare-grid", rowData=[], columnDefs=[], className="ag-theme-quartz",
                                    defaultColDef={"sortable": True, "resizable": True, "suppressMovable": True},
                                    dashGridOptions={"domLayout": "autoHeight", "ensureDomOrder": True,
                                                     "suppressColumnVirtualisation": True},
                                    getRowId="params.data.id", style={"height": None}),
                         id="compare-full", hidden=measure != "full"),
                html.Div(id="compare-message")])),
            section_id="compare",
        ),
        dcc.Store(id="compare-url-sync"),
    ]


@app.callback(Output("compare-matrix-body", "children"), Output("compare-grid", "rowData"),
              Output("compare-grid", "columnDefs"), Output("compare-full", "hidden"),
              Output("compare-message", "children"), Input(VIEW_SEARCH, "data"), Input("compare-measure", "value"))
def show_table(search: str | None, measure: str | None) -> tuple[list, list[dict], list[dict], bool, list]:
    request = indicator_request(search)
    measure = measure if measure in MEASURES else DEFAULT_MEASURE
    try:
        units = compare_units(request, export=False)
    except NoDataError:
        return [], [], [], True, [empty_state(text("no_published_data", request.view.language))]
    cells = [cell for unit in units for cell in unit.cells.values()]
    notes = disclosure_notes(cells, request.view.language, "compare-note")
    if measure == "full":
        return [], grid_rows(units, request), column_definitions(units, request.view.language), False, notes
    return matrix(units, request, measure), [], [], True, notes


# The measure in the address without a page reload (as the overview keeps its judging method), and the language
# switch's link keeping it — once the user chooses one: an address without `measure=` shows the default and stays
# as it was (the server drew the page, and the language switch, from it).
app.clientside_callback(
    clientside("keepCompareChoices"),
    Output("compare-url-sync", "data"),
    Output("language-switch", "href", allow_duplicate=True),
    Input("compare-measure", "value"),
    State(FRAME_CONSTANTS, "data"),
    prevent_initial_call=True,
)


@app.callback(Output("compare-download", "data"), Input("compare-download-button", "n_clicks"),
              State(VIEW_SEARCH, "data"), State("compare-grid", "virtualRowData"),
              prevent_initial_call=True)
def download(_clicks: int, search: str | None, shown_rows: list[dict] | None) -> dict:
    request = indicator_request(search)
    units = compare_units(request, export=True)
    order = [row["id"] for row in shown_rows or []]
    file_name = csv_file_name(request)
    # Every download is in the audit log (docs/security.md), like every answer of the API.
    auth.audit_event("download", target=file_name,
                     detail=f"compare {request.org_code or 'national'}{request.view.query_string()}")
    return dcc.send_string(csv_text(units, request, order), file_name, type="text/csv")


def compare_units(request: IndicatorRequest, export: bool) -> list[Unit]:
    """The columns for this viewer: own organisation, its VSV (a VSV is its own), national, and a VSV's members."""
    language = request.view.language
    engine, viewer, filters = request.engine, request.viewer, request.view.filters
    answer = engine.overview(viewer, filters, org_code=request.org_code, export=export)
    rows = {row["indicator"]["id"]: row for row in answer["rows"]}
    units = []
    if answer["organisation"]:
        name = answer["organisation"]["label"]
        units.append(Unit("org", name, {key: row["organisation"] for key, row in rows.items()}, has_verdict=True,
                          name=name, kind=kind_label(request.level, language),
                          org_code=request.org_code, level=request.level))
    vsv_cells = {key: row["vsv"] for key, row in rows.items()}
    # A VSV's own figures are its VSV's: the column "VSV" would only repeat them.
    if any(vsv_cells.values()) and request.org_type != "vsv":
        label = next(cell["label"] for cell in vsv_cells.values() if cell)
        vsv_code = next((cell.get("org_code") for cell in vsv_cells.values() if cell and cell.get("org_code")), None)
        units.append(Unit("vsv", f"{text('vsv', language)}: {label}", vsv_cells, has_verdict=True, name=label,
                          kind=text("vsv", language), org_code=vsv_code, level="vsv"))
    units.append(Unit("national", text("national", language), {key: row["national"] for key, row in rows.items()},
                      has_verdict=False, name=text("national", language)))
    if request.org_type == "vsv" and request.org_code:
        for member in engine.members(viewer, request.org_code):
            member_answer = engine.overview(viewer, filters, org_code=member["org_code"], export=export)
            level = member["level"]
            kind = code_label("org_type", level, language)
            units.append(Unit(f"member_{member['org_code']}", f"{member['name']} ({kind})",
                              {row["indicator"]["id"]: row["organisation"] for row in member_answer["rows"]},
                              has_verdict=True, name=member["name"], kind=kind_label(level, language),
                              org_code=member["org_code"], level=level))
    return units


def _field(unit: Unit, column: str) -> str:
    # ag-grid reads dots in a field as nested objects; organisation codes never hold one, but keep it safe.
    return f"{unit.key}__{column}".replace(".", "_")


def _indicators(units: list[Unit]) -> list[str]:
    return list(units[0].cells) if units else []


def display_row(indicator: dict, units: list[Unit], request: IndicatorRequest) -> dict[str, object]:
    """One table row as shown: texts in the viewer's language, plus numbers to sort by."""
    language = request.view.language
    unit_of_measure = indicator["unit"]
    row: dict[str, object] = {"id": indicator["id"], "indicator": indicator_name(indicator, language),
                              "unit": unit_of_measure}
    for unit in units:
        cell = unit.cells.get(indicator["id"])
        rate = cell.get("rate") if cell else None
        row[_field(unit, "rate")] = None if rate is None else rate * UNIT_SCALE[unit_of_measure]
        row[_field(unit, "rate_text")] = rate_text(cell, unit_of_measure, language, request.minimum)
        row[_field(unit, "interval")] = interval_text(cell, unit_of_measure, language)
        for count in ("numerator", "denominator"):
            row[_field(unit, count)] = cell.get(count) if cell else None
            row[_field(unit, f"{count}_text")] = count_text(cell.get(count) if cell else None, cell, language)
        row[_field(unit, "disclosure")] = disclosure_text(cell, language)
        if unit.has_verdict:
            judged = bool(cell and cell.get("verdict"))
            row[_field(unit, "verdict")] = verdict_text(cell, language) if cell else "—"
            row[_field(unit, "comparator")] = judged_against(cell, unit_of_measure, language) if judged else "—"
    return row


def grid_rows(units: list[Unit], request: IndicatorRequest) -> list[dict]:
    catalogue = {definition["id"]: definition for definition in request.engine.catalogue()}
    return [display_row(catalogue[indicator_id], units, request) for indicator_id in _indicators(units)]


def column_headers(language: str) -> dict[str, str]:
    return {"rate": text("rate", language), "interval": text("interval", language),
            "numerator": text("numerator", language), "denominator": text("denominator", language),
            "disclosure": text("disclosure", language), "verdict": text("verdict", language),
            "comparator": text("compared_with", language)}


def column_definitions(units: list[Unit], language: str) -> list[dict]:
    """Column groups per unit; numbers sort as numbers but show the formatted text of the same cell."""
    headers = column_headers(language)
    # The indicator columns form a group too: a pinned column without a group header leaves an empty ARIA row.
    columns: list[dict] = [{"headerName": text("indicator", language), "groupId": "indicator_group", "children": [
        {"headerName": text("name", language), "field": "indicator", "pinned": "left", "width": 290,
         "tooltipField": "indicator"},
        {"headerName": text("unit", language), "field": "unit", "pinned": "left", "width": 90},
    ]}]
    for unit in units:
        children = []
        for column in FIGURE_COLUMNS:
            if column in JUDGED_COLUMNS and not unit.has_verdict:
                continue
            child = {"headerName": headers[column], "field": _field(unit, column), "width": COLUMN_WIDTHS[column]}
            if column in {"rate", "numerator", "denominator"}:
                text_field = _field(unit, "rate_text" if column == "rate" else f"{column}_text")
                child.update(type="rightAligned", valueFormatter={"function": f"params.data['{text_field}']"})
            if column == "interval":
                child.update(sortable=False, type="rightAligned")
            children.append(child)
        columns.append({"headerName": unit.label, "children": children, "groupId": f"{unit.key}_group"})
    return columns


def short_verdict(key: str, language: str) -> str:
    """The verdict in one short word for a matrix cell ("Binnen" for "Binnen verwachting"); the symbol comes from
    the stylesheet (`.verdict-*::before`), the full words from the cell's accessible text and the legend."""
    return {"better": text("compare.short_better", language), "worse": text("compare.short_worse", language),
            "within": text("compare.short_within", language), "higher": text("compare.short_higher", language),
            "lower": text("compare.short_lower", language), "none": text("compare.short_none", language)}[key]


def matrix_cell(figure: str, spoken: str, verdict: dict | None, language: str, shown: bool = True) -> html.Td:
    """One matrix cell: the figure (`shown`: a figure, not why there is none), and when judged the verdict as symbol
    + short word (+ "!" / "!!" for an alert or alarm), hidden from screen readers, which read `spoken` — the verdict
    in full — instead."""
    children: list = [html.Span(figure, className="matrix-figure" if shown else "matrix-figure suppressed")]
    if verdict is not None:
        key = verdict_key(verdict)
        mark = FLAG_MARKS.get(verdict.get("flag") or "", "")
        children.append(html.Span(f"{short_verdict(key, language)}{' ' + mark if mark else ''}",
                                  className=f"matrix-verdict verdict-{key}", **{"aria-hidden": "true"}))
    if spoken:
        children.append(html.Span(spoken, className="visually-hidden"))
    return html.Td(children, className="matrix-cell")


def rate_matrix_cell(unit: Unit, indicator: dict, request: IndicatorRequest) -> html.Td:
    """The rate with its verdict against the comparator (the engine's cell as disclosed)."""
    language = request.view.language
    if indicator["id"] not in unit.cells:  # not an indicator of this type of organisation (applies_to)
        return matrix_cell(text("compare.not_applicable", language), text("compare.not_applicable_full", language),
                           None, language, shown=False)
    cell = unit.cells[indicator["id"]]
    figure = rate_text(cell, indicator["unit"], language, request.minimum)
    reason = ""
    shown = bool(cell) and not cell.get("suppressed")
    if cell and cell.get("suppressed"):
        figure, reason = shown_reason(cell, indicator["unit"], request)
    if not cell or not unit.has_verdict:
        return matrix_cell(figure, reason, None, language, shown)
    spoken = verdict_text(cell, language)
    if cell.get("verdict"):
        spoken = f"{spoken}, {judged_against(cell, indicator['unit'], language)}"
    return matrix_cell(figure, f"{reason}. {spoken}" if reason else spoken, cell, language, shown)


def oe_matrix_cell(unit: Unit, indicator: dict, row: dict | None, request: IndicatorRequest) -> html.Td:
    """Observed / expected with the verdict of the O/E funnel (a row of the engine's `adjusted` answer)."""
    language = request.view.language
    if indicator["id"] not in unit.cells:
        return matrix_cell(text("compare.not_applicable", language), text("compare.not_applicable_full", language),
                           None, language, shown=False)
    if not indicator["case_mix_adjusted"]:
        return matrix_cell(text("compare.not_applicable", language), text("compare.oe_not_adjusted", language),
                           None, language, shown=False)
    if unit.level is None:  # national: the expected counts are the level's own, there is no national O/E
        return matrix_cell(NO_VALUE, text("compare.oe_national", language), None, language)
    if row is None:
        return matrix_cell(NO_VALUE, "", None, language)
    if row.get("suppressed") or row.get("ratio") is None:
        figure, reason = shown_reason(row, indicator["unit"], request) if row.get("suppressed") else (NO_VALUE, "")
        spoken = f"{reason}. {verdict_text(row, language)}" if reason else verdict_text(row, language)
        return matrix_cell(figure, spoken, row, language, shown=False)
    ratio = format_number(row["ratio"], language, 2)
    spoken = text("compare.oe_spoken", language, ratio=ratio, low=format_number(row.get("ratio_low"), language, 2),
                  high=format_number(row.get("ratio_high"), language, 2), verdict=verdict_text(row, language))
    return matrix_cell(ratio, spoken, row, language)


def adjusted_rows(units: list[Unit], indicators: list[dict], request: IndicatorRequest) -> dict[tuple[str, str], dict]:
    """Each unit's row of the engine's `adjusted` answer per case-mix adjusted indicator, by (unit key, indicator):
    one answer per indicator and level (the unit's type; a VSV among all VSVs), as the viewer may see it."""
    found: dict[tuple[str, str], dict] = {}
    for indicator in indicators:
        if not indicator["case_mix_adjusted"]:
            continue
        answers: dict[str, dict[str, dict]] = {}
        for unit in units:
            if unit.level is None or unit.org_code is None or indicator["id"] not in unit.cells:
                continue
            if unit.level not in answers:
                answer = request.engine.adjusted(indicator["id"], unit.level, request.viewer, request.view.filters)
                answers[unit.level] = {row["org_code"]: row for row in answer["rows"] if row.get("org_code")}
            row = answers[unit.level].get(unit.org_code)
            if row is not None:
                found[unit.key, indicator["id"]] = row
    return found


def short_name(unit: Unit) -> str:
    """The name a narrow column shows: without a leading word that only repeats the type shown under it
    ("Verloskundigenpraktijk De Linde" → "De Linde", "VSV Rivierenland" → "Rivierenland"), so that members of one
    type stay apart in a few short lines."""
    name = unit.name or unit.label
    if not unit.level:
        return name
    for language in ("nl", "en"):  # names are as registered, in either language
        prefix = code_label("org_type", unit.level, language)
        if name.lower().startswith(prefix.lower() + " ") and name[len(prefix):].strip():
            return name[len(prefix):].strip()
    return name


def matrix_header(unit: Unit) -> html.Th:
    """A column's head: the unit's short name (wrapped, at most four lines) over its type, as seen; the full name
    with its type is the header's accessible text and its `title`."""
    parts: list = [html.Span(short_name(unit), className="matrix-name", **{"aria-hidden": "true"})]
    if unit.kind:
        parts.append(html.Span(unit.kind, className="matrix-kind", **{"aria-hidden": "true"}))
    parts.append(html.Span(unit.label, className="visually-hidden"))
    return html.Th(parts, scope="col", title=unit.label, className="matrix-head")


def shown_reason(cell: dict, unit_of_measure: str, request: IndicatorRequest) -> tuple[str, str]:
    """Why a cell has no figure, as (shown, spoken): a short word in the narrow cell ("niet getoond"), the reason
    in full for a screen reader and in the full table; "noemer < 10" is short enough as it is."""
    language = request.view.language
    reason = rate_text(cell, unit_of_measure, language, request.minimum)
    if cell.get("suppression_reason") == "denominator_below_minimum":
        return reason, ""
    return text("compare.not_shown", language), reason


def matrix_legend(measure: str, language: str) -> html.Div:
    """What the symbols, short words and marks of the matrix mean, and what the figures are."""
    verdicts = []
    for key in ("better", "worse", "within", "higher", "lower", "none"):
        short, full = short_verdict(key, language), code_label("verdict", key, language)
        # The short word once where it is the whole word ("Beter"), else with the whole word beside it.
        verdicts.append(html.Li([html.Span(short, className=f"matrix-verdict verdict-{key}",
                                           **({"aria-hidden": "true"} if short != full else {})),
                                 *([" = ", full] if short != full else [])]))
    flags = [html.Li([html.Span(mark, className="matrix-flag", **{"aria-hidden": "true"}), " ",
                      code_label("flag", flag, language)]) for flag, mark in FLAG_MARKS.items()]
    about = text("compare.legend_oe", language) if measure == "oe" else text("compare.legend_rate", language)
    return html.Div([html.H3(text("compare.legend", language), className="matrix-legend-title"),
                     html.P(about), html.Ul(verdicts + flags, className="matrix-legend-items")],
                    className="matrix-legend", id="compare-legend")


def matrix(units: list[Unit], request: IndicatorRequest, measure: str) -> list:
    """Indicators (rows) × units (columns), one measure per cell, with its legend; the table is as wide as its
    box on a wide screen and scrolls inside it on a narrow one (assets/responsive.css), header and first column
    pinned."""
    language = request.view.language
    catalogue = {definition["id"]: definition for definition in request.engine.catalogue()}
    indicators = [catalogue[indicator_id] for indicator_id in _indicators(units)]
    oe_rows = adjusted_rows(units, indicators, request) if measure == "oe" else {}
    body = []
    for indicator in indicators:
        href = page_path("indicator", indicator_id=indicator["id"]) + request.view.query_string()
        if measure == "oe":
            cells = [oe_matrix_cell(unit, indicator, oe_rows.get((unit.key, indicator["id"])), request)
                     for unit in units]
        else:
            cells = [rate_matrix_cell(unit, indicator, request) for unit in units]
        body.append(html.Tr([html.Th(dcc.Link(indicator_name(indicator, language), href=href,
                                              className="indicator-link"), scope="row"), *cells],
                            id=f"compare-row-{indicator['id']}"))
    caption = text("compare.matrix_caption", language,
                   measure=text("compare.measure_oe", language) if measure == "oe"
                   else text("compare.measure_rate", language))
    table = html.Table([html.Caption(caption, className="visually-hidden"),
                        html.Thead(html.Tr([html.Th(text("indicator", language), scope="col",
                                                    className="matrix-head matrix-corner"),
                                            *(matrix_header(unit) for unit in units)])),
                        html.Tbody(body)],
                       className=f"table table-sm compare-matrix compare-matrix-{measure}", id="compare-matrix",
                       style={"--matrix-columns": str(len(units))})
    return [scroll_box(table, caption, "matrix-scroll"), matrix_legend(measure, language)]


def csv_text(units: list[Unit], request: IndicatorRequest, order: list[str]) -> str:
    """The table as CSV with the grid's headers and row order; ';' where the decimal symbol is a comma (Dutch)."""
    language = request.view.language
    catalogue = {definition["id"]: definition for definition in request.engine.catalogue()}
    indicator_ids = [key for key in order if key in catalogue] or _indicators(units)
    headers = column_headers(language)
    columns = [("indicator", text("indicator", language)), ("unit", text("unit", language))]  # the grid's columns
    for unit in units:
        for column in FIGURE_COLUMNS:
            if column in JUDGED_COLUMNS and not unit.has_verdict:
                continue
            shown_field = _field(unit, "rate_text" if column == "rate" else
                                 f"{column}_text" if column in {"numerator", "denominator"} else column)
            columns.append((shown_field, f"{unit.label} – {headers[column]}"))
    rows = [display_row(catalogue[indicator_id], units, request) for indicator_id in indicator_ids]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";" if separators(language)[0] == "," else ",", lineterminator="\n")
    writer.writerow([spreadsheet_text(header) for _, header in columns])
    writer.writerows([[spreadsheet_text(row.get(field, "")) for field, _ in columns] for row in rows])
    # A byte-order mark lets spreadsheet programs read the file as UTF-8 (‰, ≥, –).
    return "\ufeff" + buffer.getvalue()


def csv_file_name(request: IndicatorRequest) -> str:
    """A name per organisation, target group and data version: two downloads of other views never share one."""
    version = request.engine.data_version() or {}
    label = re.sub(r"[^A-Za-z0-9-]+", "-", str(version.get("label", ""))).strip("-")
    subject = request.org_code or text("national", request.view.language).lower()
    view = hashlib.sha256(repr(sorted(request.view.filters.as_params().items())).encode()).hexdigest()[:8]
    return f"perispiegel-{subject}-{view}-{label or 'data'}.csv"
