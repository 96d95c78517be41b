"""One refresh at a time, and what makes a new version, on SQLite and PostgreSQL, in real processes.

- Two loads at once: the second is refused at once with who runs since when, exits non-zero, and writes nothing;
  the log never shows the live refresh failed; exactly one version is published.
- A refresh killed with SIGKILL leaves no lock: the next load runs (and marks the dead one failed).
- A change of the organisation register alone publishes a new version that says why, with the births re-derived.
- New files that cannot be read alone change nothing: they get their deliveries row, the version stays.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from fixtures.delivery_files import ORGANISATIONS_FILE, POSTCODE_FILE, child_of, write_delivery
from rich.console import Console
from sqlalchemy import Engine, func, select

from loader.console import status_command
from loader.refresh import run_refresh
from tables.database import current_data_version
from tables.schema import births, data_versions, deliveries, refreshes

PROJECT_ROOT = Path(__file__).resolve().parent.parent
APRIL = "2023-04"
WAIT_SECONDS = 120

#: A refresh in a process of its own that stops after reading, announces it (`<signals>/reading`) and goes on only
#: when `<signals>/go` appears: a refresh that is certainly running while the test starts a second one.
PAUSED_REFRESH = """
import json, sys, time
from pathlib import Path
from loader.refresh import run_refresh
from tables.database import make_engine

folder, url, organisations, postcodes, signals = sys.argv[1:6]
signals = Path(signals)

def pause(stage, done, total):
    if stage == "validate" and done == 0:
        (signals / "reading").write_text("")
        deadline = time.monotonic() + 120
        while not (signals / "go").exists() and time.monotonic() < deadline:
            time.sleep(0.05)

summary = run_refresh(Path(folder), make_engine(url), organisations_file=Path(organisations),
                      postcode_file=Path(postcodes), progress=pause)
