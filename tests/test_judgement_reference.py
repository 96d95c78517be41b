"""The funnel statistics and the judgement against an independent reference computed in R.

How tests/fixtures/funnelplotr_reference.json was produced
-----------------------------------------------------------
R 4.2.2 Patched (2022-11-10 r83330), Debian package r-base-core 4.2.2.20221110-2, jsonlite (digits = I(17), which
jsonlite writes with 15 significant digits). A scratch script outside this repository transcribed FunnelPlotR's
base-R functions (nhs-r-community/FunnelPlotR; its code is not in this repository):

- R/od_adjustment.R @ 225b14db38b449992b9d20300feaa8e7ee3c997d: transformed_zscore (data_type "PR", and "SR" with
  sr_method "CQC"), winsorisation (quantile() type 7 at 0.1 / 0.9), phi_func, tau_func;
- R/funnel_plot.R @ d8d196781577bff2d5761dab0aa66c7b4617119d: how they are called (n = number of non-NA Winsorised
  z-scores, phi = phi_func(n, Wuzscore), Tau2 = tau_func(n, phi, s) with all s);
- R/od_limits.R @ 0a237673f7300332275ee2ea762bb525154527e4: OD_limits, the per-unit limits (fixture key
  funnelplotr.od_limits_at_our_tau2, evaluated at *our* τ² so that only the formula differs);
- R/build_limits_lookup.R @ 21910a6ce9791570bf2c8a5ac974d2f4ec91cc1b: the CQC curve odll95/odul95/odll998/odul998
  (1 ± z √((1/(2√E))² + τ²))², evaluated at each unit's E (fixture key funnelplotr.cqc_lookup_at_our_tau2).

Beside them the script computed, in R, with exact qnorm(0.975) and qnorm(0.999) where FunnelPlotR writes 1.959964 and
3.090232: the Winsorising of statistics.winsorise (k = floor(0.1 I) values per tail pulled in to the (k+1)-th
smallest / largest: `o <- sort(z); pmin(pmax(z, o[k + 1]), o[I - k])`) with phi_func / tau_func on it and
pchisq(I φ, I − 1, lower.tail = FALSE) (key rank_winsorised); the additive limits sin²(y0 ± z√(s² + τ²)) and
(1 ± z√(s² + τ²))² (key additive, with the unclipped angle / root beside the clipped limit) and the multiplicative
ones with φ (key multiplicative); the exact limits of Spiegelhalter (2005) appendix A.1.1 / A.1.2 from
qbinom/pbinom and qpois/ppois, r_p − (F(r_p) − p)/(F(r_p) − F(r_p − 1)), divided by n or E (key exact); and
FunnelPlotR's outlier rule (outside a limit, on it is inside) against those limits (keys additive_positions,
exact_positions). The data (recipes and seeds also in the fixture, keys recipe / seed):

- proportion_mixed: set.seed(20050101); n <- round(exp(runif(30, log(60), log(4000)))); p <- rbeta(30, 12, 138);
  p[1:3] <- 0.004; x <- rbinom(30, n, p); x[1] <- 0  (≈ 7%, three ‰-like units, one with zero events);
- proportion_per_mille: set.seed(20050202); n <- round(exp(runif(30, log(100), log(6000))));
  p <- rbeta(30, 1.6, 398.4); x <- rbinom(30, n, p)  (≈ 4‰, five units with zero events, lower angles below 0);
- ratio_overdispersed: set.seed(20050303); E <- exp(runif(30, log(1.5), log(200))); theta <- rgamma(30, 5, 5);
  O <- rpois(30, E * theta); E <- E * sum(O) / sum(E)  (CQC square-root O/E; lower 99.8% roots below 0);
- ratio_poisson: set.seed(20050404); E <- exp(runif(25, log(3), log(150))); O <- rpois(25, E);
  E <- E * sum(O) / sum(E)  (no overdispersion).

Two FunnelPlotR quirks are compared explicitly, not copied:
1. PR: OD_limits takes sin(angle)² of an angle that may be below 0, which folds the lower limit back above 0 (and
   flags zero-event units as below it); ours keeps the angle within [0, π/2]. Compared only where the angle is inside.
2. CQC SR: OD_limits writes 1 ± z √(s + sqrt(tau2)^2) — a standard error added to a variance, and left on the
   square-root scale while O/E is compared on the ratio scale (FunnelPlotR issue #33). Under the additive random-
   effects model (Spiegelhalter 2005, section 5) √(O/E) ~ N(1, s² + τ²), so the limits are (1 ± z √(s² + τ²))², as
   FunnelPlotR's own build_limits_lookup draws them; ours are compared with that, clipped at 0 where 1 − z√(...) < 0
   (there build_limits_lookup's square folds back above 0 too).

Winsorising: FunnelPlotR's quantile() type 7 limits are numpy's default linear quantiles; with those the
Winsorised z-scores, φ and τ² of FunnelPlotR are reproduced by our DerSimonian–Laird formula, so the Winsorising rule
is the only difference. It moves φ by −6.3%, −0.8%, −1.2%, +3.6% and τ² by −7.7%, −1.6%, −1.7%, 0 on the four data
sets, and changes no overdispersion decision and no position.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from queries import judgement, statistics

FIXTURE = Path(__file__).parent / "fixtures" / "funnelplotr_reference.json"
REFERENCE: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
PROPORTIONS = ("proportion_mixed", "proportion_per_mille")
RATIOS = ("ratio_overdispersed", "ratio_poisson")
DATASETS = PROPORTIONS + RATIOS
LEVELS = ((0.95, "95", "OD95LCL", "OD95UCL"), (0.998, "998", "OD99LCL", "OD99UCL"))
# What the test of choice "auto" must decide on each data set (R's p-value: 1.6e-17, 3.8e-4, 5.7e-9, 0.985).
EXPECTED_AUTO = {"proportion_mixed": "additive", "proportion_per_mille": "additive",
                 "ratio_overdispersed": "additive", "ratio_poisson": "exact"}
# The formulas are the same: agreement to rounding. FunnelPlotR's 7-digit z constants (1.959964, 3.090232 against
# 1.95996398454…, 3.09023230616…) move its limits by up to 1.5e-7 relative.
RTOL = 1e-9
FUNNELPLOTR_RTOL, FUNNELPLOTR_ATOL = 2e-7, 1e-7
Z = {0.95: 1.959964, 0.998: 3.090232}


def _data(name: str) -> dict[str, Any]:
    return REFERENCE[name]


def _array(data: dict[str, Any], *keys: str) -> np.ndarray:
    value: Any = data
    for key in keys:
        value = value[key]
    return np.asarray(value, dtype=float)


def _z_scores(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Our transformed value, standard error and z-score of each unit."""
    data = _data(name)
    numerator, denominator = _array(data, "numerator"), _array(data, "denominator")
    if data["data_type"] == "PR":
        y, s = statistics.arcsine_scale(numerator, denominator)
        centre = np.arcsin(np.sqrt(numerator.sum() / denominator.sum()))
    else:
        y, s = statistics.square_root_ratio_scale(numerator, denominator)
        centre = 1.0
    return y, s, (y - centre) / s


