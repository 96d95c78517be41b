"""An export as an Excel workbook (XlsxWriter): the file for people, typed and labelled, with its notes beside it.

Sheet 1, "Gegevens" / "Data": one header row of column labels in the context's language, frozen, with an
autofilter, and one row per figure. Every cell has its column's type: counts are numbers (`#,##0`; a version or a
unit scale `0`), booleans are Excel booleans, dates are dates (`yyyy-mm-dd`), and a cell with no value is empty,
never a word. Rates stay proportions, so a formula over them is right, shown as a percentage: `0.0%` for
indicators shown in % (unit_scale 100) and `0.00%` for those shown in ‰ (unit_scale 1000). Excel has no per-mille
format that multiplies by 1000, and showing 4.5‰ as the number 4.5 would make the cell a different number than
the CSV's and Parquet's; 0.45% is the same proportion with the precision of 0.1‰, so nobody reads a false 0.0%.
A number is stored to 16 significant digits (XlsxWriter; Excel itself computes and shows 15), so a rate may differ
from the CSV's and Parquet's exact double in its last bit.

Sheet 2, "Toelichting" / "About": the notes (exports/notes.py): question, target group, data version, who made
the file when and by which request, the columns, every indicator's definition, the disclosure rules, the citation.

The workbook is written in XlsxWriter's `constant_memory` mode: each row goes to a temporary file as soon as the
next one starts, so a large export does not sit in memory. The price is that rows must be written in order; the
column widths therefore come from the labels and the first chunk with rows, not from every row.

An Excel sheet holds 1,048,576 rows: 1,048,575 rows of data under the header. A larger export continues on
"Gegevens 2", "Gegevens 3", ... (after the About sheet), each with the same header, frozen and filtered; the notes
say how many rows the file holds. Refusing would leave the researchers who need the most rows without a file they
can open, and the CSV and Parquet files have no such limit.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any, BinaryIO

import polars as pl
import xlsxwriter

from exports.chunks import checked_chunks
from exports.context import ExportContext
from exports.naming import file_name
from exports.notes import Notes, column_label, export_notes
from queries.answers import ExportColumn, ExportTable
from texts import text
from texts.formatting import starts_a_formula

#: The rows of data an Excel sheet holds under its header (1,048,576 rows in all).
MAX_DATA_ROWS = 1_048_575
#: Number columns that hold proportions of the row's unit scale (shown as a percentage).
PROPORTIONS = frozenset({"rate", "ci_low", "ci_high", "adjusted_rate"})
#: Integer columns that are codes rather than counts: no thousands separator.
PLAIN_INTEGERS = frozenset({"data_version", "unit_scale"})
UNIT_SCALE_COLUMN = "unit_scale"
PER_MILLE = 1000

PERCENT_FORMAT, PER_MILLE_FORMAT = "0.0%", "0.00%"
COUNT_FORMAT, PLAIN_INTEGER_FORMAT, DATE_FORMAT = "#,##0", "0", "yyyy-mm-dd"
#: The narrowest sensible width (in characters) of a column of each kind; wider for a long label or long values.
KIND_WIDTHS = {"string": 8, "integer": 8, "number": 9, "boolean": 7, "date": 11}
MAX_LABEL_WIDTH, MAX_VALUE_WIDTH = 22, 40  # longer labels wrap in the header; longer values are cut off on screen
# The About sheet: column widths, in characters, for the label–value pairs (A, B) and the tables of columns (A–D)
# and indicators (A–I); a sentence spans all of them.
ABOUT_WIDTHS = (28, 40, 24, 60, 28, 14, 18, 16, 60)
LINE_HEIGHT = 15  # points per line of wrapped text


def _write_options() -> dict[str, Any]:
    # Every cell is written with its typed method: a name that starts with "=" or "http" stays text.
    return {"constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
            "strings_to_urls": False}


class _DataSheets:
    """The data sheets of one workbook, filled row by row in order; a full sheet continues on the next."""

    def __init__(self, workbook: Any, columns: Sequence[ExportColumn], language: str, rows_per_sheet: int) -> None:
        self.workbook = workbook
        self.columns = tuple(columns)
        self.language = language
        self.rows_per_sheet = rows_per_sheet
        self.sheets: list[Any] = []
        self.rows_in_sheet = 0
        self.widths: list[float] | None = None
        self.header = workbook.add_format({"bold": True, "text_wrap": True, "valign": "top", "bottom": 1})
        self.count = workbook.add_format({"num_format": COUNT_FORMAT})
        self.plain_integer = workbook.add_format({"num_format": PLAIN_INTEGER_FORMAT})
        self.percent = workbook.add_format({"num_format": PERCENT_FORMAT})
        self.per_mille = workbook.add_format({"num_format": PER_MILLE_FORMAT})
        self.date = workbook.add_format({"num_format": DATE_FORMAT})
        self.quoted = workbook.add_format({"quote_prefix": True})
        names = [column.name for column in self.columns]
        self.scale_index = names.index(UNIT_SCALE_COLUMN) if UNIT_SCALE_COLUMN in names else None

    def sheet_name(self, number: int) -> str:
        if number == 1:
            return text("export_sheet_data", self.language)
        return text("export_sheet_data_more", self.language, number=number)

    def _new_sheet(self) -> Any:
        if self.sheets:
            self._filter(self.sheets[-1])
        sheet = self.workbook.add_worksheet(self.sheet_name(len(self.sheets) + 1))
        sheet.freeze_panes(1, 0)
        for index, column in enumerate(self.columns):
            sheet.write_string(0, index, column_label(column.name, self.language), self.header)
        if self.widths is not None:
            self._set_widths(sheet)
        self.sheets.append(sheet)
        self.rows_in_sheet = 0
        return sheet

    def _filter(self, sheet: Any) -> None:
        sheet.autofilter(0, 0, max(self.rows_in_sheet, 1), len(self.columns) - 1)

    def _set_widths(self, sheet: Any) -> None:
        for index, width in enumerate(self.widths or ()):
            sheet.set_column(index, index, width)

    def _measure(self, chunk: pl.DataFrame) -> None:
        """Column widths from the labels and this chunk's values (rows are not kept to measure them all)."""
        widths = []
        for column in self.columns:
            width = max(KIND_WIDTHS[column.kind], min(len(column_label(column.name, self.language)), MAX_LABEL_WIDTH))
            if column.kind == "string":
                longest = chunk[column.name].str.len_chars().max()
                width = max(width, min(int(longest) if isinstance(longest, int) else 0, MAX_VALUE_WIDTH))
            widths.append(width + 2.0)
        self.widths = widths
        for sheet in self.sheets:
            self._set_widths(sheet)

    def start(self) -> None:
        """Add the first data sheet (sheets are in the order they are added)."""
        self._new_sheet()

    def write(self, chunk: pl.DataFrame) -> None:
        if self.widths is None and chunk.height:
            self._measure(chunk)
        kinds = [column.kind for column in self.columns]
        integer_formats = [self.plain_integer if column.name in PLAIN_INTEGERS else self.count
                           for column in self.columns]
        proportions = [column.name in PROPORTIONS for column in self.columns]
        sheet = self.sheets[-1]
        for values in chunk.iter_rows():
            if self.rows_in_sheet == self.rows_per_sheet:
                sheet = self._new_sheet()
            self.rows_in_sheet += 1
            row = self.rows_in_sheet
            scale = values[self.scale_index] if self.scale_index is not None else None
            rate_format = self.per_mille if scale == PER_MILLE else self.percent
            for index, value in enumerate(values):
                if value is None:
                    continue  # an empty cell: no value
                kind = kinds[index]
                if kind == "string":
                    # A text that looks like a formula stays text even when someone edits the cell (quote prefix,
                    # Excel's own "'" that is not part of the value; OWASP, "CSV Injection").
                    sheet.write_string(row, index, value, self.quoted if starts_a_formula(value) else None)
                elif kind == "integer":
                    sheet.write_number(row, index, value, integer_formats[index])
                elif kind == "number":
                    sheet.write_number(row, index, value, rate_format if proportions[index] else None)
                elif kind == "boolean":
                    sheet.write_boolean(row, index, value)
                else:
                    sheet.write_datetime(row, index, value, self.date)

    def finish(self) -> list[str]:
        """Filter the last sheet (a table without rows still has its header); the names of the data sheets."""
        self._filter(self.sheets[-1])
        return [sheet.get_name() for sheet in self.sheets]


