"""docs/data-dictionary.md lists every column of every table, with its Dutch term, and nothing stale."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from queries.dictionary import births_dictionary
from tables.schema import metadata

DICTIONARY = Path(__file__).resolve().parent.parent / "docs" / "data-dictionary.md"
HEADING = re.compile(r"^## (?:`(?P<table>\w+)`)?.*$", re.MULTILINE)


def table_rows() -> dict[str, dict[str, list[str]]]:
    """For each `## `table`` section (up to the next `## ` heading): column name → the cells of its row."""
    text = DICTIONARY.read_text(encoding="utf-8")
    sections: dict[str, dict[str, list[str]]] = {}
    matches = list(HEADING.finditer(text))
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        if not match["table"]:
            continue
        body = text[match.end(): following.start() if following else len(text)]
        rows = {}
        for line in body.splitlines():
            cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if cells and cells[0].startswith("`"):
                rows[cells[0].strip("`")] = cells
        sections[match["table"]] = rows
    return sections


@pytest.mark.parametrize("table", sorted(metadata.tables))
def test_every_column_is_documented_with_its_dutch_term(table):
    documented = table_rows().get(table)
    assert documented is not None, f"no section ## `{table}` in {DICTIONARY.name}"
    for column in metadata.tables[table].columns:
        assert column.name in documented, f"{table}.{column.name} is missing from {DICTIONARY.name}"
        assert column.info["nl"] in documented[column.name][2], f"{table}.{column.name}: Dutch term differs"


def test_no_documented_column_or_table_is_stale():
    for table, rows in table_rows().items():
        assert table in metadata.tables, f"{DICTIONARY.name} documents a table that does not exist: {table}"
        assert set(rows) <= set(metadata.tables[table].columns.keys()), f"stale columns in {table}"


def test_every_births_column_says_how_it_is_derived():
    rows = table_rows()["births"]
    for column, cells in rows.items():
        assert len(cells) == 5 and len(cells[4]) > 10, f"births.{column} has no derivation"


def test_the_definitions_page_dictionary_is_every_births_column_a_reader_meets():
    entries = births_dictionary()
    births = metadata.tables["births"]
    assert [entry.column for entry in entries] == [column.name for column in births.columns
                                                   if column.name not in {"data_version", "birth_id"}]
    for entry in entries:
        assert entry.term == births.columns[entry.column].info["nl"]
        assert entry.meaning == births.columns[entry.column].comment
