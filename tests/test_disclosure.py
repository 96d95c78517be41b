"""Disclosure control (queries/disclosure.py, docs/privacy.md): cell-key perturbation, peers in size bands under
pseudonyms of one answer, the structural rule for a provider's VSV, statistics from the published counts, and the
viewer's own figures exact. Hand-made births on a register with a two-hospital and a three-hospital VSV; the
attacks themselves, over HTTP, are in tests/test_disclosure_attacks.py."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import polars as pl
import pytest
from births_factory import birth, publish

from queries import disclosure, judgement
from queries.config import EngineConfig
from queries.engine import IndicatorEngine
from queries.scope import NotPermittedError, Scope, Viewer
from queries.store import numerator_column, population_column

REGISTER = [
    {"org_code": "V01", "name": "VSV Twee", "org_type": "vsv", "vsv_code": "V01"},
    {"org_code": "V02", "name": "VSV Drie", "org_type": "vsv", "vsv_code": "V02"},
    {"org_code": "V03", "name": "VSV Elders", "org_type": "vsv", "vsv_code": "V03"},
    {"org_code": "H001", "name": "Ziekenhuis Een", "org_type": "hospital", "vsv_code": "V01"},
    {"org_code": "H002", "name": "Ziekenhuis Twee", "org_type": "hospital", "vsv_code": "V01"},
    {"org_code": "H003", "name": "Ziekenhuis Drie", "org_type": "hospital", "vsv_code": "V02"},
    {"org_code": "H004", "name": "Ziekenhuis Vier", "org_type": "hospital", "vsv_code": "V02"},
    {"org_code": "H005", "name": "Ziekenhuis Vijf", "org_type": "hospital", "vsv_code": "V02"},
    {"org_code": "H006", "name": "Ziekenhuis Zes", "org_type": "hospital", "vsv_code": "V03"},
    {"org_code": "H007", "name": "Ziekenhuis Zeven", "org_type": "hospital", "vsv_code": "V03"},
    {"org_code": "P001", "name": "Praktijk Een", "org_type": "practice", "vsv_code": "V01"},
]
VSV_OF = {org["org_code"]: org["vsv_code"] for org in REGISTER}
IN_HOSPITAL = {"place": "hospital_obstetrician"}
STATISTICS = ("numerator", "denominator", "rate", "ci_low", "ci_high", "position", "verdict")
# (hospital, month) → (births, caesareans): H005 has no births in March.
HOSPITAL_BIRTHS = {
    ("H001", "2023-01"): (15, 3), ("H001", "2023-02"): (12, 2), ("H001", "2023-03"): (13, 3),
    ("H002", "2023-01"): (10, 4), ("H002", "2023-02"): (11, 3), ("H002", "2023-03"): (9, 2),
    ("H003", "2023-01"): (10, 2), ("H003", "2023-02"): (10, 1), ("H003", "2023-03"): (10, 3),
    ("H004", "2023-01"): (12, 3), ("H004", "2023-02"): (11, 2), ("H004", "2023-03"): (15, 4),
    ("H005", "2023-01"): (14, 2), ("H005", "2023-02"): (13, 5),
    ("H006", "2023-01"): (30, 6), ("H006", "2023-02"): (30, 6), ("H006", "2023-03"): (30, 6),
    ("H007", "2023-01"): (25, 5), ("H007", "2023-02"): (25, 5), ("H007", "2023-03"): (25, 5),
}


def hospital_birth(hospital: str, month: str, caesarean: bool) -> dict:
    return birth(birth_month=month, hospital_code=hospital, vsv_code=VSV_OF[hospital], practice_code=None,
                 place_of_birth="hospital_obstetrician", home_birth=False, care_level_onset="obstetrician",
                 midwife_led_at_onset=False, caesarean=caesarean, vaginal_birth=not caesarean,
                 spontaneous_vaginal=not caesarean, mode_of_birth="caesarean" if caesarean else "spontaneous")


@pytest.fixture
def indicators(sqlite_engine) -> IndicatorEngine:
    rows = [hospital_birth(hospital, month, index < caesareans)
            for (hospital, month), (count, caesareans) in HOSPITAL_BIRTHS.items() for index in range(count)]
    # Home births in the two-hospital VSV: attributed to the practice, to no hospital.
    rows += [birth(birth_month="2023-02", hospital_code=None, practice_code="P001", vsv_code="V01")] * 20
    publish(sqlite_engine, rows, register=REGISTER)
    return IndicatorEngine(sqlite_engine, EngineConfig())


def counts(hospitals: tuple[str, ...], months: tuple[str, ...] = ("2023-01", "2023-02", "2023-03")) -> tuple:
    """(caesareans, births) of these hospitals in these months, from the hand-made table."""
    cells = [HOSPITAL_BIRTHS.get((h, m), (0, 0)) for h in hospitals for m in months]
    return sum(c for _, c in cells), sum(n for n, _ in cells)


def caesarean_row(overview: dict) -> dict:
    return next(row for row in overview["rows"] if row["indicator"]["id"] == "caesarean")


def published_counts(indicators: IndicatorEngine, condition: pl.Expr) -> tuple[int, int]:
    """The perturbed (caesareans, births) of the births matching `condition`, recomputed here from the store's
    record keys: the sum of the keys of the births counted, then the public perturbation table."""
    frame = indicators.store.snapshot().frame.filter(condition)
    key = frame["record_key"].cast(pl.Int64)
    numerator, population = frame[numerator_column("caesarean")], frame[population_column("caesarean")]
    counted = [int(numerator.sum()), int(population.sum())]
    keys = [int((key * numerator.cast(pl.Int64)).sum()), int((key * population.cast(pl.Int64)).sum())]
    return tuple(int(value) for value in disclosure.perturbed(counted, keys))


# ---- the pure rules -----------------------------------------------------------------------------------------

def test_the_perturbation_table_is_small_unbiased_noise():
    table = disclosure.PERTURBATION_TABLE
    assert len(table) == 256 and set(table) == {-2, -1, 0, 1, 2}
    assert table.sum() == 0 and table.var() == pytest.approx(310 / 256)
    # Neighbouring keys do not get neighbouring noise (the table is shuffled, not sorted).
    assert (np.diff(table) != 0).mean() > 0.5


def test_the_same_births_always_get_the_same_noise_and_zero_stays_zero():
    counts, keys = np.array([0, 1, 5, 120, 5]), np.array([7, 300, 17, 12_345, 17 + 256])
    first = disclosure.perturbed(counts, keys)
    assert (first == disclosure.perturbed(counts, keys)).all()
    assert first[0] == 0 and first[1] >= 0 and (np.abs(first - counts) <= 2).all()
    assert first[2] == first[4]  # the cell key is the sum modulo 256
    rng = np.random.default_rng(3)
    many = rng.integers(50, 5000, size=20_000)
    noise = disclosure.perturbed(many, rng.integers(0, 10**6, size=20_000)) - many
    assert abs(noise.mean()) < 0.03 and noise.var() == pytest.approx(310 / 256, abs=0.05)


def test_size_bands_hold_at_least_five_peers_and_contain_their_size():
    rng = np.random.default_rng(8)
    for count in (1, 4, 5, 9, 11, 74, 585):
        sizes = list(rng.integers(10, 6000, size=count))
        bands = disclosure.size_bands(sizes)
        members = Counter((band["low"], band["high"]) for band in bands)
        assert len(bands) == count and sum(members.values()) == count
        assert min(members.values()) >= min(5, count)
        for size, band in zip(sizes, bands, strict=True):
            # The band holds the perturbed size and the exact one, at most NOISE_BOUND from it.
            assert band["low"] <= size - 2 and size + 2 <= band["high"]
            assert band["middle"] == pytest.approx(math.sqrt(max(band["low"], 1) * band["high"]))


def test_a_peers_pseudonym_holds_for_one_answer():
    label = disclosure.answer_pseudonym("H001", "hospital", "answer-a", "secret", "H")
    assert label == disclosure.answer_pseudonym("H001", "hospital", "answer-a", "secret", "H")
    assert label != disclosure.answer_pseudonym("H001", "hospital", "answer-b", "secret", "H")
    assert label != disclosure.answer_pseudonym("H001", "hospital", "answer-a", "other secret", "H")
    assert label.startswith("H-") and len(label) == 10


def test_dispersion_statistics_are_published_to_three_significant_digits():
    assert disclosure.rounded_statistic(1.234567) == 1.23 and disclosure.rounded_statistic(0.000123456) == 0.000123
    assert disclosure.rounded_statistic(None) is None and disclosure.rounded_statistic(0.0) == 0.0


# ---- the engine applies them ----------------------------------------------------------------------------------

def test_a_vsv_with_one_other_hospital_is_withheld_from_its_providers_in_every_question(indicators):
    """VSV Twee has two hospitals: minus Ziekenhuis Een it would be Ziekenhuis Twee, whatever the filter."""
    provider = Viewer("provider", org_code="H001")
    for filters in ({}, IN_HOSPITAL, {"period": "2023-03"}, {"parity": "nulliparous"}):
        overview = indicators.overview(provider, filters)
        assert all(row["vsv"]["suppression_reason"] == "complementary" and row["vsv"]["numerator"] is None
                   for row in overview["rows"])
        results = indicators.results("caesarean", "hospital", provider, filters)
        assert results["own_vsv"]["suppression_reason"] == "complementary"
        vsvs = indicators.results("caesarean", "vsv", provider, filters)
        own = next(row for row in vsvs["rows"] if row["org_code"] == "V01")
        assert own["suppressed"] and own["rate"] is None and vsvs["judgement"]["phi"] is None
    trend = indicators.trend("caesarean", provider, org_code="V01")["series"][1]["points"]
    assert all(point["suppression_reason"] == "complementary" for point in trend)
    breakdown = indicators.breakdown("caesarean", "parity", provider, org_code="V01")["series"][1]["values"]
    assert all(value["suppression_reason"] == "complementary" for value in breakdown)


def test_a_vsv_with_two_other_hospitals_is_shown_perturbed_even_where_one_of_them_has_births(indicators):
    """VSV Drie has three hospitals. In March Ziekenhuis Vijf has no births, so the VSV minus Ziekenhuis Drie is
    Ziekenhuis Vier alone: the figure is shown, but with cell-key noise, never exact."""
    provider = Viewer("provider", org_code="H003")
    march = {"period": "2023-03"}
    vsv = caesarean_row(indicators.overview(provider, march))["vsv"]
    assert vsv["disclosure"] == "perturbed" and not vsv["suppressed"]
    in_vsv = (pl.col("vsv_code") == "V02") & (pl.col("month_index") == 2023 * 12 + 2)
    assert (vsv["numerator"], vsv["denominator"]) == published_counts(indicators, in_vsv)
    # Asking again, or through another question, gives the same noise: nothing to average.
    again = indicators.results("caesarean", "hospital", provider, march)["own_vsv"]
    assert (again["numerator"], again["denominator"]) == (vsv["numerator"], vsv["denominator"])


def test_the_providers_own_figures_are_exact_and_others_are_not_counts(indicators):
    provider = Viewer("provider", org_code="H003")
    own = caesarean_row(indicators.overview(provider, IN_HOSPITAL))["organisation"]
    assert (own["numerator"], own["denominator"], own["disclosure"]) == (*counts(("H003",)), "exact")
    results = indicators.results("caesarean", "hospital", provider, IN_HOSPITAL)
    mine = [row for row in results["rows"] if row["own"]]
    assert len(mine) == 1 and (mine[0]["numerator"], mine[0]["denominator"]) == counts(("H003",))
    peers = [row for row in results["rows"] if not row["named"]]
    assert len(peers) == 6 and all(row["disclosure"] == "peer" and row["numerator"] is None
                                   and row["denominator"] is None and row["ci_low"] is None for row in peers)
    assert min(Counter((row["size_band"]["low"], row["size_band"]["high"]) for row in peers).values()) >= 5
    assert results["national"]["disclosure"] == "perturbed" and results["reference"]["disclosure"] == "perturbed"
    trend = indicators.trend("caesarean", provider, grain="month")["series"][1]["points"]
    assert [(p["numerator"], p["denominator"]) for p in trend] == [counts(("H003",), (m,)) for m in
                                                                 ("2023-01", "2023-02", "2023-03")]


def test_peers_rates_are_rounded_to_the_display_step(indicators):
    results = indicators.results("caesarean", "hospital", Viewer("researcher"), IN_HOSPITAL)
    rates = [row["rate"] for row in results["rows"] if row["rate"] is not None]
    assert rates and all(round(rate * 1000) == pytest.approx(rate * 1000, abs=1e-6) for rate in rates)


def test_the_comparator_is_estimated_from_the_published_counts(indicators):
    """The funnel's centre is the pooled rate of the hospitals' perturbed counts (each recomputed here from the
    record keys), so no statistic of the answer is a function of others' exact counts."""
    funnel = indicators.funnel("caesarean", "hospital", Viewer("admin"), IN_HOSPITAL)
    published = [published_counts(indicators, pl.col("hospital_code") == code)
                 for code in sorted({hospital for hospital, _ in HOSPITAL_BIRTHS})]
    centre = sum(n for n, _ in published) / sum(d for _, d in published)
    assert funnel["target"] == pytest.approx(centre, rel=1e-12)
    exact = sum(c for c, _ in HOSPITAL_BIRTHS.values()) / sum(n for n, _ in HOSPITAL_BIRTHS.values())
    assert funnel["judgement"]["centre"] == pytest.approx(centre) and centre != pytest.approx(exact, rel=1e-9)
    phi = funnel["judgement"]["phi"]
    assert phi is None or float(f"{phi:.2e}") == phi


