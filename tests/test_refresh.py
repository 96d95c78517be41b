"""One refresh on a real database (SQLite and PostgreSQL): stored, versioned, atomic, idempotent; the data versions
it keeps, and the store loading a kept one."""

from __future__ import annotations

import gc
import os
import pickle
import re
import signal
import subprocess
import sys
import weakref
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fixtures.delivery_files import (
    ORGANISATIONS_FILE,
    POSTCODE_FILE,
    child_of,
    midwife_record,
    write_delivery,
)
from sqlalchemy import Engine, func, select, text

from auth.permissions import permitted_organisations
from auth.users import add_user, get_user
from loader.refresh import (
    KEEP_VERSIONS_VARIABLE,
    KILL_AT_STAGE_VARIABLE,
    RefreshSummary,
    run_refresh,
    versions_to_keep,
)
from queries.config import EngineConfig
from queries.status import kept_versions, organisation_register
from queries.store import BirthStore, VersionNotKeptError
from tables.database import current_data_version
from tables.schema import births, data_versions, deliveries, metadata, objections, records, refreshes

PROJECT_ROOT = Path(__file__).resolve().parent.parent
APRIL = "2023-04"


def refresh(folder: Path, engine: Engine, **kwargs) -> RefreshSummary:
    return run_refresh(folder, engine, organisations_file=ORGANISATIONS_FILE, postcode_file=POSTCODE_FILE, **kwargs)


def scalar(engine: Engine, query) -> object:
    with engine.connect() as connection:
        return connection.execute(query).scalar_one()


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
                for table in metadata.sorted_tables}


def current_births(engine: Engine) -> list[dict]:
    version = current_data_version(engine)["data_version"]
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(
            select(births).where(births.c.data_version == version).order_by(births.c.birth_id)).mappings()]


def stored_record(engine: Engine, dossier_id: str) -> dict | None:
    with engine.connect() as connection:
        row = connection.execute(select(records).where(records.c.dossier_id == dossier_id)).mappings().first()
    return dict(row) if row else None


