"""Target groups: the filter dimensions, their allowed values, and parsing/validation of a filter.

One table (`DIMENSIONS`) names every dimension once: the URL/API parameter, the births column and the
allowed values. The filter panel, the breakdown and the API all use it. The names of the dimensions and of their
values are texts of the catalogue (texts/): `code.dimension.<name>` and `code.dimension_value.<name>.<value>`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import polars as pl

from texts import code_label, text


class InvalidParameterError(ValueError):
    """A question parameter with a value outside its allowed set; the message names both."""

    def __init__(self, parameter: str, value: object, allowed: Sequence[str] | str, message: str | None = None) -> None:
        self.parameter = parameter
        self.value = value
        self.allowed = allowed if isinstance(allowed, str) else ", ".join(allowed)
        super().__init__(message or f"invalid value {value!r} for parameter '{parameter}'; allowed: {self.allowed}")


@dataclass(frozen=True)
class Dimension:
    """A target-group dimension: `name` is the URL/API parameter, `column` the births column, `values` the
    allowed values in the order they are shown."""

    name: str
    column: str
    values: tuple[str, ...]

    def label(self, language: str) -> str:
        """The dimension's name, e.g. "Pariteit" / "Parity"."""
        return code_label("dimension", self.name, language)

    def value_label(self, value: str, language: str) -> str:
        """The name of one of its values, e.g. "Nullipara" / "Nulliparous"."""
        return code_label("dimension_value", f"{self.name}.{value}", language)

    def label_of(self, value: str | None, language: str) -> str:
        """The name of `value` as found in the data: one of its values, else "Onbekend" / "Unknown"."""
        return self.value_label(value, language) if value in self.values else text("unknown_value", language)

    def value_labels(self, language: str) -> dict[str, str]:
        """Every value with its name, in the order shown."""
        return {value: self.value_label(value, language) for value in self.values}


DIMENSIONS: dict[str, Dimension] = {d.name: d for d in (
    Dimension("parity", "parity_group", ("nulliparous", "multiparous")),
    Dimension("maternal_age_band", "maternal_age_band", ("<25", "25-29", "30-34", "35-39", ">=40")),
    Dimension("ga_band", "ga_band", ("<32", "32-36", "37-41", ">=42")),
    Dimension("plurality", "plurality_group", ("singleton", "multiple")),
    Dimension("onset", "onset_of_labour", ("spontaneous", "induced", "prelabour_caesarean")),
    Dimension("presentation", "presentation", ("cephalic", "breech", "transverse", "unknown")),
    Dimension("robson", "robson_group",
              ("1", "2a", "2b", "3", "4a", "4b", "5", "6", "7", "8", "9", "10", "unclassifiable")),
    Dimension("care_level", "care_level_onset", ("midwife", "obstetrician")),
    Dimension("place", "place_of_birth",
              ("home", "birth_centre", "hospital_midwife", "hospital_obstetrician", "unknown")),
    Dimension("ses", "ses_quintile", ("1", "2", "3", "4", "5")),
)}

PERIOD_PARAMETER = "period"
PERIOD_ALLOWED = "YYYY, YYYY-Qn, YYYY-MM, or a range FROM..TO of those (e.g. 2023-01..2023-12)"
FILTER_PARAMETERS: tuple[str, ...] = (PERIOD_PARAMETER, *DIMENSIONS)

_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def month_index(month: str) -> int:
    """'2023-04' → a running month number (year × 12 + month − 1), the store's period column."""
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def readable_grain(first: str | None, last: str | None) -> str:
    """The trend grain that gives a readable number of points from month `first` to `last`: months up to two
    years, quarters up to five, years beyond (and without a period)."""
    if not first or not last:
        return "year"
    months = month_index(last) - month_index(first) + 1
    return "month" if months <= 24 else "quarter" if months <= 60 else "year"


