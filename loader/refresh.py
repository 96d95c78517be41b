"""Process and publish: one refresh from a folder of deliveries to a new version of the national tables.

Steps (each reported to `progress(stage, done, total)`):
register → read (every file below the folder, once, batch by batch; files whose SHA-256 is known are skipped:
`loader.finding.DeliveryReader`) → validate (and store deliveries, rejected records, hints, objections, accepted
records: `loader.storage`) → link → derive → publish. Reading and validating alternate, one batch at a time.

One refresh at a time: the whole run holds the refresh lock (`loader.refresh_lock`); a second one is refused at
once with `RefreshAlreadyRunningError` ("a refresh is already running since … (pid … on host …)") and writes nothing.

Everything from the register upsert to moving `data_version_current` happens in **one transaction**: a refresh
that dies at any point leaves the previous version current and complete, and the next run starts clean. Only
the refresh log row is committed beforehand (status `running`, later `published`/`unchanged`/`failed`), so the
log shows an interrupted refresh. Bulk rows go to PostgreSQL with COPY and to SQLite with chunked executemany.

A new version is published when a new file could be read, or when the organisation register changes what is
stored (`loader.register.register_changes`: a practice that moves to another VSV changes every birth it
delivered): `data_versions.reason` says which. New files that could not be read alone change nothing: they get
their deliveries rows and the refresh is `unchanged`.

Retention: publishing keeps the births and linkage_summary rows of the last `PERISPIEGEL_KEEP_VERSIONS` published
versions (default 3, the new one included), so that a researcher's export can be made again from the version it
names (`queries.store.BirthStore.snapshot(version)`); older versions' rows go, their `data_versions` row stays as
history. A refresh that records an objection keeps no older version at all.

Fault injection for tests: `PERISPIEGEL_KILL_AT_STAGE=<stage>` makes the process SIGKILL itself at the end of
that stage, inside the open transaction.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, get_args

import polars as pl
from sqlalchemy import Connection, Engine, func, insert, select, text, update

from loader.bulk import _is_postgres, bulk_insert, read_records
from loader.derive import derive_births
from loader.derive import linkage_summary as summarise_linkage
from loader.finding import DeliveryReader, find_files
from loader.linkage import link_records
from loader.refresh_lock import refresh_lock, this_process
from loader.register import RegisterChange, read_organisations_file, register_changes, upsert_organisations
from loader.results import ValidationResult
from loader.storage import STAGING_TABLE, _create_staging_table, _Ids, _store_batch, known_hashes
from loader.validate import reading_processes, validate_deliveries
from settings import REFERENCE_FOLDER, whole_number_from_environment
from tables.register import read_register
from tables.schema import (
    births,
    data_version_current,
    data_versions,
    linkage_summary,
    refreshes,
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
#: Register changes a version's `reason` (and the refresh summary) lists one by one; the rest are counted.
REGISTER_CHANGES_LISTED = 50

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
    files_rejected: int = 0  # new files rejected (as a whole, or every record in them)
    records_read: int = 0
    records_accepted: int = 0
    records_rejected: int = 0
    records_objected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    hints: int = 0
    births: int = 0
    linkage_rate: float | None = None
    seconds: float = 0.0
    files_unreadable: int = 0  # new files that could not be read (tried again at the next refresh)
    records_not_stored: int = 0  # accepted, but a higher version of the dossier is stored or she objected earlier
    files_not_deliveries: int = 0  # other files below the folder (not named as a delivery): not read
    register_changes: list[str] = field(default_factory=list)  # in words (`_note_register_changes`)
    register_changes_total: int = 0

    def as_dict(self) -> dict:
        return asdict(self)

    def add(self, result: ValidationResult) -> None:
        self.files += len(result.files)
        self.files_rejected += sum(delivery.status == "rejected" for delivery in result.files)
        self.files_unreadable += sum(delivery.error_code == "unreadable" for delivery in result.files)
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
# The refresh
# ----------------------------------------------------------------------------------------------------------

def _start_refresh(engine: Engine, source_dir: Path, started_at: datetime) -> int:
    """Log the refresh as `running`. Called holding the refresh lock: a row still `running` then belongs to a
    refresh that died (killed, or its machine went down), never to a live one, and is marked failed."""
    pid, host = this_process()
    with engine.begin() as connection:
        connection.execute(update(refreshes).where(refreshes.c.status == "running")
                           .values(status="failed", finished_at=started_at))
        refresh_id = int(connection.execute(select(func.coalesce(func.max(refreshes.c.refresh_id), 0)))
                         .scalar_one()) + 1
        connection.execute(insert(refreshes).values(refresh_id=refresh_id, started_at=started_at, status="running",
                                                    source_dir=str(source_dir), pid=pid, host=host))
    return refresh_id


def _finish_refresh(connection: Connection, summary: RefreshSummary, clock: float) -> None:
    summary.seconds = round(time.perf_counter() - clock, 2)
    connection.execute(update(refreshes).where(refreshes.c.refresh_id == summary.refresh_id).values(
        status=summary.status, finished_at=_now(), data_version=summary.data_version, summary=summary.as_dict(),
    ))


def _current_version(connection: Connection) -> int | None:
    return connection.execute(select(data_version_current.c.data_version)).scalar_one_or_none()


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
    setting is refused before anything is logged or stored, and so is how many processes read the files
    (`loader.validate.reading_processes`). Raises FileNotFoundError when `source_dir` is not a
    folder, and `loader.refresh_lock.RefreshAlreadyRunningError` (logging nothing) while another refresh runs.
    """
    clock = time.perf_counter()
    report = progress or (lambda _stage, _done, _total: None)
    source_dir = Path(source_dir)
    if not source_dir.is_dir():
        raise FileNotFoundError(f"delivery folder not found: {source_dir}")
    keep_versions = versions_to_keep()
    processes = reading_processes()
    with refresh_lock(engine):
        refresh_id = _start_refresh(engine, source_dir, _now())
        try:
            return _refresh(source_dir, engine, refresh_id, organisations_file, postcode_file, percentiles_file,
                            keep_versions, report, clock, processes)
        except BaseException:
            with engine.begin() as connection:
                connection.execute(update(refreshes).where(refreshes.c.refresh_id == refresh_id)
                                   .values(status="failed", finished_at=_now()))
            raise


