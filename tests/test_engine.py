"""The engine's questions on small hand-made national data: what each viewer sees, and that it is right."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from births_factory import birth, publish, random_births
from scipy import stats
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.rates import confint_poisson

from queries.config import EngineConfig, load_config
from queries.engine import IndicatorEngine, NoDataError
from queries.filters import InvalidParameterError, parse_filters
from queries.scope import NotPermittedError, Viewer

ADMIN = Viewer("admin")


def fresh_engine(database, **config) -> IndicatorEngine:
    return IndicatorEngine(database, EngineConfig(**{"cell_key_noise": False, **config}))


@pytest.fixture
def national(sqlite_engine):
    """600 births over three hospitals; H002 (VSV V02) has a much higher caesarean rate."""
    publish(sqlite_engine, random_births(600, seed=4, caesarean_rates=(0.12, 0.40, 0.12)))
    return sqlite_engine


def row_of(answer: dict, label: str) -> dict:
    return next(row for row in answer["rows"] if row["label"] == label)


def test_store_loads_the_published_version_and_picks_up_a_new_one_without_restart(engine):
    publish(engine, [birth(caesarean=True, vaginal_birth=False)] * 4 + [birth()] * 16, data_version=1)
    indicators = fresh_engine(engine)
    first = indicators.results("caesarean", "hospital", ADMIN)
    assert first["data_version"]["number"] == 1
    assert (first["national"]["numerator"], first["national"]["denominator"]) == (4, 20)

    publish(engine, [birth(caesarean=True, vaginal_birth=False)] * 9 + [birth()] * 21, data_version=2)
    second = indicators.results("caesarean", "hospital", ADMIN)
    assert second["data_version"]["number"] == 2
    assert (second["national"]["numerator"], second["national"]["denominator"]) == (9, 30)


def test_nothing_published_is_a_clear_error(sqlite_engine):
    with pytest.raises(NoDataError, match="perispiegel load"):
        fresh_engine(sqlite_engine).results("caesarean", "hospital", ADMIN)


def test_results_rows_carry_rate_wilson_interval_and_exact_funnel_position(national):
    answer = fresh_engine(national).results("caesarean", "hospital", ADMIN, overdispersion="none")
    target = answer["national"]["numerator"] / answer["national"]["denominator"]
    assert answer["target"] == pytest.approx(target)
    assert sum(row["denominator"] for row in answer["rows"]) == answer["national"]["denominator"]
    for row in answer["rows"]:
        x, n = row["numerator"], row["denominator"]
        assert row["rate"] == pytest.approx(x / n)
        low, high = proportion_confint(x, n, method="wilson")
        assert (row["ci_low"], row["ci_high"]) == (pytest.approx(low), pytest.approx(high))
    high_hospital = row_of(answer, "Ziekenhuis Zuid")
    # Independent check: far beyond the 99.8% limit means P(X ≥ x | n, target) < 0.001.
    assert stats.binom.sf(high_hospital["numerator"] - 1, high_hospital["denominator"], target) < 0.001
    assert high_hospital["position"] == "above_998"
    assert high_hospital["verdict"] == "higher"  # caesarean is a neutral indicator
    ntsv = fresh_engine(national).results("caesarean_ntsv", "hospital", ADMIN, overdispersion="none")
    assert row_of(ntsv, "Ziekenhuis Zuid")["verdict"] == "worse"


def test_provider_sees_own_organisation_and_vsv_by_name_and_peers_only_as_pseudonyms(national):
    indicators = fresh_engine(national)
    answer = indicators.results("caesarean", "hospital", Viewer("provider", org_code="H001"))
    own = [row for row in answer["rows"] if row["named"]]
    assert [(row["org_code"], row["label"], row["own"]) for row in own] == [("H001", "Ziekenhuis Noord", True)]
    assert answer["own_vsv"]["label"] == "VSV Noord"
    peers = [row for row in answer["rows"] if not row["named"]]
    assert len(peers) == 2 and all(row["org_code"] is None and row["label"].startswith("H-") for row in peers)
    text = json.dumps(answer)
    for secret in ("H002", "H003", "Ziekenhuis Zuid", "V02", "VSV Zuid"):
        assert secret not in text
    # Pseudonyms are stable across questions and viewers.
    again = indicators.funnel("caesarean", "hospital", Viewer("researcher"))
    assert {row["label"] for row in peers} <= {row["label"] for row in again["rows"]}


def test_vsv_sees_its_members_by_name_researcher_nobody_admin_everybody(national):
    indicators = fresh_engine(national)
    vsv = indicators.results("caesarean", "hospital", Viewer("vsv", vsv_code="V02"))
    assert sorted(row["label"] for row in vsv["rows"] if row["named"]) == ["Ziekenhuis Zuid", "Ziekenhuis Zuid-Oost"]
    assert "H001" not in json.dumps(vsv) and "Ziekenhuis Noord" not in json.dumps(vsv)
    researcher = indicators.results("caesarean", "vsv", Viewer("researcher"))
    assert not any(row["named"] for row in researcher["rows"])
    # Three hospitals: the national figure would be the total of fewer than five organisations (docs/privacy.md).
    assert researcher["national"]["suppression_reason"] == "few_peers" and researcher["national"]["denominator"] is None
    admin = indicators.results("caesarean", "vsv", ADMIN)
    assert sorted(row["org_code"] for row in admin["rows"]) == ["V01", "V02"]


def test_questions_about_another_organisation_are_refused(national):
    indicators = fresh_engine(national)
    provider = Viewer("provider", org_code="H001")
    with pytest.raises(NotPermittedError):
        indicators.trend("caesarean", provider, org_code="H002")
    with pytest.raises(NotPermittedError):
        indicators.breakdown("caesarean", "parity", Viewer("researcher"), org_code="H001")
    with pytest.raises(NotPermittedError):
        indicators.overview(Viewer("vsv", vsv_code="V01"), org_code="H002")
    assert indicators.trend("caesarean", Viewer("vsv", vsv_code="V02"), org_code="H003")["series"][1]["named"]


def test_small_denominators_have_no_rate_and_exports_mask_counts_one_to_four(sqlite_engine):
    rows = [birth(hospital_code="H001", caesarean=i < 3, vaginal_birth=i >= 3) for i in range(40)]
    rows += [birth(hospital_code="H002", vsv_code="V02", caesarean=i < 2, vaginal_birth=i >= 2) for i in range(9)]
    publish(sqlite_engine, rows)
    indicators = fresh_engine(sqlite_engine)
    small = row_of(indicators.results("caesarean", "hospital", ADMIN), "Ziekenhuis Zuid")
    assert (small["numerator"], small["denominator"]) == (2, 9)
    assert small["suppressed"] and small["suppression_reason"] == "denominator_below_minimum"
    assert small["rate"] is None and small["ci_low"] is None and small["position"] is None
    exported = indicators.results("caesarean", "hospital", ADMIN, export=True)
    large = row_of(exported, "Ziekenhuis Noord")
    assert large["numerator"] is None and large["rate"] is None and large["suppression_reason"] == "count_masked"
    assert exported["national"]["numerator"] == 5 and exported["national"]["rate"] == pytest.approx(5 / 49)


def test_thresholds_come_from_the_environment(sqlite_engine, monkeypatch):
    monkeypatch.setenv("PERISPIEGEL_MIN_DENOMINATOR", "50")
    monkeypatch.setenv("PERISPIEGEL_MASK_COUNTS_TO", "2")
    config = load_config()
    assert (config.min_denominator, config.mask_counts_to) == (50, 2)
    publish(sqlite_engine, [birth(caesarean=i < 3, vaginal_birth=i >= 3) for i in range(40)])
    national = IndicatorEngine(sqlite_engine, config).results("caesarean", "hospital", ADMIN, export=True)["national"]
    assert national["suppression_reason"] == "denominator_below_minimum" and national["numerator"] == 3


def test_filters_select_the_target_group_and_combine(national):
    births = random_births(600, seed=4, caesarean_rates=(0.12, 0.40, 0.12))
    chosen = [b for b in births if b["parity_group"] == "nulliparous" and b["birth_month"] in ("2023-02", "2023-03")
              and b["ses_quintile"] in (1, 2)]
    answer = fresh_engine(national).results(
        "caesarean", "hospital", ADMIN, {"period": "2023-02..2023-03", "parity": "nulliparous", "ses": "1,2"})
    assert answer["national"]["denominator"] == len(chosen)
    assert answer["national"]["numerator"] == sum(b["caesarean"] for b in chosen)
    assert answer["filters"] == {"period": "2023-02..2023-03", "parity": "nulliparous", "ses": "1,2"}


@pytest.mark.parametrize(("params", "parameter", "allowed"), [
    ({"parity": "first"}, "parity", "nulliparous, multiparous"),
    ({"ga_band": "37+"}, "ga_band", "<32, 32-36, 37-41, >=42"),
    ({"period": "2023-13"}, "period", "YYYY-MM"),
    ({"period": "2024..2023"}, "period", "FROM must not be after TO"),
    ({"robson": "11"}, "robson", "unclassifiable"),
])
def test_invalid_filter_values_name_the_parameter_and_the_allowed_values(params, parameter, allowed):
    with pytest.raises(InvalidParameterError) as error:
        parse_filters(params)
    assert error.value.parameter == parameter
    assert f"'{parameter}'" in str(error.value) and allowed in str(error.value)


def test_period_forms():
    assert parse_filters({"period": "2023"}).as_params() == {"period": "2023-01..2023-12"}
    assert parse_filters({"period": "2023-Q2"}).as_params() == {"period": "2023-04..2023-06"}
    assert parse_filters({"period": "2022-Q4..2023-02"}).as_params() == {"period": "2022-10..2023-02"}
    assert parse_filters({"period": "2021..2023"}).as_params() == {"period": "2021-01..2023-12"}


def test_invalid_question_parameters_are_named(national):
    indicators = fresh_engine(national)
    with pytest.raises(InvalidParameterError, match=r"'level'.*practice, hospital, vsv"):
        indicators.results("caesarean", "ward", ADMIN)
    with pytest.raises(InvalidParameterError, match=r"'indicator'.*caesarean_robson1"):
        indicators.results("c-section", "hospital", ADMIN)
    with pytest.raises(InvalidParameterError, match="'grain'"):
        indicators.trend("caesarean", ADMIN, grain="week")


def test_trend_per_month_quarter_and_year(sqlite_engine):
    rows = [birth(birth_month="2022-11", caesarean=True, vaginal_birth=False)] * 3 + [birth(birth_month="2022-11")] * 7
    rows += [birth(birth_month="2023-01", caesarean=True, vaginal_birth=False)] + [birth(birth_month="2023-02")] * 11
    publish(sqlite_engine, rows)
    indicators = fresh_engine(sqlite_engine)
    monthly = indicators.trend("caesarean", Viewer("admin"), grain="month", org_code="H001")
    national, own = monthly["series"]
    assert [(p["period"], p["numerator"], p["denominator"]) for p in national["points"]] == [
        ("2022-11", 3, 10), ("2023-01", 1, 1), ("2023-02", 0, 11)]
    assert own["label"] == "Ziekenhuis Noord" and own["points"][0]["rate"] == pytest.approx(0.3)
    assert national["points"][1]["suppressed"]  # a denominator of 1
    # A provider sees its own counts of 1–4; the national figure, all births of its own hospital here, is withheld
    # (fewer than five other organisations behind it), as others' small counts are masked, in every channel.
    national, own = indicators.trend("caesarean", Viewer("provider", org_code="H001"), grain="month")["series"]
    assert (own["points"][0]["numerator"], own["points"][0]["disclosure"]) == (3, "exact")
    assert national["points"][0]["suppression_reason"] == "few_peers" and national["points"][0]["rate"] is None
    quarterly = indicators.trend("caesarean", ADMIN, grain="quarter")["series"][0]["points"]
    assert [(p["period"], p["numerator"], p["denominator"]) for p in quarterly] == [("2022-Q4", 3, 10),
                                                                                       ("2023-Q1", 1, 12)]
    yearly = indicators.trend("caesarean", ADMIN, grain="year")["series"][0]["points"]
    assert [p["period"] for p in yearly] == ["2022", "2023"] and len(indicators.trend(
        "caesarean", ADMIN)["series"]) == 1


def test_breakdown_by_a_dimension(national):
    births = random_births(600, seed=4, caesarean_rates=(0.12, 0.40, 0.12))
    indicators = fresh_engine(national)
    answer = indicators.breakdown("caesarean", "maternal_age_band", ADMIN, org_code="H001")
    national_values, own_values = answer["series"]
    assert [v["value"] for v in national_values["values"]] == ["<25", "25-29", "30-34", "35-39", ">=40"]
    assert national_values["values"][4]["label_nl"] == "≥40 jaar"
    for value in national_values["values"]:
        group = [b for b in births if b["maternal_age_band"] == value["value"]]
        assert (value["numerator"], value["denominator"]) == (sum(b["caesarean"] for b in group), len(group))
    own_total = sum(v["denominator"] for v in own_values["values"])
    assert own_total == sum(1 for b in births if b["hospital_code"] == "H001")
    # A provider among three hospitals: the national values are withheld (fewer than five others behind them).
    provider = indicators.breakdown("caesarean", "maternal_age_band", Viewer("provider", org_code="H001"))
    national_values, own_values = provider["series"]
    assert {v["suppression_reason"] for v in national_values["values"]} == {"few_peers"}
    assert [v["denominator"] for v in own_values["values"]] == [v["denominator"] for v in answer["series"][1]["values"]]


def test_breakdown_lifts_a_restriction_on_its_own_dimension_and_keeps_the_rest(national):
    births = random_births(600, seed=4, caesarean_rates=(0.12, 0.40, 0.12))
    answer = fresh_engine(national).breakdown("caesarean", "maternal_age_band", ADMIN,
                                              {"maternal_age_band": "<25", "parity": "nulliparous"})
    assert answer["lifted"] == {"maternal_age_band": ["<25"]}
    assert answer["filters"] == {"parity": "nulliparous"}
    for value in answer["series"][0]["values"]:
        group = [b for b in births if b["maternal_age_band"] == value["value"] and b["parity_group"] == "nulliparous"]
        assert (value["numerator"], value["denominator"]) == (sum(b["caesarean"] for b in group), len(group))
    assert sum(value["denominator"] > 0 for value in answer["series"][0]["values"]) > 1


def test_adjusted_ratio_is_one_when_the_difference_is_only_case_mix(sqlite_engine):
    """Both hospitals have 20% caesareans in nulliparae and 10% in multiparae; H001 sees mostly nulliparae,
    so its crude rate is higher, but O/E = 1 exactly (indirect standardisation)."""
    def group(hospital, vsv, parity, caesareans, total):
        return [birth(hospital_code=hospital, vsv_code=vsv, parity_group=parity, caesarean=i < caesareans,
                      vaginal_birth=i >= caesareans) for i in range(total)]
    rows = group("H001", "V01", "nulliparous", 8, 40) + group("H001", "V01", "multiparous", 1, 10)
    rows += group("H002", "V02", "nulliparous", 2, 10) + group("H002", "V02", "multiparous", 4, 40)
    publish(sqlite_engine, rows)
    indicators = fresh_engine(sqlite_engine)
    crude = indicators.results("caesarean", "hospital", ADMIN)
    assert row_of(crude, "Ziekenhuis Noord")["rate"] == pytest.approx(9 / 50)
    adjusted = indicators.adjusted("caesarean", "hospital", ADMIN)
    north = row_of(adjusted, "Ziekenhuis Noord")
    assert north["expected"] == pytest.approx(40 * 0.2 + 10 * 0.1)
    assert north["ratio"] == pytest.approx(1.0)
    low, high = confint_poisson(9, 9.0, method="exact-c")
    assert (north["ratio_low"], north["ratio_high"]) == (pytest.approx(low), pytest.approx(high))
    assert north["adjusted_rate"] == pytest.approx(15 / 100) and north["position"] == "within"
    assert adjusted["case_mix"] == ["parity_group", "maternal_age_band", "ga_band", "plurality_group"]


def test_adjusted_flags_an_organisation_that_differs_within_strata(national):
    indicators = fresh_engine(national)
    adjusted = indicators.adjusted("caesarean", "hospital", ADMIN, overdispersion="none")
    high = [row for row in adjusted["rows"] if row["position"] == "above_998"]
    assert [row["label"] for row in high] == ["Ziekenhuis Zuid"] and high[0]["ratio_low"] > 1
    assert high[0]["flag"] == "alarm" and adjusted["judgement"]["method"] == "exact"
    # A provider among three hospitals has two peers: fewer than five, so they show no figures at all.
    provider = indicators.adjusted("caesarean", "hospital", Viewer("provider", org_code="H001"),
                                   overdispersion="none")
    peers = [row for row in provider["rows"] if not row["named"]]
    assert len(peers) == 2 and {row["suppression_reason"] for row in peers} == {"few_peers"}
    assert all(row["ratio"] is None and row["position"] is None for row in peers)


def test_overview_has_every_indicator_for_the_organisation_its_vsv_and_national(national):
    indicators = fresh_engine(national)
    provider = Viewer("provider", org_code="H002")
    overview = indicators.overview(provider, {"parity": "nulliparous"})
    assert overview["organisation"]["label"] == "Ziekenhuis Zuid"
    # A hospital's overview shows the indicators that fit hospitals: not early booking, which midwives do.
    shown = [row["indicator"]["id"] for row in overview["rows"]]
    assert shown == [d["id"] for d in indicators.catalogue() if "hospital" in d["applies_to"]]
    assert "early_booking" not in shown and "nicu" in shown
    practice = indicators.overview(Viewer("provider", org_code="P001"))
    assert "early_booking" in [row["indicator"]["id"] for row in practice["rows"]]
    assert len(indicators.overview(Viewer("researcher"))["rows"]) == len(indicators.catalogue())
    caesarean = next(row for row in overview["rows"] if row["indicator"]["id"] == "caesarean")
    results = indicators.results("caesarean", "hospital", provider, {"parity": "nulliparous"})
    own = row_of(results, "Ziekenhuis Zuid")
    for name in ("numerator", "denominator", "rate", "position", "verdict"):
        assert caesarean["organisation"][name] == own[name]
    assert caesarean["vsv"]["label"] == "VSV Zuid" and caesarean["vsv"] == results["own_vsv"]
    # VSV Zuid minus Ziekenhuis Zuid would be Ziekenhuis Zuid-Oost (the VSV's only other hospital): withheld.
    assert caesarean["vsv"]["suppression_reason"] == "complementary" and caesarean["vsv"]["numerator"] is None
    assert caesarean["vsv"]["judgement"]["phi"] is None  # the VSVs' dispersion would be one more equation
    assert caesarean["national"]["denominator"] == results["national"]["denominator"]
    assert indicators.overview(ADMIN)["organisation"] is None


def test_funnel_limits_and_overdispersion(national):
    indicators = fresh_engine(national)
    exact = indicators.funnel("caesarean", "hospital", ADMIN, overdispersion="none")
    assert exact["judgement"]["method"] == "exact" and exact["judgement"]["requested"] == "none"
    denominators = [point["denominator"] for point in exact["limits"]]
    assert denominators == sorted(denominators) and denominators[-1] >= max(r["denominator"] for r in exact["rows"])
    point = exact["limits"][-1]
    expected = stats.binom.ppf(0.975, point["denominator"], exact["target"]) / point["denominator"]
    assert abs(point["upper_95"] - expected) <= 1 / point["denominator"]  # interpolated within one step
    assert exact["judgement"]["phi"] > 1  # one hospital is far out
    additive = indicators.funnel("caesarean", "hospital", ADMIN, overdispersion="additive")
    assert additive["judgement"]["tau2"] > 0 and additive["judgement"]["method"] == "additive"
    widths = [(p["upper_95"] - p["lower_95"]) for p in additive["limits"] if p["denominator"] > 100]
    exact_widths = [(p["upper_95"] - p["lower_95"]) for p in exact["limits"] if p["denominator"] > 100]
    assert np.all(np.array(widths) > np.array(exact_widths))


def test_organisations_lists_what_the_viewer_may_name(national):
    indicators = fresh_engine(national)
    assert [o["org_code"] for o in indicators.organisations(Viewer("vsv", vsv_code="V02"), "hospital")] == [
        "H002", "H003"]
    assert indicators.organisations(Viewer("researcher"), "hospital") == []
    assert len(indicators.organisations(ADMIN, "practice")) == 2


def test_hospitals_are_judged_against_all_hospital_births_not_against_home_births_too(sqlite_engine):
    # 400 hospital births at 25% caesarean in two equal hospitals, plus 600 home births without a hospital:
    # nationally 10%, but a hospital at the hospitals' own 25% is ordinary, not "higher".
    hospital_births = [birth(hospital_code=code, caesarean=index % 4 == 0, vaginal_birth=index % 4 != 0)
                       for code in ("H001", "H003") for index in range(200)]
    home_births = [birth(hospital_code=None, practice_code="P001", home_birth=True, place_of_birth="home")
                   for _ in range(600)]
    publish(sqlite_engine, hospital_births + home_births)
    indicators = fresh_engine(sqlite_engine)

    funnel = indicators.funnel("caesarean", "hospital", ADMIN)
    assert funnel["national"]["rate"] == pytest.approx(100 / 1000)
    assert funnel["reference"]["rate"] == pytest.approx(100 / 400)
    assert funnel["target"] == pytest.approx(0.25)
    assert {row["position"] for row in funnel["rows"]} == {"within"}

    overview = indicators.overview(ADMIN, org_code="H001")
    caesarean = next(row for row in overview["rows"] if row["indicator"]["id"] == "caesarean")
    assert caesarean["reference"]["rate"] == pytest.approx(0.25)
    assert caesarean["organisation"]["position"] == "within"


def test_without_a_configured_key_each_installation_makes_its_own_pseudonym_key(tmp_path, monkeypatch):
    from queries.config import PSEUDONYM_KEY_VARIABLE
    from settings import installation_secret

    monkeypatch.delenv(PSEUDONYM_KEY_VARIABLE, raising=False)
    first, second = tmp_path / "a" / "pseudonym_key", tmp_path / "b" / "pseudonym_key"
    key = installation_secret(PSEUDONYM_KEY_VARIABLE, first)
    assert len(key) == 64 and installation_secret(PSEUDONYM_KEY_VARIABLE, first) == key  # stable
    assert installation_secret(PSEUDONYM_KEY_VARIABLE, second) != key  # not shared between installations
    assert oct(first.stat().st_mode & 0o777) == "0o600"
    monkeypatch.setenv(PSEUDONYM_KEY_VARIABLE, "configured")
    assert installation_secret(PSEUDONYM_KEY_VARIABLE, first) == "configured"


def test_a_researcher_sees_peers_without_counts_in_bands_of_five(sqlite_engine):
    # Six hospitals of 40–45 births and one of 3: no peer row carries a count, every band holds at least five.
    rows = [birth(hospital_code=f"H00{i}", vsv_code="V01") for i in range(1, 7) for _ in range(39 + i)]
    rows += [birth(hospital_code="H007", vsv_code="V02")] * 3
    publish(sqlite_engine, rows)
    answer = fresh_engine(sqlite_engine).results("caesarean", "hospital", Viewer("researcher"), export=True)
    assert answer["rows"] and all(row["numerator"] is None and row["denominator"] is None for row in answer["rows"])
    assert all(row["disclosure"] == "peer" and not row["named"] for row in answer["rows"])
    bands = Counter((row["size_band"]["low"], row["size_band"]["high"]) for row in answer["rows"])
    assert min(bands.values()) >= 5 and sum(bands.values()) == 7
    tiny = [row for row in answer["rows"] if row["suppression_reason"] == "count_masked"]
    assert len(tiny) == 1 and tiny[0]["rate"] is None
