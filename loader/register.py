"""The organisation register file: read it, and upsert it into the `organisations` table (read back by
`tables.register.read_register`)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from loader.bulk import _is_postgres
from tables.schema import organisations


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
