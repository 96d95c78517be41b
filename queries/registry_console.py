"""The registry console (for the registry's admins): one birth month's deliveries nationally, per organisation and
discipline, against the delivery calendar (queries/delivery_calendar.py).

Per (organisation, discipline) of the month: the files received (resends and files rejected as a whole included),
the records read, accepted, rejected and objected, the rejection rate (records rejected / records read), the last
delivery, and the calendar state at `at` — on time, late, not yet due, missing. An organisation that is expected
but has sent nothing is a row too (no files, its state "not due" or "missing"). A sender the calendar does not
expect (not in the register, a discipline its type does not send, or nothing counted yet: a new organisation whose
first file was rejected) is a row with the state `outside_calendar`.

The rows can be narrowed (organisation type, discipline, state, a search in name and code) and sorted; the totals
are those of the rows shown. Pure reading: the page (auth/admin.py) lays the answer out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Literal, get_args

import polars as pl
from polars.datatypes import DataTypeClass
from sqlalchemy import Engine, select

from contracts.delivery_format import Discipline
from queries.delivery_calendar import (
    DeliveryCalendar,
    delivery_states,
    load_calendar,
    received_deliveries,
)
from queries.status import organisation_register
from tables.database import as_utc
from tables.schema import deliveries

#: A row's state: the calendar's, or `outside_calendar` for a sender the calendar does not expect.
RowState = Literal["on_time", "late", "not_due", "missing", "outside_calendar"]
ROW_STATES: tuple[RowState, ...] = get_args(RowState)
#: The organisation types that deliver (a VSV sends nothing itself).
SENDING_TYPES = ("hospital", "practice")
#: How the rows can be sorted; each has the direction it is first shown in (the most urgent first).
SortKey = Literal["urgency", "organisation", "rejection_rate", "files", "records_read", "last_delivery"]
SORT_KEYS: tuple[SortKey, ...] = get_args(SortKey)
DESCENDING_FIRST: frozenset[SortKey] = frozenset({"rejection_rate", "files", "records_read", "last_delivery"})
#: Most urgent first: what the registry must chase up, then what is outside its calendar, then what is fine.
URGENCY: dict[RowState, int] = {"missing": 0, "late": 1, "outside_calendar": 2, "not_due": 3, "on_time": 4}
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class ConsoleQueryError(ValueError):
    """A filter or sort value the console does not take: `parameter` names it, `value` is what was asked."""

    def __init__(self, parameter: str, value: str) -> None:
        super().__init__(f"{parameter}={value!r} is not a value the registry console takes")
        self.parameter = parameter
        self.value = value


@dataclass(frozen=True)
class ConsoleFilters:
    """Which rows to show: None (or an empty search) is every row."""

    org_type: str | None = None
    discipline: str | None = None
    state: RowState | None = None
    search: str = ""

    def __post_init__(self) -> None:
        if self.org_type is not None and self.org_type not in SENDING_TYPES:
            raise ConsoleQueryError("type", self.org_type)
        if self.discipline is not None and self.discipline not in tuple(Discipline):
            raise ConsoleQueryError("discipline", self.discipline)
        if self.state is not None and self.state not in ROW_STATES:
            raise ConsoleQueryError("state", self.state)


@dataclass(frozen=True)
class ConsoleSort:
    key: SortKey = "urgency"
    descending: bool = False

    def __post_init__(self) -> None:
        if self.key not in SORT_KEYS:
            raise ConsoleQueryError("sort", self.key)


@dataclass(frozen=True)
class ConsoleRow:
    """One organisation × discipline of the month. `org_type` and `name` are None for a code the register does
    not know; `rejection_rate` is None without records read; `first_counted_at` is the first delivery the calendar
    counts (not rejected as a whole), None when nothing counts."""

    org_code: str | None
    name: str | None
    org_type: str | None
    discipline: str | None
    files: int
    resends: int
    files_rejected: int
    records_read: int
    records_accepted: int
    records_rejected: int
    records_objected: int
    rejection_rate: float | None
    last_received_at: datetime | None
    first_counted_at: datetime | None
    state: RowState

    @property
    def has_feedback_page(self) -> bool:
        """Whether the organisation's feedback page can show it (a registered sender)."""
        return self.org_code is not None and self.org_type in SENDING_TYPES


@dataclass(frozen=True)
class ConsoleTotals:
    rows: int
    files: int
    records_read: int
    records_accepted: int
    records_rejected: int
    records_objected: int
    rejection_rate: float | None
    states: dict[RowState, int] = field(default_factory=dict)


