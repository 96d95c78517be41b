"""Judgement: how perispiegel turns a figure into a verdict — one policy, used by every question that judges.

A unit (an organisation) is judged against a *comparator*: the pooled figure of all organisations of its type
(for the crude rate) or 1 (for the case-mix adjusted ratio O/E, whose expected counts come from the same
organisations). The verdict is where the unit lies against funnel limits at 95% and 99.8% around the comparator
(Spiegelhalter 2005, "Funnel plots for comparing institutional performance", Stat Med 24:1185):

- **limits**: exact (binomial for a rate, Poisson for O/E, with the paper's interpolation) when there is no
  overdispersion to allow for; widened for overdispersion on a variance-stabilising scale otherwise (arcsine √ for
  a rate, √ for O/E; Spiegelhalter 2005 section 5.3, FunnelPlotR "PR" and "SR"/CQC): additive random effects
  (τ², the default way to widen) or multiplicative (φ);
- **overdispersion decision** (`choose_method`, choice "auto", the default everywhere): the spread between units is
  tested as I·φ̂ against χ²(I − 1), φ̂ from z-scores Winsorised at 10% per tail (Spiegelhalter 2005 section 5.1;
  Spiegelhalter et al. 2012, JRSS A 175:1, section 6.4; NHS Digital SHMI specification); at p < 0.05 the limits are
  widened with τ², otherwise they stay exact. "none", "additive" and "multiplicative" force a method; a forced
  widening with nothing to widen (τ² = 0 or φ ≤ 1) stays exact rather than switching to a normal approximation;
- **flag** (NMPA outlier policy; Spiegelhalter 2005 section 2): beyond a 95% limit is an *alert*, beyond a 99.8%
  limit an *alarm*; among M comparisons chance alone gives about 0.05·M alerts and 0.002·M alarms
  (`expected_by_chance`);
- **standardised position** (`standardised_each`, for the spine chart): the unit's distance from the
  comparator in units of its own limits, ±1.96 on the 95% limits and ±3.09 on the 99.8% limits.

Every function here is pure: arrays in, arrays out, no data, no configuration.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, TypedDict, get_args

import numpy as np
from numpy.typing import ArrayLike

from queries import statistics
from queries.catalogue import Direction

#: What a user (URL `overdispersion=`, API parameter) may ask for.
OverdispersionChoice = Literal["auto", "none", "additive", "multiplicative"]
OVERDISPERSION_CHOICES: tuple[OverdispersionChoice, ...] = get_args(OverdispersionChoice)
DEFAULT_OVERDISPERSION: OverdispersionChoice = "auto"
#: What produced a set of limits.
LimitsMethod = Literal["exact", "additive", "multiplicative"]
LIMITS_METHODS: tuple[LimitsMethod, ...] = get_args(LimitsMethod)
#: The significance level of the overdispersion test of choice "auto".
OVERDISPERSION_TEST_LEVEL = 0.05
ALERT_LEVEL, ALARM_LEVEL = 0.95, 0.998

#: What a user reads of a funnel position: better/worse, or higher/lower for an indicator without a direction.
Verdict = Literal["better", "worse", "within", "higher", "lower"]
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)
#: Outside the 95% limits (alert) or the 99.8% limits (alarm).
Flag = Literal["alert", "alarm"]
FLAGS: tuple[Flag, ...] = get_args(Flag)
#: What is judged: the crude rate against the pooled rate, or the case-mix adjusted O/E against 1.
Measure = Literal["crude", "adjusted"]
MEASURES: tuple[Measure, ...] = get_args(Measure)

# The standardised position of a unit on the 95% and on the 99.8% limits: the two-sided normal quantiles.
Z_95, Z_998 = 1.959963984540054, 3.090232306167813


class Limits(TypedDict):
    """Funnel limits per unit (or per point of a curve)."""

    lower_95: np.ndarray
    upper_95: np.ndarray
    lower_998: np.ndarray
    upper_998: np.ndarray


class JudgementAnswer(TypedDict):
    """How the verdicts of one answer were produced, as every answer states it: against which organisations
    (`comparator`: the level whose pooled figure is the centre, e.g. "hospital" = all hospitals), the centre
    (the pooled rate, or 1 for O/E), the measure and the method."""

    comparator: str
    centre: float | None
    measure: Measure
    requested: OverdispersionChoice
    method: LimitsMethod
    scale: Literal["binomial", "poisson", "arcsine", "square_root"]
    phi: float | None
    tau2: float | None
    units: int
    p_value: float | None
    overdispersed: bool


@dataclass(frozen=True)
class Judgement:
    """The judgement of one family of units (one indicator at one level, one measure)."""

    measure: Measure
    requested: OverdispersionChoice
    method: LimitsMethod
    dispersion: statistics.Overdispersion | None

    @property
    def overdispersed(self) -> bool:
        return self.dispersion is not None and self.dispersion.p_value < OVERDISPERSION_TEST_LEVEL

    def as_dict(self, comparator: str, centre: float | None) -> JudgementAnswer:
        dispersion = self.dispersion
        exact_scale: Literal["binomial", "poisson"] = "binomial" if self.measure == "crude" else "poisson"
        widened_scale: Literal["arcsine", "square_root"] = "arcsine" if self.measure == "crude" else "square_root"
        return {"comparator": comparator, "centre": centre, "measure": self.measure, "requested": self.requested,
                "method": self.method,
                "scale": exact_scale if self.method == "exact" else widened_scale,
                "phi": dispersion.phi if dispersion else None, "tau2": dispersion.tau2 if dispersion else None,
                "units": dispersion.units if dispersion else 0,
                "p_value": dispersion.p_value if dispersion else None, "overdispersed": self.overdispersed}


def choose_method(choice: OverdispersionChoice, dispersion: statistics.Overdispersion | None) -> LimitsMethod:
    """The limits a choice gives for a family with this dispersion (see the module docstring): "auto" widens
    additively only when the test finds overdispersion; a forced widening with nothing to widen stays exact."""
    if dispersion is None or choice == "none":
        return "exact"
    if choice == "auto":
        return "additive" if dispersion.p_value < OVERDISPERSION_TEST_LEVEL and dispersion.tau2 > 0 else "exact"
    if choice == "additive":
        return "additive" if dispersion.tau2 > 0 else "exact"
    return "multiplicative" if dispersion.phi > 1 else "exact"


def widened_choice(choice: OverdispersionChoice) -> Literal["additive", "multiplicative"]:
    """The widening a method-sensitivity table shows beside the exact limits: the user's, additive by default."""
    return "multiplicative" if choice == "multiplicative" else "additive"


