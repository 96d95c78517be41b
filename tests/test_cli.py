"""The `perispiegel` command as a user runs it: generate → load → status, in real subprocesses."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cli import parse_years

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def test_parse_years_accepts_ranges_lists_and_single_years() -> None:
    assert parse_years("2022-2024") == [2022, 2023, 2024]
    assert parse_years("2023") == [2023]
    assert parse_years("2021,2023") == [2021, 2023]


@pytest.mark.parametrize("text", ["2024-2022", "99", "", "abc"])
def test_parse_years_rejects_nonsense(text: str) -> None:
    with pytest.raises((argparse.ArgumentTypeError, ValueError)):
        parse_years(text)


def run_cli(*arguments: str, database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *arguments], cwd=PROJECT_ROOT, capture_output=True, text=True,
        env={**os.environ, "PERISPIEGEL_DATABASE_URL": database_url, "COLUMNS": "160"}, timeout=600,
    )


def test_generate_load_status_end_to_end(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'cli.db'}"
    deliveries = tmp_path / "deliveries"

    generated = run_cli("generate", "--years", "2023", "--seed", "3", "--out", str(deliveries), "--scale", "0.02",
                        database_url=database_url)
    assert generated.returncode == 0, generated.stderr
    assert list(deliveries.rglob("lvr1_*.csv")), "no midwife delivery files written"

    loaded = run_cli("load", str(deliveries), database_url=database_url)
    assert loaded.returncode == 0, loaded.stderr + loaded.stdout
    for words in ("accepted", "rejected", "linkage"):
        assert words in loaded.stdout.lower(), f"load summary lacks {words!r}:\n{loaded.stdout}"

    again = run_cli("load", str(deliveries), database_url=database_url)
    assert again.returncode == 0, again.stderr
    assert "unchanged" in again.stdout.lower(), again.stdout

    status = run_cli("status", database_url=database_url)
    assert status.returncode == 0, status.stderr
    assert "births" in status.stdout.lower()
    assert "Kept data versions: the last 3 published are kept (PERISPIEGEL_KEEP_VERSIONS)" in status.stdout
    assert re.search(r"│\s+1 │ .* │ current │", status.stdout), status.stdout


def test_load_of_a_missing_folder_says_so(tmp_path: Path) -> None:
    result = run_cli("load", str(tmp_path / "nowhere"), database_url=f"sqlite:///{tmp_path / 'x.db'}")
    assert result.returncode != 0
    assert "nowhere" in (result.stdout + result.stderr)


def test_generate_refuses_a_folder_that_already_holds_deliveries(tmp_path: Path) -> None:
    (tmp_path / "2023-01").mkdir()
    (tmp_path / "2023-01" / "lvr1_P0001_2023-01.csv").write_text("dossier_id\n")
    result = run_cli("generate", "--years", "2023", "--out", str(tmp_path), "--scale", "0.01",
                     database_url=f"sqlite:///{tmp_path / 'x.db'}")
    assert result.returncode == 2
    assert "already holds delivery files" in result.stdout


def test_a_database_of_an_older_version_is_refused_with_what_to_do(tmp_path: Path) -> None:
    """create_all never adds columns to an existing table: a database made before a new births column (the
    mortality variants) is refused by name, untouched, instead of failing later on "no such column"."""
    import sqlite3

    from tables.database import OutdatedDatabaseError, make_engine

    path = tmp_path / "old.db"
    make_engine(f"sqlite:///{path}").dispose()
    with sqlite3.connect(path) as connection:
        connection.execute("ALTER TABLE births DROP COLUMN perinatal_death_24w_28d")
    with pytest.raises(OutdatedDatabaseError, match="table births lacks perinatal_death_24w_28d"):
        make_engine(f"sqlite:///{path}")
    result = run_cli("status", database_url=f"sqlite:///{path}")
    assert result.returncode == 2 and "older version of perispiegel" in result.stdout
    assert "Traceback" not in result.stderr
    with sqlite3.connect(path) as connection:  # nothing was changed
        columns = {row[1] for row in connection.execute("PRAGMA table_info(births)")}
    assert "perinatal_death_24w_28d" not in columns
