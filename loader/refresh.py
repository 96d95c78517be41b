"""Process and publish: one refresh from a folder of deliveries to a new version of the national tables.

Steps (each reported to `progress(stage, done, total)`):
register → read (find new files by SHA-256) → validate (and store deliveries, rejected records, hints,
objections, accepted records) → link → derive → publish.

Everything from the register upsert to moving `data_version_current` happens in **one transaction**: a refresh
that dies at any point leaves the previous version current and complete, and the next run starts clean. Only
the refresh log row is committed beforehand (status `running`, later `published`/`unchanged`/`failed`), so the
log shows an interrupted refresh. Bulk rows go to PostgreSQL with COPY and to SQLite with chunked executemany.

Retention: publishing keeps the births and linkage_summary rows of the last `PERISPIEGEL_KEEP_VERSIONS` published
versions (default 3, the new one included), so that a researcher's export can be made again from the version it
names (`queries.store.BirthStore.snapshot(version)`); older versions' rows go, their `data_versions` row stays as
history. A refresh that records an objection keeps no older version at all.

Fault injection for tests: `PERISPIEGEL_KILL_AT_STAGE=<stage>` makes the process SIGKILL itself at the end of
that stage, inside the open transaction.
"""

from __future__ import annotations

import io
import os
import signal
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args

import polars as pl
from sqlalchemy import ColumnElement, Connection, Engine, Table, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from contracts.delivery_format import FILE_NAME_PATTERN
from loader.derive import derive_births
from loader.derive import linkage_summary as summarise_linkage
from loader.linkage import link_records
from loader.validate import (
    RECORD_COLUMNS,
    RECORD_SCHEMA,
    DeliveryFile,
    ValidationResult,
    sha256_of,
    validate_deliveries,
)
from settings import REFERENCE_FOLDER, whole_number_from_environment
from tables.database import psycopg_driver
from tables.register import read_register
from tables.schema import (
    births,
    data_version_current,
    data_versions,
    deliveries,
    hints,
    linkage_summary,
    objections,
    organisations,
    refreshes,
    rejected_records,
)

DEFAULT_ORGANISATIONS_FILE = REFERENCE_FOLDER / "organisations.csv"
DEFAULT_POSTCODE_FILE = REFERENCE_FOLDER / "postcode_ses.csv"
DEFAULT_PERCENTILES_FILE = REFERENCE_FOLDER / "birthweight-percentiles-hoftiezer.csv"
KILL_AT_STAGE_VARIABLE = "PERISPIEGEL_KILL_AT_STAGE"
KEEP_VERSIONS_VARIABLE = "PERISPIEGEL_KEEP_VERSIONS"
#: Published versions whose rows a refresh keeps, the new current one included: an export says its version, and a
#: later export can ask for that version again while it is kept. Each kept version is a full copy of `births`.
DEFAULT_KEEP_VERSIONS = 3
#: Files validated and stored together: bounds memory (a year is ~9,000 files, ten years ~90,000).
FILES_PER_BATCH = 1500
SQLITE_ROWS_PER_EXECUTEMANY = 20_000
STAGING_TABLE = "records_incoming"

Progress = Callable[[str, int, int], None]


#: A refresh in the log: running, then published (a new version), unchanged (nothing new) or failed (killed or an
#: error; the previous version stays current).
RefreshStatus = Literal["running", "published", "unchanged", "failed"]
REFRESH_STATUSES: tuple[RefreshStatus, ...] = get_args(RefreshStatus)


@dataclass
class RefreshSummary:
    """What one refresh did; stored as JSON in `refreshes.summary` and printed by `perispiegel load`."""

    refresh_id: int
    status: RefreshStatus
    data_version: int | None
    files: int = 0  # new delivery files processed
    files_unchanged: int = 0  # files already loaded by an earlier refresh (same SHA-256)
    files_rejected: int = 0  # new files rejected as a whole
    records_read: int = 0
    records_accepted: int = 0
    records_rejected: int = 0
    records_objected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    hints: int = 0
    births: int = 0
    linkage_rate: float | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)

    def add(self, result: ValidationResult) -> None:
        self.files += len(result.files)
        self.files_rejected += sum(delivery.status == "rejected" for delivery in result.files)
        for delivery in result.files:
            self.records_read += delivery.records_read
            self.records_accepted += delivery.records_accepted
            self.records_rejected += delivery.records_rejected
            self.records_objected += delivery.records_objected
        for reason, count in result.rejected_by_reason().items():
            self.rejected_by_reason[reason] = self.rejected_by_reason.get(reason, 0) + count
        self.rejected_by_reason = dict(sorted(self.rejected_by_reason.items()))
        self.hints += result.hints.height


