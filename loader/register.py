"""The organisation register file: read it, say what it changes (`register_changes`), and upsert it into the
`organisations` table (read back by `tables.register.read_register`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from loader.bulk import _is_postgres
from tables.register import read_register, register_by_code
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


@dataclass(frozen=True)
class RegisterChange:
    """One difference between the register file being loaded and the stored register: an organisation added
    (`field` "org_code", `before` None) or one of its fields changed. Organisations no longer listed are not a
    change: they stay (history)."""

    org_code: str
    field: str
    before: str | None
    after: str | None

    def in_words(self) -> str:
        """E.g. "P0007 moved from VSV V003 to V005" (the refresh log and `perispiegel status` are English)."""
        if self.field == "org_code":
            return f"{self.org_code} added to the register"
        if self.field == "vsv_code":
            return f"{self.org_code} moved from VSV {self.before or '-'} to {self.after or '-'}"
        return f"{self.org_code}: {self.field} changed from {self.before or '-'!r} to {self.after or '-'!r}"


def register_changes(connection: Connection, register: pl.DataFrame) -> list[RegisterChange]:
    """What `register` (read by `read_organisations_file`) changes in the stored register, by code and field.

    Read inside the refresh's transaction before the upsert: a change means the births must be linked and derived
    again (a practice's VSV and hospitals are columns of every birth it delivered)."""
    stored = register_by_code(read_register(connection))
    fields = [column.name for column in organisations.columns if column.name != "org_code"]
    changes: list[RegisterChange] = []
    for row in register.iter_rows(named=True):
        before = stored.get(row["org_code"])
        if before is None:
            changes.append(RegisterChange(row["org_code"], "org_code", None, row["org_code"]))
            continue
        changes += [RegisterChange(row["org_code"], name, before[name], row[name])
                    for name in fields if (before[name] or None) != (row[name] or None)]
    return changes
