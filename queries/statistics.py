"""Small pure statistics functions for rates, funnel plots and indirect standardisation.

All functions take scalars or numpy arrays and work elementwise; none reads data or configuration.
Proportions are on the 0..1 scale.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import special, stats

DEFAULT_WINSORISING_FRACTION = 0.1


@functools.lru_cache(maxsize=16)
def _two_sided_z(level: float) -> float:
    return float(stats.norm.ppf(0.5 + level / 2))


def wilson_interval(numerator: ArrayLike, denominator: ArrayLike, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial proportion (Wilson 1927, JASA 22:209; Newcombe 1998,
    Stat Med 17:857, method 3): the set of p whose score test z = (p̂ − p)/√(p(1 − p)/n) is not rejected,

        (p̂ + z²/2n ± z √(p̂(1 − p̂)/n + z²/4n²)) / (1 + z²/n).

    NaN where the denominator is 0.
    """
    x = np.asarray(numerator, dtype=float)
    n = np.asarray(denominator, dtype=float)
    z = _two_sided_z(level)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half_width = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        low = np.where(n > 0, np.clip(centre - half_width, 0.0, 1.0), np.nan)
        high = np.where(n > 0, np.clip(centre + half_width, 0.0, 1.0), np.nan)
    # The exact bounds at x = 0 and x = n are 0 and 1; floating point can miss them by 1e-17.
    low = np.where((x == 0) & (n > 0), 0.0, low)
    high = np.where((x == n) & (n > 0), 1.0, high)
    return low, high


