"""Each indicator definition on hand-made births where the numerator and denominator are obvious."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from births_factory import birth, publish

from queries.catalogue import CATALOGUE, INDICATORS, catalogue_markdown
from queries.engine import IndicatorEngine
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
STILLBORN = {"live_birth": False, "stillbirth": True, "perinatal_death": True, "apgar_5min": None,
             "low_apgar": None, "breastfeeding": None}
CAESAREAN = {"caesarean": True, "vaginal_birth": False, "spontaneous_vaginal": False, "mode_of_birth": "caesarean",
             "home_birth": False, "place_of_birth": "hospital_obstetrician", "episiotomy": None, "oasis": None}
PRELABOUR_CAESAREAN = {**CAESAREAN, "onset_of_labour": "prelabour_caesarean", "labour_started": False,
                       "epidural": False, "care_level_onset": "obstetrician", "midwife_led_at_onset": False,
                       "referral_during_labour": None, "robson_group": "5", "ntsv": False}
VERY_EARLY = {"ga_days": 160, "ga_weeks": 22, "ga_band": "<32", "preterm": True, "very_preterm": True,
              "perinatal_death": None, "sga": None}

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
    "perinatal_mortality": [(STILLBORN, NUMERATOR),
                            ({"early_neonatal_death": True, "perinatal_death": True}, NUMERATOR),
                            ({}, POPULATION), ({**VERY_EARLY, **STILLBORN, "perinatal_death": None}, OUTSIDE)],
    "stillbirth": [(STILLBORN, NUMERATOR), ({"early_neonatal_death": True, "perinatal_death": True}, POPULATION),
                   ({}, POPULATION), ({**VERY_EARLY, **STILLBORN}, OUTSIDE)],
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
    frame = compact_frame(pl.DataFrame([birth(**child) for child, _ in cases], infer_schema_length=None))
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
