"""The in-memory columnar copy of the published data version, reloaded when a new version is published.

Questions never scan the database: the births of the current version are read once into a compact
Polars frame (Enum dimensions, 16/32-bit integers, one numerator and one population flag per indicator
evaluated at load time) and every question aggregates there. Each question first asks which version is
published (a one-row read, throttled by `version_check_seconds`); when the pointer has moved, the new
version is loaded and swapped in — no restart needed. A version is immutable, so a loaded snapshot never
goes stale.

A snapshot is always one whole version: the pointer, the version's `data_versions` row, every birth year,
the register and the deliveries behind its provisional months are read in one read-only transaction on one
connection (`tables.database.one_snapshot`: REPEATABLE READ on PostgreSQL, the COPY of each year on that same
connection; an explicit BEGIN on SQLite in WAL mode). A refresh that publishes meanwhile, and after an objection
deletes the older version's births in the same commit, is not seen by the read. As a guard, the births read must be
as many as the row's `births` (`IncompleteSnapshotError`, never a served snapshot); an older version deleted just
before its read is answered as not kept (`VersionNotKeptError`).

The server does not wait for the first question to load it: `BirthStore.warm` loads the current version in a
background thread when the server starts, and then every `WATCH_SECONDS` looks for a newly published one, which it
loads while the version in memory keeps answering (questions get the new one once it is in).

An older version that the installation still keeps (`queries.status.kept_versions`) can be named, so that an
export can be made again from the version an earlier one says it came from: it is loaded the same way, and at most
one such version is held besides the current one (a ten-year snapshot is some 350 MB).
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import polars as pl
from polars.datatypes import DataTypeClass
from sqlalchemy import Boolean, Connection, Engine, Integer, SmallInteger, select

from queries.catalogue import INDICATORS, catalogue_columns
from queries.config import EngineConfig
from queries.disclosure import RECORD_KEY_COLUMN, packed_key, record_key_expression
from queries.filters import DIMENSIONS
from queries.provisional import ProvisionalMonths, read_provisional
from queries.status import kept_versions
from tables.database import as_utc, one_snapshot, psycopg_driver
from tables.register import read_register, register_by_code
from tables.schema import births, data_version_current, data_versions

LEVEL_COLUMNS = {"practice": "practice_code", "hospital": "hospital_code", "vsv": "vsv_code"}
# The strata of indirect standardisation (case mix), and the one small integer column that numbers their
# combinations (a missing value is a stratum of its own): one integer key groups faster than four Enum keys.
CASE_MIX_COLUMNS = ("parity_group", "maternal_age_band", "ga_band", "plurality_group")
STRATUM_COLUMN = "case_mix_stratum"
ORGANISATION_COLUMNS = tuple(LEVEL_COLUMNS.values())
PERIOD_COLUMNS = ("birth_month", "birth_year")


def numerator_column(indicator_id: str) -> str:
    return f"numerator__{indicator_id}"


def population_column(indicator_id: str) -> str:
    return f"population__{indicator_id}"


def key_column(indicator_id: str) -> str:
    """The column holding each birth's packed record keys for an indicator (queries.disclosure.packed_key): its
    sum over a cell gives the cell keys of the numerator and the denominator, a plain sum of small integers."""
    return f"key__{indicator_id}"


@dataclass(frozen=True)
class Snapshot:
    """One loaded data version: `frame` (one row per child, compact columns), the register, and which months were
    provisional for which figures when it was published (queries.provisional)."""

    data_version: int
    label: str
    published_at: datetime | None  # UTC (the API writes it ISO 8601 with +00:00)
    period_from: str | None
    period_to: str | None
    frame: pl.DataFrame
    organisations: dict[str, dict] = field(default_factory=dict)
    loaded_seconds: float = 0.0
    provisional: ProvisionalMonths = field(default_factory=ProvisionalMonths)

    def version_info(self) -> dict:
        """The data version as shown with every answer."""
        return {
            "number": self.data_version, "label": self.label,
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "period_from": self.period_from, "period_to": self.period_to,
        }


def raw_columns() -> list[str]:
    """The births columns the store reads: periods, organisations, filter dimensions, indicator inputs."""
    wanted = set(PERIOD_COLUMNS) | set(ORGANISATION_COLUMNS) | {d.column for d in DIMENSIONS.values()}
    wanted |= catalogue_columns()
    return [column.name for column in births.columns if column.name in wanted]


def _polars_type(column_name: str) -> pl.DataType | DataTypeClass:
    sql_type = births.c[column_name].type
    if isinstance(sql_type, Boolean):
        return pl.Boolean
    if isinstance(sql_type, SmallInteger | Integer):
        return pl.Int32
    return pl.String


def _read_postgres(connection: Connection, columns: list[str], data_version: int, year: int) -> pl.DataFrame:
    """COPY … TO STDOUT as CSV: an order of magnitude faster than fetching rows through the driver. On the psycopg
    connection under `connection`, so inside its transaction (and its snapshot: tables.database.one_snapshot)."""
    # Booleans as 0/1 so the CSV reader does not have to parse t/f.
    select_list = ", ".join(
        f'"{name}"::int as "{name}"' if _polars_type(name) == pl.Boolean else f'"{name}"' for name in columns)
    statement = f"COPY (SELECT {select_list} FROM births WHERE data_version = {int(data_version)} " \
                f"AND birth_year = {int(year)}) " \
                "TO STDOUT WITH (FORMAT csv, HEADER true)"
    buffer = io.BytesIO()
    with psycopg_driver(connection.connection.driver_connection).cursor() as cursor, cursor.copy(statement) as copy:
        for block in copy:
            buffer.write(block)
    buffer.seek(0)
    schema = {name: pl.Int8 if _polars_type(name) == pl.Boolean else _polars_type(name) for name in columns}
    frame = pl.read_csv(buffer, schema=schema)
    return frame.with_columns(pl.col(n).cast(pl.Boolean) for n, t in schema.items() if t == pl.Int8)


def _read_generic(connection: Connection, columns: list[str], data_version: int, year: int) -> pl.DataFrame:
    query = select(*(births.c[name] for name in columns)).where(
        births.c.data_version == data_version, births.c.birth_year == year)
    rows = connection.execute(query).all()
    # SQLite returns booleans as 0/1 integers; cast to the declared types.
    frame = pl.DataFrame(rows, schema=columns, orient="row", infer_schema_length=None)
    return frame.with_columns(pl.col(name).cast(_polars_type(name), strict=False) for name in columns)


def birth_years(connection: Connection, data_version: int) -> list[int]:
    """The birth years present in a data version (the store loads one year at a time to bound memory)."""
    query = select(births.c.birth_year).where(births.c.data_version == data_version).distinct()
    return sorted(connection.execute(query).scalars())


def read_births(connection: Connection, data_version: int, year: int) -> pl.DataFrame:
    """The raw births columns the engine needs, for one data version and birth year, typed per tables.schema."""
    columns = raw_columns()
    if connection.dialect.name == "postgresql":
        frame = _read_postgres(connection, columns, data_version, year)
    else:
        frame = _read_generic(connection, columns, data_version, year)
    if frame.height == 0:
        frame = empty_births()
    return frame


def empty_births() -> pl.DataFrame:
    return pl.DataFrame(schema={name: _polars_type(name) for name in raw_columns()})


def compact_frame(raw: pl.DataFrame, secret: str) -> pl.DataFrame:
    """Evaluate every indicator once and keep only compact columns for aggregation.

    Output: `month_index` (year×12+month−1, Int32), `birth_year` (Int16), the organisation codes as
    Categorical, each filter dimension as Enum of its allowed values (anything else → missing), the case-mix
    stratum (`STRATUM_COLUMN`), each birth's record key for cell-key perturbation (queries.disclosure, seeded with
    `secret`), and per indicator a numerator and a population flag (Boolean, never missing) with their record keys
    (`key_column`, Int64).
    """
    flags = [definition.numerator_expression().alias(numerator_column(definition.id)) for definition in INDICATORS]
    flags += [definition.population_expression().alias(population_column(definition.id)) for definition in INDICATORS]
    organisation_codes = [pl.col(column).cast(pl.Categorical) for column in ORGANISATION_COLUMNS]
    dimensions = [
        pl.when(pl.col(d.column).cast(pl.String).is_in(list(d.values)))
        .then(pl.col(d.column).cast(pl.String)).otherwise(None).cast(pl.Enum(list(d.values))).alias(d.column)
        for d in DIMENSIONS.values()
    ]
    month = pl.col("birth_month")
    stratum = pl.lit(0, dtype=pl.UInt16)
    for column in CASE_MIX_COLUMNS:
        values = next(dimension.values for dimension in DIMENSIONS.values() if dimension.column == column)
        code = (pl.when(pl.col(column).cast(pl.String).is_in(list(values)))
                .then(pl.col(column).cast(pl.String).cast(pl.Enum(list(values))).to_physical())
                .otherwise(len(values)).cast(pl.UInt16))
        stratum = stratum * (len(values) + 1) + code
    period = [
        (month.str.slice(0, 4).cast(pl.Int32) * 12 + month.str.slice(5, 2).cast(pl.Int32) - 1).alias("month_index"),
        pl.col("birth_year").cast(pl.Int16),
    ]
    compact = raw.select(*period, *organisation_codes, *dimensions, stratum.alias(STRATUM_COLUMN),
                         record_key_expression(secret), *flags)
    keys = [packed_key(pl.col(RECORD_KEY_COLUMN), pl.col(numerator_column(definition.id)),
                       pl.col(population_column(definition.id))).alias(key_column(definition.id))
            for definition in INDICATORS]
    return compact.with_columns(keys).rechunk()


class VersionNotKeptError(LookupError):
    """A data version was named that the installation does not keep: never published, or its rows deleted since
    (only the last `PERISPIEGEL_KEEP_VERSIONS` are kept, and none older than a refresh that recorded an objection).

    `requested` is the version asked for, `kept` the versions that can be named instead, newest (current) first.
    """

    def __init__(self, requested: int, kept: list[int]) -> None:
        self.requested = requested
        self.kept = list(kept)
        if self.kept:
            listed = ", ".join(f"{number} (current)" if index == 0 else str(number)
                               for index, number in enumerate(self.kept))
            message = f"data version {requested} is not kept; the kept data versions are {listed}"
        else:
            message = f"data version {requested} is not kept; no data version has been published yet"
        super().__init__(message)

    def __reduce__(self) -> tuple[type[VersionNotKeptError], tuple[int, list[int]]]:
        # An exception's own arguments are its message: without this, unpickling calls __init__(message).
        return type(self), (self.requested, self.kept)


class IncompleteSnapshotError(RuntimeError):
    """The births read for a data version are not as many as its `data_versions` row says it holds: never served.

    Within the one transaction of a read (`BirthStore._read_version`) this happens only to an older version that a
    refresh deleted just before the read began (its rows go in one commit, so the read finds none): the store then
    answers VersionNotKeptError. Of the current version it would mean that rows were lost — an error to look into,
    not a snapshot to answer from.
    """

    def __init__(self, data_version: int, expected: int, found: int) -> None:
        self.data_version = data_version
        self.expected = expected
        self.found = found
        super().__init__(f"data version {data_version} holds {expected} births, but {found} were read; "
                         "the snapshot is not served")

    def __reduce__(self) -> tuple[type[IncompleteSnapshotError], tuple[int, int, int]]:
        return type(self), (self.data_version, self.expected, self.found)


@dataclass(frozen=True)
class _KeptSnapshot:
    """The one non-current version held, and the pointer under which it was last found kept: versions are only
    deleted by a refresh, which moves the pointer, so while the pointer stays it needs no new check."""

    snapshot: Snapshot
    checked_under: int | None


#: How often the warm start's thread looks whether a new version was published (`BirthStore.warm`).
WATCH_SECONDS = 30.0


class BirthStore:
    """Holds the snapshot of the published data version for one database, and at most one other kept version."""

    def __init__(self, engine: Engine, config: EngineConfig) -> None:
        self.engine = engine
        self.config = config
        self._snapshot: Snapshot | None = None
        self._checked_at = 0.0
        self._published: int | None = None
        self._lock = threading.Lock()
        self._kept: _KeptSnapshot | None = None
        # Its own lock: loading an older version (seconds) never holds up loading a newly published one.
        self._kept_lock = threading.Lock()
        # Set while `warm`'s thread loads a newly published version: questions meanwhile get the loaded one.
        self._loading_in_background = threading.Event()
        self._warmer: threading.Thread | None = None
        self._stop_warming = threading.Event()

    def warm(self, watch_seconds: float = WATCH_SECONDS,
             after_load: Callable[[Snapshot], None] | None = None) -> threading.Thread:
        """Load the current version now, in a background thread, rather than on the first question; then look at
        the pointer every `watch_seconds` and load a newly published version the same way, while the loaded one
        keeps answering. A question that comes while nothing is loaded yet waits for that same load (the store's
        lock): the version is never read twice. One thread per store, however often this is called (`stop_warming`
        ends it); the server starts it (app.create_app(warm_start=True): `perispiegel serve`, gunicorn).
        `after_load(snapshot)` runs in the same thread after each load (the engine prepares its first answers)."""
        with self._lock:
            if self._warmer is None or not self._warmer.is_alive():
                self._stop_warming.clear()
                self._warmer = threading.Thread(target=self._keep_warm, args=(watch_seconds, after_load),
                                                name="perispiegel-warm-start", daemon=True)
                self._warmer.start()
            return self._warmer

    def stop_warming(self) -> None:
        self._stop_warming.set()

    def loaded_version(self) -> int | None:
        """The number of the current version held in memory (None before the first load): what a question gets
        without reading the births again."""
        return self._snapshot.data_version if self._snapshot is not None else None

    def _keep_warm(self, watch_seconds: float, after_load: Callable[[Snapshot], None] | None) -> None:
        while not self._stop_warming.is_set():
            try:
                loaded = self._load_published_in_background()
                if loaded is not None and after_load is not None:
                    after_load(loaded)
            except Exception:  # a database that is briefly away: the next look, or the next question, tries again
                logging.getLogger(__name__).exception("warm start: loading the published data version failed")
            self._stop_warming.wait(watch_seconds)

    def _load_published_in_background(self) -> Snapshot | None:
        """The newly published version, loaded; None when the one in memory is still the published one."""
        published = self._read_published()
        if published is None or self.loaded_version() == published:
            return None
        self._loading_in_background.set()
        try:
            with self._lock:
                if self._snapshot is None or self._snapshot.data_version != published:
                    self._snapshot = self._load()
                return self._snapshot
        finally:
            self._loading_in_background.clear()

    def published_version(self) -> int | None:
        """The version number `data_version_current` points at (re-read at most every
        `version_check_seconds`)."""
        now = time.monotonic()
        if self._published is None or now - self._checked_at >= self.config.version_check_seconds:
            self._read_published(now)
        return self._published

    def _read_published(self, now: float | None = None) -> int | None:
        with self.engine.connect() as connection:
            self._published = connection.execute(
                select(data_version_current.c.data_version).where(data_version_current.c.id == 1)).scalar()
        self._checked_at = time.monotonic() if now is None else now
        return self._published

    def snapshot(self, version: int | None = None) -> Snapshot | None:
        """The loaded current version, loading it first when it changed; None when nothing is published.

        `version` names a data version: the current one gives the same as None; an older one that is still kept
        is loaded (the same way) and held until another older one is asked for. A VersionNotKeptError, listing the
        kept versions, when it is not kept — also when it was held but a refresh has deleted it since (an
        objection must reach every version served). Asking for an older version reads the pointer afresh, past
        `version_check_seconds`: a version just published is then served as the current one, not loaded twice.
        The register (`organisations`) is the current one for every version: the register keeps no history.
        """
        published = self.published_version()
        if version is not None and version != published:
            published = self._read_published()
            if version != published:
                return self._kept_snapshot(version, published)
        current = self._current_snapshot(published)
        if version is None or (current is not None and current.data_version == version):
            return current
        # The pointer moved on while the current version was read: the version asked for is an older one now.
        return self._kept_snapshot(version, self._read_published())

    def _current_snapshot(self, published: int | None) -> Snapshot | None:
        if published is None:
            return None
        current = self._snapshot
        if current is not None and current.data_version == published:
            return current
        if current is not None and self._loading_in_background.is_set():
            return current  # the newly published version is being loaded (`warm`): until then, the one loaded
        with self._lock:
            if self._snapshot is None or self._snapshot.data_version != published:
                self._snapshot = self._load()
            return self._snapshot

    def _kept_snapshot(self, version: int, published: int | None) -> Snapshot:
        """The older kept `version`: held while the pointer stays at `published`, else checked and loaded."""
        held = self._kept
        if held is not None and held.snapshot.data_version == version and held.checked_under == published:
            return held.snapshot
        with self._kept_lock:
            held = self._kept
            if held is not None and held.snapshot.data_version == version and held.checked_under == published:
                return held.snapshot
            self._check_kept(version)
            if held is not None and held.snapshot.data_version == version:
                snapshot = held.snapshot  # still kept under the new pointer: no need to read it again
            else:
                self._kept = None  # let the one held go before reading the next: two would double the memory
                try:
                    read = self._read_version(version)
                except IncompleteSnapshotError:
                    # A refresh deleted it between the check and the read's transaction: the read found none of
                    # its rows. Say so as for any version not kept (listing those that are), else the error stands.
                    self._check_kept(version)
                    raise
                if read is None:  # no data_versions row: never published (the check lets none such through)
                    raise VersionNotKeptError(version, [row["number"] for row in kept_versions(self.engine)])
                snapshot = read
            self._kept = _KeptSnapshot(snapshot, published)
            return snapshot

    def _check_kept(self, version: int) -> None:
        """A VersionNotKeptError when `version` is not kept; the version held goes if it is no longer kept either."""
        kept = [row["number"] for row in kept_versions(self.engine)]
        if self._kept is not None and self._kept.snapshot.data_version not in kept:
            self._kept = None
        if version not in kept:
            raise VersionNotKeptError(version, kept)

    def _load(self) -> Snapshot | None:
        return self._read_version(None)

    def _read_version(self, version: int | None) -> Snapshot | None:
        """Read and compact data version `version` (None: the published one), one birth year at a time; None when
        there is no such version (nothing published).

        Everything is read in one read-only transaction on one connection (tables.database.one_snapshot): the
        pointer, the `data_versions` row, every year's births, the register and the deliveries of the provisional
        months. A refresh that publishes meanwhile — and, after an objection, deletes the older versions' births in
        the same commit — is not seen, so a snapshot is one whole version, never a mix of two or a version half
        gone. Guard: the births read must be as many as its row says (`births`), else IncompleteSnapshotError."""
        started = time.perf_counter()
        secret = self.config.pseudonym_key
        with one_snapshot(self.engine) as connection:
            info = _version_row(connection, version)
            if info is None:
                return None
            number = info["data_version"]
            chunks = [compact_frame(read_births(connection, number, year), secret)
                      for year in birth_years(connection, number)]
            frame = pl.concat(chunks, rechunk=True) if chunks else compact_frame(empty_births(), secret)
            if frame.height != info["births"]:
                raise IncompleteSnapshotError(number, info["births"], frame.height)
            published_at = as_utc(info["published_at"])
            register = read_register(connection)
            provisional = read_provisional(connection, register, info["period_from"], info["period_to"],
                                           published_at)
            organisations = register_by_code(register)
        return Snapshot(
            data_version=number, label=info["label"], published_at=published_at,
            period_from=info["period_from"], period_to=info["period_to"], frame=frame,
            organisations=organisations, provisional=provisional,
            loaded_seconds=time.perf_counter() - started,
        )


def _version_row(connection: Connection, version: int | None) -> dict | None:
    """The `data_versions` row of `version`, or of the one `data_version_current` points at (None); None when there
    is none. Read on the connection of the version's read, so that pointer, row and births are of one moment."""
    if version is None:
        version = connection.execute(
            select(data_version_current.c.data_version).where(data_version_current.c.id == 1)).scalar()
        if version is None:
            return None
    row = connection.execute(select(data_versions).where(data_versions.c.data_version == version)).mappings().first()
    return dict(row) if row is not None else None