def rates_with_interval(numerators: ArrayLike, denominators: ArrayLike) -> dict[str, np.ndarray]:
    """Per cell the rate (numerator / denominator) and its 95% Wilson interval (`wilson_interval`); NaN where the
    denominator is 0."""
    x = np.asarray(numerators, dtype=float)
    n = np.asarray(denominators, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(n > 0, x / np.maximum(n, 1), np.nan)
    low, high = wilson_interval(x, n)
    return {"rate": rate, "ci_low": low, "ci_high": high}


def clopper_pearson_interval(numerator: ArrayLike, denominator: ArrayLike,
                             level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper–Pearson 1934, Biometrika 26:404) interval from beta quantiles:
    lower = B(α/2; x, n − x + 1), upper = B(1 − α/2; x + 1, n − x), with 0 and 1 at the edges.
    """
    x = np.asarray(numerator, dtype=float)
    n = np.asarray(denominator, dtype=float)
    alpha = 1 - level
    with np.errstate(divide="ignore", invalid="ignore"):
        low = np.where(x > 0, stats.beta.ppf(alpha / 2, x, n - x + 1), 0.0)
        high = np.where(x < n, stats.beta.ppf(1 - alpha / 2, x + 1, n - x), 1.0)
    return np.where(n > 0, low, np.nan), np.where(n > 0, high, np.nan)


def _interpolated_quantile(distribution: Any, probability: float, *parameters: np.ndarray) -> np.ndarray:
    """r_p − α: the `probability` quantile r_p of a discrete scipy distribution with `parameters`, made continuous
    by the interpolation of Spiegelhalter (2005, appendix A.1.1): α = (P(≤ r_p) − p) / (P(≤ r_p) − P(≤ r_p − 1)).
    (Not a frozen distribution: freezing formats its docstring, which costs more than the computation.)"""
    quantile = distribution.ppf(probability, *parameters)
    at_quantile = distribution.cdf(quantile, *parameters)
    below_quantile = distribution.cdf(quantile - 1, *parameters)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(at_quantile > below_quantile,
                         (at_quantile - probability) / (at_quantile - below_quantile), 0.0)
    interpolated: np.ndarray = quantile - alpha
    return interpolated


def binomial_control_limit(target: ArrayLike, denominators: ArrayLike, probability: float, *,
                           clip: bool = True) -> np.ndarray:
    """The `probability` quantile of the observed proportion under H0: y ~ Binomial(n, target), made
    continuous by the interpolation of Spiegelhalter (2005, "Funnel plots for comparing institutional
    performance", Stat Med 24:1185, appendix A.1.1):

        r_p = smallest r with P(y ≤ r) ≥ p,  α = (P(y ≤ r_p) − p) / (P(y ≤ r_p) − P(y ≤ r_p − 1)),
        limit = (r_p − α) / n,

    clipped to [0, 1] (`clip=False`: as interpolated, which at r_p = 0 can be below 0). NaN where n is 0. `target` may
    be an array (one target per denominator).
    A target of 0 or 1 is a degenerate distribution (every unit must equal it): the limit is the target
    itself, where the interpolation would otherwise put it a fraction inside and flag units that equal it.
    """
    n = np.asarray(denominators, dtype=float)
    p0 = np.asarray(target, dtype=float)
    safe_n = np.where(n > 0, n, 1)
    count = _interpolated_quantile(stats.binom, probability, safe_n, p0)
    limit = np.clip(count / safe_n, 0.0, 1.0) if clip else count / safe_n
    target_array = np.broadcast_to(p0, limit.shape)
    limit = np.where((target_array <= 0) | (target_array >= 1), target_array, limit)
    return np.where(n > 0, limit, np.nan)


def binomial_funnel_limits(target: ArrayLike, denominators: ArrayLike,
                           level: float = 0.95, *, clip: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Exact binomial funnel control limits at `level` (e.g. 0.95, 0.998) around `target` for each
    denominator (Spiegelhalter 2005, section 2 and appendix A.1.1): the (1 − level)/2 and (1 + level)/2
    quantiles of Binomial(n, target)/n with the paper's interpolation."""
    lower = binomial_control_limit(target, denominators, (1 - level) / 2, clip=clip)
    upper = binomial_control_limit(target, denominators, (1 + level) / 2, clip=clip)
    return lower, upper


def arcsine_scale(numerator: ArrayLike, denominator: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """A proportion on the variance-stabilising arcsine-square-root scale (Spiegelhalter 2005, section 5.3;
    FunnelPlotR, data_type "PR"): y = arcsin √(x/n) with standard error s = 1/(2√n), whatever the rate, so
    one between-unit variance τ² fits rates near 0 (the ‰ indicators) as well as rates near ½."""
    x = np.asarray(numerator, dtype=float)
    n = np.asarray(denominator, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.arcsin(np.sqrt(np.clip(x / n, 0.0, 1.0)))
        s = 1 / (2 * np.sqrt(n))
    return y, s


def square_root_ratio_scale(observed: ArrayLike, expected: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """An indirectly standardised ratio O/E on the square-root scale (Spiegelhalter 2005, section 5.3; the
    CQC variant of FunnelPlotR's "SR" funnel): y = √(O/E) with standard error s = 1/(2√E) under Poisson
    O, target 1. Unlike the log scale it is finite at O = 0, which small counts (mortality) often give."""
    o = np.asarray(observed, dtype=float)
    e = np.asarray(expected, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(o / e), 1 / (2 * np.sqrt(e))


def winsorise(values: ArrayLike, fraction: float = DEFAULT_WINSORISING_FRACTION) -> np.ndarray:
    """Winsorising as in Spiegelhalter (2005, section 5.1): rank the values and pull the most extreme
    `fraction` at each end in to the nearest value that is kept (k = ⌊fraction × I⌋ values per tail)."""
    array = np.asarray(values, dtype=float)
    count = array.size
    k = int(np.floor(fraction * count))
    if k == 0 or count == 0:
        return array.copy()
    ordered = np.sort(array)
    clipped: np.ndarray = np.clip(array, ordered[k], ordered[count - 1 - k])
    return clipped


@dataclass(frozen=True)
class Overdispersion:
    """Overdispersion estimates of a set of units around a target (Spiegelhalter 2005, section 5).

    phi: multiplicative factor (mean of squared Winsorised z-scores); tau2: additive between-unit
    variance on the scale of the z-scores (DerSimonian–Laird); units: number of units used; p_value: test of
    I·φ against χ²(I − 1) under no overdispersion.
    """

    phi: float
    tau2: float
    units: int
    p_value: float


def estimate_overdispersion(z_scores: ArrayLike, standard_errors: ArrayLike,
                            fraction: float = DEFAULT_WINSORISING_FRACTION) -> Overdispersion:
    """Multiplicative and additive overdispersion from z-scores zᵢ = (yᵢ − y0)/sᵢ on some scale y.

    φ̂ = (1/I) Σ z_w², z_w the Winsorised z-scores (Spiegelhalter 2005, eq. 5; Spiegelhalter et al. 2012,
    JRSS A 175:1, section 6.4), tested as I·φ̂ against χ²(I − 1). The additive random-effects variance is
    the DerSimonian–Laird (1986) moment estimator on these z-scores (Spiegelhalter 2005, section 5.2):

        τ̂² = max(0, (I φ̂ − (I − 1)) / (Σ wᵢ − Σ wᵢ² / Σ wᵢ)),  wᵢ = 1/sᵢ².

    With fraction = 0 and y0 = the inverse-variance weighted mean this is exactly the DerSimonian–Laird
    estimate of a meta-analysis. Units whose z-score is not finite are left out.
    """
    z_all = np.asarray(z_scores, dtype=float)
    s_all = np.broadcast_to(np.asarray(standard_errors, dtype=float), z_all.shape)
    finite = np.isfinite(z_all) & np.isfinite(s_all) & (s_all > 0)
    z = winsorise(z_all[finite], fraction)
    units = int(z.size)
    if units < 2:
        return Overdispersion(phi=1.0, tau2=0.0, units=units, p_value=1.0)
    phi = float(np.mean(z * z))
    weights = 1 / (s_all[finite] ** 2)
    denominator_of_tau = weights.sum() - (weights * weights).sum() / weights.sum()
    tau2 = float(max(0.0, (units * phi - (units - 1)) / denominator_of_tau)) if denominator_of_tau > 0 else 0.0
    # special.chdtrc is stats.chi2.sf without its argument checking, which costs more than the sum itself.
    p_value = float(special.chdtrc(units - 1, units * phi))
    return Overdispersion(phi=phi, tau2=tau2, units=units, p_value=p_value)


def widened_half_width(standard_errors: ArrayLike, level: float, *, phi: ArrayLike | None = None,
                       tau2: ArrayLike | None = None) -> np.ndarray:
    """z_level × √(φ s² + τ²): the half-width of overdispersed limits on the scale of s (Spiegelhalter 2005,
    section 5): multiplicative (φ; below 1 it is not used to narrow them) or additive (τ²). φ and τ² may be one
    per standard error."""
    s = np.asarray(standard_errors, dtype=float)
    factor = np.maximum(np.asarray(phi, dtype=float), 1.0) if phi is not None else 1.0
    between = np.asarray(tau2, dtype=float) if tau2 is not None else 0.0
    half_width: np.ndarray = _two_sided_z(level) * np.sqrt(s * s * factor + between)
    return half_width


def arcsine_funnel_limits(target: float | np.ndarray, denominators: ArrayLike, level: float = 0.95, *,
                          phi: ArrayLike | None = None, tau2: ArrayLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Funnel limits for a proportion widened for overdispersion on the arcsine scale (`arcsine_scale`;
    Spiegelhalter 2005, section 5.3; FunnelPlotR "PR"): sin²(arcsin √p0 ± z √(φ/(4n) + τ²)), the angle
    kept within [0, π/2] so that a limit never folds back above 0 or below 1."""
    n = np.asarray(denominators, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = np.arcsin(np.sqrt(np.clip(target, 0.0, 1.0)))
        half_width = widened_half_width(1 / (2 * np.sqrt(n)), level, phi=phi, tau2=tau2)
        lower = np.sin(np.clip(centre - half_width, 0.0, np.pi / 2)) ** 2
        upper = np.sin(np.clip(centre + half_width, 0.0, np.pi / 2)) ** 2
    return np.where(n > 0, lower, np.nan), np.where(n > 0, upper, np.nan)


def poisson_control_limit(expected: ArrayLike, probability: float, *, clip: bool = True) -> np.ndarray:
    """The `probability` quantile of O/E under H0: O ~ Poisson(E), made continuous by the interpolation of
    Spiegelhalter (2005, appendix A.1.2, as A.1.1 for the binomial): r_p the smallest r with P(O ≤ r) ≥ p,
    α = (P(O ≤ r_p) − p) / (P(O ≤ r_p) − P(O ≤ r_p − 1)), limit = (r_p − α)/E. NaN where E is 0."""
    e = np.asarray(expected, dtype=float)
    safe_e = np.where(e > 0, e, 1.0)
    count = _interpolated_quantile(stats.poisson, probability, safe_e)
    limit = np.maximum(count / safe_e, 0.0) if clip else count / safe_e
    return np.where(e > 0, limit, np.nan)


def poisson_funnel_limits(expected: ArrayLike, level: float = 0.95, *,
                          clip: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Exact Poisson funnel limits for O/E around 1 at `level` for each expected count (Spiegelhalter 2005,
    section 2 and appendix A.1.2; FunnelPlotR "SR" without overdispersion)."""
    return (poisson_control_limit(expected, (1 - level) / 2, clip=clip),
            poisson_control_limit(expected, (1 + level) / 2, clip=clip))


def ratio_funnel_limits(expected: ArrayLike, level: float = 0.95, *, phi: ArrayLike | None = None,
                        tau2: ArrayLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Funnel limits for O/E widened for overdispersion on the square-root scale (`square_root_ratio_scale`;
    Spiegelhalter 2005, section 5.3): (1 ± z √(φ/(4E) + τ²))², the lower one not below 0."""
    e = np.asarray(expected, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        half_width = widened_half_width(1 / (2 * np.sqrt(e)), level, phi=phi, tau2=tau2)
        lower = np.clip(1 - half_width, 0.0, None) ** 2
        upper = (1 + half_width) ** 2
    return np.where(e > 0, lower, np.nan), np.where(e > 0, upper, np.nan)


#: Where a value can lie against its limits (`funnel_position`; the engine's O/E ratio against 1 likewise); an
#: empty string where there is no value.
FUNNEL_POSITIONS = ("above_998", "above_95", "within", "below_95", "below_998")


def funnel_position(rate: ArrayLike, lower_95: ArrayLike, upper_95: ArrayLike, lower_998: ArrayLike,
                    upper_998: ArrayLike) -> np.ndarray:
    """Where each rate lies against its limits: above_998, above_95, within, below_95 or below_998
    (on a limit counts as within); empty string where the rate is NaN."""
    rate = np.asarray(rate, dtype=float)
    position = np.full(rate.shape, "within", dtype=object)
    position[rate > np.asarray(upper_95)] = "above_95"
    position[rate > np.asarray(upper_998)] = "above_998"
    position[rate < np.asarray(lower_95)] = "below_95"
    position[rate < np.asarray(lower_998)] = "below_998"
    position[np.isnan(rate)] = ""
    return position


def poisson_interval(observed: ArrayLike, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact interval for a Poisson count (Garwood 1936, Biometrika 28:437; as used for the SMR by
    Ulm 1990, Am J Epidemiol 131:373): lower = χ²(α/2; 2O)/2 (0 when O = 0),
    upper = χ²(1 − α/2; 2O + 2)/2."""
    o = np.asarray(observed, dtype=float)
    alpha = 1 - level
    with np.errstate(invalid="ignore"):
        lower = np.where(o > 0, stats.chi2.ppf(alpha / 2, 2 * o) / 2, 0.0)
    # An array also for a single count (scipy hands back a numpy scalar for 0-d input), like `lower`.
    upper = np.asarray(stats.chi2.ppf(1 - alpha / 2, 2 * o + 2) / 2)
    return lower, upper


def observed_expected_ratio(observed: ArrayLike, expected: ArrayLike,
                            level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indirectly standardised ratio O/E with the exact Poisson interval of O divided by E (Ulm 1990;
    Breslow & Day 1987, vol. II ch. 2). E = Σ_strata nᵢₛ · p_s is computed by the caller from reference
    stratum rates. NaN where E is 0."""
    o = np.asarray(observed, dtype=float)
    e = np.asarray(expected, dtype=float)
    lower, upper = poisson_interval(o, level)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(e > 0, o / e, np.nan)
        return ratio, np.where(e > 0, lower / e, np.nan), np.where(e > 0, upper / e, np.nan)
