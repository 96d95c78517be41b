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
    binomial_control_limit,
    binomial_funnel_limits,
    clopper_pearson_interval,
    estimate_overdispersion,
    funnel_position,
    funnel_z_scores,
    observed_expected_ratio,
    overdispersed_funnel_limits,
    poisson_interval,
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


def test_phi_without_winsorising_is_pearson_chi_square_over_units():
    """I·φ (no Winsorising, target = pooled rate) is Pearson's χ² of the units × outcome table, and the
    p-value is its χ²(I − 1) tail (scipy.stats.chi2_contingency)."""
    numerators = np.array([12, 30, 7, 55, 21, 9])
    denominators = np.array([100, 180, 90, 260, 150, 40])
    pooled = numerators.sum() / denominators.sum()
    estimate = estimate_overdispersion(numerators, denominators, pooled, fraction=0.0)
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
    estimate = estimate_overdispersion(numerators, denominators, pooled, fraction=0.0)
    meta = combine_effects(numerators / denominators, pooled * (1 - pooled) / denominators, method_re="dl")
    assert meta.tau2 > 0
    assert estimate.tau2 == pytest.approx(meta.tau2, rel=1e-10)


def test_no_overdispersion_gives_no_additive_variance():
    denominators = np.full(50, 1000)
    numerators = np.full(50, 160)  # every unit exactly on target: φ = 0
    estimate = estimate_overdispersion(numerators, denominators, 0.16)
    assert estimate.phi == 0 and estimate.tau2 == 0


def test_overdispersed_limits_widen_as_specified():
    n = np.array([100.0, 1000.0])
    base = overdispersed_funnel_limits(0.2, n, 0.95, phi=1.0)
    normal_half_width = stats.norm.ppf(0.975) * np.sqrt(0.2 * 0.8 / n)
    np.testing.assert_allclose(base[1] - 0.2, normal_half_width)
    quadrupled = overdispersed_funnel_limits(0.2, n, 0.95, phi=4.0)
    np.testing.assert_allclose(quadrupled[1] - 0.2, 2 * normal_half_width)  # √φ = 2
    # φ < 1 never narrows the funnel.
    np.testing.assert_allclose(overdispersed_funnel_limits(0.2, n, 0.95, phi=0.5)[1], base[1])
    # Additive: for huge n only the between-unit spread is left.
    huge = overdispersed_funnel_limits(0.2, [1e12], 0.95, tau2=0.0004)
    assert huge[1][0] - 0.2 == pytest.approx(stats.norm.ppf(0.975) * 0.02, rel=1e-6)


def test_z_scores_are_standardised_deviations():
    z = funnel_z_scores([30], [100], 0.2)
    assert z[0] == pytest.approx((0.3 - 0.2) / np.sqrt(0.2 * 0.8 / 100))


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
