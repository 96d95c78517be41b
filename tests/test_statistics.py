"""The statistics functions against independent libraries (scipy, statsmodels) and published examples."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.stats import mstats
from statsmodels.stats.meta_analysis import combine_effects
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.rates import confint_poisson

from queries.statistics import (
    FUNNEL_POSITIONS,
    arcsine_funnel_limits,
    arcsine_scale,
    binomial_control_limit,
    binomial_funnel_limits,
    clopper_pearson_interval,
    estimate_overdispersion,
    funnel_position,
    observed_expected_ratio,
    poisson_funnel_limits,
    poisson_interval,
    ratio_funnel_limits,
    square_root_ratio_scale,
    wilson_interval,
    winsorise,
)

# Newcombe (1998), "Two-sided confidence intervals for the single proportion", Stat Med 17:857,
# Table II: method 3 (Wilson score) and method 5 (Clopper–Pearson exact), 95%.
NEWCOMBE_EXAMPLES = [
    # x, n, wilson low, wilson high, exact low, exact high
    (81, 263, 0.2553, 0.3662, 0.2527, 0.3676),
    (15, 148, 0.0624, 0.1605, 0.0578, 0.1617),
    (0, 20, 0.0000, 0.1611, 0.0000, 0.1684),
    (1, 29, 0.0061, 0.1718, 0.0009, 0.1776),
]


@pytest.mark.parametrize(("x", "n", "wilson_low", "wilson_high", "exact_low", "exact_high"), NEWCOMBE_EXAMPLES)
def test_intervals_reproduce_newcombe_1998(x, n, wilson_low, wilson_high, exact_low, exact_high):
    low, high = wilson_interval(x, n)
    assert (round(float(low), 4), round(float(high), 4)) == (wilson_low, wilson_high)
    low, high = clopper_pearson_interval(x, n)
    assert (round(float(low), 4), round(float(high), 4)) == (exact_low, exact_high)


def test_intervals_match_statsmodels_over_a_grid():
    x = np.array([0, 1, 2, 5, 9, 10, 37, 120, 499, 500])
    n = np.array([10, 10, 15, 40, 9, 400, 60, 1000, 500, 500])
    for level in (0.95, 0.998):
        low, high = wilson_interval(x, n, level)
        expected_low, expected_high = proportion_confint(x, n, alpha=1 - level, method="wilson")
        np.testing.assert_allclose(low, expected_low, atol=1e-12)
        np.testing.assert_allclose(high, expected_high, atol=1e-12)
        low, high = clopper_pearson_interval(x, n, level)
        expected_low, expected_high = proportion_confint(x, n, alpha=1 - level, method="beta")
        np.testing.assert_allclose(low, expected_low, atol=1e-10)
        np.testing.assert_allclose(high, expected_high, atol=1e-10)


def test_interval_of_an_empty_denominator_is_not_a_number():
    low, high = wilson_interval(np.array([0]), np.array([0]))
    assert np.isnan(low[0]) and np.isnan(high[0])


@pytest.mark.parametrize("target", [0.02, 0.16, 0.5])
@pytest.mark.parametrize("probability", [0.001, 0.025, 0.975, 0.999])
def test_funnel_limit_is_the_linear_interpolation_of_the_binomial_cdf(target, probability):
    """Spiegelhalter's α-interpolation (appendix A.1.1) is the straight line between the cdf's steps:
    the count at which the cdf, joined linearly between integers, reaches p — computed here with np.interp
    on scipy's binomial cdf."""
    for n in (5, 10, 37, 100, 1000, 5000):
        counts = np.arange(0, n + 1)
        cdf = stats.binom.cdf(counts, n, target)
        # np.interp needs increasing x; the cdf can be flat at 1.0 in the far tail, so cut there.
        last = int(np.argmax(cdf >= 1 - 1e-15)) + 1
        expected = np.interp(probability, cdf[:last], counts[:last]) / n
        assert binomial_control_limit(target, [n], probability)[0] == pytest.approx(expected, abs=1e-12)


def test_funnel_limits_take_one_target_per_denominator():
    targets, denominators = np.array([0.05, 0.16, 0.6]), np.array([40, 250, 1000])
    together = binomial_control_limit(targets, denominators, 0.975)
    one_by_one = [binomial_control_limit(t, [n], 0.975)[0] for t, n in zip(targets, denominators, strict=True)]
    np.testing.assert_allclose(together, one_by_one)