# ---- rates against the pooled rate -------------------------------------------------------------------------

def rate_dispersion(numerators: ArrayLike, denominators: ArrayLike, target: float,
                    estimable: ArrayLike | None = None,
                    noise_variance: float = 0.0) -> statistics.Overdispersion | None:
    """Overdispersion of rates around `target` on the arcsine scale, from the `estimable` units (those with a
    denominator large enough to show a rate); None when there is no target to judge against.

    `noise_variance`: the variance of a known noise added to each numerator (the cell-key perturbation of
    queries.disclosure). It is spread the units did not make, so each unit's standard error takes it in by the
    delta method — Var(arcsin √(x/n)) gains σ² / (4 n² θ(1 − θ)) — and φ and τ² measure only what is left."""
    if not 0 < target < 1:
        return None
    numerator_array, denominator_array = np.asarray(numerators, dtype=float), np.asarray(denominators, dtype=float)
    keep = np.ones(denominator_array.shape, dtype=bool) if estimable is None else np.asarray(estimable, dtype=bool)
    y, s = statistics.arcsine_scale(numerator_array[keep], denominator_array[keep])
    if noise_variance:
        n = denominator_array[keep]
        s = np.sqrt(s * s + noise_variance / (4 * n * n * target * (1 - target)))
    centre = float(np.arcsin(np.sqrt(target)))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (y - centre) / s
    return statistics.estimate_overdispersion(z, s)


