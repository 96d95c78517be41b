"""Readers always see one whole version (issue 14), on SQLite and PostgreSQL: a refresh that publishes while the
store reads a version — and, having recorded an objection, deletes the older version's births in the same commit —
does not tear the snapshot being read.

The world (tests/provisional_world.py's organisations and helpers): version 1 holds December 2022 of all three
organisations and January 2023 of P0002 and H001, so its births span two birth years and January is provisional for
P0001 (its midwife file has not arrived). Version 2 brings P0001's January file and an objection to one of its
December dossiers, so it keeps no older version: version 1's births rows go when version 2 is published.

The publish is made to happen deterministically in the middle of the read: the store's per-year reader
(`queries.store.read_births`) is wrapped so that, once the first year (2022) is read, the refresh runs to its commit.
Before the fix each year was read on its own connection, so the second year of version 1 was read after the
deletion and came back empty — the hook checks that a reader outside the store's transaction would indeed find it
gone, so that these tests would have caught the torn read.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

import polars as pl
import pytest
from provisional_world import (
    HOSPITAL,
    OPEN_DAYS,
    OTHER_PRACTICE,
    PRACTICE,
    VSV,
    births,
    deliver,
    deliver_all_but_one,
    refresh,
)
from sqlalchemy import Connection, Engine, func, select

from queries import store as store_module
from queries.config import EngineConfig
from queries.delivery_calendar import CLOSING_DAYS_VARIABLE
from queries.store import BirthStore, IncompleteSnapshotError, Snapshot, VersionNotKeptError
from tables.database import one_snapshot
from tables.schema import births as births_table
from tables.schema import data_versions

DECEMBER, JANUARY = "2022-12", "2023-01"
FIRST_YEAR, SECOND_YEAR = 2022, 2023


def publish_first_version(engine: Engine, folder: Path) -> None:
    """Version 1: December 2022 of all three, January 2023 of P0002 and H001 (P0001's January still awaited)."""
    deliver_all_but_one(folder, DECEMBER, JANUARY)
    refresh(folder, engine)


def publish_version_with_objection(engine: Engine, folder: Path) -> None:
    """The next version: P0001's January file, and an objection to its December dossier D1 (a resend), so the
    refresh keeps no older version (loader.refresh._publish)."""
    deliver(folder, "lvr1", PRACTICE, JANUARY, births(PRACTICE, JANUARY, 101))
    objected = {**births(PRACTICE, DECEMBER, 1, count=1)[0], "dossier_version": "2", "objection": "1"}
    deliver(folder, "lvr1", PRACTICE, f"{DECEMBER}_resend1", [objected])
    refresh(folder, engine)


@pytest.fixture
def world(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Engine, Path]:
    monkeypatch.setenv(CLOSING_DAYS_VARIABLE, str(OPEN_DAYS))  # the months of 2022/2023 stay open
    folder = tmp_path / "deliveries"
    publish_first_version(engine, folder)
    return engine, folder


def version_row(engine: Engine, number: int) -> dict:
    with engine.connect() as connection:
        return dict(connection.execute(select(data_versions).where(data_versions.c.data_version == number))
                    .mappings().one())


def rows_of(engine: Engine, number: int, year: int | None = None) -> int:
    """The births rows of version `number` (of birth year `year`) a fresh connection finds now."""
    query = select(func.count()).select_from(births_table).where(births_table.c.data_version == number)
    if year is not None:
        query = query.where(births_table.c.birth_year == year)
    with engine.connect() as connection:
        return connection.execute(query).scalar_one()


def provisional_months_of(snapshot: Snapshot, level: str | None, code: str | None) -> list[str]:
    return [month.month for month in snapshot.provisional.months(level, code, None, None)]


def assert_whole(engine: Engine, snapshot: Snapshot | None, number: int, years: set[int]) -> Snapshot:
    """`snapshot` is all of version `number`: as many births as its data_versions row says, every birth year."""
    assert snapshot is not None and snapshot.data_version == number
    assert snapshot.frame.height == version_row(engine, number)["births"]
    assert set(snapshot.frame["birth_year"].unique().to_list()) == years
    return snapshot


def publish_after_first_year(monkeypatch: pytest.MonkeyPatch, engine: Engine, folder: Path,
                             years_read: list[int]) -> None:
    """Wrap the store's per-year reader: after the first year it reads, the next version (with an objection) is
    published and committed, then the read goes on."""
    read_births = store_module.read_births

    def read_then_publish(connection: Connection, data_version: int, year: int) -> pl.DataFrame:
        frame = read_births(connection, data_version, year)
        years_read.append(year)
        if len(years_read) == 1:  # once: later reads (of the next version too) go through untouched
            second_year_before = rows_of(engine, data_version, SECOND_YEAR)
            publish_version_with_objection(engine, folder)
            # What the old reader, one connection per year, would have read next: nothing.
            assert second_year_before > 0 and rows_of(engine, data_version, SECOND_YEAR) == 0
        return frame

    monkeypatch.setattr(store_module, "read_births", read_then_publish)


def test_a_version_published_with_an_objection_mid_read_leaves_the_snapshot_whole(
        world: tuple[Engine, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    engine, folder = world
    first = version_row(engine, 1)
    assert first["births"] == 12 + 12 + 3 + 12 + 3 and rows_of(engine, 1, SECOND_YEAR) == 15
    years_read: list[int] = []
    publish_after_first_year(monkeypatch, engine, folder, years_read)
    store = BirthStore(engine, EngineConfig(version_check_seconds=0))

    snapshot = assert_whole(engine, store.snapshot(), 1, {FIRST_YEAR, SECOND_YEAR})

    assert years_read == [FIRST_YEAR, SECOND_YEAR]
    assert rows_of(engine, 1) == 0 and version_row(engine, 2)["births"] > 0  # version 2 was published mid-read
    assert (snapshot.label, snapshot.period_from, snapshot.period_to) == (first["label"], DECEMBER, JANUARY)
    # Version 1's provisional months: P0001's January was awaited when it was published (version 2 brings it).
    for level, code in (("practice", PRACTICE), ("vsv", VSV), (None, None)):
        assert provisional_months_of(snapshot, level, code) == [JANUARY]
    assert provisional_months_of(snapshot, "practice", OTHER_PRACTICE) == []
    assert set(snapshot.organisations) >= {PRACTICE, OTHER_PRACTICE, HOSPITAL, VSV}

    # The next question sees the pointer moved and loads version 2 whole, with P0001's January now.
    second = assert_whole(engine, store.snapshot(), 2, {FIRST_YEAR, SECOND_YEAR})
    january = 2023 * 12  # queries.store.compact_frame's month_index of 2023-01
    assert second.frame.filter((pl.col("month_index") == january) & (pl.col("practice_code") == PRACTICE)).height
    assert provisional_months_of(second, "practice", PRACTICE) == []


def test_a_kept_version_deleted_just_before_its_read_is_refused_not_served_empty(
        world: tuple[Engine, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Asking for older version 1 while a refresh with an objection commits between the store's check that it is
    kept and the start of its read: the read finds none of its births, and the store says it is not kept."""
    engine, folder = world
    deliver(folder, "lvr1", OTHER_PRACTICE, "2023-01_resend1", births(OTHER_PRACTICE, JANUARY, 201, count=1))
    refresh(folder, engine)  # version 2, no objection: version 1 stays kept
    store = BirthStore(engine, EngineConfig(version_check_seconds=0))
    assert store.snapshot() is not None and store.loaded_version() == 2

    opened = store_module.one_snapshot

    def publish_then_open(source: Engine) -> AbstractContextManager[Connection]:
        monkeypatch.setattr(store_module, "one_snapshot", opened)  # once
        publish_version_with_objection(engine, folder)
        return opened(source)

    monkeypatch.setattr(store_module, "one_snapshot", publish_then_open)
    with pytest.raises(VersionNotKeptError) as refused:
        store.snapshot(1)
    assert refused.value.kept == [3]
    assert rows_of(engine, 1) == 0


def test_the_read_runs_in_one_transaction_that_sees_no_later_commit(world: tuple[Engine, Path]) -> None:
    """The guarantee itself (tables.database.one_snapshot): a commit after the first read is not seen."""
    engine, folder = world
    with one_snapshot(engine) as connection:
        before = connection.execute(select(func.count()).select_from(births_table)).scalar_one()
        publish_version_with_objection(engine, folder)
        assert connection.execute(select(func.count()).select_from(births_table)).scalar_one() == before
    assert rows_of(engine, 1) == 0


def test_a_current_version_missing_births_is_an_error_not_a_snapshot(world: tuple[Engine, Path]) -> None:
    """The guard: births read ≠ its data_versions row's `births` is never served (here rows lost by hand)."""
    engine, _ = world
    with engine.begin() as connection:
        connection.execute(births_table.delete().where(births_table.c.birth_year == SECOND_YEAR))
    with pytest.raises(IncompleteSnapshotError, match="data version 1 holds 42 births, but 27 were read"):
        BirthStore(engine, EngineConfig()).snapshot()