def test_exact_funnel_limits_approach_the_normal_limits_for_large_denominators():
    target, n = 0.16, 200_000
    for level in (0.95, 0.998):
        lower, upper = binomial_funnel_limits(target, [n], level)
        z = stats.norm.ppf(0.5 + level / 2)
        half_width = z * np.sqrt(target * (1 - target) / n)
        assert lower[0] == pytest.approx(target - half_width, abs=2e-5)
        assert upper[0] == pytest.approx(target + half_width, abs=2e-5)


def test_funnel_narrows_with_the_denominator_and_998_is_wider_than_95():
    n = np.array([10, 50, 200, 1000, 10000])
    lower_95, upper_95 = binomial_funnel_limits(0.2, n, 0.95)
    lower_998, upper_998 = binomial_funnel_limits(0.2, n, 0.998)
    assert np.all(np.diff(upper_95) < 0) and np.all(np.diff(lower_95[1:]) > 0)
    assert np.all(upper_998 >= upper_95) and np.all(lower_998 <= lower_95)


def test_winsorising_matches_scipy():
    values = np.random.default_rng(3).normal(size=37) * 3
    expected = np.asarray(mstats.winsorize(values, limits=(0.1, 0.1)))
    np.testing.assert_allclose(winsorise(values, 0.1), expected)


def _raw_scale(numerators: np.ndarray, denominators: np.ndarray, target: float) -> tuple[np.ndarray, np.ndarray]:
    """z-scores on the proportion scale under the binomial null (Spiegelhalter 2005, section 5), and their s."""
    s = np.sqrt(target * (1 - target) / denominators)
    return (numerators / denominators - target) / s, s


def test_phi_without_winsorising_is_pearson_chi_square_over_units():
    """I·φ (no Winsorising, raw-scale z-scores, target = pooled rate) is Pearson's χ² of the units × outcome
    table, and the p-value is its χ²(I − 1) tail (scipy.stats.chi2_contingency)."""
    numerators = np.array([12, 30, 7, 55, 21, 9])
    denominators = np.array([100, 180, 90, 260, 150, 40])
    pooled = numerators.sum() / denominators.sum()
    estimate = estimate_overdispersion(*_raw_scale(numerators, denominators, pooled), fraction=0.0)
    table = np.column_stack([numerators, denominators - numerators])
    chi_square = stats.chi2_contingency(table, correction=False)
    assert estimate.phi * estimate.units == pytest.approx(chi_square.statistic, rel=1e-10)
    assert estimate.p_value == pytest.approx(chi_square.pvalue, rel=1e-8)


def test_additive_tau2_without_winsorising_is_dersimonian_laird():
    """With target = the inverse-variance weighted mean, τ² is the DerSimonian–Laird estimate of a
    random-effects meta-analysis (statsmodels combine_effects, method_re='dl')."""
    numerators = np.array([12, 30, 7, 55, 21, 9, 80])
    denominators = np.array([100, 180, 90, 260, 150, 40, 300])
    pooled = numerators.sum() / denominators.sum()
    estimate = estimate_overdispersion(*_raw_scale(numerators, denominators, pooled), fraction=0.0)
    meta = combine_effects(numerators / denominators, pooled * (1 - pooled) / denominators, method_re="dl")
    assert meta.tau2 > 0
    assert estimate.tau2 == pytest.approx(meta.tau2, rel=1e-10)


def test_tau2_on_the_arcsine_scale_is_dersimonian_laird_of_the_transformed_rates():
    """On the arcsine scale (y = arcsin √p, s = 1/(2√n)) the same holds with the transformed rates as the
    effects: statsmodels' DerSimonian–Laird τ² of y with variances 1/(4n)."""
    numerators = np.array([3, 11, 0, 25, 8, 2, 40])
    denominators = np.array([900, 1500, 400, 2600, 1200, 700, 3000])
    y, s = arcsine_scale(numerators, denominators)
    weights = 1 / s**2
    centre = (weights * y).sum() / weights.sum()
    estimate = estimate_overdispersion((y - centre) / s, s, fraction=0.0)
    meta = combine_effects(y, s**2, method_re="dl")
    assert meta.tau2 > 0
    assert estimate.tau2 == pytest.approx(meta.tau2, rel=1e-10)
    np.testing.assert_allclose(s, 1 / (2 * np.sqrt(denominators)))