def rate_limits(target: float | np.ndarray, denominators: ArrayLike, method: LimitsMethod,
                dispersion: statistics.Overdispersion | None) -> Limits:
    """Funnel limits of a rate at 95% and 99.8%: exact binomial, or widened on the arcsine scale."""
    sizes = np.atleast_1d(np.asarray(denominators, dtype=float))
    return limits_each("crude", np.broadcast_to(np.asarray(target, dtype=float), sizes.shape), sizes,
                       [method] * sizes.size, [dispersion] * sizes.size)


def limits_each(measure: Measure, centres: ArrayLike, sizes: ArrayLike, methods: Sequence[LimitsMethod],
                dispersions: Sequence[statistics.Overdispersion | None], *, clip: bool = True) -> Limits:
    """Funnel limits at 95% and 99.8% for units that may each belong to another family (one organisation's
    indicators, say): unit i around `centres[i]` at size `sizes[i]` (denominator, or E for O/E) by `methods[i]`
    with `dispersions[i]`. A rate: exact binomial or widened on the arcsine scale; O/E: exact Poisson or widened
    on the square-root scale. One vectorised computation per method, whatever the number of families."""
    centre, size = np.asarray(centres, dtype=float), np.asarray(sizes, dtype=float)
    phi = np.array([d.phi if d is not None else 1.0 for d in dispersions], dtype=float)
    tau2 = np.array([d.tau2 if d is not None else 0.0 for d in dispersions], dtype=float)
    # Without a dispersion estimate there is nothing to widen by: exact.
    method_of = np.array([method if d is not None else "exact" for method, d in zip(methods, dispersions,
                                                                                      strict=True)], dtype=object)
    limits = {key: np.full(size.shape, np.nan) for key in ("lower_95", "upper_95", "lower_998", "upper_998")}
    for method in LIMITS_METHODS:
        chosen = method_of == method
        if not chosen.any():
            continue
        for level, suffix in ((ALERT_LEVEL, "95"), (ALARM_LEVEL, "998")):
            widening = {"tau2": tau2[chosen]} if method == "additive" else {"phi": phi[chosen]}
            if measure == "crude":
                lower, upper = (statistics.binomial_funnel_limits(centre[chosen], size[chosen], level, clip=clip)
                                if method == "exact" else
                                statistics.arcsine_funnel_limits(centre[chosen], size[chosen], level, **widening))
            else:
                lower, upper = (statistics.poisson_funnel_limits(size[chosen], level, clip=clip)
                                if method == "exact" else
                                statistics.ratio_funnel_limits(size[chosen], level, **widening))
            limits[f"lower_{suffix}"][chosen], limits[f"upper_{suffix}"][chosen] = lower, upper
    return Limits(lower_95=limits["lower_95"], upper_95=limits["upper_95"], lower_998=limits["lower_998"],
                  upper_998=limits["upper_998"])


# ---- O/E against 1 ------------------------------------------------------------------------------------------

def ratio_dispersion(observed: ArrayLike, expected: ArrayLike,
                     estimable: ArrayLike | None = None, noise_variance: float = 0.0) -> statistics.Overdispersion:
    """Overdispersion of O/E around 1 on the square-root scale, from the `estimable` units; a known noise of
    variance `noise_variance` on O adds σ² / (4 E²) to each unit's variance (delta method at O = E)."""
    observed_array, expected_array = np.asarray(observed, dtype=float), np.asarray(expected, dtype=float)
    keep = np.ones(expected_array.shape, dtype=bool) if estimable is None else np.asarray(estimable, dtype=bool)
    y, s = statistics.square_root_ratio_scale(observed_array[keep], expected_array[keep])
    if noise_variance:
        e = expected_array[keep]
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.sqrt(s * s + noise_variance / (4 * e * e))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (y - 1) / s
    return statistics.estimate_overdispersion(z, s)


