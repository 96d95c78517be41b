"""Storing one validated batch of delivery files: deliveries, rejected records, hints, objections and the accepted
records (the highest dossier_version per dossier wins), inside the refresh's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy import ColumnElement, Connection, func, insert, select, text

from loader.bulk import _is_postgres, bulk_insert
from loader.results import RECORD_COLUMNS, DeliveryFile, ValidationResult
from tables.schema import deliveries, hints, objections, rejected_records

STAGING_TABLE = "records_incoming"


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Ids:
    """The next free row numbers; assigned here so that rows of one batch can refer to each other."""

    delivery: int
    rejection: int
    hint: int

    @classmethod
    def from_database(cls, connection: Connection) -> _Ids:
        def next_id(column: ColumnElement[Any]) -> int:
            return int(connection.execute(select(func.coalesce(func.max(column), 0))).scalar_one()) + 1

        return cls(next_id(deliveries.c.delivery_id), next_id(rejected_records.c.rejection_id),
                   next_id(hints.c.hint_id))


def _create_staging_table(connection: Connection) -> None:
    if _is_postgres(connection):
        connection.execute(text(f"CREATE TEMP TABLE {STAGING_TABLE} (LIKE records) ON COMMIT DROP"))
    else:
        connection.execute(text(f"DROP TABLE IF EXISTS temp.{STAGING_TABLE}"))
        connection.execute(text(f"CREATE TEMP TABLE {STAGING_TABLE} AS SELECT * FROM records WHERE 0"))


def _upsert_records(connection: Connection, incoming: pl.DataFrame) -> None:
    """Keep the highest dossier_version per dossier (a later delivery wins a tie); never store objected ones."""
    connection.execute(text(f"DELETE FROM {STAGING_TABLE}"))
    bulk_insert(connection, STAGING_TABLE, incoming)
    columns = incoming.columns
    keys = ("org_code", "discipline", "dossier_id")
    assignments = ", ".join(f"{name} = excluded.{name}" for name in columns if name not in keys)
    connection.execute(text(
        f"INSERT INTO records ({', '.join(columns)}) SELECT {', '.join(columns)} FROM {STAGING_TABLE} s "
        "WHERE NOT EXISTS (SELECT 1 FROM objections o WHERE o.org_code = s.org_code "
        "AND o.discipline = s.discipline AND o.dossier_id = s.dossier_id) "
        f"ON CONFLICT (org_code, discipline, dossier_id) DO UPDATE SET {assignments} "
        "WHERE excluded.dossier_version >= records.dossier_version"
    ))


def _store_batch(connection: Connection, result: ValidationResult, refresh_id: int, ids: _Ids) -> None:
    received_at = _now()
    delivery_ids = pl.DataFrame({"file_index": range(len(result.files)),
                                 "delivery_id": range(ids.delivery, ids.delivery + len(result.files))},
                                schema={"file_index": pl.Int64, "delivery_id": pl.Int64})
    connection.execute(insert(deliveries), [
        _delivery_row(delivery, ids.delivery + index, refresh_id, received_at)
        for index, delivery in enumerate(result.files)
    ])
    ids.delivery += len(result.files)

    rejected = result.rejected.join(delivery_ids, on="file_index").sort("delivery_id", "line_number")
    rejected = rejected.with_columns(
        pl.int_range(ids.rejection, ids.rejection + pl.len(), dtype=pl.Int64).alias("rejection_id")
    ).select(*(column.name for column in rejected_records.columns))
    bulk_insert(connection, rejected_records, rejected)
    ids.rejection += rejected.height

    hint_rows = result.hints.join(delivery_ids, on="file_index").with_columns(
        pl.int_range(ids.hint, ids.hint + pl.len(), dtype=pl.Int64).alias("hint_id")
    ).select(*(column.name for column in hints.columns))
    bulk_insert(connection, hints, hint_rows)
    ids.hint += hint_rows.height

    # An objection is kept once (the first delivery that reported it); its dossier's stored record goes.
    objected = (
        result.objections.filter(pl.col("dossier_id").is_not_null())
        .join(delivery_ids, on="file_index")
        .unique(["org_code", "discipline", "dossier_id"], keep="first", maintain_order=True)
        .select(*(column.name for column in objections.columns))
    )
    if objected.height:
        existing = _existing_objections(connection, objected)
        objected = objected.join(existing, on=["org_code", "discipline", "dossier_id"], how="anti")
        bulk_insert(connection, objections, objected)
        connection.execute(
            text("DELETE FROM records WHERE org_code = :org_code AND discipline = :discipline "
                 "AND dossier_id = :dossier_id"),
            objected.select("org_code", "discipline", "dossier_id").to_dicts(),
        )

    # One row per dossier within the batch: the highest version, the later file on a tie.
    incoming = (
        result.accepted.join(delivery_ids, on="file_index")
        .sort("dossier_version", "file_index", "line_number")
        .unique(["org_code", "discipline", "dossier_id"], keep="last")
        .select("org_code", "discipline", "dossier_id", "dossier_version", "delivery_id",
                *(name for name in RECORD_COLUMNS if name not in {"org_code", "discipline", "dossier_id",
                                                                  "dossier_version"}))
    )
    if incoming.height:
        _upsert_records(connection, incoming)


def _existing_objections(connection: Connection, objected: pl.DataFrame) -> pl.DataFrame:
    dossiers = objected["dossier_id"].unique().to_list()
    rows = connection.execute(
        select(objections.c.org_code, objections.c.discipline, objections.c.dossier_id)
        .where(objections.c.dossier_id.in_(dossiers))
    ).all()
    return pl.DataFrame(rows, schema={"org_code": pl.Utf8, "discipline": pl.Utf8, "dossier_id": pl.Utf8},
                        orient="row")


def _delivery_row(delivery: DeliveryFile, delivery_id: int, refresh_id: int, received_at: datetime) -> dict:
    return {
        "delivery_id": delivery_id, "refresh_id": refresh_id, "file_name": delivery.file_name,
        "sha256": delivery.sha256, "org_code": delivery.org_code, "discipline": delivery.discipline,
        "month": delivery.month, "resend": delivery.resend, "status": delivery.status,
        "message_nl": delivery.message_nl, "message_en": delivery.message_en,
        "records_read": delivery.records_read, "records_accepted": delivery.records_accepted,
        "records_rejected": delivery.records_rejected, "records_objected": delivery.records_objected,
        "received_at": received_at,
    }
