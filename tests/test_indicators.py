"""Each indicator definition on hand-made births where the numerator and denominator are obvious."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from births_factory import birth, publish

from queries.catalogue import (
    ALL_LEVELS,
    CATALOGUE,
    INDICATORS,
    ORGANISATION_LEVELS,
    Direction,
    Indicator,
    catalogue_markdown,
    indicators_for,
)
from queries.engine import LEVELS, IndicatorEngine
from queries.scope import Viewer
from queries.store import compact_frame, numerator_column, population_column

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# The indicators PRODUCT.md requires, at least.
REQUIRED = {
    "caesarean", "caesarean_robson1", "caesarean_ntsv", "spontaneous_ntsv", "induction", "instrumental",
    "episiotomy", "oasis", "pph", "epidural", "referral_labour", "home_birth", "preterm", "very_preterm", "sga",
    "low_apgar", "perinatal_mortality", "stillbirth", "nicu", "breastfeeding", "smoking", "early_booking",
}

NUMERATOR, POPULATION, OUTSIDE = "numerator", "population", "outside"
SECOND_TWIN = {"plurality": 2, "plurality_group": "multiple", "birth_order": 2, "is_first_child_of_birth": False,
               "robson_group": "8", "ntsv": False}
STILLBORN = {"live_birth": False, "stillbirth": True, "perinatal_death": True, "perinatal_death_22w_7d": True,
             "perinatal_death_24w_28d": True, "apgar_5min": None, "low_apgar": None, "breastfeeding": None}
# Live born, died on day 0-6 (early neonatal) or on day 7-27 (late neonatal: only the 28-day variant counts it).
EARLY_NEONATAL_DEATH = {"early_neonatal_death": True, "neonatal_death": True, "perinatal_death": True,
                        "perinatal_death_22w_7d": True, "perinatal_death_24w_28d": True}
LATE_NEONATAL_DEATH = {"neonatal_death": True, "perinatal_death_24w_28d": True}
CAESAREAN = {"caesarean": True, "vaginal_birth": False, "spontaneous_vaginal": False, "mode_of_birth": "caesarean",
             "home_birth": False, "place_of_birth": "hospital_obstetrician", "episiotomy": None, "oasis": None}
PRELABOUR_CAESAREAN = {**CAESAREAN, "onset_of_labour": "prelabour_caesarean", "labour_started": False,
                       "epidural": False, "care_level_onset": "obstetrician", "midwife_led_at_onset": False,
                       "referral_during_labour": None, "robson_group": "5", "ntsv": False}
# 22+6 weeks: in the 22-week mortality variant only.
VERY_EARLY = {"ga_days": 160, "ga_weeks": 22, "ga_band": "<32", "preterm": True, "very_preterm": True,
              "perinatal_death": None, "perinatal_death_24w_28d": None, "sga": None}
STILLBORN_VERY_EARLY = {**VERY_EARLY, **STILLBORN, "perinatal_death": None, "perinatal_death_24w_28d": None}
# 21+6 weeks: below every registry population.
BEFORE_22_WEEKS = {**VERY_EARLY, "ga_days": 153, "ga_weeks": 21, "perinatal_death_22w_7d": None}

# indicator → [(what the child is, where it must be counted)]
CASES: dict[str, list[tuple[dict, str]]] = {
    "caesarean": [(CAESAREAN, NUMERATOR), ({}, POPULATION), ({"caesarean": None}, OUTSIDE)],
    "caesarean_robson1": [(CAESAREAN, NUMERATOR), ({}, POPULATION),
                          ({**CAESAREAN, "robson_group": "3", "parity": 1}, OUTSIDE)],
    "caesarean_ntsv": [(CAESAREAN, NUMERATOR), ({"robson_group": "2a", "onset_of_labour": "induced"}, POPULATION),
                       ({**CAESAREAN, "ntsv": False}, OUTSIDE), ({"ntsv": None}, OUTSIDE)],
    "spontaneous_ntsv": [({}, NUMERATOR), (CAESAREAN, POPULATION),
                         ({"instrumental": True, "spontaneous_vaginal": False}, POPULATION),
                         ({"ntsv": False}, OUTSIDE), ({"spontaneous_vaginal": None}, OUTSIDE)],
    "induction": [({"onset_of_labour": "induced"}, NUMERATOR), ({}, POPULATION),
                  ({"onset_of_labour": "induced", "ga_days": 250}, OUTSIDE),
                  ({**SECOND_TWIN, "onset_of_labour": "induced"}, OUTSIDE), ({"onset_of_labour": None}, OUTSIDE)],
    "instrumental": [({"instrumental": True, "spontaneous_vaginal": False}, NUMERATOR), ({}, POPULATION),
                     (CAESAREAN, OUTSIDE), ({"instrumental": None}, OUTSIDE)],
    "episiotomy": [({"episiotomy": True}, NUMERATOR), ({}, POPULATION), ({**SECOND_TWIN, "episiotomy": True}, OUTSIDE),
                   (CAESAREAN, OUTSIDE)],
    "oasis": [({"oasis": True}, NUMERATOR), ({}, POPULATION), ({**SECOND_TWIN, "oasis": True}, OUTSIDE),
              (CAESAREAN, OUTSIDE), ({"oasis": None}, OUTSIDE)],
    "pph": [({"pph": True, "blood_loss_ml": 1200}, NUMERATOR), ({}, POPULATION), (CAESAREAN, POPULATION),
            ({**SECOND_TWIN, "pph": True}, OUTSIDE), ({"pph": None}, OUTSIDE)],
    "epidural": [({"epidural": True}, NUMERATOR), ({}, POPULATION), (PRELABOUR_CAESAREAN, OUTSIDE),
                 ({**SECOND_TWIN, "epidural": True}, OUTSIDE), ({"epidural": None}, OUTSIDE)],
    "referral_labour": [({"referral_during_labour": True}, NUMERATOR), ({}, POPULATION),
                        ({"care_level_onset": "obstetrician", "midwife_led_at_onset": False,
                          "referral_during_labour": None}, OUTSIDE),
                        ({**SECOND_TWIN, "referral_during_labour": True}, OUTSIDE),
                        ({"referral_during_labour": None}, OUTSIDE)],
    "home_birth": [({}, NUMERATOR), (CAESAREAN, POPULATION), ({**SECOND_TWIN}, NUMERATOR),
                   ({"home_birth": None}, OUTSIDE)],
    "preterm": [({"ga_days": 250, "ga_band": "32-36", "preterm": True}, NUMERATOR), ({}, POPULATION),
                (VERY_EARLY, OUTSIDE), ({"ga_days": None, "preterm": None}, OUTSIDE)],
    "very_preterm": [({"ga_days": 200, "ga_band": "<32", "preterm": True, "very_preterm": True}, NUMERATOR),
                     ({"ga_days": 250, "preterm": True}, POPULATION), ({}, POPULATION), (VERY_EARLY, OUTSIDE)],
    "sga": [({"sga": True, "birth_weight_g": 2600}, NUMERATOR), ({}, POPULATION),
            ({**SECOND_TWIN, "sga": True}, OUTSIDE), ({**STILLBORN, "sga": True}, OUTSIDE),
            ({"ga_days": 300, "sga": None}, OUTSIDE), ({"child_sex": "U", "sga": None}, OUTSIDE)],
    "low_apgar": [({"low_apgar": True, "apgar_5min": 5}, NUMERATOR), ({}, POPULATION),
                  ({"ga_days": 250, "low_apgar": True}, OUTSIDE), ({**SECOND_TWIN, "low_apgar": True}, OUTSIDE),
                  (STILLBORN, OUTSIDE)],
    "perinatal_mortality": [(STILLBORN, NUMERATOR), (EARLY_NEONATAL_DEATH, NUMERATOR),
                            (LATE_NEONATAL_DEATH, POPULATION), ({}, POPULATION), (STILLBORN_VERY_EARLY, OUTSIDE)],
    "perinatal_mortality_22w_7d": [(STILLBORN, NUMERATOR), (STILLBORN_VERY_EARLY, NUMERATOR),
                                   (EARLY_NEONATAL_DEATH, NUMERATOR), ({**VERY_EARLY, **EARLY_NEONATAL_DEATH,
                                                                        "perinatal_death": None,
                                                                        "perinatal_death_24w_28d": None}, NUMERATOR),
                                   (LATE_NEONATAL_DEATH, POPULATION), (VERY_EARLY, POPULATION), ({}, POPULATION),
                                   (BEFORE_22_WEEKS, OUTSIDE),
                                   ({"ga_days": None, "perinatal_death": None, "perinatal_death_22w_7d": None,
                                     "perinatal_death_24w_28d": None}, OUTSIDE)],
    "perinatal_mortality_24w_28d": [(STILLBORN, NUMERATOR), (EARLY_NEONATAL_DEATH, NUMERATOR),
                                    (LATE_NEONATAL_DEATH, NUMERATOR), ({}, POPULATION),
                                    (STILLBORN_VERY_EARLY, OUTSIDE), ({**VERY_EARLY, **LATE_NEONATAL_DEATH,
                                                                       "perinatal_death_24w_28d": None}, OUTSIDE)],
    "stillbirth": [(STILLBORN, NUMERATOR), (EARLY_NEONATAL_DEATH, POPULATION), ({}, POPULATION),
                   (STILLBORN_VERY_EARLY, OUTSIDE)],
    "nicu": [({"nicu_admission": True}, NUMERATOR), ({}, POPULATION), (STILLBORN, OUTSIDE)],
    "breastfeeding": [({}, NUMERATOR), ({"breastfeeding": False}, POPULATION), ({**SECOND_TWIN}, NUMERATOR),
                      (STILLBORN, OUTSIDE), ({"breastfeeding": None}, OUTSIDE)],
    "smoking": [({"smoking": True}, NUMERATOR), ({}, POPULATION), ({**SECOND_TWIN, "smoking": True}, OUTSIDE),
                ({"smoking": None}, OUTSIDE)],
    "early_booking": [({}, NUMERATOR), ({"early_booking": False, "booking_ga_days": 90}, POPULATION),
                      ({"started_care_with_midwife": False, "early_booking": None}, OUTSIDE),
                      ({"early_booking": None}, OUTSIDE), ({**SECOND_TWIN}, OUTSIDE)],
}


def test_catalogue_has_every_required_indicator_with_a_complete_definition():
    assert set(CATALOGUE) >= REQUIRED
    for definition in INDICATORS:  # the names and definitions in words: tests/test_texts.py
        assert definition.unit in ("%", "‰") and definition.source
        assert definition.direction in ("higher_is_better", "higher_is_worse", "neutral")
    assert CATALOGUE["perinatal_mortality"].unit == "‰"
    assert {d.id for d in INDICATORS if d.woman_level} >= {"pph", "epidural", "smoking", "early_booking"}


def test_every_indicator_has_hand_made_cases():
    assert set(CASES) == set(CATALOGUE)


@pytest.mark.parametrize("indicator_id", sorted(CASES))
def test_indicator_counts_hand_made_births(indicator_id):
    cases = CASES[indicator_id]
    frame = compact_frame(pl.DataFrame([birth(**child) for child, _ in cases], infer_schema_length=None), "test")
    in_numerator = frame[numerator_column(indicator_id)].to_list()
    in_population = frame[population_column(indicator_id)].to_list()
    for (child, expected), numerator, population in zip(cases, in_numerator, in_population, strict=True):
        where = NUMERATOR if numerator else POPULATION if population else OUTSIDE
        assert where == expected, f"{indicator_id}: {child} counted in {where}, expected {expected}"


def test_engine_reports_the_hand_made_counts_from_the_database(engine):
    """Through the whole path (database → store → engine) on SQLite and PostgreSQL: 3 pre-labour
    caesareans among 12 births of known mode (a 13th, a second twin, has no known mode); 2 epidurals among
    the 9 women who went into labour."""
    rows = [birth(**PRELABOUR_CAESAREAN) for _ in range(3)] + [birth() for _ in range(9)]
    rows += [birth(**SECOND_TWIN, caesarean=None)]
    rows[3]["epidural"] = rows[4]["epidural"] = True
    publish(engine, rows)
    overview = IndicatorEngine(engine).overview(Viewer("admin"))
    national = {row["indicator"]["id"]: row["national"] for row in overview["rows"]}
    assert (national["caesarean"]["numerator"], national["caesarean"]["denominator"]) == (3, 12)
    assert national["caesarean"]["rate"] == pytest.approx(3 / 12)
    # 9 women in labour: below the minimum denominator of 10, so counts but no rate.
    epidural = national["epidural"]
    assert (epidural["numerator"], epidural["denominator"]) == (2, 9)
    assert epidural["rate"] is None and epidural["suppressed"]


def test_docs_list_the_catalogue_as_generated():
    document = (PROJECT_ROOT / "docs" / "indicators.md").read_text(encoding="utf-8")
    assert catalogue_markdown() in document


# --- which organisation levels an indicator is shown for ------------------------------------------------

def test_the_catalogue_knows_the_engines_organisation_levels():
    assert ORGANISATION_LEVELS == LEVELS
    assert frozenset(LEVELS) == ALL_LEVELS


def test_every_indicator_is_shown_for_the_vsv():
    """A VSV holds all births of its region, of the practices and the hospitals alike."""
    for definition in INDICATORS:
        assert "vsv" in definition.applies_to, definition.id
        assert definition.applies_to <= ALL_LEVELS, definition.id


@pytest.mark.parametrize(("indicator_id", "levels"), [
    ("early_booking", {"practice", "vsv"}),       # the first visit is booked with the midwife
    ("referral_labour", {"practice", "vsv"}),     # the midwife refers; a hospital only receives
    ("home_birth", {"practice", "vsv"}),
    ("epidural", {"hospital", "vsv"}),            # only given in hospital
    ("caesarean", {"practice", "hospital", "vsv"}),  # how the women a practice cared for gave birth
    ("spontaneous_ntsv", {"practice", "hospital", "vsv"}),
    ("caesarean_robson1", {"hospital", "vsv"}),
    ("induction", {"hospital", "vsv"}),
    ("nicu", {"hospital", "vsv"}),
    ("pph", {"hospital", "vsv"}),
    ("episiotomy", {"practice", "hospital", "vsv"}),  # midwives cut episiotomies too
    ("perinatal_mortality", {"practice", "hospital", "vsv"}),
    ("perinatal_mortality_22w_7d", {"practice", "hospital", "vsv"}),
    ("perinatal_mortality_24w_28d", {"practice", "hospital", "vsv"}),
    ("stillbirth", {"practice", "hospital", "vsv"}),
    ("preterm", {"practice", "hospital", "vsv"}),
    ("sga", {"practice", "hospital", "vsv"}),
    ("smoking", {"practice", "hospital", "vsv"}),
    ("breastfeeding", {"practice", "hospital", "vsv"}),
])
def test_indicator_is_shown_for_the_levels_whose_care_it_measures(indicator_id, levels):
    assert CATALOGUE[indicator_id].applies_to == levels


def test_indicators_for_a_level_keeps_catalogue_order_and_leaves_out_what_does_not_apply():
    hospital = {definition.id for definition in indicators_for("hospital")}
    practice = {definition.id for definition in indicators_for("practice")}
    assert "early_booking" not in hospital and "referral_labour" not in hospital and "home_birth" not in hospital
    assert "epidural" not in practice and "nicu" not in practice and "induction" not in practice
    assert {"caesarean", "epidural", "perinatal_mortality"} <= hospital
    assert {"early_booking", "referral_labour", "perinatal_mortality_24w_28d"} <= practice
    assert indicators_for("vsv") == INDICATORS
    assert indicators_for(None) == INDICATORS  # the national (researcher) view: everything
    for level in LEVELS:
        chosen = indicators_for(level)
        assert list(chosen) == [d for d in INDICATORS if d in chosen]  # catalogue order
        assert hospital | practice == set(CATALOGUE)  # every indicator is shown for some organisation


def test_indicators_for_an_unknown_level_is_an_error():
    with pytest.raises(ValueError, match="unknown organisation level 'region'"):
        indicators_for("region")


def test_an_indicator_for_no_level_or_an_unknown_one_is_refused():
    common = {"numerator": {"caesarean": True}, "denominator": {}, "unit": "%", "direction": Direction.NEUTRAL,
              "source": "test", "topic": "mode_of_birth"}
    with pytest.raises(ValueError, match="applies_to"):
        Indicator("x", **common, applies_to=frozenset())
    with pytest.raises(ValueError, match="applies_to"):
        Indicator("x", **common, applies_to=frozenset({"hospital", "region"}))


def test_the_definition_says_which_levels_it_is_shown_for():
    assert CATALOGUE["early_booking"].as_dict()["applies_to"] == ["practice", "vsv"]
    assert CATALOGUE["epidural"].as_dict()["applies_to"] == ["hospital", "vsv"]
    assert CATALOGUE["smoking"].as_dict()["applies_to"] == ["hospital", "practice", "vsv"]  # sorted
    for definition in INDICATORS:
        listed = definition.as_dict()["applies_to"]
        assert listed == sorted(definition.applies_to)


# --- perinatal mortality as Perined and CBS publish it ----------------------------------------------------

def test_the_three_perinatal_mortality_variants():
    standard, extended, neonatal = (CATALOGUE[i] for i in ("perinatal_mortality", "perinatal_mortality_22w_7d",
                                                           "perinatal_mortality_24w_28d"))
    for definition in (standard, extended, neonatal):
        assert (definition.unit, definition.direction, definition.topic) == ("‰", "higher_is_worse", "mortality")
        assert not definition.woman_level  # every child counts, twins too
    assert standard.as_dict()["denominator"] == neonatal.as_dict()["denominator"] == "ga_days >= 168"
    assert extended.as_dict()["denominator"] == "ga_days >= 154"


def test_engine_reports_the_three_mortality_variants_from_the_database(engine):
    """20 surviving term children, a stillbirth at 30 weeks, an early and a late neonatal death at 36 weeks, a
    stillbirth at 22+6 weeks (in the 22-week variant only) and an early death at 21+6 weeks (in none)."""
    rows = [birth() for _ in range(20)]
    rows += [birth(**{**STILLBORN, "ga_days": 210, "ga_weeks": 30, "ga_band": "<32", "preterm": True,
                      "very_preterm": True}),
             birth(**{**EARLY_NEONATAL_DEATH, "ga_days": 252, "ga_weeks": 36, "ga_band": "32-36", "preterm": True}),
             birth(**{**LATE_NEONATAL_DEATH, "ga_days": 252, "ga_weeks": 36, "ga_band": "32-36", "preterm": True}),
             birth(**STILLBORN_VERY_EARLY),
             birth(**{**BEFORE_22_WEEKS, **EARLY_NEONATAL_DEATH, "perinatal_death": None,
                      "perinatal_death_22w_7d": None, "perinatal_death_24w_28d": None})]
    publish(engine, rows)
    overview = IndicatorEngine(engine).overview(Viewer("admin"))
    national = {row["indicator"]["id"]: row["national"] for row in overview["rows"]}

    def counts(indicator_id: str) -> tuple[int, int]:
        return national[indicator_id]["numerator"], national[indicator_id]["denominator"]

    assert counts("perinatal_mortality") == (2, 23)
    assert counts("perinatal_mortality_22w_7d") == (3, 24)
    assert counts("perinatal_mortality_24w_28d") == (3, 23)
    assert counts("stillbirth") == (1, 23)
    assert national["perinatal_mortality_24w_28d"]["rate"] == pytest.approx(3 / 23)