# ---- from limits to what a user reads --------------------------------------------------------------------

def clipped(measure: Measure, limits: Limits) -> Limits:
    """Limits as shown and judged: a rate's within [0, 1], an O/E's not below 0 (`limits_each(..., clip=False)`
    leaves exact limits as interpolated; widened ones are within these bounds already)."""
    upper_bound = 1.0 if measure == "crude" else None
    return Limits(lower_95=np.clip(limits["lower_95"], 0.0, upper_bound),
                  upper_95=np.clip(limits["upper_95"], 0.0, upper_bound),
                  lower_998=np.clip(limits["lower_998"], 0.0, upper_bound),
                  upper_998=np.clip(limits["upper_998"], 0.0, upper_bound))


def positions(values: ArrayLike, limits: Limits) -> np.ndarray:
    """Where each value lies against its limits (`statistics.funnel_position`)."""
    return statistics.funnel_position(values, limits["lower_95"], limits["upper_95"], limits["lower_998"],
                                      limits["upper_998"])


def standardised_positions(values: ArrayLike, centre: float | np.ndarray, limits: Limits) -> np.ndarray:
    """Each value's distance from the centre in units of its own limits, piecewise linear so that it is ±1.96 on
    the 95% limits and ±3.09 on the 99.8% limits (beyond them it goes on at the slope between them). The limits
    should be unclipped (`limits_each(..., clip=False)`): a clipped limit at 0 would put every unit with no events
    exactly on −1.96. NaN where there is no value or the limits are degenerate."""
    value = np.asarray(values, dtype=float)
    centre_array = np.broadcast_to(np.asarray(centre, dtype=float), value.shape)
    above = value >= centre_array
    limit_95 = np.where(above, limits["upper_95"], limits["lower_95"])
    limit_998 = np.where(above, limits["upper_998"], limits["lower_998"])
    with np.errstate(divide="ignore", invalid="ignore"):
        distance, inner, outer = (np.abs(value - centre_array), np.abs(limit_95 - centre_array),
                                  np.abs(limit_998 - centre_array))
        within_95 = Z_95 * distance / inner
        beyond_95 = Z_95 + (Z_998 - Z_95) * (distance - inner) / (outer - inner)
        magnitude = np.where(distance <= inner, within_95, beyond_95)
    magnitude = np.where(distance == 0, 0.0, magnitude)
    standardised: np.ndarray = np.where(above, magnitude, -magnitude)
    return np.where(np.isfinite(standardised), standardised, np.nan)


