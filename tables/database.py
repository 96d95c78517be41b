"""Where the tables live: the database URL, the engine, and which data version is published."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, overload

from sqlalchemy import Connection, Engine, create_engine, event, inspect, select, text
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.schema import CreateColumn

from settings import DATA_FOLDER
from tables.schema import data_version_current, data_versions, metadata

if TYPE_CHECKING:
    import psycopg

DEFAULT_DATABASE_PATH = DATA_FOLDER / "perispiegel.db"
DATABASE_URL_VARIABLE = "PERISPIEGEL_DATABASE_URL"
# What no delivery file can give back: the accounts, their grants and tokens, the audit log. A column a later
# version adds to these is added in place (it has a default, or may be empty), so an upgrade keeps every account;
# the data tables are rebuilt from the delivery files instead (check_columns).
KEPT_TABLES = ("users", "user_organisations", "api_tokens", "audit_log")


def database_url() -> str:
    """The database URL from PERISPIEGEL_DATABASE_URL; the embedded SQLite file by default."""
    return os.environ.get(DATABASE_URL_VARIABLE) or f"sqlite:///{DEFAULT_DATABASE_PATH}"


def make_engine(url: str | None = None) -> Engine:
    """An engine for `url` (default: `database_url()`), with the schema created if absent."""
    url = url or database_url()
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
            # WAL lets the dashboard read the published version while a refresh writes the next one.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()
    else:
        engine = create_engine(url, pool_pre_ping=True)
    metadata.create_all(engine)
    add_kept_columns(engine)
    check_columns(engine)
    return engine


def add_kept_columns(engine: Engine) -> list[str]:
    """Add to the KEPT_TABLES of an older database the columns this version has and it lacks, where the column has a
    server default or may be empty (what `ALTER TABLE ... ADD COLUMN` can do on both databases). Returns them as
    "table.column"; a column that cannot be added this way is left to check_columns to name."""
    inspector = inspect(engine)
    added: list[str] = []
    for name in KEPT_TABLES:
        if not inspector.has_table(name):
            continue
        table = metadata.tables[name]
        present = {column["name"] for column in inspector.get_columns(name)}
        for column in table.columns:
            if column.name in present or (column.server_default is None and not column.nullable):
                continue
            definition = CreateColumn(column).compile(dialect=engine.dialect)
            with engine.begin() as connection:
                connection.execute(text(f"ALTER TABLE {engine.dialect.identifier_preparer.quote(name)} "
                                        f"ADD COLUMN {definition}"))
            added.append(f"{name}.{column.name}")
    return added


class OutdatedDatabaseError(RuntimeError):
    """The database was made by an older perispiegel: a table lacks columns this version needs."""


def check_columns(engine: Engine) -> None:
    """Refuse, with the columns named and what to do, a database whose tables lack columns of tables/schema.py:
    `create_all` makes missing tables but never changes existing ones, and a query would fail later with a bare
    "no such column". There are no migrations yet; the data is rebuilt from the delivery files."""
    inspector = inspect(engine)
    missing = {table.name: sorted(set(table.columns.keys()) - {column["name"] for column in inspector.get_columns(
        table.name)}) for table in metadata.sorted_tables if inspector.has_table(table.name)}
    missing = {name: columns for name, columns in missing.items() if columns}
    if missing:
        described = "; ".join(f"table {name} lacks {', '.join(columns)}" for name, columns in missing.items())
        raise OutdatedDatabaseError(
            f"the database {engine.url.render_as_string(hide_password=True)} was made by an older version of "
            f"perispiegel ({described}). Nothing was changed. Keep it aside and load the delivery files into a new "
            "database: for the embedded demo database, move data/perispiegel.db away and run `make run` again.")


class DataVersion(TypedDict):
    """A row of `data_versions` (tables/schema.py)."""

    data_version: int
    refresh_id: int
    published_at: datetime
    label: str
    births: int
    period_from: str | None
    period_to: str | None
    reason: dict | None  # why it was published (loader.refresh._reason); None for versions from before it was kept


def current_data_version(engine: Engine) -> DataVersion | None:
    """The published data version as a dict (data_version, label, published_at, ...), or None."""
    query = select(data_versions).join(
        data_version_current, data_version_current.c.data_version == data_versions.c.data_version
    )
    with engine.connect() as connection:
        row = connection.execute(query).mappings().first()
    if row is None:
        return None
    return DataVersion(data_version=row["data_version"], refresh_id=row["refresh_id"],
                       published_at=row["published_at"], label=row["label"], births=row["births"],
                       period_from=row["period_from"], period_to=row["period_to"], reason=row["reason"])


@overload
def as_utc(moment: datetime) -> datetime: ...
@overload
def as_utc(moment: datetime | None) -> datetime | None: ...
def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes for `DateTime(timezone=True)`; the loader stores UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def psycopg_driver(driver_connection: object) -> psycopg.Connection[Any]:
    """The psycopg connection under a PostgreSQL connection, for COPY (psycopg's API, not the DB-API's): the
    loader's bulk writes and the engine's bulk read. A TypeError naming the driver when it is another one."""
    import psycopg  # only where PostgreSQL is used, like SQLAlchemy's dialect does

    if not isinstance(driver_connection, psycopg.Connection):
        raise TypeError(f"COPY on PostgreSQL needs the psycopg driver, not {type(driver_connection)!r}")
    return driver_connection


@contextmanager
def one_snapshot(engine: Engine) -> Iterator[Connection]:
    """One connection in one read-only transaction, whose reads all see the database as it stood at the first of
    them, whatever a refresh commits meanwhile: for reading a data version whole (`queries.store`), never a mix.

    PostgreSQL: REPEATABLE READ, READ ONLY, whose snapshot is taken at the transaction's first statement and holds
    for every later one — also a COPY run on its psycopg connection (`psycopg_driver(connection.connection
    .driver_connection)`), which is the same connection in the same transaction. SQLite: an explicit BEGIN, as pysqlite
    opens no transaction for a SELECT (each would see the latest commit); in WAL mode (`make_engine`) the first
    SELECT then fixes the snapshot, and a refresh's commit beside it neither waits nor shows. Rolled back on leaving:
    nothing is written."""
    postgres = engine.dialect.name == "postgresql"
    options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True} if postgres else {}
    with engine.connect().execution_options(**options) as connection:
        if not postgres:
            connection.exec_driver_sql("BEGIN")
        try:
            yield connection
        finally:
            connection.rollback()