print(json.dumps({"status": summary.status, "data_version": summary.data_version}))
"""


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _environment(engine: Engine) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "PERISPIEGEL_DATABASE_URL": _url(engine)}


def _start_paused_refresh(engine: Engine, folder: Path, signals: Path) -> subprocess.Popen:
    signals.mkdir(exist_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-c", PAUSED_REFRESH, str(folder), _url(engine), str(ORGANISATIONS_FILE),
         str(POSTCODE_FILE), str(signals)],
        cwd=PROJECT_ROOT, env=_environment(engine), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + WAIT_SECONDS
    while not (signals / "reading").exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the first refresh did not start"
        time.sleep(0.05)
    return process


def _log(engine: Engine) -> list[tuple[int, str, int | None]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(
            select(refreshes.c.refresh_id, refreshes.c.status, refreshes.c.pid).order_by(refreshes.c.refresh_id))]


def _count(engine: Engine, table) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def refresh(folder: Path, engine: Engine, **kwargs):
    return run_refresh(folder, engine, organisations_file=kwargs.pop("organisations_file", ORGANISATIONS_FILE),
                       postcode_file=POSTCODE_FILE, **kwargs)


def test_a_second_load_while_one_runs_is_refused_and_the_first_publishes(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "deliveries"
    write_delivery(folder / APRIL, "lvr1_P0001_2023-04.csv", [child_of(number) for number in range(1, 6)])
    first = _start_paused_refresh(engine, folder, tmp_path / "signals")
    try:
        second = subprocess.run([sys.executable, "-m", "cli", "load", str(folder)], cwd=PROJECT_ROOT,
                                env={**_environment(engine), "COLUMNS": "200"}, capture_output=True, text=True,
                                timeout=WAIT_SECONDS)
        assert second.returncode == 3, second.stdout + second.stderr
        words = " ".join(second.stdout.split())
        assert "A refresh is already running since 20" in words, words
        assert f"(refresh 1, pid {first.pid} on host " in words, words
        assert "Nothing was loaded" in words
        assert _log(engine) == [(1, "running", first.pid)]  # the live one is not marked failed; no row for the second
    finally:
        (tmp_path / "signals" / "go").write_text("")
        output, errors = first.communicate(timeout=WAIT_SECONDS)
    assert first.returncode == 0, errors
    assert '"status": "published", "data_version": 1' in output
    assert _log(engine) == [(1, "published", first.pid)]
    assert _count(engine, data_versions) == 1 and _count(engine, births) == 5


def test_a_refresh_killed_while_it_holds_the_lock_leaves_no_lock(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "deliveries"
    write_delivery(folder / APRIL, "lvr1_P0001_2023-04.csv", [child_of(number) for number in range(1, 4)])
    first = _start_paused_refresh(engine, folder, tmp_path / "signals")
    os.kill(first.pid, signal.SIGKILL)
    first.communicate(timeout=WAIT_SECONDS)
    assert first.returncode == -signal.SIGKILL
    engine.dispose()
    summary = refresh(folder, engine)
    assert (summary.status, summary.data_version, summary.births) == ("published", 1, 3)
    assert [status for _id, status, _pid in _log(engine)] == ["failed", "published"]


def _register_with(tmp_path: Path, old: str, new: str) -> Path:
    register = ORGANISATIONS_FILE.read_text(encoding="utf-8")
    assert old in register
    path = tmp_path / "organisations.csv"
    path.write_text(register.replace(old, new), encoding="utf-8")
    return path


def test_a_register_change_alone_publishes_a_version_that_says_why(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "deliveries"
    write_delivery(folder / APRIL, "lvr1_P0001_2023-04.csv", [child_of(number) for number in range(1, 4)])
    write_delivery(folder / APRIL, "lvr1_P0002_2023-04.csv", [child_of(9, org_code="P0002")])
    assert refresh(folder, engine).data_version == 1
    assert refresh(folder, engine).status == "unchanged"

    moved = _register_with(tmp_path, "V001,Utrecht,\nP0001,Verloskundigenpraktijk De Linde,practice,V001,",
                           "V001,Utrecht,\nV002,VSV Nieuwland,vsv,V002,Utrecht,\n"
                           "P0001,Verloskundigenpraktijk De Linde,practice,V002,")
    summary = refresh(folder, engine, organisations_file=moved)
    assert (summary.status, summary.data_version, summary.files) == ("published", 2, 0)
    assert summary.register_changes == ["V002 added to the register", "P0001 moved from VSV V001 to V002"]

    with engine.connect() as connection:
        vsv_of_practice = dict(connection.execute(
            select(births.c.practice_code, func.max(births.c.vsv_code)).where(births.c.data_version == 2)
            .group_by(births.c.practice_code)).all())
    assert vsv_of_practice == {"P0001": "V002", "P0002": "V001"}
    reason = current_data_version(engine)["reason"]
    assert reason["new_files"] == 0 and reason["register_changes_total"] == 2

    console = Console(record=True, width=200)
    status_command(engine, console)
    assert ("Published because: the organisation register changed: V002 added to the register; "
            "P0001 moved from VSV V001 to V002") in console.export_text()

    assert refresh(folder, engine, organisations_file=moved).status == "unchanged"  # the same register again


def test_new_files_that_cannot_be_read_alone_publish_nothing(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "deliveries"
    write_delivery(folder / APRIL, "lvr1_P0001_2023-04.csv", [child_of(number) for number in range(1, 4)])
    assert refresh(folder, engine).data_version == 1
    (folder / APRIL / "lvr1_P0002_2023-04.csv").symlink_to(tmp_path / "nowhere.csv")  # dangling

    for attempt in (1, 2):  # tried again every time, news never
        summary = refresh(folder, engine)
        assert (summary.status, summary.data_version, summary.files_unreadable, summary.files_unchanged) == \
            ("unchanged", 1, 1, 1), attempt
    with engine.connect() as connection:
        unreadable = connection.execute(select(deliveries.c.file_name, deliveries.c.error_code)
                                        .where(deliveries.c.sha256.is_(None))).all()
    assert unreadable == [("lvr1_P0002_2023-04.csv", "unreadable")] * 2
    assert _count(engine, data_versions) == 1



def test_a_first_register_is_one_line_not_hundreds(sqlite_engine: Engine, tmp_path: Path) -> None:
    from loader.refresh import DEFAULT_ORGANISATIONS_FILE

    folder = tmp_path / "deliveries"
    write_delivery(folder / APRIL, "lvr1_P0001_2023-04.csv", [child_of(1)])
    organisations = len(DEFAULT_ORGANISATIONS_FILE.read_text(encoding="utf-8").strip().splitlines()) - 1
    summary = run_refresh(folder, sqlite_engine, organisations_file=DEFAULT_ORGANISATIONS_FILE,
                          postcode_file=POSTCODE_FILE)
    assert summary.register_changes == [f"{organisations:,} organisations added to the register"]
    console = Console(record=True, width=200)
    status_command(sqlite_engine, console)
    assert (f"Published because: 1 new delivery file; the organisation register changed: {organisations:,} "
            "organisations added to the register\n") in console.export_text()
