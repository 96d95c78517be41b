"""An export as CSV: the file for machines (R, Python, Stata, a database's COPY), read the same everywhere.

UTF-8 without a byte order mark, comma-separated, one header row of the machine column names in the table's
order, `\\n` line ends, fields quoted only where needed (RFC 4180). Integers as integers (no `.0`), rates as
proportions at full precision (the shortest text that reads back as the same double), booleans `true`/`false`,
dates ISO (`2024-03-01`), and an empty field for no value; a number column never holds a word, so a masked cell
is empty and its reason is in `suppression_reason`.

No byte order mark: the CSV is for programs, and several of them take a BOM for part of the first column's name
(Python's `csv` with `encoding="utf-8"`, `cut`, older R `read.csv`), which breaks `data_version` for exactly the
users the file is for. Excel users get the XLSX file, typed and labelled, instead of a CSV that Excel would read
wrongly anyway, BOM or not (a Dutch Excel expects `;` between fields and a decimal comma). The CSV carries no
notes: its name says the level, indicators, period, question and data version, every row holds its data version,
and the XLSX and Parquet files of the same request hold the notes.

A text field that a spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`, a tab or a carriage
return: an organisation name from the register, say) gets a leading `'` (OWASP, "CSV Injection";
texts.formatting.starts_a_formula): someone opens this file in Excel after all. Number columns are never touched.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

import polars as pl

from exports.chunks import checked_chunks
from queries.answers import ExportTable
from texts.formatting import FORMULA_PATTERN, NUMBER_PATTERN


def neutralised(chunk: pl.DataFrame, text_columns: list[str]) -> pl.DataFrame:
    """`chunk` with a leading `'` on every text cell that would start a formula (texts.formatting)."""
    if not text_columns or not chunk.height:
        return chunk
    return chunk.with_columns(
        pl.when(pl.col(name).str.contains(FORMULA_PATTERN) & ~pl.col(name).str.contains(NUMBER_PATTERN))
        .then(pl.lit("'") + pl.col(name)).otherwise(pl.col(name)).alias(name)
        for name in text_columns)


def write_csv(table: ExportTable, target: BinaryIO) -> Iterator[int]:
    """Write `table` to `target` chunk by chunk (polars' writer, the header with the first), yielding the rows
    written so far after each chunk; the last value is the total. A table without rows is its header alone."""
    rows = 0
    header = True
    text_columns = [column.name for column in table.columns if column.kind == "string"]
    for chunk in checked_chunks(table):
        if not chunk.height and not header:
            continue
        neutralised(chunk, text_columns).write_csv(target, include_header=header, separator=",", line_terminator="\n",
                                                   quote_style="necessary", null_value="", date_format="%Y-%m-%d")
        header = False
        rows += chunk.height
        yield rows
    if header:  # no chunk at all: the header from the table's columns
        target.write((",".join(column.name for column in table.columns) + "\n").encode("utf-8"))
    yield rows