def _now() -> datetime:
    return datetime.now(UTC)


def versions_to_keep() -> int:
    """How many published versions a refresh keeps, the new current one included: `PERISPIEGEL_KEEP_VERSIONS`
    (default 3, at least 1: the current version is always kept). A ValueError naming the variable otherwise."""
    return whole_number_from_environment(KEEP_VERSIONS_VARIABLE, DEFAULT_KEEP_VERSIONS, minimum=1)


def _checkpoint(stage: str) -> None:
    """The fault-injection hook: die at `stage` when PERISPIEGEL_KILL_AT_STAGE asks for it."""
    if os.environ.get(KILL_AT_STAGE_VARIABLE) == stage:
        os.kill(os.getpid(), signal.SIGKILL)


# ----------------------------------------------------------------------------------------------------------
# Finding delivery files
# ----------------------------------------------------------------------------------------------------------

def _delivery_order(path: Path) -> tuple:
    """Month, sender, discipline, then resend number: a resend is always processed after what it corrects."""
    match = FILE_NAME_PATTERN.match(path.name)
    if match is None:
        return ("~", str(path), "", "", 0)
    return (match["month"], match["org_code"], match["discipline"], int(match["resend"] or 0), str(path))


def find_delivery_files(source_dir: Path) -> list[Path]:
    """Every `*.csv` below `source_dir`, except in folders whose name starts with `_` (e.g. `_truth`)."""
    found = [
        path for path in source_dir.rglob("*.csv")
        if path.is_file() and not any(part.startswith("_") for part in path.relative_to(source_dir).parts[:-1])
    ]
    return sorted(found, key=_delivery_order)


# ----------------------------------------------------------------------------------------------------------
# Bulk reads and writes
# ----------------------------------------------------------------------------------------------------------

