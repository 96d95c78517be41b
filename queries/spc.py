"""Statistical process control (SPC) for a monthly rate: a p-chart with Laney's p′ limits and the rules of NHS
England's "Making Data Count" for telling special cause variation from common cause variation.

Pure functions on numpy arrays, like `queries.statistics`: nothing here reads data, configuration or layout.
Proportions are on the 0..1 scale; points are in time order, one per period.

- `p_chart_limits`: the centre line p̄ = Σx/Σn and per-point 3σ and 2σ limits, either the plain p-chart or Laney's
  p′ chart (Laney 2002; Mohammed & Laney 2006), as qicharts2 computes them (Anhøj, `qic(chart = "p" | "pp")`).
- `rule_signals`: which points are part of a signal under the four rules of Making Data Count, as the NHS-R
  Community's NHSRplotthedots applies them, and whether each signal is an improvement or a concern.
- `control_chart`: both, as the JSON-ready answer (`ControlChartAnswer`) a page draws with
  `dashboards.charts.control_chart_figure`.

References
- Laney DB (2002). Improved control charts for attributes. Quality Engineering 14(4):531–537.
- Mohammed MA, Laney DB (2006). Overdispersion in health care performance data: Laney's approach. Quality and
  Safety in Health Care 15:383–384.
- Mohammed MA, Panesar JS, Laney DB, Wilson R (2013). Statistical process control charts for attribute data
  involving very large sample sizes: a review of problems and solutions. BMJ Quality & Safety 22:362–368.
- NHS England / NHS Improvement (2019). Making Data Count: getting started; Making Data Count: strengthening your
  decisions (the rules, the variation icons, and 15–20 points for limits).
- NHS-R Community, NHSRplotthedots (R package, github.com/nhs-r-community/NHSRplotthedots): `ptd_spc_standard`
  (limits, "close to limits") and `ptd_calculate_point_type` (the rules and the improvement/concern
  classification) in its version with `ptd_special_cause_type`.
- Anhøj J, qicharts2 (R package, github.com/anhoej/qicharts2): `qic.p` and `qic.pp` in R/helper.functions.R.
- Nelson LS (1982). Control charts for individual measurements. Journal of Quality Technology 14(3):172–173
  (screening moving ranges above 3.267 × their mean).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TypedDict

import numpy as np
from numpy.typing import ArrayLike

Method = Literal["laney", "p"]
#: The two kinds of limits: Laney's p′ (between-period variation included) and the plain binomial p-chart.
METHODS: tuple[Method, ...] = ("laney", "p")
#: The rules a point can be part of (Making Data Count; NHSRplotthedots): a point outside the 3σ limits, a shift
#: of `SHIFT_POINTS` on one side of the centre line, a trend of `TREND_POINTS` rising or falling, two of three
#: points beyond 2σ on one side.
RULES = ("outside_limits", "shift", "trend", "two_of_three")
#: The variation of a point, as the NHS variation icons name it: common cause, special cause improvement or concern
#: (an indicator with a direction), special cause higher or lower (an indicator without one).
VARIATIONS = ("common_cause", "improvement", "concern", "higher", "lower")
DIRECTIONS = ("higher_is_better", "higher_is_worse", "neutral")

#: Points in a run on one side of the centre line that make a shift (NHSRplotthedots `ptd_seven_point_one_side_mean`).
SHIFT_POINTS = 7
#: Points in a row that each rise (or each fall) and make a trend, i.e. 6 rises in a row (NHSRplotthedots
#: `ptd_seven_point_trend`: `all(sign(diff(y[i - 0:6])) == ±1)`).
TREND_POINTS = 7
#: Fewer points with data than this and the limits are too uncertain to judge by: NHSRplotthedots warns below 12
#: (`ptd_add_short_group_warnings`); Making Data Count asks for 15–20 points before limits are fixed.
MINIMUM_POINTS = 12
# A monthly p-chart needs enough events per month: with n·p̄ well below 1 most months have no event, seven such months
# in a row make a "shift" and one event falls outside the limits, so the rules signal on noise. The normal limits of
# a p-chart are taken to be adequate from n·p̄ ≥ 5 (the usual rule for the normal approximation to the binomial;
# Montgomery, Introduction to Statistical Quality Control, 7th ed., §7.2); below it, rare events want a chart of the
# time between events (a g-chart: Benneyan 2001, Health Care Manag Sci 4:305) or a coarser grain. Below this the
# chart is computed but no rule signals.
MINIMUM_EXPECTED_EVENTS = 5.0

# Control chart constants for moving ranges of two points (Montgomery, Introduction to Statistical Quality Control,
# appendix VI): d2 = 1.128 turns the mean moving range into a standard deviation; D4 = 3.267 is the upper limit of a
# moving range relative to its mean (Nelson 1982).
D2 = 1.128
D4 = 3.267


@dataclass(frozen=True)
class ControlLimits:
    """A p-chart of a series (`p_chart_limits`). Arrays have one value per point, NaN where the denominator is 0.

    centre: p̄ = Σx/Σn over the points with a denominator (NaN without any); sigma_z: Laney's σ_z (1.0 for the plain
    p-chart; for Laney NaN when it cannot be estimated: no two adjacent points with data, or p̄ of 0 or 1);
    lower_3/upper_3 and lower_2/upper_2: p̄ ∓ 3 and 2 × σ_pi·σ_z, clipped to [0, 1]; points: how many points have a
    denominator; enough_points: points ≥ MINIMUM_POINTS.
    """

    method: Method
    rates: np.ndarray
    centre: float
    sigma_z: float
    lower_3: np.ndarray
    upper_3: np.ndarray
    lower_2: np.ndarray
    upper_2: np.ndarray
    points: int
    enough_points: bool


@dataclass(frozen=True)
class Signals:
    """Per point (`rule_signals`): whether it is part of each rule's signal, the side the signal points to
    (+1 higher, −1 lower, 0 none) and its variation (one of VARIATIONS, None for a point without data)."""

    outside_limits: np.ndarray
    shift: np.ndarray
    trend: np.ndarray
    two_of_three: np.ndarray
    side: np.ndarray
    variation: tuple[str | None, ...]

    def rules(self, index: int) -> list[str]:
        """The RULES point `index` is part of, in the order of RULES."""
        return [rule for rule in RULES if bool(getattr(self, rule)[index])]


def laney_sigma_z(numerator: ArrayLike, denominator: ArrayLike, centre: float, *,
                  screen_moving_ranges: bool = False) -> float:
    """Laney's σ_z (Laney 2002; Mohammed & Laney 2006): the spread of the standardised deviations
    z_i = (p_i − p̄)/σ_pi, σ_pi = √(p̄(1 − p̄)/n_i), estimated from their moving ranges as an XmR chart does,

        σ_z = mean |z_i − z_{i−1}| / 1.128.

    A moving range needs two adjacent periods with a denominator: one next to a period without one (n = 0) is left
    out, as qicharts2 and NHSRplotthedots do (an NA difference, dropped). With `screen_moving_ranges` the moving
    ranges of 3.267 × their mean or more are left out and the mean taken again (Nelson 1982), as NHSRplotthedots
    does by default for XmR charts and qicharts2 with `options(qic.screenedmr = TRUE)`; the default is Laney's and
    qicharts2's unscreened estimate. NaN when no moving range can be formed or p̄ is 0 or 1 (no z exists).
    """
    x = np.asarray(numerator, dtype=float)
    n = np.asarray(denominator, dtype=float)
    if not 0 < centre < 1:
        return math.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(n > 0, (x / n - centre) / np.sqrt(centre * (1 - centre) / n), np.nan)
    moving = np.abs(np.diff(z))
    moving = moving[~np.isnan(moving)]
    if moving.size == 0:
        return math.nan
    if screen_moving_ranges and moving.mean() > 0:
        moving = moving[moving < D4 * moving.mean()]
    return float(moving.mean() / D2)


def p_chart_limits(numerator: ArrayLike, denominator: ArrayLike, method: Method = "laney", *,
                   screen_moving_ranges: bool = False, widen_only: bool = False) -> ControlLimits:
    """Centre line and per-point limits of a p-chart: p̄ ± k·σ_pi·σ_z for k = 3 and 2, clipped to [0, 1].

    method "p" is the plain binomial p-chart (σ_z = 1): its limits assume that every period has the same true
    proportion, so all variation is binomial. With large denominators (hundreds to thousands per period) the
    binomial σ_pi becomes so small that the real period-to-period variation of a stable process
    (overdispersion) puts most points outside the limits. Laney's p′ chart ("laney", the default) multiplies σ_pi
    by σ_z, the observed spread of the z-scores (`laney_sigma_z`): it keeps the p-chart's limits that vary with
    n_i and adds the between-period variation an XmR chart would see. When the data are binomial σ_z ≈ 1 and the
    two charts agree (Laney 2002), so p′ is a safe default; Mohammed & Laney (2006) and Mohammed et al. (2013) use
    it for overdispersed health care data. σ_z estimated below 1 narrows the limits, as Laney and qicharts2 do;
    `widen_only` uses max(σ_z, 1) instead, like `statistics.arcsine_funnel_limits` never narrows.

    Points with denominator 0 have NaN for their rate and limits and are left out of p̄ and σ_z (see
    `laney_sigma_z`). When σ_z cannot be estimated the Laney limits are NaN; when p̄ is 0 or 1 every limit is p̄
    (no point can lie outside). This reproduces qicharts2's `qic.p` / `qic.pp` (limits clipped to [0, 1] alike),
    except at n = 0, where qicharts2's limits are ±Inf and these are NaN.
    """
    x = np.asarray(numerator, dtype=float)
    n = np.asarray(denominator, dtype=float)
    has_data = n > 0
    points = int(has_data.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = np.where(has_data, x / n, np.nan)
    total = float(n[has_data].sum())
    centre = float(x[has_data].sum()) / total if total > 0 else math.nan
    if method == "p":
        sigma_z = 1.0
    elif method == "laney":
        sigma_z = laney_sigma_z(x, n, centre, screen_moving_ranges=screen_moving_ranges)
        if widen_only and not math.isnan(sigma_z):
            sigma_z = max(sigma_z, 1.0)
    else:
        raise ValueError(f"unknown method {method!r}: one of {METHODS}")
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma = np.where(has_data, np.sqrt(centre * (1 - centre) / n), np.nan)
    degenerate = centre in (0.0, 1.0)
    spread = np.where(has_data, 0.0, np.nan) if degenerate else sigma * sigma_z

    def limit(k: float) -> np.ndarray:
        return np.clip(centre + k * spread, 0.0, 1.0)

    return ControlLimits(method=method, rates=rates, centre=centre, sigma_z=sigma_z,
                         lower_3=limit(-3), upper_3=limit(3), lower_2=limit(-2), upper_2=limit(2), points=points,
                         enough_points=points >= MINIMUM_POINTS)


# ---- rules ---------------------------------------------------------------------------------------------------
# The detectors work on the points with data, in order: a period without data (NaN) is skipped, so a run or trend
# goes on across it (under common cause variation each observed point is on either side with the same chance,
# whatever lies between). NHSRplotthedots expects a series without gaps and so does not say.

def _runs(values: Sequence[int] | np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of equal values, e.g. [1, 1, 0, 1] -> [(0, 2), (2, 3), (3, 4)]."""
    runs, start = [], 0
    for index in range(1, len(values) + 1):
        if index == len(values) or values[index] != values[start]:
            runs.append((start, index))
            start = index
    return runs


