"""The verdict policy end to end (queries/judgement.py through the engine): one named comparator, overdispersion
decided by the documented rule, case mix against the same organisations, and the same verdict in every answer."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
from births_factory import birth, publish
from scipy import stats

from queries.config import EngineConfig
from queries.engine import CASE_MIX_COLUMNS, IndicatorEngine
from queries.scope import Viewer
from queries.statistics import binomial_funnel_limits

ADMIN = Viewer("admin")
AGE_BANDS = ("<25", "25-29", "30-34", "35-39", ">=40")


def hospitals_register(count: int) -> list[dict]:
    register = [{"org_code": "V01", "name": "VSV Een", "org_type": "vsv", "vsv_code": "V01"},
                {"org_code": "V02", "name": "VSV Twee", "org_type": "vsv", "vsv_code": "V02"},
                {"org_code": "P001", "name": "Praktijk Een", "org_type": "practice", "vsv_code": "V01"}]
    register += [{"org_code": f"H{index:03d}", "name": f"Ziekenhuis {index}", "org_type": "hospital",
                  "vsv_code": "V01" if index % 2 else "V02"} for index in range(count)]
    return register


def hospital_births(rates: np.ndarray, sizes: np.ndarray, seed: int, home_births: int = 0) -> list[dict]:
    """Births in hospitals H000.. with caesarean risk `rates[i]` (doubled for nulliparae, who are a different
    share in each hospital: case mix), plus `home_births` births at home without a hospital."""
    rng = np.random.default_rng(seed)
    rows = []
    for index, (rate, size) in enumerate(zip(rates, sizes, strict=True)):
        nulliparous_share = 0.2 + 0.6 * index / max(len(rates) - 1, 1)
        for _ in range(int(size)):
            nulliparous = bool(rng.random() < nulliparous_share)
            caesarean = bool(rng.random() < min(rate * (1.6 if nulliparous else 0.7), 0.95))
            rows.append(birth(hospital_code=f"H{index:03d}", vsv_code="V01" if index % 2 else "V02",
                              place_of_birth="hospital", home_birth=False,
                              parity_group="nulliparous" if nulliparous else "multiparous", ntsv=nulliparous,
                              maternal_age_band=str(rng.choice(AGE_BANDS)), caesarean=caesarean,
                              vaginal_birth=not caesarean, spontaneous_vaginal=not caesarean,
                              mode_of_birth="caesarean" if caesarean else "spontaneous"))
    rows += [birth(hospital_code=None, vsv_code="V01", parity_group="nulliparous", caesarean=False)
             for _ in range(home_births)]
    return rows


def engine_with(database, rows: list[dict], units: int) -> IndicatorEngine:
    """The arithmetic of the verdict against independent references, without cell-key noise (its own tests are
    in tests/test_disclosure.py: with it, the comparator comes from the perturbed counts)."""
    publish(database, rows, register=hospitals_register(units))
    return IndicatorEngine(database, EngineConfig(cell_key_noise=False))


@pytest.fixture
def overdispersed(sqlite_engine) -> IndicatorEngine:
    """30 hospitals whose true caesarean rates differ (beta-distributed): far more spread than chance."""
    rng = np.random.default_rng(11)
    rates = rng.beta(8, 32, size=30)
    return engine_with(sqlite_engine, hospital_births(rates, rng.integers(150, 400, size=30), seed=12,
                                                      home_births=500), 30)


def by_code(answer: dict) -> dict[str, dict]:
    return {row["org_code"]: row for row in answer["rows"]}


def test_expected_counts_come_from_the_levels_organisations_so_they_add_up_to_the_observed(overdispersed):
    """Σ O = Σ E over the hospitals, though 500 home births (no hospital, no caesarean) are in the filter; E of
    each hospital recomputed here from the rows with plain Python (Breslow & Day 1987, indirect standardisation)."""
    answer = overdispersed.adjusted("caesarean", "hospital", ADMIN)
    rows = answer["rows"]
    assert sum(row["numerator"] for row in rows) == pytest.approx(sum(row["expected"] for row in rows), rel=1e-12)
    births = overdispersed.store.snapshot().frame
    hospital_rows = births.filter(births["hospital_code"].is_not_null())
    events, population = defaultdict(float), defaultdict(float)
    keys = list(zip(*(hospital_rows[column].cast(str).to_list() for column in CASE_MIX_COLUMNS), strict=True))
    caesareans = hospital_rows["numerator__caesarean"].to_list()
    counted = hospital_rows["population__caesarean"].to_list()
    for key, event, in_population in zip(keys, caesareans, counted, strict=True):
        events[key] += event
        population[key] += in_population
    expected: dict[str, float] = defaultdict(float)
    for key, code, in_population in zip(keys, hospital_rows["hospital_code"].cast(str).to_list(), counted,
                                        strict=True):
        expected[code] += in_population * events[key] / population[key]
    for code, row in by_code(answer).items():
        assert row["expected"] == pytest.approx(expected[code], rel=1e-9)
        assert row["adjusted_rate"] == pytest.approx(row["ratio"] * answer["reference"]["rate"])


def test_auto_widens_the_limits_when_the_spread_exceeds_chance(overdispersed):
    automatic = overdispersed.funnel("caesarean", "hospital", ADMIN)
    judged = automatic["judgement"]
    # The test of the documented rule: I·φ against χ²(I − 1), recomputed with scipy.
    assert judged["p_value"] == pytest.approx(stats.chi2.sf(judged["units"] * judged["phi"], judged["units"] - 1))
    assert judged["p_value"] < 0.05 and judged["overdispersed"] and judged["tau2"] > 0
    assert (judged["requested"], judged["method"], judged["scale"]) == ("auto", "additive", "arcsine")
    exact = overdispersed.funnel("caesarean", "hospital", ADMIN, overdispersion="none")
    flagged = {name: sum(row["flag"] is not None for row in answer["rows"])
               for name, answer in (("auto", automatic), ("exact", exact))}
    assert flagged["auto"] < flagged["exact"]
    wider = [(a["upper_95"] - a["lower_95"]) > (e["upper_95"] - e["lower_95"])
             for a, e in zip(automatic["limits"], exact["limits"], strict=True) if a["denominator"] >= 50]
    assert wider and all(wider)


def test_auto_keeps_exact_limits_when_the_spread_is_chance(sqlite_engine):
    # Every hospital has the same risk for nulliparae (NTSV): their rates differ by chance only.
    indicators = engine_with(sqlite_engine, hospital_births(np.full(25, 0.2), np.full(25, 200), seed=6), 25)
    answer = indicators.funnel("caesarean_ntsv", "hospital", ADMIN)
    judged = answer["judgement"]
    assert judged["p_value"] >= 0.05, "this seed was chosen to give chance spread"
    assert (judged["method"], judged["scale"]) == ("exact", "binomial")
    point = answer["limits"][-1]
    lower, upper = binomial_funnel_limits(answer["target"], [point["denominator"]], 0.95)
    assert (point["lower_95"], point["upper_95"]) == (pytest.approx(lower[0]), pytest.approx(upper[0]))


def test_a_forced_widening_with_nothing_to_widen_stays_exact(sqlite_engine):
    """Every hospital exactly at 20%: τ² = 0 and φ = 0, so asking for widened limits gives the exact binomial ones
    (before, it silently switched to a normal approximation: 2.95% instead of 3.74% at n = 101 for mortality)."""
    rows = []
    for index in range(12):
        rows += [birth(hospital_code=f"H{index:03d}", place_of_birth="hospital", home_birth=False,
                       caesarean=i < 20, vaginal_birth=i >= 20) for i in range(100)]
    indicators = engine_with(sqlite_engine, rows, 12)
    for method in ("additive", "multiplicative"):
        answer = indicators.funnel("caesarean", "hospital", ADMIN, overdispersion=method)
        assert answer["judgement"]["method"] == "exact"
        point = answer["limits"][-1]
        lower, upper = binomial_funnel_limits(0.2, [point["denominator"]], 0.998)
        assert point["upper_998"] == pytest.approx(upper[0]) and point["lower_998"] == pytest.approx(lower[0])


def test_every_answer_gives_the_same_verdict_and_names_its_comparator(overdispersed):
    funnel = by_code(overdispersed.funnel("caesarean", "hospital", ADMIN))
    results = overdispersed.results("caesarean", "hospital", ADMIN)
    assert results["judgement"]["comparator"] == "hospital"
    assert results["judgement"]["centre"] == pytest.approx(results["reference"]["rate"])
    assert results["reference"]["label"] == "all_hospital"
    # The comparator is all hospitals' births, not all births (which include 500 home births).
    assert results["reference"]["denominator"] == results["national"]["denominator"] - 500
    for code, row in by_code(results).items():
        assert row["verdict"] == funnel[code]["verdict"]
        overview = overdispersed.overview(ADMIN, org_code=code)
        cell = next(r for r in overview["rows"] if r["indicator"]["id"] == "caesarean")["organisation"]
        assert (cell["verdict"], cell["flag"], cell["position"]) == (row["verdict"], row["flag"], row["position"])
        assert cell["judgement"]["method"] == results["judgement"]["method"]
        assert cell["standardised"] == pytest.approx(row["standardised"])


def test_the_sensitivity_table_holds_the_verdict_of_each_method(overdispersed):
    answers = {("crude", "exact"): overdispersed.results("caesarean", "hospital", ADMIN, overdispersion="none"),
               ("crude", "widened"): overdispersed.results("caesarean", "hospital", ADMIN, overdispersion="additive"),
               ("adjusted", "exact"): overdispersed.adjusted("caesarean", "hospital", ADMIN, overdispersion="none"),
               ("adjusted", "widened"): overdispersed.adjusted("caesarean", "hospital", ADMIN,
                                                               overdispersion="additive")}
    depends = 0
    for code in by_code(answers["crude", "exact"]):
        overview = overdispersed.overview(ADMIN, org_code=code)
        cell = next(r for r in overview["rows"] if r["indicator"]["id"] == "caesarean")["organisation"]
        verdicts = {key: by_code(answer)[code]["verdict"] for key, answer in answers.items()}
        assert {key: cell["sensitivity"][key[0]][key[1]] for key in answers} == verdicts
        assert cell["depends_on_method"] == (len(set(verdicts.values())) > 1)
        depends += cell["depends_on_method"]
    assert depends > 0  # the data were made so that the method matters for some hospitals


def test_alerts_are_counted_against_what_chance_alone_gives(overdispersed):
    overview = overdispersed.overview(ADMIN, org_code="H003")
    cells = [row["organisation"] for row in overview["rows"] if row["organisation"]["verdict"]]
    alerts = overview["alerts"]
    assert alerts["judged"] == len(cells)
    assert alerts["alerts"] == sum(cell["position"] not in ("within", None) for cell in cells)
    assert alerts["alarms"] == sum(cell["position"] in ("above_998", "below_998") for cell in cells)
    assert alerts["expected_alerts"] == pytest.approx(0.05 * len(cells))
    assert alerts["expected_alarms"] == pytest.approx(0.002 * len(cells))


def test_the_standardised_position_is_outside_1_96_exactly_when_the_unit_is_outside_the_95_limits(overdispersed):
    for method in ("none", "auto"):
        answer = overdispersed.results("caesarean", "hospital", ADMIN, overdispersion=method)
        for row in answer["rows"]:
            outside_95 = row["position"] != "within"
            outside_998 = row["position"] in ("above_998", "below_998")
            assert (abs(row["standardised"]) > 1.959963984540054) == outside_95
            assert (abs(row["standardised"]) > 3.090232306167813) == outside_998
            assert (row["standardised"] > 0) == (row["rate"] > answer["target"])
        for row in overdispersed.adjusted("caesarean", "hospital", ADMIN, overdispersion=method)["rows"]:
            assert (abs(row["standardised"]) > 1.959963984540054) == (row["position"] != "within")
            assert (abs(row["standardised"]) > 3.090232306167813) == row["position"].endswith("998")
            assert (row["standardised"] > 0) == (row["ratio"] > 1)


def test_an_outcome_that_is_a_case_mix_stratum_gets_no_adjusted_verdict(overdispersed):
    """Preterm birth is defined by gestational age, a case-mix stratum: every stratum's rate is 0 or 1 and O/E is
    always 1. There is no adjusted figure, and the sensitivity table's adjusted row has no verdict to disagree."""
    answer = overdispersed.adjusted("preterm", "hospital", ADMIN)
    assert answer["not_adjusted"] == "outcome_is_case_mix" and answer["rows"] == []
    for code in ("H000", "H010"):
        row = next(r for r in overdispersed.overview(ADMIN, org_code=code)["rows"] if r["indicator"]["id"] == "preterm")
        assert row["organisation"]["sensitivity"]["adjusted"] == {"exact": None, "widened": None}
    assert overdispersed.adjusted("caesarean", "hospital", ADMIN).get("not_adjusted") is None


