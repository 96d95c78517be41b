"""The data dictionary of the national `births` table in plain words: for each column the Dutch registry term and
its meaning, as the column definitions in `tables/schema.py` write them (the definitions page shows it)."""

from __future__ import annotations

from dataclasses import dataclass

from tables.schema import births

BOOKKEEPING_COLUMNS = frozenset({"data_version", "birth_id"})  # the loader's, not a reader's


@dataclass(frozen=True)
class DictionaryEntry:
    """One column of the births table: its name, the Dutch registry term and its meaning (in English)."""

    column: str
    term: str
    meaning: str


def births_dictionary() -> list[DictionaryEntry]:
    """Every column of the births table a reader meets, in table order (the loader's bookkeeping left out)."""
    return [DictionaryEntry(column=column.name, term=column.info.get("nl", column.name), meaning=column.comment or "")
            for column in births.columns if column.name not in BOOKKEEPING_COLUMNS]
