"""The typed shapes of the engine's answers that pages, the API and exports share (docs/indicators.md, "Shapes").

Answers stay JSON-ready dicts (they are cached and sent as they are); these TypedDicts say what their parts hold,
and mypy holds the engine to them where it builds them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal, TypedDict

import polars as pl

from queries.judgement import JudgementAnswer, Verdict


class CountsCell(TypedDict):
    """One figure: counts with the rate (0..1) and its 95% Wilson interval (None where there is no rate)."""

    numerator: int
    denominator: int
    rate: float | None
    ci_low: float | None
    ci_high: float | None


class ProvisionalNote(TypedDict):
    """A provisional month of a figure's period (queries.provisional; docs/indicators.md, "Voorlopige maanden"): some
    delivery of an organisation the figure counts had not arrived when the data version was published."""

    month: str  # YYYY-MM
    closes: str  # ISO date: the month's figures are final after this day, whatever is still missing
    missing: int  # how many expected deliveries had not arrived (of the organisations the figure counts)
    disciplines: list[str]  # for one practice's or hospital's figure: which of its disciplines (lvr1, lvr2, lnr)


class MethodVerdicts(TypedDict):
    exact: Verdict | None
    widened: Verdict | None


class Sensitivity(TypedDict):
    """The verdict of one organisation's indicator under each method (the detail page's sensitivity table)."""

    widened_method: str
    crude: MethodVerdicts
    adjusted: MethodVerdicts


class Alerts(TypedDict):
    """How many of an overview's judged indicators are outside their limits, against what chance alone gives."""

    judged: int
    alerts: int
    alarms: int
    expected_alerts: float
    expected_alarms: float
    widened: int  # judged with widened limits (overdispersion)
    depends_on_method: int


ColumnKind = Literal["string", "integer", "number", "boolean", "date"]
#: The polars type of each kind of export column (the writers map these to CSV text, Excel cells, Arrow types).
COLUMN_TYPES: dict[str, pl.DataType] = {"string": pl.String(), "integer": pl.Int64(), "number": pl.Float64(),
                                        "boolean": pl.Boolean(), "date": pl.Date()}


@dataclass(frozen=True)
class ExportColumn:
    """One column of an export: its machine name (CSV header, Parquet field; its label and meaning are the texts
    `export_header.<name>` and `export_column.<name>`) and its kind."""

    name: str
    kind: ColumnKind


class ExportQuestion(TypedDict):
    """What an export asks: the parameters that reproduce it (the API's `GET /api/v1/export` takes them)."""

    indicators: list[str]  # as asked; empty: all indicators
    level: str  # national, vsv, hospital or practice
    org: str | None  # the one organisation the rows are limited to (its level is its type); None: all
    dimensions: list[str]  # up to two target-group dimensions to break down by
    grain: str | None  # month, quarter or year to break down by period; None for the whole period
    overdispersion: str
    filters: dict[str, str]  # the target group as URL parameters (queries.filters.Filters.as_params)
    language: str  # the language of the label columns (indicator_name, value_1_label, ...): nl or en
    data_version: int | None  # the kept version asked for; None: the current one


class ExportRules(TypedDict):
    """The disclosure rules the figures passed (docs/privacy.md), for the file's notes."""

    min_denominator: int
    mask_from: int
    mask_to: int
    peer_group_size: int
    noise_bound: int


class ExportAbout(TypedDict):
    """Everything a file says about itself besides its rows: the question, the data version it was made from, who
    it was made for, every indicator's definition (`Indicator.as_dict`) and the rules."""

    question: ExportQuestion
    data_version: dict  # queries.store.Snapshot.version_info
    viewer: dict  # queries.scope.Viewer.as_dict
    indicators: list[dict]
    rules: ExportRules


@dataclass(frozen=True)
class ExportTable:
    """An export as the engine answers it: `about`, the `columns` in their documented order, and `chunks`, a
    function that yields the rows as polars frames with exactly those columns and types (COLUMN_TYPES), one chunk at
    a time, so that a writer never holds more than one chunk of a large export."""

    about: ExportAbout
    columns: tuple[ExportColumn, ...]
    chunks: Callable[[], Iterator[pl.DataFrame]]


__all__ = ["COLUMN_TYPES", "Alerts", "ColumnKind", "CountsCell", "ExportAbout", "ExportColumn", "ExportQuestion",
           "ExportRules", "ExportTable", "JudgementAnswer", "MethodVerdicts", "ProvisionalNote", "Sensitivity"]