def month_label(index: int) -> str:
    """The inverse of `month_index`."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


#: The periods a series or an export can be broken down by.
GRAINS = ("month", "quarter", "year")


def period_key(grain: str) -> pl.Expr:
    """The key of a birth's period of `grain` on the store's `month_index`: the month index, quarter index
    (year × 4 + quarter − 1) or year."""
    month = pl.col("month_index")
    return {"month": month, "quarter": month // 3, "year": month // 12}[grain]


def period_label(key: int, grain: str) -> str:
    """A period key (`period_key`) as written: 2024-03, 2024-Q1 or 2024."""
    if grain == "month":
        return month_label(key)
    if grain == "quarter":
        return f"{key // 4:04d}-Q{key % 4 + 1}"
    return f"{key:04d}"


def period_months(key: int, grain: str) -> tuple[int, int]:
    """The first and last month index of a period key (`period_key`)."""
    if grain == "month":
        return key, key
    if grain == "quarter":
        return key * 3, key * 3 + 2
    return key * 12, key * 12 + 11


def _period_bounds(written: str, raw: str) -> tuple[str, str]:
    """First and last month covered by a year, quarter or month."""
    if match := _YEAR.match(written):
        return f"{match[1]}-01", f"{match[1]}-12"
    if match := _QUARTER.match(written):
        first = (int(match[2]) - 1) * 3 + 1
        return f"{match[1]}-{first:02d}", f"{match[1]}-{first + 2:02d}"
    if _MONTH.match(written):
        return written, written
    raise InvalidParameterError(PERIOD_PARAMETER, raw, PERIOD_ALLOWED)


def parse_period(written: str) -> tuple[str, str]:
    """'2023', '2023-Q2', '2023-04' or 'A..B' → (first month, last month) as 'YYYY-MM'."""
    cleaned = written.strip()
    start_text, separator, end_text = cleaned.partition("..")
    start, _ = _period_bounds(start_text.strip(), written)
    _, end = _period_bounds(end_text.strip(), written) if separator else _period_bounds(start_text.strip(), written)
    if month_index(start) > month_index(end):
        raise InvalidParameterError(PERIOD_PARAMETER, written, PERIOD_ALLOWED + "; FROM must not be after TO")
    return start, end


@dataclass(frozen=True)
class Filters:
    """A target group: a month range and, per dimension, the allowed values (absent = all).

    `selections` is a sorted tuple of (dimension name, sorted values), so equal filters are equal
    objects and make equal cache keys.
    """

    period_from: str | None = None
    period_to: str | None = None
    selections: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())

    def as_params(self) -> dict[str, str]:
        """The filter as URL/API parameters (the inverse of `parse_filters`)."""
        params: dict[str, str] = {}
        if self.period_from and self.period_to:
            params[PERIOD_PARAMETER] = f"{self.period_from}..{self.period_to}"
        for name, values in self.selections:
            params[name] = ",".join(values)
        return params

    def without(self, dimension: str) -> Filters:
        """The same filter with one dimension left open (a breakdown by that dimension)."""
        return Filters(self.period_from, self.period_to, tuple(s for s in self.selections if s[0] != dimension))

    def expression(self) -> pl.Expr:
        """The filter as one polars predicate on the store's columns (rows with a missing value drop out)."""
        predicate = pl.lit(True)
        if self.period_from:
            predicate &= pl.col("month_index") >= month_index(self.period_from)
        if self.period_to:
            predicate &= pl.col("month_index") <= month_index(self.period_to)
        for name, values in self.selections:
            predicate &= pl.col(DIMENSIONS[name].column).is_in(list(values)).fill_null(False)
        return predicate


def _split_values(raw: str | Sequence[str]) -> list[str]:
    parts = [raw] if isinstance(raw, str) else list(raw)
    return [value.strip() for part in parts for value in str(part).split(",") if value.strip()]


def parse_filters(params: Mapping[str, str | Sequence[str] | None] | None) -> Filters:
    """Validate filter parameters (`period` plus any of `DIMENSIONS`) into a `Filters`.

    Other keys are ignored (they belong to the question, e.g. `indicator`). A value may be a list or a
    comma-separated string. Raises `InvalidParameterError` naming the parameter and its allowed values.
    """
    params = params or {}
    period_from = period_to = None
    raw_period = params.get(PERIOD_PARAMETER)
    if raw_period:
        if not isinstance(raw_period, str):
            raw_period = ",".join(raw_period)
        period_from, period_to = parse_period(raw_period)
    selections = []
    for name, dimension in DIMENSIONS.items():
        raw = params.get(name)
        if raw is None:
            continue
        values = _split_values(raw)
        if not values:
            continue
        for value in values:
            if value not in dimension.values:
                raise InvalidParameterError(name, value, dimension.values)
        selections.append((name, tuple(sorted(set(values), key=dimension.values.index))))
    return Filters(period_from, period_to, tuple(sorted(selections)))


@dataclass(frozen=True)
class PeriodOutsideData:
    """The period asked (`requested`, first and last month) reaches beyond the published data, which run from
    `data_from` to `data_to`: `kept` is the part with data, None when no month of it has data."""

    requested: tuple[str, str]
    data_from: str
    data_to: str
    kept: tuple[str, str] | None


def period_within_data(filters: Filters, data_from: str | None,
                       data_to: str | None) -> tuple[Filters, PeriodOutsideData | None]:
    """The target group with its period inside the published data (months `data_from`..`data_to`): cut to the
    months with data, or without a period when none of its months has data; and what was put right, None when
    nothing was (or nothing is published). The pages show the result and say so; the meeting report refuses a
    period without data. Months compare as "YYYY-MM" text."""
    first, last = filters.period_from, filters.period_to
    if not (first and last and data_from and data_to) or (data_from <= first and last <= data_to):
        return filters, None
    kept = None if last < data_from or first > data_to else (max(first, data_from), min(last, data_to))
    within = replace(filters, period_from=kept[0] if kept else None, period_to=kept[1] if kept else None)
    return within, PeriodOutsideData((first, last), data_from, data_to, kept)