def test_a_delivery_is_validated_stored_and_published(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "deliveries"
    write_delivery(folder / APRIL, "lvr1_P0001_2023-04.csv",
                   [child_of(1), child_of(2), child_of(3, child_sex="X"), child_of(4, birth_weight_g="")])
    write_delivery(folder / APRIL, "lvr1_P0002_2023-04.csv", [child_of(5, org_code="P0002")])
    (folder / APRIL / "lvr1_P0002_2023-05.csv").write_bytes(b"\xff\xfe not a delivery")  # rejected whole
    write_delivery(folder / "_truth", "lvr1_P0001_2023-04.csv", [child_of(9)])  # never read
    stages: list[str] = []

    summary = refresh(folder, engine, progress=lambda stage, _done, _total: stages.append(stage))

    assert summary.status == "published" and summary.data_version == 1
    assert (summary.files, summary.files_rejected) == (3, 1)
    assert (summary.records_read, summary.records_accepted, summary.records_rejected) == (5, 4, 1)
    assert summary.rejected_by_reason == {"file:not_utf8": 0, "invalid_code:child_sex": 1}
    assert summary.hints == 1 and summary.births == 4
    assert list(dict.fromkeys(stages)) == ["register", "read", "validate", "link", "derive", "publish"]

    published = current_births(engine)
    assert [row["birth_date"].isoformat() for row in published] == ["2023-04-02", "2023-04-03", "2023-04-05",
                                                                     "2023-04-06"]
    assert {row["practice_code"] for row in published} == {"P0001", "P0002"}
    assert all(row["vsv_code"] == "V001" for row in published)
    with engine.connect() as connection:
        stored = connection.execute(select(deliveries).order_by(deliveries.c.file_name)).mappings().all()
        rejected = connection.execute(text("SELECT line_number, dossier_id, error_codes, message_nl, raw "
                                           "FROM rejected_records")).mappings().one()
        hint = connection.execute(text("SELECT dossier_id, field, hint_code FROM hints")).mappings().one()
    assert [(row["file_name"], row["status"]) for row in stored] == [
        ("lvr1_P0001_2023-04.csv", "partially_accepted"), ("lvr1_P0002_2023-04.csv", "accepted"),
        ("lvr1_P0002_2023-05.csv", "rejected"),
    ]
    for row in stored:
        assert row["records_read"] == row["records_accepted"] + row["records_rejected"] + row["records_objected"]
    assert "UTF-8" in stored[2]["message_nl"] and "UTF-8" in stored[2]["message_en"]
    assert (rejected["line_number"], rejected["dossier_id"], rejected["error_codes"]) == (4, "D3",
                                                                                         "invalid_code:child_sex")
    assert "'X'" in rejected["message_nl"] and '"child_sex":"X"' in rejected["raw"]
    assert dict(hint) == {"dossier_id": "D4", "field": "birth_weight_g", "hint_code": "missing_important"}


def test_running_the_same_delivery_twice_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    write_delivery(tmp_path / APRIL, "lvr1_P0001_2023-04.csv", [child_of(1), child_of(2, child_sex="?")])
    first = refresh(tmp_path, engine)
    before = row_counts(engine)

    again = refresh(tmp_path, engine)

    assert (again.status, again.data_version, again.files, again.files_unchanged) == ("unchanged", 1, 0, 1)
    after = row_counts(engine)
    assert after.pop("refreshes") == before.pop("refreshes") + 1  # the log says it ran; nothing else moved
    assert after == before
    assert current_data_version(engine)["data_version"] == first.data_version


def test_a_resend_replaces_the_earlier_version(engine: Engine, tmp_path: Path) -> None:
    write_delivery(tmp_path / APRIL, "lvr1_P0001_2023-04.csv", [child_of(1), child_of(2)])
    refresh(tmp_path, engine)
    write_delivery(tmp_path / APRIL, "lvr1_P0001_2023-04_resend1.csv",
                   [child_of(1, dossier_version="2", birth_weight_g="3610"),
                    child_of(2, dossier_version="1", birth_weight_g="2222")])  # same version: the later file wins
    write_delivery(tmp_path / "later", "lvr1_P0001_2023-04_resend2.csv",
                   [child_of(1, dossier_version="1", birth_weight_g="1999")])  # an older version does not

    summary = refresh(tmp_path, engine)

    assert summary.data_version == 2 and summary.births == 2
    assert stored_record(engine, "D1")["dossier_version"] == 2
    assert sorted(row["birth_weight_g"] for row in current_births(engine)) == [2222, 3610]
    assert scalar(engine, select(func.count()).select_from(records)) == 2


def test_an_objection_is_honoured(engine: Engine, tmp_path: Path) -> None:
    secret = child_of(7, dossier_id="SECRET7", mother_postcode4="9876", birth_weight_g="4321",
                      blood_loss_ml="7000")
    # Her first version is rejected (its raw line quotes her data), the corrected one gives a hint (7000 ml).
    write_delivery(tmp_path / APRIL, "lvr1_P0001_2023-04.csv", [child_of(1), {**secret, "child_sex": "X"}])
    refresh(tmp_path, engine)
    write_delivery(tmp_path / APRIL, "lvr1_P0001_2023-04_resend1.csv", [{**secret, "dossier_version": "2"}])
    refresh(tmp_path, engine)
    assert stored_record(engine, "SECRET7")["birth_weight_g"] == 4321
    with engine.connect() as connection:
        before = " ".join(str(row) for table in ("rejected_records", "hints")
                          for row in connection.execute(text(f"SELECT * FROM {table}")))
    assert "9876" in before and "7000" in before  # the feedback did quote her data

    write_delivery(tmp_path / APRIL, "lvr1_P0001_2023-04_resend2.csv",
                   [{**secret, "dossier_version": "3", "objection": "1"}])
    summary = refresh(tmp_path, engine)

    assert summary.records_objected == 1 and summary.births == 1
    assert stored_record(engine, "SECRET7") is None
    with engine.connect() as connection:
        assert [tuple(row) for row in connection.execute(
            select(objections.c.org_code, objections.c.discipline, objections.c.dossier_id))] == [
            ("P0001", "lvr1", "SECRET7")]
        for table in ("rejected_records", "hints"):
            dump = " ".join(str(row) for row in connection.execute(text(f"SELECT * FROM {table}")))
            assert "9876" not in dump and "4321" not in dump and "7000" not in dump
        # Not in any stored version either (the previous version would otherwise keep her child's row).
        every_version = list(connection.execute(select(births.c.birth_weight_g)).scalars())
    assert 4321 not in every_version

    # A later delivery of the same dossier without the objection does not bring it back.
    write_delivery(tmp_path / "may", "lvr1_P0001_2023-04_resend3.csv", [{**secret, "dossier_version": "4"}])
    refresh(tmp_path, engine)
    assert stored_record(engine, "SECRET7") is None


def publish_versions(folder: Path, engine: Engine, count: int) -> None:
    """`count` refreshes, each adding one child: data version n holds n births."""
    for number in range(1, count + 1):
        write_delivery(folder / APRIL, f"lvr1_P0001_2023-04_resend{number}.csv", [child_of(number)])
        refresh(folder, engine)


def versions_with_births(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return list(connection.execute(select(births.c.data_version).distinct().order_by(births.c.data_version))
                    .scalars())


def test_the_last_three_versions_are_kept_and_can_be_loaded(engine: Engine, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEEP_VERSIONS_VARIABLE, raising=False)
    assert versions_to_keep() == 3
    publish_versions(tmp_path, engine, 4)

    assert versions_with_births(engine) == [2, 3, 4]
    with engine.connect() as connection:  # every published version stays in the history
        assert list(connection.execute(select(data_versions.c.births).order_by(data_versions.c.data_version))
                    .scalars()) == [1, 2, 3, 4]
    kept = kept_versions(engine)
    assert [(row["number"], row["births"], row["current"]) for row in kept] == [(4, 4, True), (3, 3, False),
                                                                                (2, 2, False)]
    assert all(row["published_at"].tzinfo is not None and row["period_from"] == APRIL for row in kept)

    store = BirthStore(engine, EngineConfig())
    current = store.snapshot()
    assert current is not None and (current.data_version, current.frame.height) == (4, 4)
    assert store.snapshot(4) is current
    for number in (3, 2):
        older = store.snapshot(number)
        assert older is not None and (older.data_version, older.frame.height) == (number, number)
        assert older.label == kept[4 - number]["label"]
        assert older.frame.columns == current.frame.columns
    assert store.snapshot() is current  # asking for older versions leaves the current one in place

    for gone in (1, 5):
        with pytest.raises(VersionNotKeptError) as refused:
            store.snapshot(gone)
        assert (refused.value.requested, refused.value.kept) == (gone, [4, 3, 2])
        assert str(refused.value) == f"data version {gone} is not kept; the kept data versions are 4 (current), 3, 2"
    assert pickle.loads(pickle.dumps(refused.value)).kept == [4, 3, 2]


def test_the_store_holds_one_older_version_at_a_time(engine: Engine, tmp_path: Path) -> None:
    publish_versions(tmp_path, engine, 3)
    store = BirthStore(engine, EngineConfig())
    current = store.snapshot()
    first = store.snapshot(1)
    assert first is not None and store.snapshot(1) is first  # held: not read again
    held = weakref.ref(first)
    del first

    second = store.snapshot(2)
    gc.collect()
    assert held() is None, "the store still holds version 1 besides version 2"
    assert second is not None and second.frame.height == 2 and store.snapshot(2) is second
    assert store.snapshot() is current

    # Questions from several threads at once each get the version they named.
    asked = [None, 1, 2, 3] * 4
    with ThreadPoolExecutor(max_workers=4) as pool:
        answered = list(pool.map(store.snapshot, asked))
    assert [snapshot.data_version if snapshot else None for snapshot in answered] == [
        3 if number is None else number for number in asked]
    assert [snapshot.frame.height if snapshot else None for snapshot in answered] == [
        3 if number is None else number for number in asked]


def test_an_objection_leaves_no_older_version(engine: Engine, tmp_path: Path) -> None:
    publish_versions(tmp_path, engine, 3)
    store = BirthStore(engine, EngineConfig())
    older = store.snapshot(2)
    assert older is not None and older.frame.height == 2  # held in memory, with D1's child

    write_delivery(tmp_path / "may", "lvr1_P0001_2023-04_resend9.csv",
                   [child_of(1, dossier_version="2", objection="1")])
    summary = refresh(tmp_path, engine)

    assert (summary.records_objected, summary.data_version, summary.births) == (1, 4, 2)
    assert versions_with_births(engine) == [4]
    assert [row["number"] for row in kept_versions(engine)] == [4]
    for number in (2, 3):  # not even the copy already in memory is served any more
        with pytest.raises(VersionNotKeptError) as refused:
            store.snapshot(number)
        assert refused.value.kept == [4]
    current = store.snapshot()
    assert current is not None and (current.data_version, current.frame.height) == (4, 2)


def test_keeping_one_version_keeps_only_the_current(engine: Engine, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEEP_VERSIONS_VARIABLE, "1")
    publish_versions(tmp_path, engine, 3)

    assert versions_with_births(engine) == [3]
    assert [(row["number"], row["current"]) for row in kept_versions(engine)] == [(3, True)]
    with pytest.raises(VersionNotKeptError, match=r"the kept data versions are 3 \(current\)$"):
        BirthStore(engine, EngineConfig()).snapshot(2)


@pytest.mark.parametrize("setting", ["0", "three"])
def test_a_wrong_number_of_versions_to_keep_is_refused_before_anything_is_stored(
        sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str) -> None:
    write_delivery(tmp_path / APRIL, "lvr1_P0001_2023-04.csv", [child_of(1)])
    monkeypatch.setenv(KEEP_VERSIONS_VARIABLE, setting)
    with pytest.raises(ValueError, match=KEEP_VERSIONS_VARIABLE):
        refresh(tmp_path, sqlite_engine)
    assert sum(row_counts(sqlite_engine).values()) == 0
    with pytest.raises(VersionNotKeptError, match="no data version has been published yet"):
        BirthStore(sqlite_engine, EngineConfig()).snapshot(1)


def test_status_lists_the_kept_versions(sqlite_engine: Engine, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console

    from cli import status_command

    screen = Console(record=True, width=160)
    assert status_command(sqlite_engine, screen) == 0
    assert "No data version kept yet; the last 3 published are kept (PERISPIEGEL_KEEP_VERSIONS)" in (
        screen.export_text())

    monkeypatch.setenv(KEEP_VERSIONS_VARIABLE, "2")
    publish_versions(tmp_path, sqlite_engine, 3)
    assert status_command(sqlite_engine, screen) == 0
    shown = screen.export_text()
    assert "Kept data versions: the last 2 published are kept (PERISPIEGEL_KEEP_VERSIONS)" in shown
    kept_rows = re.findall(r"│\s+(\d+) │ \d{4}-\d\d \(\d\) +│ \d{4}-\d\d-\d\d \d\d:\d\d │\s+(\d+) │ "
                           r"2023-04 to 2023-04 │ (current)? *│", shown)
    assert kept_rows == [("3", "3", "current"), ("2", "2", "")]

    monkeypatch.setenv(KEEP_VERSIONS_VARIABLE, "none")
    assert status_command(sqlite_engine, screen) == 0
    assert "PERISPIEGEL_KEEP_VERSIONS must be a whole number" in screen.export_text()


def _engine_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.mark.parametrize("stage", ["validate", "publish"])
def test_a_killed_refresh_leaves_the_previous_version_intact(engine: Engine, tmp_path: Path, stage: str) -> None:
    write_delivery(tmp_path / APRIL, "lvr1_P0001_2023-04.csv", [child_of(1), child_of(2)])
    refresh(tmp_path, engine)
    before = current_births(engine)
    write_delivery(tmp_path / APRIL, "lvr1_P0002_2023-04.csv", [child_of(n, org_code="P0002") for n in (3, 4, 5)])
    script = (
        "import sys; from pathlib import Path; from loader.refresh import run_refresh; "
        "from tables.database import make_engine; "
        "run_refresh(Path(sys.argv[1]), make_engine(sys.argv[2]), organisations_file=Path(sys.argv[3]), "
        "postcode_file=Path(sys.argv[4]))"
    )
    killed = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path), _engine_url(engine), str(ORGANISATIONS_FILE),
         str(POSTCODE_FILE)],
        cwd=PROJECT_ROOT, env={**os.environ, KILL_AT_STAGE_VARIABLE: stage, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True, text=True, timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    engine.dispose()  # a fresh connection, as the dashboard would open
    assert current_data_version(engine)["data_version"] == 1
    assert current_births(engine) == before
    assert scalar(engine, select(func.count()).select_from(deliveries)) == 1
    assert scalar(engine, select(func.count()).select_from(records)) == 2
    assert scalar(engine, select(refreshes.c.status).where(refreshes.c.refresh_id == 2)) == "running"

    summary = refresh(tmp_path, engine)
    assert (summary.status, summary.data_version, summary.births, summary.files) == ("published", 2, 5, 1)
    assert scalar(engine, select(refreshes.c.status).where(refreshes.c.refresh_id == 2)) == "failed"
    assert len(current_births(engine)) == 5


def test_a_missing_folder_is_an_error(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        refresh(tmp_path / "nowhere", engine)


def test_midwife_and_obstetrician_records_of_one_birth_become_one_child(engine: Engine, tmp_path: Path) -> None:
    shared = {"care_level_onset": "midwife", "referral_during_labour": "1", "place_of_birth": "hospital_obstetrician"}
    write_delivery(tmp_path / APRIL, "lvr1_P0001_2023-04.csv", [midwife_record(**shared)])
    write_delivery(tmp_path / APRIL, "lvr2_H001_2023-04.csv",
                   [midwife_record(**shared, org_code="H001", dossier_id="O1", epidural="1")])
    summary = refresh(tmp_path, engine)
    (child,) = current_births(engine)
    assert summary.births == 1
    assert (child["practice_code"], child["hospital_code"]) == ("P0001", "H001")
    assert child["has_midwife_record"] and child["has_obstetrician_record"]


def test_load_and_status_commands_print_what_happened(sqlite_engine: Engine, tmp_path: Path) -> None:
    from rich.console import Console

    from loader.console import load_command, status_command

    references = {"organisations_file": ORGANISATIONS_FILE, "postcode_file": POSTCODE_FILE}
    screen = Console(record=True, width=160)
    assert load_command(tmp_path / "nowhere", sqlite_engine, screen, **references) != 0
    assert load_command(tmp_path, sqlite_engine, screen, **references) != 0
    refusals = screen.export_text()
    assert "nowhere" in refusals and "No delivery files" in refusals

    write_delivery(tmp_path / APRIL, "lvr1_P0001_2023-04.csv", [child_of(1), child_of(2, child_sex="X")])
    assert load_command(tmp_path, sqlite_engine, screen, **references) == 0
    shown = screen.export_text()
    for line in ("Records read", "Records accepted", "invalid_code:child_sex", "Births linked", "Data version (new)"):
        assert line in shown
    assert re.search(r"Records rejected\s+│\s+1 ", shown)

    assert status_command(sqlite_engine, screen) == 0
    status = screen.export_text()
    assert "Data version 1" in status and re.search(r"births\s+│\s+1 ", status)
    assert re.search(r"│\s+1 │ \d{4}-\d\d-\d\d \d\d:\d\d │ .* │ published", status)


def test_a_page_asked_during_a_refresh_sees_the_register_that_refresh_publishes(engine: Engine,
                                                                                 tmp_path: Path) -> None:
    """The register is read once per refresh (queries.status.organisation_register). A page asked while a refresh
    runs must not keep the old register once that refresh has finished — here one that only adds a practice to a
    VSV (a register change: a new version that says so), so the VSV's user can choose it at once."""
    folder = tmp_path / "deliveries"
    write_delivery(folder / "2023-04", "lvr1_P0001_2023-04.csv", [child_of(number) for number in range(1, 6)])
    refresh(folder, engine)
    add_user(engine, "vsv-user", "vsv", org_code="V001")
    user = get_user(engine, username="vsv-user")
    assert user is not None and "P0003" not in (permitted_organisations(engine, user) or [])
    register_file = tmp_path / "organisations.csv"
    register_file.write_text(ORGANISATIONS_FILE.read_text(encoding="utf-8")
                             + "P0003,Praktijk Nieuw,practice,V001,Utrecht,\n", encoding="utf-8")

    def a_page_is_asked(stage: str, done: int, total: int) -> None:
        if stage == "read":  # after the refresh's log row is committed, before its register is
            organisation_register(engine)

    summary = run_refresh(folder, engine, organisations_file=register_file, postcode_file=POSTCODE_FILE,
                          progress=a_page_is_asked)
    assert summary.status == "published" and summary.register_changes == ["P0003 added to the register"]
    assert "P0003" in organisation_register(engine)["org_code"].to_list()
    assert "P0003" in (permitted_organisations(engine, user) or [])
