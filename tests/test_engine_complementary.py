"""Complementary suppression: a provider sees its VSV's figures beside its own, so a VSV figure whose remainder
(the VSV minus the provider's own) is one other organisation of the provider's level must not be shown — nor
anything that gives it back. Hand-made births on a register with a two-hospital and a three-hospital VSV."""

from __future__ import annotations

import json

import pytest
from births_factory import birth, publish

from queries.config import EngineConfig
from queries.engine import IndicatorEngine
from queries.scope import Viewer

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


def assert_complementary(cell: dict) -> None:
    assert cell["suppressed"] and cell["suppression_reason"] == "complementary"
    assert all(cell.get(name) is None for name in STATISTICS), cell


def test_a_two_hospital_vsv_is_not_shown_beside_one_of_its_hospitals(indicators):
    provider = Viewer("provider", org_code="H001")
    for export in (False, True):
        overview = indicators.overview(provider, IN_HOSPITAL, export=export)
        row = caesarean_row(overview)
        assert row["vsv"]["label"] == "VSV Twee"
        assert_complementary(row["vsv"])
        # Every indicator of a hospital's overview is hidden for this reason (referral during labour, which has no
        # births here, is a practice's indicator and not on a hospital's overview).
        shown = {r["indicator"]["id"] for r in overview["rows"]}
        assert "referral_labour" not in shown and "caesarean" in shown
        assert {r["indicator"]["id"] for r in overview["rows"] if r["vsv"]["suppression_reason"] != "complementary"
                } == set()
        assert (row["organisation"]["numerator"], row["organisation"]["denominator"]) == counts(("H001",))
        assert row["organisation"]["verdict"] is not None
        # The reference (all hospitals of the country) stays: national scale, no one organisation behind it.
        assert row["reference"]["denominator"] == counts(tuple({h for h, _ in HOSPITAL_BIRTHS}))[1]
        for question in (indicators.results, indicators.funnel):
            answer = question("caesarean", "hospital", provider, IN_HOSPITAL, export=export)
            assert_complementary(answer["own_vsv"])
    # Without the filter the remainder is H002 plus P001's home births: two organisations, an aggregate, shown.
    unfiltered = caesarean_row(indicators.overview(provider))["vsv"]
    assert not unfiltered["suppressed"] and unfiltered["denominator"] == counts(("H001", "H002"))[1] + 20
    # The VSV asked about directly: trend and breakdown of the VSV, and the overview with the VSV as organisation.
    trend = indicators.trend("caesarean", provider, IN_HOSPITAL, org_code="V01")
    for point in trend["series"][1]["points"]:
        assert_complementary(point)
    breakdown = indicators.breakdown("caesarean", "parity", provider, IN_HOSPITAL, org_code="V01")
    reasons = [value["suppression_reason"] for value in breakdown["series"][1]["values"]]
    assert "complementary" in reasons and set(reasons) <= {"complementary", "denominator_below_minimum"}
    assert_complementary(caesarean_row(indicators.overview(provider, IN_HOSPITAL, org_code="V01"))["organisation"])


def test_nothing_in_the_answers_gives_the_other_hospital_back(indicators):
    provider = Viewer("provider", org_code="H001")
    other = counts(("H002",))
    # Per VSV: the rows add up to the reference cell, so the own VSV cannot be the only one hidden.
    for export in (False, True):
        results = indicators.results("caesarean", "vsv", provider, IN_HOSPITAL, export=export)
        own = next(row for row in results["rows"] if row["named"])
        assert own["label"] == "VSV Twee"
        assert_complementary(own)
        hidden = [row for row in results["rows"] if row["denominator"] is None]
        assert len(hidden) == 2 and {row["suppression_reason"] for row in hidden} == {"complementary"}
        shown = [row for row in results["rows"] if row["denominator"] is not None]
        remainder = tuple(results["reference"][name] - sum(row[name] for row in shown) - mine
                          for name, mine in zip(("numerator", "denominator"), counts(("H001",)), strict=True))
        assert remainder != other
        # The adjusted answer hides the same VSVs, so neither answer fills in the other's gap.
        adjusted = indicators.adjusted("caesarean", "vsv", provider, IN_HOSPITAL, export=export)
        assert {row["label"] for row in adjusted["rows"] if row["denominator"] is None} == {
            row["label"] for row in hidden}
        assert all(row[name] is None for row in adjusted["rows"] if row["denominator"] is None
                   for name in ("expected", "ratio", "ratio_low", "adjusted_rate", "position", "verdict"))
    # H002's own counts appear only in its pseudonymised row, and no VSV figure points at that row.
    text = json.dumps([indicators.overview(provider, IN_HOSPITAL),
                       indicators.funnel("caesarean", "hospital", provider, IN_HOSPITAL)])
    assert "H002" not in text and "Ziekenhuis Twee" not in text