def test_no_overdispersion_gives_no_additive_variance():
    denominators = np.full(50, 1000)
    numerators = np.full(50, 160)  # every unit exactly on target: φ = 0
    estimate = estimate_overdispersion(*_raw_scale(numerators, denominators, 0.16))
    assert estimate.phi == 0 and estimate.tau2 == 0 and estimate.p_value == pytest.approx(1.0)


def test_arcsine_limits_widen_as_specified():
    n = np.array([100.0, 1000.0])
    z = stats.norm.ppf(0.975)
    centre = np.arcsin(np.sqrt(0.2))
    lower, upper = arcsine_funnel_limits(0.2, n, 0.95, phi=1.0)
    # On the angle scale the half-width is z/(2√n) ...
    np.testing.assert_allclose(np.arcsin(np.sqrt(upper)) - centre, z / (2 * np.sqrt(n)))
    np.testing.assert_allclose(centre - np.arcsin(np.sqrt(lower)), z / (2 * np.sqrt(n)))
    # ... which for large n is the normal approximation's p0 ± z √(p0(1 − p0)/n) (the delta method).
    big_upper = arcsine_funnel_limits(0.2, [1e7], 0.95)[1]
    assert big_upper[0] - 0.2 == pytest.approx(z * np.sqrt(0.16 / 1e7), rel=1e-3)
    quadrupled = arcsine_funnel_limits(0.2, n, 0.95, phi=4.0)
    np.testing.assert_allclose(np.arcsin(np.sqrt(quadrupled[1])) - centre, 2 * z / (2 * np.sqrt(n)))  # √φ = 2
    # φ < 1 never narrows the funnel.
    np.testing.assert_allclose(arcsine_funnel_limits(0.2, n, 0.95, phi=0.5)[1], upper)
    # Additive: for huge n only the between-unit spread is left.
    huge = arcsine_funnel_limits(0.2, [1e12], 0.95, tau2=0.0004)
    assert np.arcsin(np.sqrt(huge[1][0])) - centre == pytest.approx(z * 0.02, rel=1e-6)


def test_arcsine_limits_never_fold_back_at_small_rates():
    # 2‰ at n = 50: the angle's lower limit is below 0; sin² of a negative angle would fold it back up.
    lower, upper = arcsine_funnel_limits(0.002, [50.0], 0.998, tau2=0.001)
    assert lower[0] == 0.0 and upper[0] > 0.002


