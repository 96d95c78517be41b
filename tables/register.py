"""The organisation register as stored in the `organisations` table: the one reader of it.

The loader (validating a delivery's organisation, inside its refresh transaction), the engine's in-memory copy,
the pages' organisation choice (through `queries.status.organisation_register`, one copy per refresh) and the
permissions of an account all read the register here. Writing it is the loader's job
(`loader.register.upsert_organisations`).
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import Connection, Engine, select

from tables.schema import organisations

REGISTER_SCHEMA: dict[str, type[pl.DataType]] = {column.name: pl.String for column in organisations.columns}
# VSVs first, then hospitals, then practices (the order of the organisation choice), each by name.
TYPE_ORDER = {"vsv": 0, "hospital": 1, "practice": 2}


def read_register(source: Engine | Connection) -> pl.DataFrame:
    """Every organisation, one row each with all register columns (strings), ordered by type, name and code.

    `source` is an engine, or the connection of a transaction that must see its own writes (a refresh)."""
    query = select(organisations)
    if isinstance(source, Engine):
        with source.connect() as connection:
            rows = connection.execute(query).all()
    else:
        rows = source.execute(query).all()
    frame = pl.DataFrame(rows, schema=REGISTER_SCHEMA, orient="row")
    return (
        frame.with_columns(pl.col("org_type").replace_strict(TYPE_ORDER, default=len(TYPE_ORDER)).alias("_order"))
        .sort("_order", "name", "org_code")
        .drop("_order")
    )


def register_by_code(register: pl.DataFrame) -> dict[str, dict[str, str | None]]:
    """The register as code → {name, org_type, vsv_code, …}: for looking organisations up one at a time."""
    return {row["org_code"]: row for row in register.iter_rows(named=True)}
