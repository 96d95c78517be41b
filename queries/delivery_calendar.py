"""The delivery calendar: when a month's deliveries are due, when a month closes, and which deliveries are there,
late or missing.

Every care organisation delivers the births of each month once, per discipline it records (a practice: midwives,
lvr1; a hospital: obstetricians, lvr2, and paediatricians, lnr). A month's delivery is *due*
`PERISPIEGEL_DELIVERY_DUE_DAYS` days after the month ends (default 30) and the month *closes*
`PERISPIEGEL_MONTH_CLOSES_AFTER_DAYS` days after it ends (default 120): after that its figures are final, whatever
is still missing.

An organisation is *expected* to deliver a discipline for a month when the register gives it a type that sends that
discipline and it has delivered that discipline for an earlier month (it is a sender of it): a new organisation is
not "missing" before its first delivery. A delivery counts when its file was not rejected as a whole.

State of one expected (organisation, discipline, month), at a moment `at`:
- `on_time`: delivered on or before the due date;
- `late`: delivered, after the due date;
- `not_due`: nothing yet, and the due date has not passed;
- `missing`: nothing yet, and the due date has passed.

A month is *provisional* for an organisation while one of its expected deliveries is `not_due` or `missing` and the
month has not closed.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, get_args

import polars as pl
from sqlalchemy import Connection, select

from contracts.delivery_format import DISCIPLINE_ORGANISATION_TYPE
from settings import whole_number_from_environment
from tables.database import as_utc
from tables.schema import deliveries

DUE_DAYS_VARIABLE = "PERISPIEGEL_DELIVERY_DUE_DAYS"
CLOSING_DAYS_VARIABLE = "PERISPIEGEL_MONTH_CLOSES_AFTER_DAYS"

#: What became of one expected delivery (see the module's docstring).
DeliveryState = Literal["on_time", "late", "not_due", "missing"]
DELIVERY_STATES: tuple[DeliveryState, ...] = get_args(DeliveryState)
#: The states of a delivery that has not arrived: they make a month provisional until it closes.
NOT_ARRIVED: tuple[DeliveryState, ...] = ("not_due", "missing")

STATE_SCHEMA = {"org_code": pl.String, "discipline": pl.String, "month": pl.String,
                "first_received_at": pl.Datetime(time_zone="UTC"), "state": pl.String, "provisional": pl.Boolean}


@dataclass(frozen=True)
class DeliveryCalendar:
    """When a month's deliveries are due and when the month closes, in days after the month's last day."""

    due_days: int = 30
    closing_days: int = 120

    def due(self, month: str) -> datetime:
        """The end of the due date of `month`'s deliveries (YYYY-MM), UTC: the last moment a delivery is on time."""
        return _after_month_end(month, self.due_days)

    def closes(self, month: str) -> datetime:
        """The moment `month` (YYYY-MM) closes, UTC: from then on its figures are final."""
        return _after_month_end(month, self.closing_days)


def _after_month_end(month: str, days: int) -> datetime:
    year, number = int(month[:4]), int(month[5:7])
    last_day = date(year, number, calendar.monthrange(year, number)[1])
    return datetime.combine(last_day + timedelta(days=days), time.max, tzinfo=UTC)


def load_calendar() -> DeliveryCalendar:
    """The installation's delivery calendar: defaults overridden by the two PERISPIEGEL_* variables."""
    return DeliveryCalendar(
        due_days=whole_number_from_environment(DUE_DAYS_VARIABLE, DeliveryCalendar.due_days, minimum=0),
        closing_days=whole_number_from_environment(CLOSING_DAYS_VARIABLE, DeliveryCalendar.closing_days, minimum=0),
    )


def delivery_states(received: pl.DataFrame, register: pl.DataFrame, months: list[str], at: datetime,
                    delivery_calendar: DeliveryCalendar) -> pl.DataFrame:
    """One row per expected (organisation, discipline, month) of `months`: `first_received_at` (None when nothing
    arrived), `state` (a DeliveryState) and `provisional`, as things stood at `at` (UTC).

    `received`: the deliveries (`org_code`, `discipline`, `month`, `status`, `received_at` UTC); those received
    after `at` do not count. `register`: `org_code` and `org_type`. Pure: no database, no clock.
    """
    # In UTC itself, not only aware: PostgreSQL hands moments back in "Etc/UTC", which polars will not compare with
    # the "UTC" of the deliveries' column.
    at = as_utc(at).astimezone(UTC)
    sending_types = pl.DataFrame(
        {"discipline": [discipline.value for discipline in DISCIPLINE_ORGANISATION_TYPE],
         "org_type": list(DISCIPLINE_ORGANISATION_TYPE.values())})
    counted = (received.lazy()
               .filter((pl.col("status") != "rejected") & pl.col("org_code").is_not_null()
                       & pl.col("month").is_not_null() & (pl.col("received_at") <= at))
               .select("org_code", "discipline", "month", pl.col("received_at").cast(pl.Datetime(time_zone="UTC"))))
    first_month = counted.group_by("org_code", "discipline").agg(pl.col("month").min().alias("first_month"))
    arrived = counted.group_by("org_code", "discipline", "month").agg(
        pl.col("received_at").min().alias("first_received_at"))
    expected = (
        register.lazy().select("org_code", "org_type")
        .join(sending_types.lazy(), on="org_type")
        .join(first_month, on=["org_code", "discipline"])
        .join(pl.LazyFrame({"month": sorted(set(months))}, schema={"month": pl.String}), how="cross")
        .filter(pl.col("month") >= pl.col("first_month"))
        .join(arrived, on=["org_code", "discipline", "month"], how="left")
    )
    windows = pl.LazyFrame(
        {"month": sorted(set(months)),
         "due": [delivery_calendar.due(month) for month in sorted(set(months))],
         "closes": [delivery_calendar.closes(month) for month in sorted(set(months))]},
        schema={"month": pl.String, "due": pl.Datetime(time_zone="UTC"), "closes": pl.Datetime(time_zone="UTC")})
    at_literal = pl.lit(at, dtype=pl.Datetime(time_zone="UTC"))
    state = (pl.when(pl.col("first_received_at").is_null() & (at_literal <= pl.col("due"))).then(pl.lit("not_due"))
             .when(pl.col("first_received_at").is_null()).then(pl.lit("missing"))
             .when(pl.col("first_received_at") <= pl.col("due")).then(pl.lit("on_time"))
             .otherwise(pl.lit("late")))
    return (
        expected.join(windows, on="month")
        .with_columns(state.alias("state"))
        .with_columns((pl.col("state").is_in(list(NOT_ARRIVED)) & (at_literal < pl.col("closes"))).alias("provisional"))
        .select(*STATE_SCHEMA)
        .sort("month", "org_code", "discipline")
        .collect()
        .cast(STATE_SCHEMA)  # type: ignore[arg-type]
    )


def received_deliveries(connection: Connection) -> pl.DataFrame:
    """Every delivery as `delivery_states` reads it: `org_code`, `discipline`, `month`, `status`, `received_at`.

    On the caller's connection, so that a data version's provisional months can be read in the same transaction as
    its births (queries.store)."""
    query = select(deliveries.c.org_code, deliveries.c.discipline, deliveries.c.month, deliveries.c.status,
                   deliveries.c.received_at)
    rows = [(*row[:4], as_utc(row[4])) for row in connection.execute(query)]
    return pl.DataFrame(rows, schema={"org_code": pl.String, "discipline": pl.String, "month": pl.String,
                                      "status": pl.String, "received_at": pl.Datetime(time_zone="UTC")},
                        orient="row")

