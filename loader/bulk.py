"""Bulk reads and writes inside a refresh's transaction: COPY on PostgreSQL, chunked executemany on SQLite."""

from __future__ import annotations

import io
import sqlite3

import polars as pl
from sqlalchemy import Connection, Table

from loader.results import RECORD_COLUMNS, RECORD_SCHEMA
from tables.database import psycopg_driver

SQLITE_ROWS_PER_EXECUTEMANY = 20_000


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