def standardised_each(measure: Measure, values: ArrayLike, centres: ArrayLike, sizes: ArrayLike,
                      methods: Sequence[LimitsMethod], dispersions: Sequence[statistics.Overdispersion | None],
                      unclipped: Limits | None = None) -> np.ndarray:
    """The standardised position of units judged as in `limits_each` (the spine chart's axis): ±1.96 on the 95%
    limits and ±3.09 on the 99.8% limits, so that a unit is outside a limit exactly when its standardised position
    is, and a unit that cannot go further (no events, a lower limit cut off at 0) is inside, not on the line.

    Exact limits: `standardised_positions` against the unclipped interpolated limits. Widened limits: the z-score
    on the transformed scale, (y − y0)/√(φ s² + τ²), whose ±1.96 and ±3.09 are those limits before the
    back-transformation (arcsine √ for a rate, √ for O/E). `unclipped`: the units' `limits_each(..., clip=False)`
    when the caller has them already."""
    value, centre, size = (np.asarray(values, dtype=float), np.asarray(centres, dtype=float),
                           np.asarray(sizes, dtype=float))
    method_of = np.array([method if d is not None else "exact" for method, d in zip(methods, dispersions,
                                                                                      strict=True)], dtype=object)
    standardised = np.full(value.shape, np.nan)
    exact = method_of == "exact"
    if exact.any():
        if unclipped is not None:
            limits = Limits(lower_95=unclipped["lower_95"][exact], upper_95=unclipped["upper_95"][exact],
                            lower_998=unclipped["lower_998"][exact], upper_998=unclipped["upper_998"][exact])
        else:
            limits = limits_each(measure, centre[exact], size[exact], ["exact"] * int(exact.sum()),
                                 [None] * int(exact.sum()), clip=False)
        standardised[exact] = standardised_positions(value[exact], centre[exact], limits)
    widened = ~exact
    if widened.any():
        phi = np.array([d.phi if d is not None else 1.0 for d in dispersions])[widened]
        tau2 = np.array([d.tau2 if d is not None else 0.0 for d in dispersions])[widened]
        multiplicative = method_of[widened] == "multiplicative"
        with np.errstate(divide="ignore", invalid="ignore"):
            if measure == "crude":
                y = np.arcsin(np.sqrt(np.clip(value[widened], 0.0, 1.0)))
                y0 = np.arcsin(np.sqrt(np.clip(centre[widened], 0.0, 1.0)))
                s = 1 / (2 * np.sqrt(size[widened]))
            else:
                y, y0, s = np.sqrt(value[widened]), np.ones(int(widened.sum())), 1 / (2 * np.sqrt(size[widened]))
            variance = np.where(multiplicative, s * s * np.maximum(phi, 1.0), s * s + tau2)
            z = (y - y0) / np.sqrt(variance)
        standardised[widened] = np.where(np.isfinite(z), z, np.nan)
    return standardised


def verdict(position: str | None, direction: str) -> Verdict | None:
    """Funnel position → what a user reads: better/worse (or higher/lower for neutral indicators)."""
    if not position:
        return None
    if position == "within":
        return "within"
    higher = position.startswith("above")
    if direction == Direction.NEUTRAL:
        return "higher" if higher else "lower"
    return "worse" if higher == (direction == Direction.HIGHER_IS_WORSE) else "better"


def flag(position: str | None) -> Flag | None:
    """Outside the 95% limits: an alert; outside the 99.8% limits: an alarm (NMPA outlier policy)."""
    if not position or position == "within":
        return None
    return "alarm" if position.endswith("998") else "alert"


def expected_by_chance(comparisons: int) -> tuple[float, float]:
    """How many alerts (outside 95%, alarms included) and alarms (outside 99.8%) chance alone gives, on average,
    among `comparisons` units judged when none truly differs: 5% and 0.2% of them."""
    return comparisons * (1 - ALERT_LEVEL), comparisons * (1 - ALARM_LEVEL)


def method_dependent(verdicts: Iterable[Verdict | None]) -> bool:
    """The verdict depends on the method: the methods that gave a verdict do not all give the same one."""
    return len({value for value in verdicts if value is not None}) > 1


# ---- a family of units, judged -------------------------------------------------------------------------------

@dataclass(frozen=True)
class JudgedFamily:
    """One indicator's units judged against one comparator: the centre (pooled rate, or 1 for O/E), how the
    limits were made, and for the units asked about (`judged`) their value, limits, position and standardised
    position."""

    centre: float
    judgement: Judgement
    values: np.ndarray
    limits: Limits
    positions: np.ndarray
    standardised: np.ndarray


def judge_each(measure: Measure, values: ArrayLike, centres: ArrayLike, sizes: ArrayLike,
               methods: Sequence[LimitsMethod], dispersions: Sequence[statistics.Overdispersion | None]
               ) -> tuple[Limits, np.ndarray, np.ndarray]:
    """Units judged as in `limits_each` (each may belong to another family): their limits as shown, positions and
    standardised positions, from one computation of the limits (unclipped for `standardised_each`)."""
    value_array, centre_array, size_array = (np.asarray(values, dtype=float), np.asarray(centres, dtype=float),
                                             np.asarray(sizes, dtype=float))
    unclipped = limits_each(measure, centre_array, size_array, methods, dispersions, clip=False)
    limits = clipped(measure, unclipped)
    return (limits, positions(value_array, limits),
            standardised_each(measure, value_array, centre_array, size_array, methods, dispersions, unclipped))