def _lines(value: str, width: float) -> int:
    """How many lines `value` takes wrapped in a cell `width` characters wide (Excel fits the height of a wrapped
    cell itself, but not of merged cells)."""
    return max(1, sum(math.ceil(max(len(line), 1) / max(width - 2, 1)) for line in value.split("\n")))


def _write_notes(workbook: Any, sheet: Any, notes: Notes) -> None:
    """The About sheet: title, introduction, then each section with its title, its table header and rows."""
    wrap_style = {"text_wrap": True, "valign": "top"}
    wrap, label = workbook.add_format(wrap_style), workbook.add_format({"bold": True, **wrap_style})
    # A note's text that looks like a formula (an organisation's name, say) keeps Excel's quote prefix.
    quoted = {wrap: workbook.add_format({**wrap_style, "quote_prefix": True}),
              label: workbook.add_format({"bold": True, **wrap_style, "quote_prefix": True})}

    def style(value: str, cell_format: Any) -> Any:
        return quoted[cell_format] if starts_a_formula(value) else cell_format
    heading = workbook.add_format({"bold": True, "font_size": 12, "bottom": 1})
    title = workbook.add_format({"bold": True, "font_size": 14})
    for index, width in enumerate(ABOUT_WIDTHS):
        sheet.set_column(index, index, width)
    last_column = len(ABOUT_WIDTHS) - 1
    total_width = sum(ABOUT_WIDTHS)
    row = 0

    def sentence(value: str, cell_format: Any) -> None:
        nonlocal row
        sheet.set_row(row, LINE_HEIGHT * _lines(value, total_width))
        sheet.merge_range(row, 0, row, last_column, "", cell_format)
        sheet.write_string(row, 0, value, style(value, cell_format))
        row += 1

    sheet.write_string(row, 0, notes.title, title)
    row += 1
    sentence(notes.introduction, wrap)
    for section in notes.sections:
        row += 1
        sheet.write_string(row, 0, section.title, heading)
        row += 1
        if section.header:
            for index, value in enumerate(section.header):
                sheet.write_string(row, index, value, style(value, label))
            row += 1
        for values in section.rows:
            if len(values) == 1 and not section.header:
                sentence(values[0], wrap)
                continue
            for index, value in enumerate(values):
                plain = label if index == 0 and not section.header else wrap
                sheet.write_string(row, index, value, style(value, plain))
            row += 1