@dataclass(frozen=True)
class RegistryConsole:
    """The answer for one month: `month` None when nothing was ever delivered. `months` are those that can be
    chosen, newest first; `due` and `closes` the month's calendar (dates, the last day a delivery is on time and
    the day from which the month is final); `rows` after filters and sort, `all_rows` how many before the filters."""

    month: str | None
    months: tuple[str, ...]
    at: datetime
    calendar: DeliveryCalendar
    due: date | None
    closes: date | None
    rows: tuple[ConsoleRow, ...]
    all_rows: int
    totals: ConsoleTotals
    filters: ConsoleFilters
    sort: ConsoleSort


def _month_of(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def _next_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    return f"{year + number // 12:04d}-{number % 12 + 1:02d}"


def console_months(engine: Engine, at: datetime, delivery_calendar: DeliveryCalendar) -> tuple[list[str], str | None]:
    """The months that can be chosen, newest first — every month with a delivery, and the months after the latest
    delivered one up to `at`'s month that have not closed yet (their deliveries may be due but not in) — and the
    default: the latest birth month up to `at` with a delivery that counts (not rejected as a whole), else the
    latest with any."""
    query = select(deliveries.c.month, deliveries.c.status).where(deliveries.c.month.is_not(None)).distinct()
    delivered: dict[str, bool] = {}  # month → whether a delivery of it counts
    with engine.connect() as connection:
        for month, status in connection.execute(query):
            if _MONTH.match(month):
                delivered[month] = delivered.get(month, False) or status != "rejected"
    if not delivered:
        return [], None
    at = as_utc(at)
    now_month = _month_of(at)
    months = set(delivered)
    month = max((month for month in delivered if month <= now_month), default=now_month)
    while month < now_month:
        month = _next_month(month)
        if delivery_calendar.closes(month) > at:
            months.add(month)
    counted = [month for month, counts in delivered.items() if counts and month <= now_month]
    default = max(counted) if counted else max(delivered)
    return sorted(months, reverse=True), default


_DELIVERY_SCHEMA: dict[str, pl.DataType | DataTypeClass] = {
    "org_code": pl.String, "discipline": pl.String, "resend": pl.Int64, "status": pl.String,
                    "records_read": pl.Int64, "records_accepted": pl.Int64, "records_rejected": pl.Int64,
                    "records_objected": pl.Int64, "received_at": pl.Datetime(time_zone="UTC")}


def _month_deliveries(engine: Engine, month: str, at: datetime) -> pl.DataFrame:
    """The month's deliveries received up to `at`, one row per file."""
    query = (select(deliveries.c.org_code, deliveries.c.discipline, deliveries.c.resend, deliveries.c.status,
                    deliveries.c.records_read, deliveries.c.records_accepted, deliveries.c.records_rejected,
                    deliveries.c.records_objected, deliveries.c.received_at)
             .where(deliveries.c.month == month))
    with engine.connect() as connection:
        rows = [(*row[:8], as_utc(row[8])) for row in connection.execute(query)]
    frame = pl.DataFrame(rows, schema=_DELIVERY_SCHEMA, orient="row")
    return frame.filter(pl.col("received_at") <= as_utc(at))


def _aggregate(month_files: pl.DataFrame) -> pl.DataFrame:
    return month_files.group_by("org_code", "discipline").agg(
        pl.len().alias("files"),
        (pl.col("resend") > 0).sum().alias("resends"),
        (pl.col("status") == "rejected").sum().alias("files_rejected"),
        *(pl.col(name).sum() for name in ("records_read", "records_accepted", "records_rejected",
                                          "records_objected")),
        pl.col("received_at").max().alias("last_received_at"),
    )


def _rows(engine: Engine, month: str, at: datetime, delivery_calendar: DeliveryCalendar) -> list[ConsoleRow]:
    register = organisation_register(engine)
    with engine.connect() as connection:
        received = received_deliveries(connection)
    states = delivery_states(received, register, [month], at, delivery_calendar)
    per_sender = _aggregate(_month_deliveries(engine, month, at))
    keys = ["org_code", "discipline"]
    joined = (
        states.select(*keys, "first_received_at", "state")
        .join(per_sender, on=keys, how="full", coalesce=True, nulls_equal=True)
        .join(register.select("org_code", "name", "org_type"), on="org_code", how="left")
    )
    rows = []
    for row in joined.iter_rows(named=True):
        read = row["records_read"] or 0
        rejected = row["records_rejected"] or 0
        rows.append(ConsoleRow(
            org_code=row["org_code"], name=row["name"], org_type=row["org_type"], discipline=row["discipline"],
            files=row["files"] or 0, resends=row["resends"] or 0, files_rejected=row["files_rejected"] or 0,
            records_read=read, records_accepted=row["records_accepted"] or 0, records_rejected=rejected,
            records_objected=row["records_objected"] or 0, rejection_rate=rejected / read if read else None,
            last_received_at=row["last_received_at"], first_counted_at=row["first_received_at"],
            state=row["state"] or "outside_calendar",
        ))
    return rows


def _matches(row: ConsoleRow, filters: ConsoleFilters) -> bool:
    if filters.org_type is not None and row.org_type != filters.org_type:
        return False
    if filters.discipline is not None and row.discipline != filters.discipline:
        return False
    if filters.state is not None and row.state != filters.state:
        return False
    wanted = filters.search.strip().casefold()
    return not wanted or wanted in (row.org_code or "").casefold() or wanted in (row.name or "").casefold()


_DISCIPLINE_ORDER = {discipline.value: index for index, discipline in enumerate(Discipline)}


def _by_organisation(row: ConsoleRow) -> tuple:
    """By name, then code and discipline; codes the register does not know after the names, by code."""
    return (row.name is None, (row.name or row.org_code or "").casefold(), row.org_code or "",
            _DISCIPLINE_ORDER.get(row.discipline or "", len(_DISCIPLINE_ORDER)))


def _sorted(rows: list[ConsoleRow], sort: ConsoleSort) -> list[ConsoleRow]:
    """`rows` in the order asked; rows without a value for the key (no rate, no delivery) always last, and rows
    with equal values by organisation."""
    if sort.key == "organisation":
        return sorted(rows, key=_by_organisation, reverse=sort.descending)
    value: dict[int, float | None] = {
        id(row): float(URGENCY[row.state]) if sort.key == "urgency" else _sort_value(row, sort.key) for row in rows}
    by_name = sorted(rows, key=_by_organisation)
    present = [row for row in by_name if value[id(row)] is not None]
    absent = [row for row in by_name if value[id(row)] is None]
    return sorted(present, key=lambda row: value[id(row)] or 0.0, reverse=sort.descending) + absent


def _sort_value(row: ConsoleRow, key: SortKey) -> float | None:
    if key == "rejection_rate":
        return row.rejection_rate
    if key == "files":
        return float(row.files)
    if key == "records_read":
        return float(row.records_read)
    return row.last_received_at.timestamp() if row.last_received_at else None


def _totals(rows: list[ConsoleRow]) -> ConsoleTotals:
    read = sum(row.records_read for row in rows)
    rejected = sum(row.records_rejected for row in rows)
    states: dict[RowState, int] = {state: 0 for state in ROW_STATES}
    for row in rows:
        states[row.state] += 1
    return ConsoleTotals(rows=len(rows), files=sum(row.files for row in rows), records_read=read,
                         records_accepted=sum(row.records_accepted for row in rows), records_rejected=rejected,
                         records_objected=sum(row.records_objected for row in rows),
                         rejection_rate=rejected / read if read else None, states=states)


def registry_console(engine: Engine, month: str | None = None, *, filters: ConsoleFilters | None = None,
                     sort: ConsoleSort | None = None, at: datetime | None = None,
                     delivery_calendar: DeliveryCalendar | None = None) -> RegistryConsole:
    """The console for `month` (YYYY-MM; None: the default of `console_months`) as things stood at `at` (default:
    now), with the installation's delivery calendar unless one is given. ConsoleQueryError for a malformed month."""
    at = as_utc(at) if at is not None else datetime.now(UTC)
    delivery_calendar = delivery_calendar or load_calendar()
    filters = filters or ConsoleFilters()
    sort = sort or ConsoleSort()
    if month is not None and not _MONTH.match(month):
        raise ConsoleQueryError("month", month)
    months, default = console_months(engine, at, delivery_calendar)
    month = month or default
    if month is None:
        return RegistryConsole(month=None, months=(), at=at, calendar=delivery_calendar, due=None, closes=None,
                               rows=(), all_rows=0, totals=_totals([]), filters=filters, sort=sort)
    if month not in months:
        months = sorted({*months, month}, reverse=True)
    every_row = _rows(engine, month, at, delivery_calendar)
    shown = _sorted([row for row in every_row if _matches(row, filters)], sort)
    return RegistryConsole(
        month=month, months=tuple(months), at=at, calendar=delivery_calendar,
        due=delivery_calendar.due(month).date(), closes=delivery_calendar.closes(month).date(),
        rows=tuple(shown), all_rows=len(every_row), totals=_totals(shown), filters=filters, sort=sort)
