"""The rows of an export table, chunk by chunk, each checked against the table's columns before a writer sees it.

Every writer relies on a chunk having exactly the table's columns, in order, with the polars type of each
column's kind (`COLUMN_TYPES`): a CSV number column then holds only numbers, an Excel cell is typed from its
column, a Parquet row group has the file's schema. A chunk that does not is the engine's mistake, and a file with
it would be wrong without anyone seeing: it stops the export with the column named instead. So does a number that
is not finite (NaN would be written as a word, and is no rate anyone can cite).
"""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl

from queries.answers import COLUMN_TYPES, ExportTable


class MalformedChunkError(ValueError):
    """A chunk of an export table that does not match the table's columns."""


def checked_chunks(table: ExportTable) -> Iterator[pl.DataFrame]:
    """`table.chunks()`, one chunk at a time (never more than one held here), each checked."""
    names = [column.name for column in table.columns]
    numbers = [column.name for column in table.columns if column.kind == "number"]
    for index, chunk in enumerate(table.chunks()):
        if chunk.columns != names:
            raise MalformedChunkError(f"chunk {index} has the columns {chunk.columns}, the table {names}")
        for column in table.columns:
            expected = COLUMN_TYPES[column.kind]
            if chunk.schema[column.name] != expected:
                raise MalformedChunkError(f"chunk {index}: column {column.name} is {chunk.schema[column.name]}, "
                                          f"not {expected} ({column.kind})")
        if numbers and chunk.height:
            not_finite = chunk.select(pl.any_horizontal(~pl.col(numbers).is_finite()).fill_null(False).any())
            if not_finite.item():
                raise MalformedChunkError(f"chunk {index}: a number that is not finite in {numbers}")
        yield chunk