def _refresh(source_dir: Path, engine: Engine, refresh_id: int, organisations_file: Path, postcode_file: Path,
             percentiles_file: Path, keep_versions: int, report: Progress, clock: float,
             processes: int = 1) -> RefreshSummary:
    report("register", 0, 1)
    register = read_organisations_file(organisations_file)
    report("register", 1, 1)

    found = find_files(source_dir)
    paths = found.deliveries
    with engine.connect() as connection:
        known = known_hashes(connection, register)
    # Read lazily, one batch at a time, each file once: the bytes validated are the bytes hashed.
    new_files = DeliveryReader(paths, known, FILES_PER_BATCH, report)

    with engine.begin() as connection:
        changes = register_changes(connection, register)
        upsert_organisations(connection, register)
        _checkpoint("register")
        summary = RefreshSummary(refresh_id=refresh_id, status="published", data_version=None,
                                 files_not_deliveries=len(found.others))
        _note_register_changes(summary, changes)
        publishing = new_files.has_readable_news() or bool(changes)
        register_frame = read_register(connection)
        ids = _Ids.from_database(connection)
        _create_staging_table(connection)
        report("validate", 0, len(paths))
        for batch in new_files.batches():  # unreadable files too: each gets its deliveries row with the reason
            result = validate_deliveries(batch, register_frame, processes)
            summary.records_not_stored += _store_batch(connection, result, refresh_id, ids)
            summary.add(result)
            report("validate", new_files.read, len(paths))
        summary.files_unchanged = new_files.unchanged
        if not _is_postgres(connection):
            connection.execute(text(f"DROP TABLE IF EXISTS temp.{STAGING_TABLE}"))
        if not publishing:
            current = _current_version(connection)
            births_now = connection.execute(select(data_versions.c.births)
                                            .where(data_versions.c.data_version == current)).scalar_one_or_none()
            summary.status, summary.data_version, summary.births = "unchanged", current, births_now or 0
            _finish_refresh(connection, summary, clock)
            return summary
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
        period_from=months.min(), period_to=months.max(), reason=_reason(summary),
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


def _note_register_changes(summary: RefreshSummary, changes: list[RegisterChange]) -> None:
    """The register changes in words, as the summary and `data_versions.reason` list them: one by one up to
    REGISTER_CHANGES_LISTED and then how many more — or, when many organisations were only added (the first load of
    a register), one line saying how many."""
    summary.register_changes_total = len(changes)
    if len(changes) > REGISTER_CHANGES_LISTED and all(change.field == "org_code" for change in changes):
        summary.register_changes = [f"{len(changes):,} organisations added to the register"]
        return
    listed = [change.in_words() for change in changes[:REGISTER_CHANGES_LISTED]]
    if len(changes) > len(listed):
        listed.append(f"and {len(changes) - len(listed):,} more")
    summary.register_changes = listed


def _reason(summary: RefreshSummary) -> dict:
    """Why a version was published (`data_versions.reason`): the new files that could be read, and the register
    changes in words (`_note_register_changes`) and how many in all."""
    return {"new_files": summary.files - summary.files_unreadable,
            "register_changes": summary.register_changes, "register_changes_total": summary.register_changes_total}


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
