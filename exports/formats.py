"""The file formats an export is written in, and what a web response says about each."""

from __future__ import annotations

from typing import Literal, get_args

Format = Literal["csv", "xlsx", "parquet"]
#: Every format, in the order a page offers them: the machine file, the spreadsheet, the typed columnar file.
FORMATS: tuple[Format, ...] = get_args(Format)
#: The media type of each format (a response's Content-Type).
MEDIA_TYPES: dict[Format, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "parquet": "application/vnd.apache.parquet",
}
#: The file name extension of each format, without the dot.
EXTENSIONS: dict[Format, str] = {"csv": "csv", "xlsx": "xlsx", "parquet": "parquet"}


def checked_format(format: str) -> Format:
    """`format` as one of FORMATS; `ValueError` naming the allowed ones for any other (checked before a byte is
    written, so a bad request never gets half a file)."""
    for known in FORMATS:
        if format == known:
            return known
    raise ValueError(f"unknown export format {format!r}; allowed: {', '.join(FORMATS)}")