def test_exact_poisson_limits_are_the_limit_of_exact_binomial_limits():
    """O ~ Poisson(E) is the limit of Binomial(n, E/n) for large n: the interpolated Poisson limits of O/E
    approach the (independently checked) binomial limits × n/E."""
    expected = np.array([2.0, 7.5, 40.0, 300.0])
    n = 1e8
    for level in (0.95, 0.998):
        lower, upper = poisson_funnel_limits(expected, level)
        binomial_lower, binomial_upper = binomial_funnel_limits(expected / n, np.full(4, n), level)
        np.testing.assert_allclose(lower, binomial_lower * n / expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(upper, binomial_upper * n / expected, rtol=1e-5)


def test_exact_poisson_limits_hold_the_stated_probability():
    # Without interpolation, the 97.5% limit r/E has P(O ≤ r) ≥ 0.975 > P(O ≤ r − 1) (scipy.stats.poisson).
    expected = np.array([3.0, 12.0, 90.0])
    _, upper = poisson_funnel_limits(expected, 0.95)
    r = np.ceil(upper * expected)
    assert np.all(stats.poisson.cdf(r, expected) >= 0.975)
    assert np.all(stats.poisson.cdf(r - 1, expected) < 0.975)


def test_ratio_limits_on_the_square_root_scale():
    expected = np.array([4.0, 100.0])
    z = stats.norm.ppf(0.975)
    lower, upper = ratio_funnel_limits(expected, 0.95)
    np.testing.assert_allclose(np.sqrt(upper) - 1, z / (2 * np.sqrt(expected)))
    np.testing.assert_allclose(lower, (1 - z / (2 * np.sqrt(expected))) ** 2)
    assert ratio_funnel_limits([0.5], 0.95)[0][0] == 0.0  # a half-width beyond 1 is clipped at 0, not squared back up
    widened = ratio_funnel_limits(expected, 0.95, tau2=0.01)
    np.testing.assert_allclose(np.sqrt(widened[1]) - 1, z * np.sqrt(1 / (4 * expected) + 0.01))
    y, s = square_root_ratio_scale([0, 9], [4.0, 4.0])
    np.testing.assert_allclose(y, [0.0, 1.5])
    np.testing.assert_allclose(s, [0.25, 0.25])


def test_funnel_position_classifies_against_both_limit_pairs():
    rates = np.array([0.5, 0.3, 0.2, 0.1, 0.01, np.nan, 0.25])
    position = funnel_position(rates, [0.15] * 7, [0.25] * 7, [0.05] * 7, [0.35] * 7)
    assert list(position) == ["above_998", "above_95", "within", "below_95", "below_998", "", "within"]


def test_poisson_interval_reproduces_published_values_and_statsmodels():
    # Exact 95% limits for a Poisson count (e.g. Breslow & Day 1987, vol. II, appendix table):
    # 0 → (0, 3.689); 3 → (0.619, 8.767); 10 → (4.795, 18.390).
    lower, upper = poisson_interval(np.array([0, 3, 10]))
    np.testing.assert_allclose(np.round(lower, 3), [0.0, 0.619, 4.795])
    np.testing.assert_allclose(np.round(upper, 3), [3.689, 8.767, 18.390])
    counts = np.array([0, 1, 4, 17, 250])
    expected_low, expected_high = confint_poisson(counts, 1, method="exact-c")
    lower, upper = poisson_interval(counts)
    np.testing.assert_allclose(lower, expected_low, atol=1e-10)
    np.testing.assert_allclose(upper, expected_high, rtol=1e-10)


def test_observed_expected_ratio_uses_exact_poisson_interval_of_observed():
    ratio, low, high = observed_expected_ratio([10, 0], [5.0, 2.0])
    assert ratio[0] == 2.0 and ratio[1] == 0.0
    expected_low, expected_high = confint_poisson(np.array([10, 0]), np.array([5.0, 2.0]), method="exact-c")
    np.testing.assert_allclose(low, expected_low, atol=1e-10)
    np.testing.assert_allclose(high, expected_high, rtol=1e-10)
    assert np.isnan(observed_expected_ratio([1], [0.0])[0][0])


def test_a_unit_equal_to_a_national_rate_of_0_or_100_percent_is_within_the_limits() -> None:
    # Early booking 191/191 against 400/400 nationally was shown as "better": degenerate limits must be the target.
    from queries.statistics import binomial_funnel_limits, funnel_position

    for target in (0.0, 1.0):
        lower_95, upper_95 = binomial_funnel_limits(target, [191, 5000], 0.95)
        lower_998, upper_998 = binomial_funnel_limits(target, [191, 5000], 0.998)
        position = funnel_position([target, target], lower_95, upper_95, lower_998, upper_998)
        assert list(position) == ["within", "within"]


def test_poisson_interval_gives_arrays_also_for_a_single_count():
    # As annotated (and as `lower` always was): scipy alone hands back a numpy scalar for 0-d input.
    lower, upper = poisson_interval(3)
    assert isinstance(lower, np.ndarray)
    assert isinstance(upper, np.ndarray)
    assert float(lower) == pytest.approx(0.619, abs=1e-3)
    assert float(upper) == pytest.approx(8.767, abs=1e-3)


def test_every_funnel_position_is_one_the_pages_can_name() -> None:
    # The texts catalogue labels exactly FUNNEL_POSITIONS (tests/test_texts.py); a new position must be added there.
    rng = np.random.default_rng(3)
    rates = np.append(rng.uniform(0, 1, 500), np.nan)
    lower_998, upper_998 = np.full(501, 0.1), np.full(501, 0.9)
    lower_95, upper_95 = np.full(501, 0.3), np.full(501, 0.7)
    positions = set(funnel_position(rates, lower_95, upper_95, lower_998, upper_998))
    assert positions == {*FUNNEL_POSITIONS, ""}
