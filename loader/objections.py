"""Objections (bezwaar): when a record's objection can be honoured, also in a file rejected as a whole.

An objection is kept as its key only: (organisation, discipline, dossier number). It can be honoured when that key
can be read: the organisation and discipline from the file name (the month and the rest of the name may be wrong),
and the dossier number and the objection from the line, found by the header's column names (the other columns may
be missing, unknown or in another order). A dossier number that cannot be stored as a key (empty, longer than the
column, with a control character or an undecodable byte) cannot be honoured: such a record is rejected with a
message asking for the objection again. docs/privacy.md says the same for the people concerned.
"""

from __future__ import annotations

import polars as pl

from contracts.delivery_format import COLUMNS
from loader.messages import CONTROL_CHARACTERS, MAX_TEXT_LENGTH
from loader.parsing import parse_bodies

OBJECTED = "1"  # the `objection` value of a woman who objected


def usable_key(dossier_id: pl.Expr) -> pl.Expr:
    """Whether a dossier number can be kept as an objection's key: not empty, within the column, nothing hidden."""
    return (dossier_id.is_not_null() & (dossier_id.str.len_chars() <= MAX_TEXT_LENGTH)
            & ~dossier_id.str.contains(CONTROL_CHARACTERS) & ~dossier_id.str.contains("\ufffd", literal=True))


def usable_dossier_id(dossier_id: str | None) -> bool:
    """`usable_key` for one dossier number."""
    return pl.select(usable_key(pl.lit(dossier_id, dtype=pl.Utf8))).item() is True


def objections_in_rejected_file(header: list[str], body: str) -> list[str]:
    """The dossier numbers of the lines of `body` whose objection is 1, read by the columns the `header` names.

    `body`: the text after the header line (LF line ends, final LF). Empty when the header does not name both
    `dossier_id` and `objection` among its first columns (as many as the format has)."""
    positions = {name: index for index, name in reversed(list(enumerate(header)))}  # the first of a duplicate
    dossier_at, objection_at = positions.get("dossier_id"), positions.get("objection")
    if dossier_at is None or objection_at is None or max(dossier_at, objection_at) >= len(COLUMNS):
        return []
    records = parse_bodies([(0, body)]).filter(pl.col("line_problem").is_null())
    dossier = pl.col(COLUMNS[dossier_at]).str.strip_chars()
    objected = records.filter((pl.col(COLUMNS[objection_at]).str.strip_chars() == OBJECTED) & usable_key(dossier))
    return objected.select(dossier)[COLUMNS[dossier_at]].to_list()