def shift_points(side: ArrayLike, length: int = SHIFT_POINTS) -> np.ndarray:
    """The points in a run of `length` or more consecutive points on the same side of the centre line.

    `side` is sign(value − centre): +1, −1, or 0 for a point exactly on the centre line. A point on the line breaks
    the run and is in none (NHSRplotthedots: `all(vp[[i]] == vp[i - 1:6]) & vp[[i]] != 0`, so 0 matches neither
    side; qicharts2's Anhøj rules instead skip such points, which Making Data Count does not).
    """
    sides = np.asarray(side, dtype=int)
    flagged = np.zeros(sides.shape, dtype=bool)
    for start, stop in _runs(sides):
        if sides[start] != 0 and stop - start >= length:
            flagged[start:stop] = True
    return flagged


def trend_points(values: ArrayLike, length: int = TREND_POINTS) -> np.ndarray:
    """The points in a run of `length` or more consecutive points each higher than the one before (or each lower).

    An equal neighbour (a tie) is neither a rise nor a fall and breaks the trend, as in NHSRplotthedots (`sign(diff)`
    of 0 matches neither all-rising nor all-falling). Trends are judged on the values alone, not the centre line.
    """
    array = np.asarray(values, dtype=float)
    flagged = np.zeros(array.shape, dtype=bool)
    steps = np.sign(np.diff(array)).astype(int)
    for start, stop in _runs(steps):  # a run of steps start..stop-1 spans points start..stop
        if steps[start] != 0 and stop - start + 1 >= length:
            flagged[start:stop + 1] = True
    return flagged