def _additive_limits(name: str, level: float, tau2: float) -> tuple[np.ndarray, np.ndarray]:
    data = _data(name)
    if data["data_type"] == "PR":
        return statistics.arcsine_funnel_limits(data["target"], _array(data, "denominator"), level, tau2=tau2)
    return statistics.ratio_funnel_limits(_array(data, "denominator"), level, tau2=tau2)


def test_the_fixture_is_the_one_described():
    assert REFERENCE["provenance"]["r_version"].startswith("R version 4.2.2")
    assert {name: _data(name)["seed"] for name in DATASETS} == {
        "proportion_mixed": 20050101, "proportion_per_mille": 20050202,
        "ratio_overdispersed": 20050303, "ratio_poisson": 20050404}
    assert [len(_data(name)["numerator"]) for name in DATASETS] == [30, 30, 30, 25]
    # The cases the comparison is about are in the data: zero events, ‰ rates, folded angles and roots.
    assert 0 in _data("proportion_mixed")["numerator"] and 0 in _data("proportion_per_mille")["numerator"]
    assert (_array(_data("proportion_per_mille"), "additive", "angle_lower_95") < 0).sum() == 8
    assert (_array(_data("ratio_overdispersed"), "additive", "root_lower_998") < 0).sum() == 5


@pytest.mark.parametrize("name", DATASETS)
def test_transformed_values_and_z_scores_match_funnelplotr(name):
    data = _data(name)
    y, s, z = _z_scores(name)
    np.testing.assert_allclose(y, _array(data, "Y"), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(s, _array(data, "s"), rtol=1e-12)
    np.testing.assert_allclose(z, _array(data, "z"), rtol=1e-12, atol=1e-12)
    if data["data_type"] == "PR":
        assert data["target"] == pytest.approx(_array(data, "numerator").sum() / _array(data, "denominator").sum(),
                                               rel=1e-14)


@pytest.mark.parametrize("name", DATASETS)
def test_winsorising_matches_the_rank_rule_computed_in_r(name):
    _, _, z = _z_scores(name)
    np.testing.assert_allclose(statistics.winsorise(z), _array(_data(name), "rank_winsorised", "winsorised_z"),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", DATASETS)
def test_phi_tau2_and_p_value_match_r_with_our_winsorising(name):
    reference = _data(name)["rank_winsorised"]
    _, s, z = _z_scores(name)
    dispersion = statistics.estimate_overdispersion(z, s)
    assert dispersion.units == len(z)
    assert dispersion.phi == pytest.approx(reference["phi"], rel=RTOL)
    assert dispersion.tau2 == pytest.approx(reference["tau2"], rel=RTOL, abs=1e-15)
    assert dispersion.p_value == pytest.approx(reference["p_value"], rel=RTOL)


@pytest.mark.parametrize("name", DATASETS)
def test_funnelplotr_winsorising_is_type_7_quantiles_and_our_estimator_then_gives_its_phi_and_tau2(name):
    """The only difference from FunnelPlotR's φ and τ² is where the Winsorising clips."""
    reference = _data(name)["funnelplotr"]
    _, s, z = _z_scores(name)
    low, high = np.quantile(z, [0.1, 0.9])  # numpy's default "linear" = R's quantile() type 7
    assert (low, high) == pytest.approx((reference["lower_quantile"], reference["upper_quantile"]), rel=1e-12)
    clipped = np.clip(z, low, high)
    np.testing.assert_allclose(clipped, _array(_data(name), "funnelplotr", "winsorised_z"), rtol=1e-12, atol=1e-12)
    dispersion = statistics.estimate_overdispersion(clipped, s, fraction=0)
    assert dispersion.phi == pytest.approx(reference["phi"], rel=RTOL)
    assert dispersion.tau2 == pytest.approx(reference["tau2"], rel=RTOL, abs=1e-15)
    assert dispersion.p_value == pytest.approx(reference["p_value"], rel=RTOL)
    # ... and the two rules do clip differently (k-th kept value against an interpolated quantile).
    assert not np.allclose(statistics.winsorise(z), clipped)


@pytest.mark.parametrize("name", DATASETS)
def test_the_winsorising_difference_changes_no_decision_and_no_position(name):
    data = _data(name)
    ours, theirs = data["rank_winsorised"], data["funnelplotr"]
    assert abs(ours["phi"] - theirs["phi"]) / theirs["phi"] < 0.07
    assert abs(ours["tau2"] - theirs["tau2"]) <= 0.08 * theirs["tau2"]
    assert (ours["p_value"] < 0.05) == (theirs["p_value"] < 0.05)
    values = _array(data, "numerator") / _array(data, "denominator")
    at = {}
    for label, tau2 in (("ours", ours["tau2"]), ("theirs", theirs["tau2"])):
        lower_95, upper_95 = _additive_limits(name, 0.95, tau2)
        lower_998, upper_998 = _additive_limits(name, 0.998, tau2)
        at[label] = statistics.funnel_position(values, lower_95, upper_95, lower_998, upper_998)
    assert list(at["ours"]) == list(at["theirs"]) == data["additive_positions"]


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize(("level", "suffix"), [(level, suffix) for level, suffix, _, _ in LEVELS])
def test_additive_limits_match_r(name, level, suffix):
    data = _data(name)
    lower, upper = _additive_limits(name, level, data["rank_winsorised"]["tau2"])
    np.testing.assert_allclose(lower, _array(data, "additive", f"lower_{suffix}"), rtol=RTOL, atol=1e-15)
    np.testing.assert_allclose(upper, _array(data, "additive", f"upper_{suffix}"), rtol=RTOL)


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize(("level", "suffix"), [(level, suffix) for level, suffix, _, _ in LEVELS])
def test_multiplicative_limits_match_r(name, level, suffix):
    data = _data(name)
    denominators, phi = _array(data, "denominator"), data["rank_winsorised"]["phi"]
    if data["data_type"] == "PR":
        lower, upper = statistics.arcsine_funnel_limits(data["target"], denominators, level, phi=phi)
    else:
        lower, upper = statistics.ratio_funnel_limits(denominators, level, phi=phi)
    np.testing.assert_allclose(lower, _array(data, "multiplicative", f"lower_{suffix}"), rtol=RTOL, atol=1e-15)
    np.testing.assert_allclose(upper, _array(data, "multiplicative", f"upper_{suffix}"), rtol=RTOL)


@pytest.mark.parametrize("name", PROPORTIONS)
@pytest.mark.parametrize(("level", "suffix", "lower_key", "upper_key"), LEVELS)
def test_arcsine_limits_match_funnelplotr_od_limits_where_the_angle_is_inside(name, level, suffix, lower_key,
                                                                                upper_key):
    data = _data(name)
    lower, upper = _additive_limits(name, level, data["rank_winsorised"]["tau2"])
    theirs_lower = _array(data, "funnelplotr", "od_limits_at_our_tau2", lower_key)
    theirs_upper = _array(data, "funnelplotr", "od_limits_at_our_tau2", upper_key)
    assert (_array(data, "additive", f"angle_upper_{suffix}") <= np.pi / 2).all()
    np.testing.assert_allclose(upper, theirs_upper, rtol=FUNNELPLOTR_RTOL, atol=FUNNELPLOTR_ATOL)
    inside = _array(data, "additive", f"angle_lower_{suffix}") >= 0
    np.testing.assert_allclose(lower[inside], theirs_lower[inside], rtol=FUNNELPLOTR_RTOL, atol=FUNNELPLOTR_ATOL)
    # Quirk 1: below angle 0 FunnelPlotR's sin² folds back up; ours is 0, so a unit with no events is never below.
    assert (lower[~inside] == 0).all()
    assert (theirs_lower[~inside] > 0).all()
    if name == "proportion_per_mille":
        assert (~inside).sum() > 0


@pytest.mark.parametrize("name", RATIOS)
@pytest.mark.parametrize(("level", "suffix"), [(level, suffix) for level, suffix, _, _ in LEVELS])
def test_ratio_limits_match_funnelplotr_cqc_curve_where_the_root_is_inside(name, level, suffix):
    data = _data(name)
    lower, upper = _additive_limits(name, level, data["rank_winsorised"]["tau2"])
    curve = data["funnelplotr"]["cqc_lookup_at_our_tau2"]
    curve_lower, curve_upper = np.asarray(curve[f"odll{suffix}"]), np.asarray(curve[f"odul{suffix}"])
    np.testing.assert_allclose(upper, curve_upper, rtol=FUNNELPLOTR_RTOL, atol=FUNNELPLOTR_ATOL)
    inside = _array(data, "additive", f"root_lower_{suffix}") >= 0
    np.testing.assert_allclose(lower[inside], curve_lower[inside], rtol=FUNNELPLOTR_RTOL, atol=FUNNELPLOTR_ATOL)
    # (1 − h)² with h > 1 folds back above 0 in FunnelPlotR; ours stops at 0.
    assert (lower[~inside] == 0).all()
    assert (curve_lower[~inside] > 0).all()


@pytest.mark.parametrize("name", RATIOS)
@pytest.mark.parametrize(("level", "suffix", "lower_key", "upper_key"), LEVELS)
def test_funnelplotr_per_unit_cqc_limits_are_the_quirk_not_ours(name, level, suffix, lower_key, upper_key):
    """Quirk 2: FunnelPlotR's OD_limits (CQC) are 1 ± z √(s + τ²) on the square-root scale; ours are the
    Spiegelhalter limits (1 ± z √(s² + τ²))² on the scale of O/E."""
    data = _data(name)
    s, tau2 = _array(data, "s"), data["rank_winsorised"]["tau2"]
    theirs_lower = _array(data, "funnelplotr", "od_limits_at_our_tau2", lower_key)
    theirs_upper = _array(data, "funnelplotr", "od_limits_at_our_tau2", upper_key)
    half_width_quirk = Z[level] * np.sqrt(s + tau2)
    np.testing.assert_allclose(theirs_lower, 1 - half_width_quirk, rtol=RTOL, atol=1e-15)
    np.testing.assert_allclose(theirs_upper, 1 + half_width_quirk, rtol=RTOL)
    lower, upper = _additive_limits(name, level, tau2)
    corrected = stats.norm.ppf(0.5 + level / 2) * np.sqrt(s * s + tau2)
    np.testing.assert_allclose(upper, (1 + corrected) ** 2, rtol=RTOL)
    np.testing.assert_allclose(lower, np.clip(1 - corrected, 0, None) ** 2, rtol=RTOL, atol=1e-15)
    assert np.max(np.abs(upper - theirs_upper)) > 0.1


@pytest.mark.parametrize("name", PROPORTIONS)
@pytest.mark.parametrize(("level", "suffix"), [(level, suffix) for level, suffix, _, _ in LEVELS])
def test_exact_binomial_limits_match_r_qbinom_interpolation(name, level, suffix):
    data = _data(name)
    lower, upper = statistics.binomial_funnel_limits(data["target"], _array(data, "denominator"), level)
    np.testing.assert_allclose(lower, _array(data, "exact", f"lower_{suffix}"), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(upper, _array(data, "exact", f"upper_{suffix}"), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", RATIOS)
@pytest.mark.parametrize(("level", "suffix"), [(level, suffix) for level, suffix, _, _ in LEVELS])
def test_exact_poisson_limits_match_r_qpois_interpolation(name, level, suffix):
    data = _data(name)
    lower, upper = statistics.poisson_funnel_limits(_array(data, "denominator"), level)
    np.testing.assert_allclose(lower, _array(data, "exact", f"lower_{suffix}"), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(upper, _array(data, "exact", f"upper_{suffix}"), rtol=1e-12, atol=1e-15)


def _dispersion(name: str) -> statistics.Overdispersion | None:
    data = _data(name)
    numerator, denominator = _array(data, "numerator"), _array(data, "denominator")
    if data["data_type"] == "PR":
        return judgement.rate_dispersion(numerator, denominator, numerator.sum() / denominator.sum())
    return judgement.ratio_dispersion(numerator, denominator)


@pytest.mark.parametrize("name", DATASETS)
def test_choose_method_on_the_reference_data(name):
    reference = _data(name)["rank_winsorised"]
    dispersion = _dispersion(name)
    assert dispersion is not None
    assert dispersion.p_value == pytest.approx(reference["p_value"], rel=RTOL)
    overdispersed = reference["p_value"] < judgement.OVERDISPERSION_TEST_LEVEL
    auto = "additive" if overdispersed and reference["tau2"] > 0 else "exact"
    assert auto == EXPECTED_AUTO[name]
    assert judgement.choose_method("auto", dispersion) == auto
    assert judgement.choose_method("none", dispersion) == "exact"
    assert judgement.choose_method("additive", dispersion) == ("additive" if reference["tau2"] > 0 else "exact")
    assert judgement.choose_method("multiplicative", dispersion) == (
        "multiplicative" if reference["phi"] > 1 else "exact")


@pytest.mark.parametrize("name", DATASETS)
def test_a_judged_family_matches_r_end_to_end(name):
    data = _data(name)
    numerator, denominator = _array(data, "numerator"), _array(data, "denominator")
    everyone = np.ones(denominator.shape, dtype=bool)
    if data["data_type"] == "PR":
        family = judgement.judge_rates(numerator, denominator, "auto", everyone)
        assert family is not None
        assert family.centre == pytest.approx(data["target"], rel=1e-14)
    else:
        family = judgement.judge_ratios(numerator, denominator, "auto", everyone)
        assert family.centre == 1.0
    assert family.judgement.method == EXPECTED_AUTO[name]
    dispersion = family.judgement.dispersion
    assert dispersion is not None
    assert dispersion.phi == pytest.approx(data["rank_winsorised"]["phi"], rel=RTOL)
    assert dispersion.tau2 == pytest.approx(data["rank_winsorised"]["tau2"], rel=RTOL, abs=1e-15)
    reference = "additive" if family.judgement.method == "additive" else "exact"
    for _, suffix, _, _ in LEVELS:
        for side in ("lower", "upper"):
            np.testing.assert_allclose(family.limits[f"{side}_{suffix}"], _array(data, reference, f"{side}_{suffix}"),
                                       rtol=RTOL, atol=1e-15)
    assert list(family.positions) == data[f"{reference}_positions"]
    np.testing.assert_allclose(family.values, numerator / denominator, rtol=1e-15)
