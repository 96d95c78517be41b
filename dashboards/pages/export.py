"""Exporteren / Export: a researcher's (and everyone's) table to take away — chosen indicators at a level, broken
down by period and up to two target-group dimensions, for the view's target group — as CSV, Excel or Parquet.

The page asks the engine's export question for a preview (the first rows and how many there are) and offers the
file as a link to the API's `GET /api/v1/export` (dashboards/downloads.py): the same question, so the preview is
the file's first rows, under the same scope and disclosure rules and the same audit log. The address is shown, so
the export can be repeated (or scripted) and cited.
"""

import dash
import polars as pl
from dash import Input, Output, html

from dashboards.charts import empty_state
from dashboards.downloads import download_links, export_address
from dashboards.filters import filter_panel
from dashboards.indicator_access import indicator_request
from dashboards.layout import (
    VIEW_SEARCH,
    PageContext,
    checklist_group,
    data_table,
    loading,
    radio_group,
    render_page,
    section,
)
from dashboards.view_state import ViewState
from queries.catalogue import INDICATORS
from queries.engine import GRAINS, LEVELS, NoDataError
from queries.export_table import MAX_DIMENSIONS
from queries.filters import DIMENSIONS
from texts import code_label, text
from texts.formatting import format_number, format_rate
from wording.figures import size_text

PREVIEW_ROWS = 10
# Above this many rows an Excel file takes more than about ten seconds to write (docs/benchmarks.md, "Exports").
XLSX_QUICK_ROWS = 50_000
WHOLE_PERIOD = "whole"


def layout(**query: object) -> dash.html.Div:
    return render_page("export", query, content)


dash.register_page(__name__, path="/exporteren", name="export", order=6, layout=layout)
app = dash.get_app()  # the app Dash Pages runs this module for (dashboards/pages/__init__.py)


def content(view: ViewState, context: PageContext) -> list:
    language = view.language
    level = "hospital" if context.viewer.role in ("researcher", "admin") else "national"
    return [
        html.P(text("export_intro", language), className="page-intro"),
        filter_panel(view, context.status),
        section(
            text("export_choices", language),
            checklist_group("export-indicators", text("export_indicators", language),
                            [(definition.id, definition.name(language)) for definition in INDICATORS], [],
                            help_text=text("export_indicators_help", language), columns=True),
            radio_group("export-level", text("export_level", language),
                        [("national", text("export_level_national", language)),
                         *((name, code_label("org_type_plural", name, language)) for name in LEVELS)],
                        level, help_text=text("export_level_help", language)),
            checklist_group("export-dimensions", text("export_dimensions", language),
                            [(name, spec.label(language)) for name, spec in DIMENSIONS.items()], [],
                            help_text=text("export_dimensions_help", language), columns=True),
            radio_group("export-grain", text("export_grain", language),
                        [(WHOLE_PERIOD, text("export_whole_period", language)),
                         *((grain, code_label("grain", grain, language)) for grain in GRAINS)], WHOLE_PERIOD),
            section_id="export-choices",
        ),
        section(text("export_preview", language), loading(html.Div(id="export-preview")), section_id="export-file"),
    ]


@app.callback(Output("export-preview", "children"), Input(VIEW_SEARCH, "data"), Input("export-indicators", "value"),
              Input("export-level", "value"), Input("export-dimensions", "value"), Input("export-grain", "value"))
def preview(search: str | None, indicators: list[str] | None, level: str, dimensions: list[str] | None,
            grain: str) -> list:
    request = indicator_request(search)
    view = request.view
    language = view.language
    chosen_dimensions = list(dimensions or [])
    notes = []
    if len(chosen_dimensions) > MAX_DIMENSIONS:
        notes.append(html.P(text("export_too_many_dimensions", language), className="alert alert-warning",
                            id="export-dimension-warning"))
        chosen_dimensions = chosen_dimensions[:MAX_DIMENSIONS]
    question = {"indicator": list(indicators or []), "level": level, "dimension": chosen_dimensions,
                "grain": None if grain == WHOLE_PERIOD else grain}
    try:
        table = request.engine.export(request.viewer, view.filters, indicators=indicators or None, level=level,
                                      dimensions=chosen_dimensions, grain=question["grain"], language=language)
        rows, first = 0, []
        for chunk in table.chunks():
            if rows < PREVIEW_ROWS:
                first.append(chunk.head(PREVIEW_ROWS - rows))
            rows += chunk.height
    except NoDataError:
        return [empty_state(text("no_published_data", language))]
    version = table.about["data_version"]
    shown = pl.concat(first) if first else pl.DataFrame()
    return [
        *notes,
        html.P(text("export_row_count", language, rows=format_number(rows, language),
                    columns=format_number(len(table.columns), language), version=version["label"]),
               id="export-row-count"),
        download_links(view, "export-download", **question),
        *([html.P(text("export_xlsx_slow", language, rows=format_number(XLSX_QUICK_ROWS, language)),
                  className="control-help", id="export-xlsx-note")] if rows > XLSX_QUICK_ROWS else []),
        html.P([text("export_address", language), " ",
                html.Code(export_address(view, "csv", **question, data_version=str(version["number"])),
                          id="export-address")], className="control-help"),
        _preview_table(shown, language) if shown.height else html.P(text("export_no_rows", language)),
        html.P(text("export_disclosure_note", language), className="chart-note"),
    ]


def _reason(reason: str | None, language: str) -> str:
    if reason is None:
        return ""
    return text("export_below_minimum", language) if reason == "denominator_below_minimum" else \
        code_label("suppression", reason, language)


def _unit(row: dict, language: str) -> str:
    """The row's unit in words: national, the comparator, an organisation's name or pseudonym."""
    if row["row_kind"] == "national":
        return text("national", language)
    if row["row_kind"] == "comparator":
        return code_label("reference", row["level"], language)
    return row["org_label"]


def _preview_table(rows: pl.DataFrame, language: str) -> html.Div:
    """The first rows as the file holds them, in a few readable columns."""
    headers = [code_label("export_header", name, language)
               for name in ("indicator_name", "org_label", "period", "value_1_label", "value_2_label", "numerator",
                            "denominator", "rate")]
    headers += [text("export_preview_size", language), code_label("export_header", "suppression_reason", language)]
    body = []
    for row in rows.iter_rows(named=True):
        unit = "%" if row["unit_scale"] == 100 else "‰"
        band = {"low": row["size_band_low"], "high": row["size_band_high"]} if row["size_band_low"] is not None \
            else None
        body.append([
            row["indicator_name"], _unit(row, language), row["period"] or "", row["value_1_label"] or "",
            row["value_2_label"] or "", format_number(row["numerator"], language) if row["numerator"] is not None
            else "", format_number(row["denominator"], language) if row["denominator"] is not None else "",
            format_rate(row["rate"], unit, language) if row["rate"] is not None else "",
            size_text(band, language) if band else "", _reason(row["suppression_reason"], language),
        ])
    return data_table(text("export_preview", language), headers, body, numeric_columns=(5, 6, 7),
                      table_id="export-preview-table")
