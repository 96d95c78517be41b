"""Provisional months: which months of a data version were not final yet when it was published, and for which
figures (docs/indicators.md, "Voorlopige maanden").

A month is provisional for an organisation while one of its expected deliveries has not arrived and the month has
not closed (queries.delivery_calendar). A figure is provisional when a month of its period is provisional for an
organisation whose births it counts:

- a practice's or a hospital's figure: that organisation;
- a VSV's figure: any of its members (the register's practices and hospitals with its `vsv_code`);
- the comparator, all organisations of a type: any organisation of that type;
- the national figure: any organisation.

The states are those at the version's `published_at`, from the deliveries received up to then, so a version's
marks are fixed: asked again next week, or of a kept older version, the same figures carry the same marks. They are
computed once, when the store loads a version (`read_provisional`, queries.store.Snapshot.provisional); each answer
only looks them up (`ProvisionalMonths.notes`). What a note names follows the viewer's scope: the disciplines awaited
only on the figure of one organisation the viewer may name, a count for a VSV, a comparator or the nation, and
nothing on a peer's row, whose marks could follow it from one answer to the next (docs/privacy.md).

Pure, apart from `read_provisional`, the one reader.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

import polars as pl
from sqlalchemy import Connection

from queries.answers import ProvisionalNote
from queries.delivery_calendar import (
    DeliveryCalendar,
    DeliveryState,
    delivery_states,
    load_calendar,
    received_deliveries,
)
from queries.filters import month_index, month_label, parse_period

#: What a figure counts: (level, code) for one organisation or VSV, (level, None) for all organisations of a level
#: (the comparator), (None, None) for the nation.
FigureKey = tuple[str | None, str | None]
NATIONAL: FigureKey = (None, None)
#: The types of organisation that deliver (and so can make a month provisional).
SENDING_LEVELS = ("practice", "hospital")


@dataclass(frozen=True)
class MissingDelivery:
    """One expected delivery that had not arrived: whose, which discipline (lvr1, lvr2, lnr), and its state
    (`not_due` or `missing`: queries.delivery_calendar)."""

    org_code: str
    discipline: str
    state: DeliveryState


@dataclass(frozen=True)
class ProvisionalMonth:
    """A month provisional for some figure: the deliveries it awaits (of the organisations that figure counts) and
    the last day of the month's provisional window (`closes`): after that day its figures are final."""

    month: str
    closes: date
    missing: tuple[MissingDelivery, ...]


@dataclass(frozen=True)
class ProvisionalMonths:
    """The provisional months of one data version, per figure (FigureKey → months in time order), as they stood at
    `as_of` (the version's publication)."""

    as_of: datetime | None = None
    figures: Mapping[FigureKey, tuple[ProvisionalMonth, ...]] = field(default_factory=dict)

    def has(self, level: str | None, code: str | None) -> bool:
        """Whether the figure of `code` of `level` (as `months`) has any provisional month."""
        return (level, code) in self.figures

    def months(self, level: str | None, code: str | None, first: str | None,
               last: str | None) -> tuple[ProvisionalMonth, ...]:
        """The provisional months from `first` to `last` (YYYY-MM, inclusive; None: open) of the figure that counts
        the births of `code` (an organisation or VSV of `level`), of all organisations of `level` (`code` None), or
        of the nation (both None)."""
        return tuple(month for month in self.figures.get((level, code), ())
                     if (first is None or month.month >= first) and (last is None or month.month <= last))

    def notes(self, level: str | None, code: str | None, first: str | None, last: str | None, *,
              named: bool = True) -> list[ProvisionalNote] | None:
        """The figure's provisional months as its answer carries them (queries.answers.ProvisionalNote): for one
        practice or hospital, which of its disciplines are awaited; for a VSV, a comparator or the nation, how many
        deliveries. None for a peer (`named` False): no marks that could follow it across answers."""
        if not named:
            return None
        one_organisation = code is not None and level in SENDING_LEVELS
        return [ProvisionalNote(month=month.month, closes=month.closes.isoformat(), missing=len(month.missing),
                                disciplines=sorted({delivery.discipline for delivery in month.missing})
                                if one_organisation else [])
                for month in self.months(level, code, first, last)]


def period_bounds(period: str, first: str | None, last: str | None) -> tuple[str, str]:
    """The months of a written period (2026-10, 2026-Q4, 2026: a trend point's `period`) within `first`..`last`."""
    start, end = parse_period(period)
    return max(start, first) if first else start, min(end, last) if last else end


def provisional_months(states: pl.DataFrame, register: pl.DataFrame, delivery_calendar: DeliveryCalendar,
                       as_of: datetime | None) -> ProvisionalMonths:
    """The figures' provisional months from `delivery_states` (its rows with `provisional`) and the register
    (`org_code`, `org_type`, `vsv_code`): each awaited delivery marks its month on its organisation, on its VSV, on
    all organisations of its type and on the nation."""
    types = dict(zip(register["org_code"], register["org_type"], strict=True))
    vsvs = dict(zip(register["org_code"], register["vsv_code"], strict=True))
    awaited: dict[FigureKey, dict[str, list[MissingDelivery]]] = defaultdict(lambda: defaultdict(list))
    for row in states.filter(pl.col("provisional")).iter_rows(named=True):
        code, level = row["org_code"], types.get(row["org_code"])
        delivery = MissingDelivery(code, row["discipline"], row["state"])
        keys: list[FigureKey] = [NATIONAL, (level, None), (level, code)]
        if vsvs.get(code):
            keys.append(("vsv", vsvs[code]))
        for key in keys:
            awaited[key][row["month"]].append(delivery)
    figures = {key: tuple(ProvisionalMonth(month, delivery_calendar.closes(month).date(), tuple(missing))
                          for month, missing in sorted(months.items()))
               for key, months in awaited.items()}
    return ProvisionalMonths(as_of=as_of, figures=figures)


def read_provisional(connection: Connection, register: pl.DataFrame, first: str | None, last: str | None,
                     as_of: datetime | None, delivery_calendar: DeliveryCalendar | None = None) -> ProvisionalMonths:
    """The provisional months of a data version whose births run from month `first` to `last`, published at
    `as_of` (UTC), from the deliveries as `connection` sees them and `register` (`tables.register.read_register`),
    both read in the store's one read transaction of the version (queries.store.BirthStore._read_version, which
    also keeps that register); none for a version without births or a publication moment."""
    if as_of is None or not first or not last:
        return ProvisionalMonths(as_of=as_of)
    delivery_calendar = delivery_calendar or load_calendar()
    months = [month_label(index) for index in range(month_index(first), month_index(last) + 1)]
    states = delivery_states(received_deliveries(connection), register, months, as_of, delivery_calendar)
    return provisional_months(states, register, delivery_calendar, as_of)