def test_a_researcher_granted_a_practice_sees_it_and_not_its_vsv(indicators):
    researcher = Viewer("researcher", org_code="P001")
    overview = indicators.overview(researcher)
    assert overview["organisation"]["org_code"] == "P001"
    assert all(row["vsv"] is None for row in overview["rows"])
    assert caesarean_row(overview)["organisation"]["disclosure"] == "exact"
    with pytest.raises(NotPermittedError):
        indicators.overview(researcher, org_code="V01")
    results = indicators.results("caesarean", "vsv", researcher)
    assert results["own_vsv"] is None and not any(row["named"] for row in results["rows"])


@pytest.mark.parametrize(("viewer", "withheld"), [
    ("H1", False),  # the VSV's only hospital: the rest is two practices' home births, an aggregate
    ("P1", True),   # a practice: a filter on births without a midwife would leave the VSV's only hospital
    ("H2", True),   # a hospital beside exactly one other hospital
    ("P3", False),  # a practice beside two hospitals and no other practice
])
def test_the_vsv_rule_reads_the_register_not_the_births(viewer, withheld):
    register = {"A": {"org_type": "vsv", "vsv_code": "A"}, "B": {"org_type": "vsv", "vsv_code": "B"},
                "H1": {"org_type": "hospital", "vsv_code": "A"}, "P1": {"org_type": "practice", "vsv_code": "A"},
                "P2": {"org_type": "practice", "vsv_code": "A"}, "H2": {"org_type": "hospital", "vsv_code": "B"},
                "H3": {"org_type": "hospital", "vsv_code": "B"}, "P3": {"org_type": "practice", "vsv_code": "B"}}
    scope = Scope(Viewer("provider", org_code=viewer), register, "key")
    assert scope.vsv_withheld(register[viewer]["vsv_code"]) is withheld
    assert not Scope(Viewer("vsv", vsv_code="A"), register, "key").vsv_withheld("A")