def write_xlsx(table: ExportTable, target: BinaryIO, context: ExportContext, *,
               rows_per_sheet: int = MAX_DATA_ROWS) -> Iterator[int]:
    """Write `table` as a workbook to `target`, yielding the rows written so far after each chunk; the last value,
    after the workbook is complete, is the total. The bytes reach `target` only at the end (a zip file is written
    once its parts are known); until then the rows wait in XlsxWriter's temporary files."""
    language = context.language
    workbook = xlsxwriter.Workbook(target, _write_options())
    data = _DataSheets(workbook, table.columns, language, rows_per_sheet)
    data.start()  # the first data sheet before the About sheet: "Gegevens", "Toelichting", "Gegevens 2", ...
    about = workbook.add_worksheet(text("export_sheet_about", language))
    rows = 0
    for chunk in checked_chunks(table):
        data.write(chunk)
        rows += chunk.height
        yield rows
    sheets = data.finish()
    name = file_name(table.about, "xlsx")
    notes = export_notes(table.about, table.columns, context, name, rows=rows, sheets=sheets)
    _write_notes(workbook, about, notes)
    version = table.about["data_version"]
    workbook.set_properties({
        "title": name, "subject": notes.title, "author": context.exported_by, "company": "perispiegel",
        "comments": notes.citation, "created": context.exported_at.replace(tzinfo=None),
    })
    workbook.set_custom_property("data_version", str(version.get("number")))
    workbook.set_custom_property("request", context.request)
    workbook.close()
    yield rows