def test_a_three_hospital_vsv_is_shown_and_hides_only_selections_with_one_other_hospital(indicators):
    provider = Viewer("provider", org_code="H003")
    expected = counts(("H003", "H004", "H005"))
    vsv = caesarean_row(indicators.overview(provider, IN_HOSPITAL))["vsv"]
    assert not vsv["suppressed"] and (vsv["numerator"], vsv["denominator"]) == expected
    assert vsv["verdict"] is not None and vsv["ci_low"] is not None
    own_vsv = indicators.results("caesarean", "hospital", provider, IN_HOSPITAL, export=True)["own_vsv"]
    assert (own_vsv["numerator"], own_vsv["denominator"]) == expected
    # March alone: H005 had no births, the remainder is H004.
    march = {**IN_HOSPITAL, "period": "2023-03"}
    assert_complementary(caesarean_row(indicators.overview(provider, march))["vsv"])

    # Per month the March point is hidden, and so is February: the quarter minus the shown months minus the
    # own months then mixes H004 and H005, instead of being H004's March.
    trend = indicators.trend("caesarean", provider, IN_HOSPITAL, org_code="V02", grain="month")
    points = {point["period"]: point for point in trend["series"][1]["points"]}
    assert_complementary(points["2023-03"])
    assert_complementary(points["2023-02"])
    assert (points["2023-01"]["numerator"], points["2023-01"]["denominator"]) == counts(
        ("H003", "H004", "H005"), ("2023-01",))
    hidden_months = ("2023-02", "2023-03")
    recovered = tuple(v - january - mine for v, january, mine in zip(
        expected, (points["2023-01"]["numerator"], points["2023-01"]["denominator"]),
        counts(("H003",), hidden_months), strict=True))
    assert recovered == counts(("H004", "H005"), hidden_months) != counts(("H004",), ("2023-03",))
    together = indicators.trends(provider, IN_HOSPITAL, org_code="V02", grain="month")
    assert next(e for e in together["indicators"] if e["indicator"]["id"] == "caesarean")["series"] == trend["series"]


def test_vsv_users_and_admins_see_the_vsv_in_full(indicators):
    expected = counts(("H001", "H002"))
    vsv_user = Viewer("vsv", vsv_code="V01")
    vsv = caesarean_row(indicators.overview(vsv_user, IN_HOSPITAL))["organisation"]
    assert not vsv["suppressed"] and (vsv["numerator"], vsv["denominator"]) == expected
    member = caesarean_row(indicators.overview(vsv_user, IN_HOSPITAL, org_code="H001"))["vsv"]
    assert not member["suppressed"] and (member["numerator"], member["denominator"]) == expected
    results = indicators.results("caesarean", "vsv", vsv_user, IN_HOSPITAL)
    assert not any(row["suppressed"] for row in results["rows"])
    admin = caesarean_row(indicators.overview(Viewer("admin"), IN_HOSPITAL, org_code="H001"))["vsv"]
    assert not admin["suppressed"] and (admin["numerator"], admin["denominator"]) == expected
    researcher = indicators.results("caesarean", "vsv", Viewer("researcher"), IN_HOSPITAL)
    assert not any(row["suppressed"] for row in researcher["rows"]) and researcher["own_vsv"] is None


def test_a_practice_is_judged_by_every_other_organisation_behind_its_vsv(indicators):
    # P001 is the only practice of VSV Twee; the rest of the VSV's births are those of two hospitals (births
    # without a practice count for their hospital): an aggregate of two organisations, so shown.
    vsv = caesarean_row(indicators.overview(Viewer("provider", org_code="P001")))["vsv"]
    assert not vsv["suppressed"] and vsv["denominator"] == counts(("H001", "H002"))[1] + 20
