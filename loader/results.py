"""What validating a batch of delivery files gives: one `DeliveryFile` per file (a row of `deliveries`) and the
frames of accepted records, rejected records, objections and hints (`ValidationResult`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

import polars as pl

from contracts.delivery_format import COLUMNS, FIELD_BY_NAME
from loader.messages import shown
from tables.schema import column_width, deliveries

#: Column types of accepted records (the contract with `loader.linkage.link_records`).
POLARS_TYPE_OF_KIND: dict[str, pl.DataType] = {
    "int": pl.Int64(), "date": pl.Date(), "bool": pl.Boolean(), "str": pl.Utf8(), "code": pl.Utf8(),
    "time": pl.Utf8(),
}
#: Accepted records: the key, then every delivery field except `objection`, typed.
RECORD_COLUMNS: tuple[str, ...] = ("org_code", "discipline", "dossier_id",
                                   *(name for name in COLUMNS if name not in {"org_code", "dossier_id", "objection"}))
RECORD_SCHEMA: dict[str, pl.DataType] = {
    name: pl.Utf8() if name == "discipline" else POLARS_TYPE_OF_KIND[FIELD_BY_NAME[name].kind]
    for name in RECORD_COLUMNS
}


#: What became of a delivery file: every record accepted, some rejected, or the file rejected (as a whole, with an
#: `error_code`, or because every record in it was rejected).
DeliveryStatus = Literal["accepted", "partially_accepted", "rejected"]
DELIVERY_STATUSES: tuple[DeliveryStatus, ...] = get_args(DeliveryStatus)
#: The `deliveries.file_name` column's width: a longer name is stored cut, ending in "…" (and rejected).
FILE_NAME_WIDTH = column_width(deliveries.c.file_name)


@dataclass
class DeliveryFile:
    """One delivery file and what became of it (one row of the `deliveries` table)."""

    path: Path
    sha256: str | None  # None when nothing could be read
    received_at: datetime
    org_code: str | None = None
    discipline: str | None = None
    month: str | None = None
    resend: int = 0
    status: DeliveryStatus = "accepted"
    error_code: str | None = None  # why the whole file was rejected
    message_nl: str | None = None  # why, or a note about the file (e.g. records not stored)
    message_en: str | None = None
    records_read: int = 0
    records_accepted: int = 0
    records_rejected: int = 0
    records_objected: int = 0

    @property
    def file_name(self) -> str:
        """The name as stored and shown: undecodable bytes and control characters made visible, cut to the column."""
        return shown(self.path.name, FILE_NAME_WIDTH)

    @property
    def rejected_whole(self) -> bool:
        """Rejected as a whole (nothing in it validated record by record)."""
        return self.error_code is not None

    def reject(self, error_code: str, message_nl: str, message_en: str, records_read: int,
               records_objected: int = 0) -> None:
        """Reject the whole file: every record in it counts as read and rejected, but for the objections that
        could still be honoured (`loader.objections`)."""
        self.status, self.error_code = "rejected", error_code
        self.message_nl, self.message_en = message_nl, message_en
        self.records_read, self.records_objected = records_read, records_objected
        self.records_rejected = records_read - records_objected
        self.records_accepted = 0


if TYPE_CHECKING:
    class NamedDeliveryFile(DeliveryFile):
        """A DeliveryFile whose name `_check_name` accepted: discipline, organisation and month are known."""

        discipline: str
        org_code: str
        month: str


def _empty(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


ACCEPTED_SCHEMA = {"file_index": pl.Int64(), "line_number": pl.Int64(), **RECORD_SCHEMA}
REJECTED_SCHEMA = {"file_index": pl.Int64(), "line_number": pl.Int64(), "dossier_id": pl.Utf8(),
                   "error_codes": pl.Utf8(), "message_nl": pl.Utf8(), "message_en": pl.Utf8(), "raw": pl.Utf8()}
OBJECTION_SCHEMA = {"file_index": pl.Int64(), "org_code": pl.Utf8(), "discipline": pl.Utf8(),
                    "dossier_id": pl.Utf8()}
HINT_SCHEMA = {"file_index": pl.Int64(), "dossier_id": pl.Utf8(), "field": pl.Utf8(), "hint_code": pl.Utf8(),
               "message_nl": pl.Utf8(), "message_en": pl.Utf8()}


@dataclass
class ValidationResult:
    """The outcome of validating a batch of delivery files. `file_index` in the frames indexes `files`."""

    files: list[DeliveryFile]
    accepted: pl.DataFrame = field(default_factory=lambda: _empty(ACCEPTED_SCHEMA))
    rejected: pl.DataFrame = field(default_factory=lambda: _empty(REJECTED_SCHEMA))
    objections: pl.DataFrame = field(default_factory=lambda: _empty(OBJECTION_SCHEMA))
    hints: pl.DataFrame = field(default_factory=lambda: _empty(HINT_SCHEMA))

    def rejected_by_reason(self) -> dict[str, int]:
        """Rejected records per error code (`kind:field`); a whole rejected file counts as `file:<kind>`."""
        counts: dict[str, int] = {}
        for delivery in self.files:
            if delivery.rejected_whole:
                key = f"file:{delivery.error_code}"
                counts[key] = counts.get(key, 0) + delivery.records_rejected
        if self.rejected.height:
            exploded = self.rejected.select(pl.col("error_codes").str.split(";")).explode("error_codes")
            for code, count in exploded.group_by("error_codes").len().iter_rows():
                counts[code] = counts.get(code, 0) + count
        return dict(sorted(counts.items()))
