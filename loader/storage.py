"""Storing one validated batch of delivery files: deliveries, rejected records, hints, objections and the accepted
records (the highest dossier_version per dossier wins), inside the refresh's transaction; and which files count as
read before (`known_hashes`).

Every file gets a deliveries row, whatever became of it: the rows are history (the same bytes can have several, e.g.
a file rejected for its organisation and read again once the register knows it). An accepted record that is not
stored, because a higher version of its dossier is stored or its woman objected earlier, is said in a note on its
file's row (`message_nl`, `message_en`), so that "accepted" never hides it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import ColumnElement, Connection, bindparam, func, insert, select, text, update

from contracts.delivery_format import DISCIPLINE_ORGANISATION_TYPE
from loader.bulk import _is_postgres, bulk_insert
from loader.messages import MESSAGE_SEPARATOR, _both
from loader.results import RECORD_COLUMNS, DeliveryFile, ValidationResult
from tables.schema import deliveries, hints, objections, organisations, rejected_records
from texts import text as message

STAGING_TABLE = "records_incoming"
KEY = ["org_code", "discipline", "dossier_id"]
KEY_SCHEMA = {name: pl.Utf8 for name in KEY}
#: Rejections that end once the register knows the organisation (with the right type): such a file is read again.
RETRIED_ONCE_REGISTERED = ("unknown_organisation", "organisation_type_not_allowed")
#: Dossier numbers a note names, at most.
DOSSIERS_NAMED = 5


def known_hashes(connection: Connection, register: pl.DataFrame) -> set[str]:
    """The SHA-256 of every file read before, which a refresh does not read again, but for a file rejected for its
    organisation that the register now knows with the right type (`register`: the register file being loaded,
    `org_code` and `org_type`; it overrides the stored one, as its upsert will). A file nothing could be read of
    has no hash: it is always read again."""
    org_types = {code: org_type for code, org_type in connection.execute(
        select(organisations.c.org_code, organisations.c.org_type))}
    org_types.update(zip(register["org_code"].to_list(), register["org_type"].to_list(), strict=True))
    allowed = {discipline.value: org_type for discipline, org_type in DISCIPLINE_ORGANISATION_TYPE.items()}
    rows = connection.execute(select(deliveries.c.sha256, deliveries.c.error_code, deliveries.c.org_code,
                                     deliveries.c.discipline).where(deliveries.c.sha256.is_not(None)))
    known: set[str] = set()
    retried: set[str] = set()
    for sha256, error_code, org_code, discipline in rows:
        if (error_code in RETRIED_ONCE_REGISTERED and discipline in allowed
                and org_types.get(org_code) == allowed[discipline]):
            retried.add(sha256)
        else:
            known.add(sha256)
    return known


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


def _store_batch(connection: Connection, result: ValidationResult, refresh_id: int, ids: _Ids) -> int:
    """Store one validated batch; the number of accepted records that were not stored (see the module)."""
    delivery_ids = pl.DataFrame({"file_index": range(len(result.files)),
                                 "delivery_id": range(ids.delivery, ids.delivery + len(result.files))},
                                schema={"file_index": pl.Int64, "delivery_id": pl.Int64})
    connection.execute(insert(deliveries), [
        _delivery_row(delivery, ids.delivery + index, refresh_id)
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
    if not incoming.height:
        return 0
    _upsert_records(connection, incoming)
    return _note_records_not_stored(connection, result.accepted.join(delivery_ids, on="file_index"), incoming)


def _note_records_not_stored(connection: Connection, accepted: pl.DataFrame, incoming: pl.DataFrame) -> int:
    """Say on each file's row how many of its accepted records were not stored, and why; how many in all.

    `accepted`: every accepted record of the batch (with `delivery_id`); `incoming`: the one per dossier that went
    to the upsert (in the staging table). Not stored: a record whose dossier has a higher version, in this batch or
    stored; a record whose dossier has an objection."""
    stored_higher = connection.execute(text(
        f"SELECT s.org_code, s.discipline, s.dossier_id, r.dossier_version FROM {STAGING_TABLE} s JOIN records r "
        "ON r.org_code = s.org_code AND r.discipline = s.discipline AND r.dossier_id = s.dossier_id "
        "WHERE r.dossier_version > s.dossier_version")).all()
    highest = pl.concat([
        incoming.select(*KEY, "dossier_version"),
        pl.DataFrame(stored_higher, schema={**KEY_SCHEMA, "dossier_version": pl.Int64}, orient="row"),
    ]).group_by(KEY).agg(pl.col("dossier_version").max().alias("highest"))
    superseded = (accepted.join(highest, on=KEY).filter(pl.col("dossier_version") < pl.col("highest"))
                  .sort("delivery_id", "line_number"))
    objected_keys = pl.DataFrame(connection.execute(text(
        f"SELECT s.org_code, s.discipline, s.dossier_id FROM {STAGING_TABLE} s WHERE EXISTS (SELECT 1 FROM "
        "objections o WHERE o.org_code = s.org_code AND o.discipline = s.discipline AND o.dossier_id = s.dossier_id)"
    )).all(), schema=KEY_SCHEMA, orient="row")
    objected = accepted.join(objected_keys, on=KEY)
    notes: dict[int, list[tuple[str, str]]] = {}
    for (delivery_id,), rows in superseded.group_by(["delivery_id"], maintain_order=True):
        named = rows["dossier_id"].head(DOSSIERS_NAMED).to_list()
        dossiers = ", ".join(named) + (", …" if rows.height > len(named) else "")
        notes.setdefault(int(delivery_id), []).append(_superseded_note(rows.height, dossiers))
    for (delivery_id,), rows in objected.group_by(["delivery_id"], maintain_order=True):
        notes.setdefault(int(delivery_id), []).append(_objected_note(rows.height))
    if notes:
        connection.execute(
            update(deliveries).where(deliveries.c.delivery_id == bindparam("id"))
            .values(message_nl=bindparam("nl"), message_en=bindparam("en")),
            [{"id": delivery_id, "nl": MESSAGE_SEPARATOR.join(nl for nl, _ in parts),
              "en": MESSAGE_SEPARATOR.join(en for _, en in parts)} for delivery_id, parts in notes.items()],
        )
    return superseded.height + objected.height


def _superseded_note(count: int, dossiers: str) -> tuple[str, str]:
    return _both(lambda language: message("loader_files.superseded", language, count=count, dossiers=dossiers))


def _objected_note(count: int) -> tuple[str, str]:
    return _both(lambda language: message("loader_files.objected_earlier", language, count=count))


def _existing_objections(connection: Connection, objected: pl.DataFrame) -> pl.DataFrame:
    dossiers = objected["dossier_id"].unique().to_list()
    rows = connection.execute(
        select(objections.c.org_code, objections.c.discipline, objections.c.dossier_id)
        .where(objections.c.dossier_id.in_(dossiers))
    ).all()
    return pl.DataFrame(rows, schema={"org_code": pl.Utf8, "discipline": pl.Utf8, "dossier_id": pl.Utf8},
                        orient="row")


def _delivery_row(delivery: DeliveryFile, delivery_id: int, refresh_id: int) -> dict:
    return {
        "delivery_id": delivery_id, "refresh_id": refresh_id, "file_name": delivery.file_name,
        "sha256": delivery.sha256, "org_code": delivery.org_code, "discipline": delivery.discipline,
        "month": delivery.month, "resend": delivery.resend, "status": delivery.status,
        "error_code": delivery.error_code,
        "message_nl": delivery.message_nl, "message_en": delivery.message_en,
        "records_read": delivery.records_read, "records_accepted": delivery.records_accepted,
        "records_rejected": delivery.records_rejected, "records_objected": delivery.records_objected,
        "received_at": delivery.received_at,
    }