def judged_family(centre: float, judged_by: Judgement, values: ArrayLike, sizes: ArrayLike) -> JudgedFamily:
    """Units' values (rates, or O/E) of sizes (denominators, or E) judged against one family's comparator and
    limits (`judge_each` with the family's centre, method and dispersion for every unit)."""
    value_array = np.asarray(values, dtype=float)
    count = len(value_array)
    limits, found, standardised = judge_each(judged_by.measure, value_array, np.full(count, centre), sizes,
                                             [judged_by.method] * count, [judged_by.dispersion] * count)
    return JudgedFamily(centre, judged_by, value_array, limits, found, standardised)


def _selected(array: np.ndarray, judged: np.ndarray | None) -> np.ndarray:
    return array if judged is None else array[judged]


def rate_judgement(numerators: ArrayLike, denominators: ArrayLike, choice: OverdispersionChoice,
                   estimable: ArrayLike, noise_variance: float = 0.0) -> tuple[float, Judgement] | None:
    """The comparator of a family of rates (their pooled rate) and how they are judged against it by `choice`:
    overdispersion from the `estimable` units. None when no unit has a denominator."""
    numerator_array, denominator_array = np.asarray(numerators, dtype=float), np.asarray(denominators, dtype=float)
    total = float(denominator_array.sum())
    if total <= 0:
        return None
    centre = float(numerator_array.sum()) / total
    dispersion = rate_dispersion(numerator_array, denominator_array, centre, estimable, noise_variance)
    return centre, Judgement("crude", choice, choose_method(choice, dispersion), dispersion)


def ratio_judgement(observed: ArrayLike, expected: ArrayLike, choice: OverdispersionChoice,
                    estimable: ArrayLike, noise_variance: float = 0.0) -> Judgement:
    """How a family of O/E ratios is judged against 1 by `choice`: overdispersion from the `estimable` units."""
    expected_array = np.asarray(expected, dtype=float)
    dispersion = ratio_dispersion(observed, expected_array, np.asarray(estimable, dtype=bool) & (expected_array > 0),
                                  noise_variance)
    return Judgement("adjusted", choice, choose_method(choice, dispersion), dispersion)


def judge_rates(numerators: ArrayLike, denominators: ArrayLike, choice: OverdispersionChoice,
                estimable: ArrayLike, judged: np.ndarray | None = None) -> JudgedFamily | None:
    """Judge the rates of a family of units against their pooled rate (the comparator): overdispersion from the
    `estimable` units, positions for the `judged` ones (all when None). None when no unit has a denominator."""
    numerator_array, denominator_array = np.asarray(numerators, dtype=float), np.asarray(denominators, dtype=float)
    family = rate_judgement(numerator_array, denominator_array, choice, estimable)
    if family is None:
        return None
    centre, judged_by = family
    selected_numerators = _selected(numerator_array, judged)
    selected_denominators = _selected(denominator_array, judged)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.where(selected_denominators > 0, selected_numerators / selected_denominators, np.nan)
    return judged_family(centre, judged_by, values, selected_denominators)


def judge_ratios(observed: ArrayLike, expected: ArrayLike, choice: OverdispersionChoice, estimable: ArrayLike,
                 judged: np.ndarray | None = None) -> JudgedFamily:
    """Judge indirectly standardised ratios O/E of a family of units against 1 (an O/E funnel, FunnelPlotR's
    "SR" funnel): overdispersion from the `estimable` units, positions for the `judged` ones."""
    observed_array, expected_array = np.asarray(observed, dtype=float), np.asarray(expected, dtype=float)
    judged_by = ratio_judgement(observed_array, expected_array, choice, estimable)
    selected_observed, selected_expected = _selected(observed_array, judged), _selected(expected_array, judged)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.where(selected_expected > 0, selected_observed / selected_expected, np.nan)
    return judged_family(1.0, judged_by, values, selected_expected)