def _is_postgres(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql"


def _sqlite_connection(connection: Connection) -> sqlite3.Connection:
    """The driver's own connection under a SQLite connection."""
    driver = connection.connection.driver_connection
    if not isinstance(driver, sqlite3.Connection):
        raise TypeError(f"bulk reads and writes on SQLite need the sqlite3 driver, not {type(driver)!r}")
    return driver


def bulk_insert(connection: Connection, table: Table | str, frame: pl.DataFrame) -> None:
    """Append `frame` (columns named as the table's) inside the connection's transaction.

    PostgreSQL: COPY … FROM STDIN in CSV; SQLite: executemany in chunks with dates as ISO text and booleans as
    0/1, which is how SQLAlchemy stores them there.
    """
    if frame.height == 0:
        return
    name = table if isinstance(table, str) else table.name
    column_list = ", ".join(frame.columns)
    if _is_postgres(connection):
        with psycopg_driver(connection.connection.driver_connection).cursor() as pg_cursor, pg_cursor.copy(
            f"COPY {name} ({column_list}) FROM STDIN (FORMAT csv)"
        ) as copy:
            for chunk in frame.iter_slices(100_000):
                copy.write(chunk.write_csv(include_header=False))
        return
    prepared = frame.with_columns(
        *(pl.col(column).dt.strftime("%Y-%m-%d") for column, dtype in frame.schema.items() if dtype == pl.Date),
        *(pl.col(column).cast(pl.Int8) for column, dtype in frame.schema.items() if dtype == pl.Boolean),
    )
    statement = f"INSERT INTO {name} ({column_list}) VALUES ({', '.join('?' * len(frame.columns))})"
    cursor = _sqlite_connection(connection).cursor()
    try:
        for chunk in prepared.iter_slices(SQLITE_ROWS_PER_EXECUTEMANY):
            cursor.executemany(statement, chunk.iter_rows())
    finally:
        cursor.close()


def read_records(connection: Connection) -> pl.DataFrame:
    """Every stored record, typed as `loader.linkage.link_records` expects (`RECORD_SCHEMA`)."""
    columns = list(RECORD_COLUMNS)
    query = f"SELECT {', '.join(columns)} FROM records ORDER BY org_code, discipline, dossier_id"
    if _is_postgres(connection):
        buffer = io.BytesIO()
        with psycopg_driver(connection.connection.driver_connection).cursor() as pg_cursor, pg_cursor.copy(
            f"COPY ({query}) TO STDOUT (FORMAT csv)"
        ) as copy:
            for data in copy:
                buffer.write(data)
        raw = pl.read_csv(buffer.getvalue(), has_header=False, new_columns=columns, infer_schema=False,
                          raise_if_empty=False, schema={name: pl.Utf8 for name in columns})
        return raw.with_columns(
            pl.col(name).replace_strict({"t": True, "f": False}, default=None, return_dtype=pl.Boolean)
            if dtype == pl.Boolean else pl.col(name).str.to_date("%Y-%m-%d") if dtype == pl.Date
            else pl.col(name).cast(dtype)
            for name, dtype in RECORD_SCHEMA.items()
        )
    # SQLite gives dates as text and booleans as integers.
    stored_schema = {
        name: pl.Utf8 if dtype == pl.Date else pl.Int64 if dtype == pl.Boolean else dtype
        for name, dtype in RECORD_SCHEMA.items()
    }
    cursor = _sqlite_connection(connection).cursor()
    frames: list[pl.DataFrame] = []
    try:
        cursor.execute(query)
        while rows := cursor.fetchmany(100_000):
            frames.append(pl.DataFrame(rows, schema=stored_schema, orient="row"))
    finally:
        cursor.close()
    raw = pl.concat(frames) if frames else pl.DataFrame(schema=stored_schema)
    return raw.with_columns(
        pl.col(name).str.to_date("%Y-%m-%d") if dtype == pl.Date else pl.col(name).cast(dtype)
        for name, dtype in RECORD_SCHEMA.items()
    )


# ----------------------------------------------------------------------------------------------------------
# Storing one validated batch
# ----------------------------------------------------------------------------------------------------------

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


# ----------------------------------------------------------------------------------------------------------
# Register and reference files
# ----------------------------------------------------------------------------------------------------------

def read_organisations_file(path: Path) -> pl.DataFrame:
    """The organisation register file (`org_code,name,org_type,vsv_code,region,hospital_codes`), as text."""
    register = pl.read_csv(path, infer_schema=False)
    return register.select(*(pl.col(column.name) if column.name in register.columns
                             else pl.lit(None, dtype=pl.Utf8).alias(column.name)
                             for column in organisations.columns))


def upsert_organisations(connection: Connection, register: pl.DataFrame) -> None:
    """Insert new organisations and update changed ones; organisations no longer listed stay (history)."""
    rows = register.to_dicts()
    if not rows:
        return
    dialect_insert = postgresql.insert if _is_postgres(connection) else sqlite.insert
    statement = dialect_insert(organisations)
    statement = statement.on_conflict_do_update(
        index_elements=[organisations.c.org_code],
        set_={column.name: statement.excluded[column.name] for column in organisations.columns
              if column.name != "org_code"},
    )
    connection.execute(statement, rows)



# ----------------------------------------------------------------------------------------------------------
# The refresh
# ----------------------------------------------------------------------------------------------------------

_Item = TypeVar("_Item")


def _batches(items: Sequence[_Item], size: int) -> Iterator[Sequence[_Item]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _start_refresh(engine: Engine, source_dir: Path, started_at: datetime) -> int:
    with engine.begin() as connection:
        # A refresh still `running` in the log was killed: say so.
        connection.execute(update(refreshes).where(refreshes.c.status == "running").values(status="failed"))
        refresh_id = int(connection.execute(select(func.coalesce(func.max(refreshes.c.refresh_id), 0)))
                         .scalar_one()) + 1
        connection.execute(insert(refreshes).values(refresh_id=refresh_id, started_at=started_at, status="running",
                                                    source_dir=str(source_dir)))
    return refresh_id


def _finish_refresh(connection: Connection, summary: RefreshSummary, clock: float) -> None:
    summary.seconds = round(time.perf_counter() - clock, 2)
    connection.execute(update(refreshes).where(refreshes.c.refresh_id == summary.refresh_id).values(
        status=summary.status, finished_at=_now(), data_version=summary.data_version, summary=summary.as_dict(),
    ))


def _current_version(connection: Connection) -> int | None:
    return connection.execute(select(data_version_current.c.data_version)).scalar_one_or_none()


def _lock(connection: Connection) -> None:
    """One refresh at a time: PostgreSQL advisory lock (SQLite serialises writers by itself)."""
    if _is_postgres(connection):
        connection.execute(text("SELECT pg_advisory_xact_lock(4242001)"))


def run_refresh(
    source_dir: Path,
    engine: Engine,
    *,
    organisations_file: Path = DEFAULT_ORGANISATIONS_FILE,
    postcode_file: Path = DEFAULT_POSTCODE_FILE,
    percentiles_file: Path = DEFAULT_PERCENTILES_FILE,
    progress: Progress | None = None,
) -> RefreshSummary:
    """One refresh: validate the new delivery files below `source_dir`, link, derive and publish atomically.

    Files already loaded (same SHA-256) are skipped; with nothing new the status is `unchanged` and the data
    version stays. How many published versions are kept is read here, once (`versions_to_keep`): a wrong
    setting is refused before anything is logged or stored. Raises FileNotFoundError when `source_dir` is not a
    folder.
    """
    clock = time.perf_counter()
    report = progress or (lambda _stage, _done, _total: None)
    source_dir = Path(source_dir)
    if not source_dir.is_dir():
        raise FileNotFoundError(f"delivery folder not found: {source_dir}")
    keep_versions = versions_to_keep()
    refresh_id = _start_refresh(engine, source_dir, _now())
    try:
        return _refresh(source_dir, engine, refresh_id, organisations_file, postcode_file, percentiles_file,
                        keep_versions, report, clock)
    except BaseException:
        with engine.begin() as connection:
            connection.execute(update(refreshes).where(refreshes.c.refresh_id == refresh_id)
                               .values(status="failed", finished_at=_now()))
        raise


def _refresh(source_dir: Path, engine: Engine, refresh_id: int, organisations_file: Path, postcode_file: Path,
             percentiles_file: Path, keep_versions: int, report: Progress, clock: float) -> RefreshSummary:
    report("register", 0, 1)
    register = read_organisations_file(organisations_file)
    report("register", 1, 1)

    paths = find_delivery_files(source_dir)
    with engine.connect() as connection:
        known = set(connection.execute(select(deliveries.c.sha256)).scalars())
    new_paths: list[Path] = []
    new_hashes: list[str] = []
    for done, path in enumerate(paths, start=1):
        digest = sha256_of(path)
        if digest not in known:
            known.add(digest)  # the same file twice in one folder counts once
            new_paths.append(path)
            new_hashes.append(digest)
        if done % 500 == 0 or done == len(paths):
            report("read", done, len(paths))
    if not paths:
        report("read", 0, 0)

    with engine.begin() as connection:
        _lock(connection)
        upsert_organisations(connection, register)
        _checkpoint("register")
        if not new_paths:
            current = _current_version(connection)
            births_now = connection.execute(select(data_versions.c.births)
                                            .where(data_versions.c.data_version == current)).scalar_one_or_none()
            summary = RefreshSummary(refresh_id=refresh_id, status="unchanged", data_version=current,
                                     files_unchanged=len(paths), births=births_now or 0)
            _finish_refresh(connection, summary, clock)
            return summary

        summary = RefreshSummary(refresh_id=refresh_id, status="published", data_version=None,
                                 files_unchanged=len(paths) - len(new_paths))
        register_frame = read_register(connection)
        ids = _Ids.from_database(connection)
        _create_staging_table(connection)
        report("validate", 0, len(new_paths))
        done = 0
        for batch in _batches(list(zip(new_paths, new_hashes, strict=True)), FILES_PER_BATCH):
            result = validate_deliveries([path for path, _ in batch], register_frame,
                                         sha256s=[digest for _, digest in batch])
            _store_batch(connection, result, refresh_id, ids)
            summary.add(result)
            done += len(batch)
            report("validate", done, len(new_paths))
        if not _is_postgres(connection):
            connection.execute(text(f"DROP TABLE IF EXISTS temp.{STAGING_TABLE}"))
        _checkpoint("validate")

        report("link", 0, 1)
        stored = read_records(connection)
        linked = link_records(stored, organisations=register_frame)
        del stored
        report("link", 1, 1)
        _checkpoint("link")

        report("derive", 0, 1)
        births_frame = derive_births(linked, register_frame, _read_postcodes(postcode_file),
                                     pl.read_csv(percentiles_file))
        linkage_frame = summarise_linkage(linked)
        del linked
        report("derive", 1, 1)
        _checkpoint("derive")

        _publish(connection, summary, births_frame, linkage_frame, keep_versions, report, clock)
        _checkpoint("publish")
    return summary


def _read_postcodes(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, schema_overrides={"postcode4": pl.Utf8, "vsv_code": pl.Utf8})


def _publish(connection: Connection, summary: RefreshSummary, births_frame: pl.DataFrame,
             linkage_frame: pl.DataFrame, keep_versions: int, report: Progress, clock: float) -> None:
    """Insert the new version's rows, move the pointer, and delete the births and linkage_summary rows of every
    version older than the `keep_versions` newest (the new one included); their `data_versions` rows stay as history.

    A version is kept while its births rows are there (`queries.status.kept_versions` asks so): no bookkeeping
    column that could disagree with the rows. When this refresh recorded an objection
    (`summary.records_objected`) no older version is kept, whatever `keep_versions` says: an objection must reach
    every stored version, and an older one would still hold her child's row. A lowered `keep_versions` takes effect
    at the next published version; versions already deleted never come back.
    """
    report("publish", 0, 3)
    previous = _current_version(connection)
    version = int(connection.execute(select(func.coalesce(func.max(data_versions.c.data_version), 0)))
                  .scalar_one()) + 1
    published_at = _now()
    same_month = connection.execute(
        select(func.count()).select_from(data_versions)
        .where(data_versions.c.label.like(f"{published_at:%Y-%m} (%"))
    ).scalar_one()
    months = births_frame["birth_month"] if births_frame.height else pl.Series([], dtype=pl.Utf8)
    connection.execute(insert(data_versions).values(
        data_version=version, refresh_id=summary.refresh_id, published_at=published_at,
        label=f"{published_at:%Y-%m} ({same_month + 1})", births=births_frame.height,
        period_from=months.min(), period_to=months.max(),
    ))
    births_columns = [column.name for column in births.columns]
    bulk_insert(connection, births, births_frame.with_columns(pl.lit(version, dtype=pl.Int32).alias("data_version"))
                .select(births_columns))
    report("publish", 1, 3)
    linkage_columns = [column.name for column in linkage_summary.columns]
    bulk_insert(connection, linkage_summary,
                linkage_frame.with_columns(pl.lit(version, dtype=pl.Int32).alias("data_version"))
                .select(linkage_columns))
    report("publish", 2, 3)
    if previous is None:
        connection.execute(insert(data_version_current).values(id=1, data_version=version))
    else:
        connection.execute(update(data_version_current).where(data_version_current.c.id == 1)
                           .values(data_version=version))
    # An objection must reach every stored version too: then no older version is kept.
    kept = 1 if summary.records_objected else keep_versions
    oldest_kept = connection.execute(
        select(data_versions.c.data_version).order_by(data_versions.c.data_version.desc()).offset(kept - 1).limit(1)
    ).scalar_one_or_none()
    if oldest_kept is not None:
        for table in (births, linkage_summary):
            connection.execute(table.delete().where(table.c.data_version < oldest_kept))
    _erase_objected_feedback(connection)
    summary.data_version = version
    summary.births = births_frame.height
    summary.linkage_rate = national_linkage_rate(linkage_frame)
    _finish_refresh(connection, summary, clock)
    report("publish", 3, 3)


def _erase_objected_feedback(connection: Connection) -> None:
    """Rejected records and hints of a dossier whose woman objected go too: their raw lines and messages
    quote her data, and nothing beyond the objection itself may be kept (PRODUCT.md, "Receive")."""
    for table in ("rejected_records", "hints"):
        connection.execute(text(
            f"DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM objections o JOIN deliveries d "
            f"ON d.org_code = o.org_code AND d.discipline = o.discipline "
            f"WHERE d.delivery_id = {table}.delivery_id AND o.dossier_id = {table}.dossier_id)"))


def national_linkage_rate(linkage_frame: pl.DataFrame) -> float | None:
    """The national linkage rate: the national all-disciplines row (`*`, `*`) of the linkage summary."""
    national = linkage_frame.filter((pl.col("org_code") == "*") & (pl.col("discipline") == "*"))
    if national.height == 0 or national["linkage_rate"][0] is None:
        return None
    return round(float(national["linkage_rate"][0]), 4)
