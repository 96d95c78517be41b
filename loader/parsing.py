"""Receive, parsing: the bodies of a batch's files as one CSV of string columns, with each line's file, line
number and field count."""

from __future__ import annotations

import io

import numpy as np
import polars as pl

from contracts.delivery_format import COLUMNS
from loader.files import _data_lines
from loader.messages import _both
from loader.results import DeliveryFile
from texts import text

# ----------------------------------------------------------------------------------------------------------
# Parsing a batch
# ----------------------------------------------------------------------------------------------------------

def _parse_fields(body: bytes) -> pl.DataFrame:
    return pl.read_csv(io.BytesIO(body), has_header=False, new_columns=list(COLUMNS), infer_schema=False,
                       truncate_ragged_lines=True, raise_if_empty=False,
                       schema={name: pl.Utf8 for name in COLUMNS})


def _parse_lines(body: bytes) -> pl.Series:
    # Separator and quote off: one column holding each line as received.
    return pl.read_csv(io.BytesIO(body), has_header=False, separator="\x1f", quote_char=None, infer_schema=False,
                       truncate_ragged_lines=True, raise_if_empty=False, new_columns=["line"])["line"]


def _parse_batch(bodies: list[tuple[int, bytes]], files: list[DeliveryFile]) -> pl.DataFrame:
    """Parse the bodies of the files as one CSV: string columns + `file_index`, `line_number`, `field_count`.

    Files whose values hold line breaks (or that polars cannot parse) are retried one by one so that only
    they are rejected.
    """
    if not bodies:
        return pl.DataFrame(schema={name: pl.Utf8 for name in COLUMNS})
    line_counts = np.array([body.count(b"\n") for _, body in bodies], dtype=np.int64)
    buffer = b"".join(body for _, body in bodies)
    try:
        fields, lines = _parse_fields(buffer), _parse_lines(buffer)
        aligned = fields.height == lines.len() == int(line_counts.sum())
    except pl.exceptions.PolarsError:
        aligned = False
    if not aligned:
        parsed = [_parse_single(index, body, files[index]) for index, body in bodies]
        kept = [frame for frame in parsed if frame is not None]
        return pl.concat(kept) if kept else pl.DataFrame(schema={name: pl.Utf8 for name in COLUMNS})
    file_index = np.repeat(np.array([index for index, _ in bodies], dtype=np.int64), line_counts)
    starts = np.repeat(np.cumsum(line_counts) - line_counts, line_counts)
    line_number = np.arange(len(file_index), dtype=np.int64) - starts + 2  # the header is line 1
    return fields.with_columns(
        pl.Series("file_index", file_index), pl.Series("line_number", line_number), _field_count(lines),
    )


def _parse_single(index: int, body: bytes, delivery: DeliveryFile) -> pl.DataFrame | None:
    line_count = body.count(b"\n")
    try:
        fields, lines = _parse_fields(body), _parse_lines(body)
    except pl.exceptions.PolarsError as error:
        reason = str(error).split("\n")[0]
        delivery.reject("not_csv", *_both(lambda language: text("loader.not_csv", language, error=reason)),
                        _data_lines(body))
        return None
    if not fields.height == lines.len() == line_count:
        delivery.reject("line_break_in_value", *_both(lambda language: text("loader.line_break_in_value", language)),
                        _data_lines(body))
        return None
    return fields.with_columns(
        pl.lit(index, dtype=pl.Int64).alias("file_index"),
        pl.int_range(2, pl.len() + 2, dtype=pl.Int64).alias("line_number"),
        _field_count(lines),
    )


def _field_count(lines: pl.Series) -> pl.Series:
    """Fields on each line: commas outside quoted values, plus one (0 for a blank line)."""
    unquoted = lines.str.replace_all(r'"[^"]*"', "")
    count = unquoted.str.count_matches(",") + 1
    return pl.select(
        pl.when(lines.str.strip_chars().str.len_bytes().fill_null(0) == 0).then(0).otherwise(count)
        .cast(pl.Int64).alias("field_count")
    ).to_series()
