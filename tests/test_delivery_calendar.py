"""The delivery calendar (queries/delivery_calendar.py): when a month's deliveries are due and when it closes, and
which expected deliveries are on time, late, not yet due or missing — at the edges of the due date and the closing
date, with files rejected as a whole and a new organisation. Pure: frames in, frames out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from queries.delivery_calendar import (
    CLOSING_DAYS_VARIABLE,
    DUE_DAYS_VARIABLE,
    DeliveryCalendar,
    delivery_states,
    load_calendar,
)

CALENDAR = DeliveryCalendar(due_days=30, closing_days=120)
REGISTER = pl.DataFrame({"org_code": ["P1", "P2", "H1"], "org_type": ["practice", "practice", "hospital"]})
TICK = timedelta(microseconds=1)
# March 2024 ends on the 31st: its deliveries are due by the end of 30 April, the month closes at the end of 29 July.
MARCH_DUE = datetime(2024, 4, 30, 23, 59, 59, 999999, tzinfo=UTC)
MARCH_CLOSES = datetime(2024, 7, 29, 23, 59, 59, 999999, tzinfo=UTC)


def received(*deliveries: tuple[str, str, str, str, datetime]) -> pl.DataFrame:
    """Deliveries as (org_code, discipline, month, status, received_at)."""
    return pl.DataFrame(list(deliveries), orient="row", schema={
        "org_code": pl.String, "discipline": pl.String, "month": pl.String, "status": pl.String,
        "received_at": pl.Datetime(time_zone="UTC")})


def states_at(deliveries: pl.DataFrame, at: datetime, months: list[str] | None = None) -> dict[tuple, str]:
    frame = delivery_states(deliveries, REGISTER, months or ["2024-02", "2024-03"], at, CALENDAR)
    return {(row["org_code"], row["discipline"], row["month"]): row["state"] for row in frame.iter_rows(named=True)}


def provisional_at(deliveries: pl.DataFrame, at: datetime) -> dict[tuple, bool]:
    frame = delivery_states(deliveries, REGISTER, ["2024-03"], at, CALENDAR)
    return {(row["org_code"], row["discipline"]): row["provisional"] for row in frame.iter_rows(named=True)}


FEBRUARY_P1 = ("P1", "lvr1", "2024-02", "accepted", datetime(2024, 3, 5, tzinfo=UTC))


def test_due_and_closing_count_days_after_the_months_last_day() -> None:
    assert CALENDAR.due("2024-03") == MARCH_DUE
    assert CALENDAR.closes("2024-03") == MARCH_CLOSES
    # A leap February ends on the 29th; December's deliveries are due in the next year.
    assert CALENDAR.due("2024-02") == datetime(2024, 3, 30, 23, 59, 59, 999999, tzinfo=UTC)
    assert CALENDAR.due("2023-02") == datetime(2023, 3, 30, 23, 59, 59, 999999, tzinfo=UTC)
    assert DeliveryCalendar(due_days=10).due("2023-12") == datetime(2024, 1, 10, 23, 59, 59, 999999, tzinfo=UTC)
    assert DeliveryCalendar(due_days=0).due("2024-04") == datetime(2024, 4, 30, 23, 59, 59, 999999, tzinfo=UTC)


def test_a_delivery_on_the_due_moment_is_on_time_and_one_after_it_late() -> None:
    on_the_edge = received(FEBRUARY_P1, ("P1", "lvr1", "2024-03", "accepted", MARCH_DUE))
    assert states_at(on_the_edge, MARCH_DUE + timedelta(days=1))[("P1", "lvr1", "2024-03")] == "on_time"
    just_after = received(FEBRUARY_P1, ("P1", "lvr1", "2024-03", "partially_accepted", MARCH_DUE + TICK))
    assert states_at(just_after, MARCH_DUE + timedelta(days=1))[("P1", "lvr1", "2024-03")] == "late"


def test_nothing_yet_is_not_due_until_the_due_moment_has_passed_then_missing() -> None:
    deliveries = received(FEBRUARY_P1)
    assert states_at(deliveries, datetime(2024, 3, 31, 12, tzinfo=UTC))[("P1", "lvr1", "2024-03")] == "not_due"
    assert states_at(deliveries, MARCH_DUE)[("P1", "lvr1", "2024-03")] == "not_due"
    assert states_at(deliveries, MARCH_DUE + TICK)[("P1", "lvr1", "2024-03")] == "missing"


def test_a_file_rejected_as_a_whole_does_not_count_as_the_delivery() -> None:
    rejected_only = received(FEBRUARY_P1, ("P1", "lvr1", "2024-03", "rejected", datetime(2024, 4, 2, tzinfo=UTC)))
    assert states_at(rejected_only, datetime(2024, 5, 15, tzinfo=UTC))[("P1", "lvr1", "2024-03")] == "missing"
    # The good resend after the due date is what counts: late, not the rejected file's on-time arrival.
    resent = received(FEBRUARY_P1, ("P1", "lvr1", "2024-03", "rejected", datetime(2024, 4, 2, tzinfo=UTC)),
                      ("P1", "lvr1", "2024-03", "accepted", datetime(2024, 5, 10, tzinfo=UTC)))
    frame = delivery_states(resent, REGISTER, ["2024-03"], datetime(2024, 5, 15, tzinfo=UTC), CALENDAR)
    assert frame.filter(pl.col("org_code") == "P1").row(0, named=True)["first_received_at"] == datetime(
        2024, 5, 10, tzinfo=UTC)
    assert states_at(resent, datetime(2024, 5, 15, tzinfo=UTC))[("P1", "lvr1", "2024-03")] == "late"
    # A sender whose only file ever was rejected is no sender yet: nothing is expected of it.
    never_counted = received(("P2", "lvr1", "2024-02", "rejected", datetime(2024, 3, 5, tzinfo=UTC)))
    assert states_at(never_counted, datetime(2024, 6, 1, tzinfo=UTC)) == {}


def test_a_new_organisation_is_not_missing_before_its_first_delivery() -> None:
    deliveries = received(FEBRUARY_P1, ("P2", "lvr1", "2024-03", "accepted", datetime(2024, 4, 3, tzinfo=UTC)))
    states = states_at(deliveries, datetime(2024, 5, 15, tzinfo=UTC), ["2024-02", "2024-03", "2024-04"])
    assert ("P2", "lvr1", "2024-02") not in states
    assert states[("P2", "lvr1", "2024-03")] == "on_time"
    assert states[("P2", "lvr1", "2024-04")] == "not_due"
    assert states[("P1", "lvr1", "2024-03")] == "missing"


def test_only_what_the_register_says_a_type_sends_is_expected() -> None:
    # H1 (a hospital) sent lvr2 in February but never lnr: only its lvr2 is expected in March. A practice that sent
    # an obstetrician file is not expected to send one again.
    deliveries = received(("H1", "lvr2", "2024-02", "accepted", datetime(2024, 3, 5, tzinfo=UTC)),
                          ("P2", "lvr2", "2024-02", "accepted", datetime(2024, 3, 5, tzinfo=UTC)))
    states = states_at(deliveries, datetime(2024, 6, 1, tzinfo=UTC))
    assert states == {("H1", "lvr2", "2024-02"): "on_time", ("H1", "lvr2", "2024-03"): "missing"}


def test_a_delivery_received_after_the_moment_asked_about_does_not_count_yet() -> None:
    deliveries = received(FEBRUARY_P1, ("P1", "lvr1", "2024-03", "accepted", datetime(2024, 4, 20, tzinfo=UTC)))
    assert states_at(deliveries, datetime(2024, 4, 19, tzinfo=UTC))[("P1", "lvr1", "2024-03")] == "not_due"
    assert states_at(deliveries, datetime(2024, 4, 20, tzinfo=UTC))[("P1", "lvr1", "2024-03")] == "on_time"


def test_a_month_stays_provisional_while_a_delivery_is_out_until_it_closes() -> None:
    deliveries = received(FEBRUARY_P1, ("H1", "lvr2", "2024-02", "accepted", datetime(2024, 3, 5, tzinfo=UTC)),
                          ("H1", "lvr2", "2024-03", "accepted", datetime(2024, 5, 20, tzinfo=UTC)))
    before = provisional_at(deliveries, MARCH_CLOSES - TICK)
    assert before == {("P1", "lvr1"): True, ("H1", "lvr2"): False}  # missing, and late but in
    assert provisional_at(deliveries, MARCH_CLOSES) == {("P1", "lvr1"): False, ("H1", "lvr2"): False}


def test_the_calendar_comes_from_the_two_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DUE_DAYS_VARIABLE, raising=False)
    monkeypatch.delenv(CLOSING_DAYS_VARIABLE, raising=False)
    assert load_calendar() == DeliveryCalendar(due_days=30, closing_days=120)
    monkeypatch.setenv(DUE_DAYS_VARIABLE, "45")
    monkeypatch.setenv(CLOSING_DAYS_VARIABLE, "90")
    assert load_calendar() == DeliveryCalendar(due_days=45, closing_days=90)
    monkeypatch.setenv(DUE_DAYS_VARIABLE, "six weeks")
    with pytest.raises(ValueError, match=DUE_DAYS_VARIABLE):
        load_calendar()
    monkeypatch.setenv(DUE_DAYS_VARIABLE, "-1")
    with pytest.raises(ValueError, match="at least 0"):
        load_calendar()
