"""Receive, parsing: the bodies of a batch's files as string columns, one row per record, with each record's file,
line number and field count.

A record is a line (the format: one record per line). The bodies arrive decoded with LF line ends
(`loader.files`); they are split into lines once, for the whole batch. Then, by what a line holds:
- no double quote (nearly every line): split on commas, column-wise;
- an even number of double quotes: read as CSV (Python's `csv`), which is how a value with a comma is written;
- an odd number: a quote is not closed on that line. When the lines up to the next such line read together as
  one record of the format's width, a quoted value holds a line break: one record (`line_break_in_value`), its
  lines counted once. Otherwise the line alone is a record with an unclosed quote (`unclosed_quote`): it is
  rejected, and the lines after it are read as usual.
Blank lines are not records. So the records counted are those a careful reader finds: nothing is lost to a stray
quote, and no line is taken for a header.
"""

from __future__ import annotations

import csv
from typing import Literal

import numpy as np
import polars as pl

from contracts.delivery_format import COLUMNS

#: Why a line could not be split into fields: the record is rejected with that code alone.
LineProblem = Literal["unclosed_quote", "line_break_in_value"]
#: A quoted value spanning more lines than this is not looked for: the line is an unclosed quote.
MAX_LINES_OF_ONE_RECORD = 20
PARSED_SCHEMA: dict[str, pl.DataType] = {
    **{name: pl.Utf8() for name in COLUMNS}, "file_index": pl.Int64(), "line_number": pl.Int64(),
    "field_count": pl.Int64(), "line_problem": pl.Utf8(), "last_line_number": pl.Int64(), "line": pl.Utf8(),
}


def parse_bodies(bodies: list[tuple[int, str]]) -> pl.DataFrame:
    """One row per record of the bodies (`(file_index, text)`, the text after the header line, LF line ends, a
    final LF): every column of the format as received (`PARSED_SCHEMA`), `line_number` (the header is line 1),
    `field_count`, and for a record that could not be split `line_problem`, `last_line_number` and `line` (as
    received; its fields are empty then)."""
    if not bodies:
        return pl.DataFrame(schema=PARSED_SCHEMA)
    line_counts = np.array([body.count("\n") for _, body in bodies], dtype=np.int64)
    every_line = pl.Series("line", ["".join(body for _, body in bodies)]).str.split("\n").explode()
    file_index = np.repeat(np.array([index for index, _ in bodies], dtype=np.int64), line_counts)
    starts = np.repeat(np.cumsum(line_counts) - line_counts, line_counts)
    lines = pl.DataFrame({
        "line": every_line.slice(0, int(line_counts.sum())),  # the final LF leaves one empty piece
        "file_index": file_index,
        "line_number": np.arange(len(file_index), dtype=np.int64) - starts + 2,
    }).with_columns(quotes=pl.col("line").str.count_matches('"', literal=True).cast(pl.Int64))

    parts: list[pl.DataFrame] = []
    odd = lines.with_row_index("_row").filter(pl.col("quotes") % 2 == 1)
    consumed = pl.Series("_row", [], dtype=pl.UInt32)
    if odd.height:
        split_records, consumed = _unclosed_quotes(lines, odd)
        parts.append(split_records)
    if consumed.len():
        lines = lines.with_row_index("_row").filter(~pl.col("_row").is_in(consumed.implode())).drop("_row")
    lines = lines.filter((pl.col("quotes") % 2 == 0) & (pl.col("line").str.strip_chars().str.len_bytes() > 0))
    plain = lines.filter(pl.col("quotes") == 0)
    parts.append(_split_plain(plain))
    quoted = lines.filter(pl.col("quotes") > 0)
    if quoted.height:
        parts.append(_read_quoted(quoted))
    parsed = pl.concat([part.select(*PARSED_SCHEMA).cast(PARSED_SCHEMA) for part in parts])  # type: ignore[arg-type]
    return parsed.sort("file_index", "line_number") if len(parts) > 1 else parsed