def test_a_unit_with_no_events_is_inside_the_spine_not_on_the_alert_line():
    """5‰ at n = 400 and no event: the interpolated 95% lower limit is below 0 and cut off there, the unit is
    "within" — and its standardised position must say so (before, every such unit sat exactly on −1.96)."""
    from queries import judgement
    from queries.statistics import Overdispersion

    widened = Overdispersion(phi=2.0, tau2=1e-5, units=50, p_value=0.001)
    for method, dispersion, size in (("exact", None, 400.0), ("additive", widened, 100.0),
                                     ("multiplicative", widened, 100.0)):
        limits = judgement.limits_each("crude", [0.005], [size], [method], [dispersion])
        assert judgement.positions([0.0], limits)[0] == "within" and limits["lower_95"][0] == 0.0
        standardised = judgement.standardised_each("crude", [0.0], [0.005], [size], [method], [dispersion])[0]
        assert -1.96 < standardised < 0, (method, standardised)
    # Where the widened lower limit is above 0, no events is below it, on both scales alike.
    limits = judgement.limits_each("crude", [0.005], [400.0], ["additive"], [widened])
    assert judgement.positions([0.0], limits)[0] == "below_95"
    assert judgement.standardised_each("crude", [0.0], [0.005], [400.0], ["additive"], [widened])[0] < -1.96
    # Every count from 0 to 15 of 400 at 5‰: outside a limit exactly when the standardised position is.
    counts = np.arange(16) / 400
    for method, dispersion in (("exact", None), ("additive", widened), ("multiplicative", widened)):
        limits = judgement.limits_each("crude", np.full(16, 0.005), np.full(16, 400.0), [method] * 16,
                                       [dispersion] * 16)
        found = judgement.positions(counts, limits)
        standardised = judgement.standardised_each("crude", counts, np.full(16, 0.005), np.full(16, 400.0),
                                                   [method] * 16, [dispersion] * 16)
        assert list(np.abs(standardised) > 1.959963984540054) == [p != "within" for p in found], method
        assert list(np.abs(standardised) > 3.090232306167813) == [p.endswith("998") for p in found], method
        assert "above_998" in found
