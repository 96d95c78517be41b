"""Compare: every indicator in one sortable table (dash-ag-grid) — the organisation, its VSV and national, and for
a VSV each member organisation — with a CSV download of exactly that table.

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
from dashboards.downloads import download_links
from dashboards.filters import filter_panel
from dashboards.indicator_access import IndicatorRequest, indicator_request
from dashboards.layout import (
    VIEW_SEARCH,
    PageContext,
    loading,
    organisation_heading,
    render_page,
    section,
    viewing_as_note,
)
from dashboards.tiles import (
    count_text,
    disclosure_notes,
    disclosure_text,
    indicator_name,
    interval_text,
    judged_against,
    rate_text,
    verdict_text,
)
from dashboards.view_state import ViewState
from queries.catalogue import UNIT_SCALE
from queries.engine import NoDataError
from texts import code_label, text
from texts.formatting import separators

MEMBER_LEVELS = ("hospital", "practice")
FIGURE_COLUMNS = ("rate", "interval", "numerator", "denominator", "disclosure", "verdict", "comparator")
COLUMN_WIDTHS = {"rate": 120, "interval": 130, "numerator": 100, "denominator": 100, "disclosure": 170,
                 "verdict": 190, "comparator": 250}
# The columns only an organisation judged against its comparator has (not national).
JUDGED_COLUMNS = ("verdict", "comparator")


@dataclass(frozen=True)
class Unit:
    """One column group of the table: an organisation, the VSV or national, with its cell per indicator."""

    key: str
    label: str
    cells: dict[str, dict | None]
    has_verdict: bool


def layout(**query: object) -> html.Div:
    return render_page("compare", query, content)


dash.register_page(__name__, path="/vergelijken", name="compare", order=3, layout=layout)
app = dash.get_app()  # the app Dash Pages runs this module for (dashboards/pages/__init__.py)


def content(view: ViewState, context: PageContext) -> list:
    language = view.language
    return [
        organisation_heading(view, context, "compare-organisation"),
        viewing_as_note(view, context, "compare-viewing-as"),
        filter_panel(view, context.status),
        section(
            text("compare_table", language),
            html.P(text("compare_intro", language) if view.org_code else text("compare_intro_national", language)),
            html.Div([dbc.Button(text("download_csv", language), id="compare-download-button", color="primary",
                                 outline=True),
                      dcc.Download(id="compare-download")], className="compare-actions"),
            download_links(view, "compare-export", org=view.org_code),
            loading(
                html.Div([dag.AgGrid(id="compare-grid", rowData=[], columnDefs=[], className="ag-theme-quartz",
                                     defaultColDef={"sortable": True, "resizable": True, "suppressMovable": True},
                                     dashGridOptions={"domLayout": "autoHeight", "ensureDomOrder": True,
                                                      "suppressColumnVirtualisation": True},
                                     getRowId="params.data.id", style={"height": None}),
                          html.Div(id="compare-message")])),
            section_id="compare",
        ),
    ]


@app.callback(Output("compare-grid", "rowData"), Output("compare-grid", "columnDefs"),
              Output("compare-message", "children"), Input(VIEW_SEARCH, "data"))
def show_table(search: str | None) -> tuple[list[dict], list[dict], list]:
    request = indicator_request(search)
    try:
        units = compare_units(request, export=False)
    except NoDataError:
        return [], [], [empty_state(text("no_published_data", request.view.language))]
    cells = [cell for unit in units for cell in unit.cells.values()]
    notes = disclosure_notes(cells, request.view.language, "compare-note")
    return grid_rows(units, request), column_definitions(units, request.view.language), notes


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
    """The column groups for this viewer: own organisation, its VSV, national, and a VSV's members."""
    language = request.view.language
    engine, viewer, filters = request.engine, request.viewer, request.view.filters
    answer = engine.overview(viewer, filters, org_code=request.org_code, export=export)
    rows = {row["indicator"]["id"]: row for row in answer["rows"]}
    units = []
    if answer["organisation"]:
        units.append(Unit("org", answer["organisation"]["label"],
                          {key: row["organisation"] for key, row in rows.items()}, has_verdict=True))
    vsv_cells = {key: row["vsv"] for key, row in rows.items()}
    if any(vsv_cells.values()):
        label = next(cell["label"] for cell in vsv_cells.values() if cell)
        units.append(Unit("vsv", f"{text('vsv', language)}: {label}", vsv_cells, has_verdict=True))
    units.append(Unit("national", text("national", language), {key: row["national"] for key, row in rows.items()},
                      has_verdict=False))
    if request.org_type == "vsv":
        for level in MEMBER_LEVELS:
            members = [member for member in engine.organisations(viewer, level)
                       if member["vsv_code"] == request.org_code]
            for member in members:
                member_answer = engine.overview(viewer, filters, org_code=member["org_code"], export=export)
                units.append(Unit(f"member_{member['org_code']}",
                                  f"{member['name']} ({code_label('org_type', level, language)})",
                                  {row["indicator"]["id"]: row["organisation"] for row in member_answer["rows"]},
                                  has_verdict=True))
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
    writer.writerow([header for _, header in columns])
    writer.writerows([[row.get(field, "") for field, _ in columns] for row in rows])
    # A byte-order mark lets spreadsheet programs read the file as UTF-8 (‰, ≥, –).
    return "\ufeff" + buffer.getvalue()


def csv_file_name(request: IndicatorRequest) -> str:
    """A name per organisation, target group and data version: two downloads of other views never share one."""
    version = request.engine.data_version() or {}
    label = re.sub(r"[^A-Za-z0-9-]+", "-", str(version.get("label", ""))).strip("-")
    subject = request.org_code or text("national", request.view.language).lower()
    view = hashlib.sha256(repr(sorted(request.view.filters.as_params().items())).encode()).hexdigest()[:8]
    return f"perispiegel-{subject}-{view}-{label or 'data'}.csv"
