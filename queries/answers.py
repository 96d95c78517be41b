"""The typed shapes of the engine's answers that pages, the API and exports share (docs/indicators.md, "Shapes").

Answers stay JSON-ready dicts (they are cached and sent as they are); these TypedDicts say what their parts hold,
and mypy holds the engine to them where it builds them.
"""

from __future__ import annotations

from typing import TypedDict

from queries.judgement import JudgementAnswer, Verdict


class CountsCell(TypedDict):
    """One figure: counts with the rate (0..1) and its 95% Wilson interval (None where there is no rate)."""

    numerator: int
    denominator: int
    rate: float | None
    ci_low: float | None
    ci_high: float | None


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


__all__ = ["Alerts", "CountsCell", "JudgementAnswer", "MethodVerdicts", "Sensitivity"]