def _split_plain(lines: pl.DataFrame) -> pl.DataFrame:
    """Lines without a double quote: fields are what lies between the commas."""
    fields = lines["line"].str.split_exact(",", len(COLUMNS) - 1).struct.rename_fields(list(COLUMNS))
    return lines.select("file_index", "line_number").with_columns(
        fields.struct.unnest(),
        field_count=(lines["line"].str.count_matches(",", literal=True) + 1).cast(pl.Int64),
        line_problem=pl.lit(None, dtype=pl.Utf8), last_line_number=pl.col("line_number"),
        line=pl.lit(None, dtype=pl.Utf8),
    )


def _rows_frame(rows: list[list[str]], others: dict[str, list]) -> pl.DataFrame:
    """Rows of fields (any width) as the format's columns, with `field_count` and the `others` columns."""
    width = len(COLUMNS)
    padded = [row[:width] + [None] * (width - len(row)) for row in rows]
    return pl.DataFrame(padded, schema={name: pl.Utf8 for name in COLUMNS}, orient="row").with_columns(
        pl.Series("field_count", [len(row) for row in rows], dtype=pl.Int64),
        *(pl.Series(name, values) for name, values in others.items()),
    )


def _read_quoted(lines: pl.DataFrame) -> pl.DataFrame:
    """Lines with quotes, each closed: CSV, one record per line (an even count of quotes closes every value)."""
    rows = list(csv.reader(lines["line"].to_list(), skipinitialspace=True))
    return _rows_frame(rows, {"file_index": lines["file_index"].to_list(),
                              "line_number": lines["line_number"].to_list()}).with_columns(
        line_problem=pl.lit(None, dtype=pl.Utf8), last_line_number=pl.col("line_number"),
        line=pl.lit(None, dtype=pl.Utf8))


def _unclosed_quotes(lines: pl.DataFrame, odd: pl.DataFrame) -> tuple[pl.DataFrame, pl.Series]:
    """The records starting at a line with an odd number of quotes, and the row numbers of the lines they take.

    Sequential, but only over the (rare) lines with an unclosed quote and the lines up to the next one."""
    text = lines["line"]
    rows: list[list[str]] = []
    others: dict[str, list] = {"file_index": [], "line_number": [], "line_problem": [], "last_line_number": [],
                               "line": []}
    consumed: list[int] = []
    odd_rows = odd.select("_row", "file_index", "line_number").rows()
    taken_up_to = -1
    for position, (row, file_index, line_number) in enumerate(odd_rows):
        if row <= taken_up_to:
            continue
        following = odd_rows[position + 1] if position + 1 < len(odd_rows) else None
        record: list[str] | None = None
        if (following is not None and following[1] == file_index
                and following[0] - row < MAX_LINES_OF_ONE_RECORD):
            joined = "\n".join(text.slice(row, following[0] - row + 1).to_list())
            read = _one_record(joined)
            if read is not None and len(read) == len(COLUMNS):
                record = read
        if record is not None and following is not None:
            rows.append(record)
            problem: LineProblem = "line_break_in_value"
            last, line = following[2], None
            consumed += list(range(row, following[0] + 1))
            taken_up_to = following[0]
        else:
            line = text[row]
            first_field = line.split(",", 1)[0]
            rows.append([] if '"' in first_field else [first_field])  # the dossier number, when it can be read
            problem, last = "unclosed_quote", line_number
            consumed.append(row)
        for name, value in (("file_index", file_index), ("line_number", line_number), ("line_problem", problem),
                            ("last_line_number", last), ("line", line)):
            others[name].append(value)
    return _rows_frame(rows, others), pl.Series("_row", consumed, dtype=pl.UInt32)


def _one_record(text: str) -> list[str] | None:
    """`text` read as CSV when it is exactly one record, else None."""
    try:
        rows = list(csv.reader([text], strict=True, skipinitialspace=True))
    except csv.Error:
        return None
    return rows[0] if len(rows) == 1 else None
