"""The registry console's answer (queries/registry_console.py) on SQLite and PostgreSQL, for deliveries read by
the real loader: per organisation and discipline of a month the files, records and rejection rate, the last
delivery and the calendar state — on time, late, not yet due, missing, or outside the calendar — with filters,
sort and totals. The registry: tests/registry_world.py."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from registry_world import AFTER_APRIL_DUE, APRIL_DUE, ARRIVALS, CALENDAR, load_registry
from sqlalchemy import Engine

from queries.delivery_calendar import DeliveryCalendar
from queries.registry_console import (
    ConsoleFilters,
    ConsoleQueryError,
    ConsoleSort,
    registry_console,
)


@pytest.fixture
def registry(engine: Engine, tmp_path: Path) -> Engine:
    return load_registry(engine, tmp_path / "deliveries")


def by_sender(console) -> dict[tuple[str | None, str | None], object]:
    return {(row.org_code, row.discipline): row for row in console.rows}


def test_a_months_deliveries_per_organisation_and_discipline(registry: Engine) -> None:
    console = registry_console(registry, "2023-04", at=AFTER_APRIL_DUE, delivery_calendar=CALENDAR)
    assert console.month == "2023-04" and console.due.isoformat() == APRIL_DUE
    assert console.closes.isoformat() == "2023-08-28"
    rows = by_sender(console)
    assert set(rows) == {("P0001", "lvr1"), ("P0002", "lvr1"), ("H001", "lvr2"), ("X9999", "lvr1")}
    midwives = rows[("P0001", "lvr1")]
    assert (midwives.name, midwives.org_type) == ("Verloskundigenpraktijk De Linde", "practice")
    assert (midwives.files, midwives.resends, midwives.files_rejected) == (2, 1, 0)
    assert (midwives.records_read, midwives.records_accepted, midwives.records_rejected) == (6, 5, 1)
    assert midwives.rejection_rate == pytest.approx(1 / 6)
    # The first file was in on time; the resend after the due date does not make the month late.
    assert midwives.state == "on_time" and midwives.first_counted_at == ARRIVALS["lvr1_P0001_2023-04.csv"]
    assert midwives.last_received_at == ARRIVALS["lvr1_P0001_2023-04_resend1.csv"]
    hospital = rows[("H001", "lvr2")]
    assert (hospital.state, hospital.files, hospital.records_accepted, hospital.rejection_rate) == ("late", 1, 5, 0)
    # Expected (it delivered March) but nothing came: a row without files.
    missing = rows[("P0002", "lvr1")]
    assert (missing.state, missing.files, missing.records_read, missing.rejection_rate) == ("missing", 0, 0, None)
    assert missing.last_received_at is None and missing.has_feedback_page
    unknown = rows[("X9999", "lvr1")]
    assert (unknown.state, unknown.name, unknown.files, unknown.files_rejected) == ("outside_calendar", None, 1, 1)
    assert (unknown.records_read, unknown.records_rejected, unknown.rejection_rate) == (1, 1, 1.0)  # rejected whole
    assert not unknown.has_feedback_page
    totals = console.totals
    assert (totals.rows, totals.files, totals.records_read, totals.records_accepted, totals.records_rejected) == (
        4, 4, 12, 10, 2)
    assert totals.rejection_rate == pytest.approx(2 / 12)
    assert totals.states == {"on_time": 1, "late": 1, "not_due": 0, "missing": 1, "outside_calendar": 1}


def test_before_the_due_date_what_is_not_in_is_not_yet_due(registry: Engine) -> None:
    # On 25 May 2023 the hospital's April file (15 July) had not arrived; April's deliveries are due on 30 May.
    early = registry_console(registry, "2023-04", at=datetime(2023, 5, 25, tzinfo=UTC), delivery_calendar=CALENDAR)
    rows = by_sender(early)
    assert rows[("H001", "lvr2")].state == "not_due" and rows[("H001", "lvr2")].files == 0
    assert rows[("P0002", "lvr1")].state == "not_due"
    assert rows[("P0001", "lvr1")].files == 1  # the resend came on 2 June
    # A calendar with more days: the hospital's file of 15 July is on time, P0002 not yet due.
    lenient = registry_console(registry, "2023-04", at=AFTER_APRIL_DUE,
                               delivery_calendar=DeliveryCalendar(due_days=100, closing_days=200))
    assert {key: row.state for key, row in by_sender(lenient).items()} == {
        ("P0001", "lvr1"): "on_time", ("H001", "lvr2"): "on_time", ("P0002", "lvr1"): "not_due",
        ("X9999", "lvr1"): "outside_calendar"}


def test_the_default_month_is_the_latest_with_deliveries(registry: Engine) -> None:
    console = registry_console(registry, at=AFTER_APRIL_DUE, delivery_calendar=CALENDAR)
    assert console.month == "2023-04"
    # May, June and July have not closed on 1 August: they can be chosen, though nothing came in yet.
    assert console.months == ("2023-08", "2023-07", "2023-06", "2023-05", "2023-04", "2023-03")
    may = registry_console(registry, "2023-05", at=AFTER_APRIL_DUE, delivery_calendar=CALENDAR)
    assert {key: row.state for key, row in by_sender(may).items()} == {
        ("P0001", "lvr1"): "missing", ("P0002", "lvr1"): "missing", ("H001", "lvr2"): "missing"}
    years_later = registry_console(registry, at=datetime(2026, 1, 1, tzinfo=UTC), delivery_calendar=CALENDAR)
    # Years later only the months that have not closed are added: September 2025 closes on 28 January 2026.
    assert years_later.month == "2023-04"
    assert years_later.months == ("2026-01", "2025-12", "2025-11", "2025-10", "2025-09", "2023-04", "2023-03")


def test_filters_narrow_the_rows_and_the_totals(registry: Engine) -> None:
    def shown(**filters: str) -> list[tuple[str | None, str | None]]:
        console = registry_console(registry, "2023-04", at=AFTER_APRIL_DUE, delivery_calendar=CALENDAR,
                                   filters=ConsoleFilters(**filters))
        assert console.totals.rows == len(console.rows) and console.all_rows == 4
        return sorted((row.org_code, row.discipline) for row in console.rows)

    assert shown(org_type="hospital") == [("H001", "lvr2")]
    assert shown(discipline="lvr1") == [("P0001", "lvr1"), ("P0002", "lvr1"), ("X9999", "lvr1")]
    assert shown(state="missing") == [("P0002", "lvr1")]
    assert shown(search="anker") == [("P0002", "lvr1")]  # in the name, whatever the case
    assert shown(search="x99") == [("X9999", "lvr1")]  # in the code
    assert shown(org_type="practice", state="late") == []
    only_hospital = registry_console(registry, "2023-04", at=AFTER_APRIL_DUE, delivery_calendar=CALENDAR,
                                     filters=ConsoleFilters(org_type="hospital"))
    assert only_hospital.totals.records_read == 5 and only_hospital.totals.files == 1


def test_sorting(registry: Engine) -> None:
    def order(key: str, descending: bool = False) -> list[str | None]:
        console = registry_console(registry, "2023-04", at=AFTER_APRIL_DUE, delivery_calendar=CALENDAR,
                                   sort=ConsoleSort(key, descending))  # type: ignore[arg-type]
        return [row.org_code for row in console.rows]

    assert order("urgency") == ["P0002", "H001", "X9999", "P0001"]  # missing, late, outside, on time
    # X9999's one file was rejected as a whole (its record counts as rejected); P0002 has no rate: always last.
    assert order("rejection_rate", descending=True) == ["X9999", "P0001", "H001", "P0002"]
    assert order("rejection_rate") == ["H001", "P0001", "X9999", "P0002"]
    # By name (Verloskundigenpraktijk De Linde, Het Anker, Ziekenhuis); a code the register does not know after them.
    assert order("organisation") == ["P0001", "P0002", "H001", "X9999"]
    assert order("organisation", descending=True) == ["X9999", "H001", "P0002", "P0001"]
    assert order("last_delivery", descending=True) == ["H001", "P0001", "X9999", "P0002"]
    assert order("files", descending=True)[:1] == ["P0001"]


def test_values_the_console_does_not_take_are_named(registry: Engine) -> None:
    for build, parameter in ((lambda: ConsoleFilters(org_type="vsv"), "type"),
                             (lambda: ConsoleFilters(discipline="lvr9"), "discipline"),
                             (lambda: ConsoleFilters(state="lost"), "state"),  # type: ignore[arg-type]
                             (lambda: ConsoleSort("size"), "sort"),  # type: ignore[arg-type]
                             (lambda: registry_console(registry, "2023-13"), "month")):
        with pytest.raises(ConsoleQueryError) as raised:
            build()
        assert raised.value.parameter == parameter


def test_an_empty_registry_has_no_month(engine: Engine) -> None:
    console = registry_console(engine, at=AFTER_APRIL_DUE, delivery_calendar=CALENDAR)
    assert console.month is None and console.rows == () and console.totals.files == 0