def test_the_noise_is_unbiased_even_for_a_count_of_one():
    """The noise is limited to ±count, symmetric, so rare events are not inflated: a floor at 1 made a count of
    one 1.40 on average and raised the comparator of mortality by up to 39% (review of issue 11)."""
    keys = np.arange(256 * 40)
    for count in (1, 2, 3, 10):
        shown = disclosure.perturbed(np.full(len(keys), count), keys)
        assert shown.min() >= 0 and shown.mean() == pytest.approx(count, abs=0.01)


def test_the_same_births_get_the_same_noise_whatever_else_the_cell_holds(indicators):
    """The numerator's cell key is the sum of its own births' keys only: births outside the numerator (other
    gestational ages) change the denominator's noise, never the numerator's (review of issue 11: a packing with a
    carry gave the same births other noise)."""
    admin = Viewer("admin")
    provider = Viewer("provider", org_code="H003")
    narrow = caesarean_row(indicators.overview(provider, IN_HOSPITAL))["national"]
    wide = caesarean_row(indicators.overview(provider, {}))["national"]
    exact_narrow = caesarean_row(indicators.overview(admin, IN_HOSPITAL))["national"]
    exact_wide = caesarean_row(indicators.overview(admin, {}))["national"]
    assert exact_narrow["numerator"] == exact_wide["numerator"]  # the home births hold no caesarean
    assert narrow["numerator"] == wide["numerator"]


@pytest.mark.parametrize(("smallest", "largest", "rate"), [(30, 80, 0.2), (15, 60, 0.05)])
def test_the_noise_is_taken_out_of_the_overdispersion_estimate(smallest, largest, rate):
    """600 practices with the same true rate. Cell-key noise adds spread the practices did not make: estimated
    naively, φ rises (most at small counts, where it would widen the limits); with the known noise variance in
    each unit's variance (queries.judgement.rate_dispersion, delta method) φ comes back to what the exact counts
    give."""
    rng = np.random.default_rng(5)
    births = rng.integers(smallest, largest, size=600)
    events = rng.binomial(births, rate)
    keys = rng.integers(0, 10**6, size=(2, 600))
    published = disclosure.perturbed(events, keys[0]), disclosure.perturbed(births, keys[1])
    target = published[0].sum() / published[1].sum()
    exact = judgement.rate_dispersion(events, births, events.sum() / births.sum())
    naive = judgement.rate_dispersion(*published, target)
    corrected = judgement.rate_dispersion(*published, target, noise_variance=disclosure.NOISE_VARIANCE)
    assert naive.phi > exact.phi + 0.08
    assert abs(corrected.phi - exact.phi) < abs(naive.phi - exact.phi) / 3