def two_of_three_points(side: ArrayLike, close: ArrayLike) -> np.ndarray:
    """The points beyond 2σ that make two (or three) of three consecutive points beyond 2σ on the same side.

    `close` marks a point beyond its 2σ limit but not beyond its 3σ limit, as NHSRplotthedots defines "close to the
    limits" (a point beyond 3σ signals already and does not count here). A window of three consecutive points
    signals when all three lie on the same side of the centre line and at least two of them are close; the close
    points of such a window are flagged, the third is not (NHSRplotthedots `ptd_two_in_three` and
    `ptd_part_of_two_in_three`, after its fix for points on opposite sides, issue #143).
    """
    sides = np.asarray(side, dtype=int)
    near = np.asarray(close, dtype=bool)
    flagged = np.zeros(near.shape, dtype=bool)
    for start in range(len(near) - 2):
        window = slice(start, start + 3)
        if abs(int(sides[window].sum())) == 3 and int(near[window].sum()) >= 2:
            flagged[window] |= near[window]
    return flagged


def rule_signals(values: ArrayLike, centre: float, lower_3: ArrayLike, upper_3: ArrayLike, lower_2: ArrayLike,
                 upper_2: ArrayLike, direction: str) -> Signals:
    """Which points are part of a signal, and what the signal means for an indicator of `direction`
    (higher_is_better, higher_is_worse or neutral).

    Rules (Making Data Count; NHSRplotthedots): a point above its upper or below its lower 3σ limit (a point on a
    limit is inside); a shift (`shift_points`); a trend (`trend_points`); two of three beyond 2σ
    (`two_of_three_points`). Points with NaN as value are in no rule and have variation None; the others are
    judged in order with those points skipped.

    The side of a signal follows NHSRplotthedots' `ptd_special_cause_type`, taking the first rule that applies:
    outside the limits, above or below; a trend, rising or falling (the step to the next point where it is in the
    trend too, else the step from the previous one, so a trend below the centre line that rises is "higher");
    two of three and shift, above or below the centre line. Higher is an improvement when higher is better, a
    concern when higher is worse, and just "higher" without a direction (`ptd_point_type`, the NHS variation icons).
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"unknown direction {direction!r}: one of {DIRECTIONS}")
    y = np.asarray(values, dtype=float)
    upper3, lower3 = np.asarray(upper_3, dtype=float), np.asarray(lower_3, dtype=float)
    upper2, lower2 = np.asarray(upper_2, dtype=float), np.asarray(lower_2, dtype=float)
    present = np.flatnonzero(~np.isnan(y))
    v = y[present]
    with np.errstate(invalid="ignore"):
        outside = (v > upper3[present]) | (v < lower3[present])
        beyond_2 = (v > upper2[present]) | (v < lower2[present])
    above_or_below = np.sign(v - centre).astype(int) if not math.isnan(centre) else np.zeros(v.shape, dtype=int)
    shift = shift_points(above_or_below)
    trend = trend_points(v)
    two_of_three = two_of_three_points(above_or_below, beyond_2 & ~outside)

    steps = np.sign(np.diff(v)).astype(int)
    next_in_trend = np.append(trend[1:], False) & trend
    trend_side = np.where(next_in_trend, np.append(steps, 0), np.insert(steps, 0, 0))
    side = np.where(outside, above_or_below,
                    np.where(trend, trend_side,
                             np.where(two_of_three | shift, above_or_below, 0)))

    def spread(flags: np.ndarray, fill: object = False) -> np.ndarray:
        full = np.full(y.shape, fill, dtype=flags.dtype)
        full[present] = flags
        return full

    variation: list[str | None] = [None] * y.size
    for index, point_side in zip(present, side, strict=True):
        variation[index] = _variation(int(point_side), direction)
    return Signals(outside_limits=spread(outside), shift=spread(shift), trend=spread(trend),
                   two_of_three=spread(two_of_three), side=spread(side, 0), variation=tuple(variation))


def _variation(side: int, direction: str) -> str:
    if side == 0:
        return "common_cause"
    if direction == "neutral":
        return "higher" if side > 0 else "lower"
    better = side > 0 if direction == "higher_is_better" else side < 0
    return "improvement" if better else "concern"


def latest_variation(signals: Signals) -> str | None:
    """The variation of the last point with data, which the NHS variation icon shows; None without data."""
    return next((variation for variation in reversed(signals.variation) if variation is not None), None)


# ---- the answer a page draws ---------------------------------------------------------------------------------

class ControlChartPoint(TypedDict):
    """One period of a control chart: its counts and rate, its limits (None without a denominator), the RULES
    it is part of and its variation (one of VARIATIONS, None without data)."""

    period: str
    numerator: float | None  # None: a period whose counts the caller does not show
    denominator: float | None
    rate: float | None
    lower_3: float | None
    upper_3: float | None
    lower_2: float | None
    upper_2: float | None
    rules: list[str]
    variation: str | None


class ControlChartAnswer(TypedDict):
    """A control chart as plain JSON values: method (one of METHODS), centre p̄ and sigma_z (None where they cannot
    be estimated), the points, enough_points (points with data ≥ minimum_points), expected_events (p̄ × the mean
    denominator of the points with data) and frequent_enough (expected_events ≥ minimum_expected_events: below it
    no rule signals, `MINIMUM_EXPECTED_EVENTS`), and latest_variation."""

    method: Method
    centre: float | None
    sigma_z: float | None
    points: list[ControlChartPoint]
    points_with_data: int
    minimum_points: int
    enough_points: bool
    expected_events: float | None
    minimum_expected_events: float
    frequent_enough: bool
    latest_variation: str | None


def _value(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def control_chart(periods: Sequence[str], numerator: ArrayLike, denominator: ArrayLike, direction: str,
                  method: Method = "laney", *, screen_moving_ranges: bool = False,
                  widen_only: bool = False) -> ControlChartAnswer:
    """The p-chart (`p_chart_limits`) of a series of periods in time order and its rule signals (`rule_signals`),
    as a `ControlChartAnswer`. With fewer than MINIMUM_POINTS points with data it is still computed and says so in
    `enough_points`, for the caller to show as provisional or not at all."""
    limits = p_chart_limits(numerator, denominator, method, screen_moving_ranges=screen_moving_ranges,
                            widen_only=widen_only)
    signals = rule_signals(limits.rates, limits.centre, limits.lower_3, limits.upper_3, limits.lower_2,
                           limits.upper_2, direction)
    x = np.asarray(numerator, dtype=float)
    n = np.asarray(denominator, dtype=float)
    with_data = n > 0
    expected_events = float(limits.centre * n[with_data].mean()) if with_data.any() else float("nan")
    frequent_enough = bool(expected_events >= MINIMUM_EXPECTED_EVENTS)
    points: list[ControlChartPoint] = [
        {"period": period, "numerator": float(x[i]), "denominator": float(n[i]), "rate": _value(limits.rates[i]),
         "lower_3": _value(limits.lower_3[i]), "upper_3": _value(limits.upper_3[i]),
         "lower_2": _value(limits.lower_2[i]), "upper_2": _value(limits.upper_2[i]),
         "rules": signals.rules(i) if frequent_enough else [],
         "variation": signals.variation[i] if frequent_enough else None}
        for i, period in enumerate(periods)]
    return {"method": method, "centre": _value(limits.centre), "sigma_z": _value(limits.sigma_z), "points": points,
            "points_with_data": limits.points, "minimum_points": MINIMUM_POINTS,
            "enough_points": limits.enough_points, "expected_events": _value(expected_events),
            "minimum_expected_events": MINIMUM_EXPECTED_EVENTS, "frequent_enough": frequent_enough,
            "latest_variation": latest_variation(signals) if frequent_enough else None}
