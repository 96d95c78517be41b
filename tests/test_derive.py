"""Derived variables of the processed `births` table, on small hand-made linked records."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from contracts.delivery_format import FIELDS
from loader.derive import derive_births, linkage_summary
from tables.schema import births as births_table

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PERCENTILES = pl.read_csv(PROJECT_ROOT / "data" / "reference" / "birthweight-percentiles-hoftiezer.csv")
DTYPE_OF_KIND = {"int": pl.Int64, "date": pl.Date, "bool": pl.Boolean}
LINKED_SCHEMA = {
    "org_code": pl.Utf8, "discipline": pl.Utf8, "dossier_id": pl.Utf8,
    **{f.name: DTYPE_OF_KIND.get(f.kind, pl.Utf8) for f in FIELDS if f.name not in {"objection", "org_code",
                                                                                  "dossier_id"}},
    "child_key": pl.Int64, "link_method": pl.Utf8,
}
ORGANISATIONS = pl.DataFrame({
    "org_code": ["H001", "H002", "P0001", "P0002"],
    "name": ["Ziekenhuis A", "Ziekenhuis B", "Praktijk A", "Praktijk B"],
    "org_type": ["hospital", "hospital", "practice", "practice"],
    "vsv_code": ["V001", "V002", "V001", "V003"],
    "region": ["Utrecht"] * 4,
    "hospital_codes": [None, None, "H001", "H002"],
})
POSTCODE_SES = pl.DataFrame({"postcode4": [3511, 3572], "vsv_code": ["V001", "V001"], "ses_quintile": [2, 5]})

#: An ordinary term birth: every field filled, so a test only states what it is about.
TERM_BIRTH = {
    "dossier_version": 1, "mother_birth_date": dt.date(1993, 4, 17), "mother_postcode4": "3511",
    "child_birth_date": dt.date(2024, 3, 9), "child_birth_time": "14:32", "child_sex": "F", "plurality": 1,
    "birth_order": 1, "birth_weight_g": 3420, "gestational_age_days": 280, "parity": 0, "previous_caesarean": False,
    "smoking": False, "booking_gestational_age_days": 60, "care_level_onset": "midwife",
    "referral_during_labour": False, "onset_of_labour": "spontaneous", "presentation": "cephalic",
    "mode_of_birth": "spontaneous", "place_of_birth": "home", "epidural": False, "episiotomy": False,
    "perineal_tear": "1", "blood_loss_ml": 300, "vital_status_birth": "live", "apgar_5min": 9,
    "first_feed": "breast", "nicu_admission": None, "death_date": None,
}
DEFAULT_ORG = {"lvr1": "P0001", "lvr2": "H001", "lnr": "H001"}


def row(child_key: int, discipline: str = "lvr1", **fields) -> dict:
    return {"org_code": DEFAULT_ORG[discipline], "discipline": discipline,
            "dossier_id": f"{discipline}-{child_key}", **TERM_BIRTH, "child_key": child_key,
            "link_method": "single", **fields}


def derive(rows: list[dict]) -> pl.DataFrame:
    return derive_births(pl.DataFrame(rows, schema=LINKED_SCHEMA), ORGANISATIONS, POSTCODE_SES, PERCENTILES)


def one(births: pl.DataFrame, column: str, birth_weight_g: int | None = None):
    """The value of `column` for the only child (or the child with that weight)."""
    if birth_weight_g is not None:
        births = births.filter(pl.col("birth_weight_g") == birth_weight_g)
    return births[column].item()


def test_columns_and_types_are_those_of_the_births_table():
    births = derive([row(1), row(2, "lvr2", child_birth_time="15:00")])
    expected = [c.name for c in births_table.columns if c.name != "data_version"]
    assert births.columns == expected
    assert births.schema["birth_date"] == pl.Date
    assert births.schema["birth_id"] == pl.Int32
    assert births.schema["ga_days"] == pl.Int16
    assert births.schema["sga"] == pl.Boolean
    for column in births_table.columns:
        if column.name in births.columns and not column.nullable:
            assert births[column.name].null_count() == 0, column.name


def test_birth_id_numbers_children_in_order_of_birth():
    births = derive([
        row(1, child_birth_date=dt.date(2024, 3, 10), child_birth_time="01:00", birth_weight_g=3001),
        row(2, child_birth_date=dt.date(2024, 3, 9), child_birth_time="23:59", birth_weight_g=3002),
        row(3, child_birth_date=dt.date(2024, 3, 9), child_birth_time="08:15", birth_weight_g=3003),
    ])
    assert births.sort("birth_id")["birth_weight_g"].to_list() == [3003, 3002, 3001]
    assert births["birth_id"].sort().to_list() == [1, 2, 3]
    assert one(births, "birth_month", 3001) == "2024-03"
    assert one(births, "birth_year", 3001) == 2024


# --- Robson -------------------------------------------------------------------------------------------

ROBSON_CASES = [
    # (expected, parity, previous_caesarean, onset, plurality, ga_days, presentation)
    ("1", 0, False, "spontaneous", 1, 280, "cephalic"),
    ("2a", 0, False, "induced", 1, 259, "cephalic"),
    ("2b", 0, None, "prelabour_caesarean", 1, 275, "cephalic"),
    ("3", 2, False, "spontaneous", 1, 280, "cephalic"),
    ("4a", 1, False, "induced", 1, 290, "cephalic"),
    ("4b", 3, False, "prelabour_caesarean", 1, 266, "cephalic"),
    ("5", 1, True, "spontaneous", 1, 280, "cephalic"),
    ("5", 2, True, None, 1, 280, "cephalic"),  # onset does not matter for group 5
    ("6", 0, False, "prelabour_caesarean", 1, 280, "breech"),
    ("6", 0, None, "spontaneous", 1, 230, "breech"),  # preterm breech is still 6
    ("7", 1, True, "prelabour_caesarean", 1, 270, "breech"),
    ("8", 0, False, "spontaneous", 2, 250, "cephalic"),
    ("8", None, None, None, 3, None, None),  # a multiple pregnancy needs nothing else
    ("9", 2, True, "prelabour_caesarean", 1, 270, "transverse"),
    ("9", None, None, None, 1, None, "transverse"),
    ("10", 0, False, "spontaneous", 1, 258, "cephalic"),
    ("10", 1, True, "prelabour_caesarean", 1, 200, "cephalic"),
    ("unclassifiable", 0, False, "spontaneous", 1, 280, None),  # presentation missing
    ("unclassifiable", 0, False, "spontaneous", 1, 280, "unknown"),
    ("unclassifiable", None, False, "spontaneous", 1, 280, "cephalic"),  # parity missing
    ("unclassifiable", 1, None, "spontaneous", 1, 280, "cephalic"),  # previous caesarean missing
    ("unclassifiable", 0, False, None, 1, 280, "cephalic"),  # onset missing
    ("unclassifiable", 1, False, None, 1, 280, "cephalic"),
    ("unclassifiable", 1, True, "spontaneous", 1, None, "cephalic"),  # gestational age missing
    ("unclassifiable", None, True, "spontaneous", 1, 280, "breech"),  # breech, parity missing
]


@pytest.mark.parametrize(("expected", "parity", "previous_caesarean", "onset", "plurality", "ga_days",
                          "presentation"), ROBSON_CASES)
def test_robson_group(expected, parity, previous_caesarean, onset, plurality, ga_days, presentation):
    births = derive([row(1, parity=parity, previous_caesarean=previous_caesarean, onset_of_labour=onset,
                         plurality=plurality, gestational_age_days=ga_days, presentation=presentation)])
    assert one(births, "robson_group") == expected


def test_every_robson_group_is_covered():
    assert {case[0] for case in ROBSON_CASES} == {
        "1", "2a", "2b", "3", "4a", "4b", "5", "6", "7", "8", "9", "10", "unclassifiable"
    }


@pytest.mark.parametrize(("fields", "expected"), [
    ({}, True),
    ({"onset_of_labour": "prelabour_caesarean"}, True),
    ({"parity": 1}, False),
    ({"gestational_age_days": 258}, False),
    ({"plurality": 2}, False),
    ({"presentation": "breech"}, False),
    ({"presentation": "unknown"}, None),
    ({"parity": None}, None),
    ({"parity": 1, "presentation": None}, False),  # multiparous: not NTSV whatever the presentation
])
def test_ntsv(fields, expected):
    assert one(derive([row(1, **fields)]), "ntsv") == expected


# --- SGA against the Hoftiezer table --------------------------------------------------------------------

@pytest.mark.parametrize(("sex", "ga_days", "weight", "expected"), [
    ("F", 280, 2967, True),    # girl 40+0: p10 is 2968 g (Perined's published curve)
    ("F", 280, 2968, False),
    ("M", 280, 3085, True),    # boy 40+0: p10 is 3086 g
    ("M", 280, 3086, False),
    ("F", 161, 427, True),     # first day of the table (23+0): p10 428 g
    ("F", 161, 428, False),
    ("M", 294, 3000, True),    # last day of the table (42+0)
    ("F", 160, 300, None),     # below the table
    ("M", 295, 2000, None),    # above the table
    ("U", 280, 2000, None),    # sex undetermined: no curve
    ("F", 280, None, None),    # weight missing
    ("F", None, 2000, None),   # gestational age missing
])
def test_sga_uses_the_hoftiezer_p10_for_sex_and_gestational_age(sex, ga_days, weight, expected):
    births = derive([row(1, child_sex=sex, gestational_age_days=ga_days, birth_weight_g=weight)])
    assert one(births, "sga") == expected


def test_sga_boundary_values_are_the_published_ones():
    table = PERCENTILES.filter(pl.col("ga_days") == 280).select("sex", "p10").rows()
    assert sorted(table) == [("female", 2968), ("male", 3086)]


# --- other derivations ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("mother", "child", "age", "band"), [
    (dt.date(1990, 5, 10), dt.date(2024, 5, 9), 33, "30-34"),   # the day before her birthday
    (dt.date(1990, 5, 10), dt.date(2024, 5, 10), 34, "30-34"),  # on her birthday
    (dt.date(1999, 6, 1), dt.date(2024, 5, 31), 24, "<25"),
    (dt.date(1999, 6, 1), dt.date(2024, 6, 1), 25, "25-29"),
    (dt.date(1994, 1, 1), dt.date(2024, 1, 1), 30, "30-34"),
    (dt.date(1989, 12, 31), dt.date(2024, 12, 31), 35, "35-39"),
    (dt.date(1984, 2, 1), dt.date(2024, 1, 31), 39, "35-39"),
    (dt.date(1984, 2, 1), dt.date(2024, 2, 1), 40, ">=40"),
    (dt.date(2000, 2, 29), dt.date(2025, 2, 28), 24, "<25"),    # born on a leap day
    (dt.date(2000, 2, 29), dt.date(2025, 3, 1), 25, "25-29"),
])
def test_maternal_age_and_band(mother, child, age, band):
    births = derive([row(1, mother_birth_date=mother, child_birth_date=child)])
    assert (one(births, "maternal_age"), one(births, "maternal_age_band")) == (age, band)


@pytest.mark.parametrize(("ga_days", "weeks", "band", "preterm", "very_preterm"), [
    (223, 31, "<32", True, True),
    (224, 32, "32-36", True, False),
    (258, 36, "32-36", True, False),
    (259, 37, "37-41", False, False),
    (293, 41, "37-41", False, False),
    (294, 42, ">=42", False, False),
    (None, None, None, None, None),
])
def test_gestational_age_weeks_band_and_preterm(ga_days, weeks, band, preterm, very_preterm):
    births = derive([row(1, gestational_age_days=ga_days)])
    assert [one(births, c) for c in ("ga_days", "ga_weeks", "ga_band", "preterm", "very_preterm")] == [
        ga_days, weeks, band, preterm, very_preterm]


@pytest.mark.parametrize(("fields", "column", "expected"), [
    ({"parity": 0}, "parity_group", "nulliparous"),
    ({"parity": 3}, "parity_group", "multiparous"),
    ({"parity": None}, "parity_group", None),
    ({"plurality": 1}, "plurality_group", "singleton"),
    ({"plurality": 2}, "plurality_group", "multiple"),
    ({"plurality": 2, "birth_order": 2}, "is_first_child_of_birth", False),
    ({"plurality": 2, "birth_order": 1}, "is_first_child_of_birth", True),
    ({"blood_loss_ml": 999}, "pph", False),
    ({"blood_loss_ml": 1000}, "pph", True),
    ({"blood_loss_ml": None}, "pph", None),
    ({"perineal_tear": "2"}, "oasis", False),
    ({"perineal_tear": "3"}, "oasis", True),
    ({"perineal_tear": "4"}, "oasis", True),
    ({"perineal_tear": None}, "oasis", None),
    ({"apgar_5min": 6}, "low_apgar", True),
    ({"apgar_5min": 7}, "low_apgar", False),
    ({"booking_gestational_age_days": 69}, "early_booking", True),
    ({"booking_gestational_age_days": 70}, "early_booking", False),
    ({"place_of_birth": "home"}, "home_birth", True),
    ({"place_of_birth": "hospital_midwife"}, "home_birth", False),
    ({"place_of_birth": "unknown"}, "home_birth", None),
    ({"onset_of_labour": "induced"}, "labour_started", True),
    ({"onset_of_labour": "prelabour_caesarean"}, "labour_started", False),
    ({"first_feed": "formula"}, "breastfeeding", False),
    ({"first_feed": "breast"}, "breastfeeding", True),
])
def test_simple_flags(fields, column, expected):
    assert one(derive([row(1, **fields)]), column) == expected


@pytest.mark.parametrize(("mode", "flags"), [
    ("spontaneous", (False, True, True, False)),
    ("vacuum", (False, True, False, True)),
    ("forceps", (False, True, False, True)),
    ("caesarean", (True, False, False, False)),
    (None, (None, None, None, None)),
])
def test_mode_of_birth_flags(mode, flags):
    births = derive([row(1, mode_of_birth=mode)])
    assert tuple(one(births, c) for c in ("caesarean", "vaginal_birth", "spontaneous_vaginal", "instrumental")) == flags


@pytest.mark.parametrize(("care_level", "onset", "referral", "midwife_led", "referral_kept"), [
    ("midwife", "spontaneous", True, True, True),
    ("midwife", "induced", False, True, False),
    ("midwife", "prelabour_caesarean", None, False, None),
    ("obstetrician", "spontaneous", None, False, None),
    ("obstetrician", None, None, False, None),
    ("midwife", None, True, None, True),
])
def test_midwife_led_at_onset_and_referral(care_level, onset, referral, midwife_led, referral_kept):
    births = derive([row(1, care_level_onset=care_level, onset_of_labour=onset, referral_during_labour=referral)])
    assert (one(births, "midwife_led_at_onset"), one(births, "referral_during_labour")) == (midwife_led, referral_kept)


MORTALITY_COLUMNS = ("live_birth", "stillbirth", "early_neonatal_death", "neonatal_death", "perinatal_death",
                     "perinatal_death_22w_7d", "perinatal_death_24w_28d")
T, F = True, False


@pytest.mark.parametrize(("vital", "ga_days", "died_after_days", "expected"), [
    # (live_birth, stillbirth, early_neonatal_death, neonatal_death,
    #  perinatal_death (24w, 7d), perinatal_death_22w_7d, perinatal_death_24w_28d)
    ("antepartum_death", 168, None, (F, T, F, F, T, T, T)),        # 24+0 weeks: in every variant
    ("intrapartum_death", 280, None, (F, T, F, F, T, T, T)),
    ("antepartum_death", 200, 0, (F, T, F, F, T, T, T)),           # a death date on a stillbirth: still stillbirth
    ("antepartum_death", 167, None, (F, T, F, F, None, T, None)),  # 23+6: only the 22-week variant
    ("antepartum_death", 154, None, (F, T, F, F, None, T, None)),  # 22+0: the first day of the 22-week variant
    ("antepartum_death", 153, None, (F, T, F, F, None, None, None)),  # 21+6: outside every variant
    ("antepartum_death", None, None, (F, T, F, F, None, None, None)),  # GA unknown: outside every variant
    ("live", 200, 0, (T, F, T, T, T, T, T)),                       # died on the day of birth
    ("live", 250, 6, (T, F, T, T, T, T, T)),                       # day 6: within the first 7 days
    ("live", 250, 7, (T, F, F, T, F, F, T)),                       # day 7: late neonatal, only the 28-day variant
    ("live", 250, 27, (T, F, F, T, F, F, T)),                      # day 27: the last day of the neonatal period
    ("live", 250, 28, (T, F, F, F, F, F, F)),                      # day 28: after the neonatal period
    ("live", 280, None, (T, F, F, F, F, F, F)),                    # no death date: survived, as far as known
    ("live", 250, -1, (T, F, F, F, F, F, F)),                      # death before birth (an error): not counted
    ("live", 165, 2, (T, F, T, T, None, T, None)),                 # 23+4, early death: the 22-week variant only
    ("live", 160, 20, (T, F, F, T, None, F, None)),                # 22+6, late neonatal death
    ("live", 153, 0, (T, F, T, T, None, None, None)),              # 21+6: a death, but outside every variant
    ("live", None, 3, (T, F, T, T, None, None, None)),             # GA unknown: the death counts nowhere
])
def test_stillbirth_and_perinatal_death(vital, ga_days, died_after_days, expected):
    birth = dt.date(2024, 3, 9)
    death = birth + dt.timedelta(days=died_after_days) if died_after_days is not None else None
    births = derive([row(1, "lvr2", vital_status_birth=vital, gestational_age_days=ga_days),
                     row(1, "lnr", vital_status_birth=vital, gestational_age_days=ga_days, death_date=death)])
    assert tuple(one(births, c) for c in MORTALITY_COLUMNS) == expected


# --- merging the disciplines ----------------------------------------------------------------------------

def test_each_field_comes_from_the_discipline_that_knows_it_best():
    births = derive([
        row(1, "lvr1", care_level_onset="midwife", referral_during_labour=True, birth_weight_g=3400,
            parity=1, previous_caesarean=False, smoking=True, nicu_admission=None, mode_of_birth=None,
            link_method="probabilistic"),
        row(1, "lvr2", care_level_onset="obstetrician", referral_during_labour=None, birth_weight_g=3425,
            parity=2, smoking=False, mode_of_birth="vacuum", place_of_birth="hospital_obstetrician",
            link_method="probabilistic"),
        row(1, "lnr", birth_weight_g=3390, nicu_admission=True, org_code="H002", link_method="probabilistic"),
    ])
    assert births.height == 1
    assert one(births, "care_level_onset") == "midwife"       # midwife: care level and referral
    assert one(births, "referral_during_labour") is True
    assert one(births, "parity") == 1 and one(births, "smoking") is True  # midwife: the woman's history
    assert one(births, "birth_weight_g") == 3425              # obstetrician: facts of the birth
    assert one(births, "mode_of_birth") == "vacuum"
    assert one(births, "nicu_admission") is True              # paediatrician: neonatal course
    assert (one(births, "practice_code"), one(births, "hospital_code")) == ("P0001", "H001")
    assert one(births, "vsv_code") == "V001"
    assert (one(births, "has_midwife_record"), one(births, "has_obstetrician_record"),
            one(births, "has_paediatrician_record")) == (True, True, True)
    assert one(births, "link_method") == "probabilistic"


def test_a_value_missing_in_the_first_discipline_is_taken_from_the_next():
    births = derive([row(1, "lvr2", birth_weight_g=None, presentation=None),
                     row(1, "lvr1", birth_weight_g=3333, presentation="breech")])
    assert (one(births, "birth_weight_g"), one(births, "presentation")) == (3333, "breech")


def test_midwife_only_child_gets_the_practices_vsv_and_no_nicu():
    births = derive([row(1, "lvr1", org_code="P0002", mother_postcode4="3572")])
    assert one(births, "hospital_code") is None
    assert one(births, "practice_code") == "P0002"
    assert one(births, "vsv_code") == "V003"
    assert one(births, "nicu_admission") is False
    assert one(births, "ses_quintile") == 5
    assert one(births, "started_care_with_midwife") is True
    assert (one(births, "has_obstetrician_record"), one(births, "link_method")) == (False, "single")


def test_hospital_vsv_wins_over_practice_vsv_and_paediatric_hospital_stands_in():
    births = derive([row(1, "lvr1", org_code="P0002"), row(1, "lnr", org_code="H001", mother_postcode4="9999")])
    assert (one(births, "hospital_code"), one(births, "vsv_code")) == ("H001", "V001")
    assert one(births, "ses_quintile") == 2  # the midwife's postcode for the mother; 9999 has no quintile
    obstetric_only = derive([row(1, "lvr2", org_code="H002")])
    assert (one(obstetric_only, "started_care_with_midwife"), one(obstetric_only, "vsv_code")) == (False, "V002")


# --- linkage summary -------------------------------------------------------------------------------------

def test_linkage_summary_counts_records_links_and_expected_links():
    rows = [
        # child 1: referred in labour, linked midwife + obstetrician
        row(1, "lvr1", referral_during_labour=True),
        row(1, "lvr2", care_level_onset="midwife", referral_during_labour=True),
        # child 2: referred in labour but the obstetrician record was not found
        row(2, "lvr1", referral_during_labour=True),
        # child 3: stayed with the midwife — no partner expected
        row(3, "lvr1", referral_during_labour=False, place_of_birth="home"),
        # child 4: booked with the obstetrician, with a paediatrician record
        row(4, "lvr2", org_code="H002", care_level_onset="obstetrician", referral_during_labour=None),
        row(4, "lnr", org_code="H002"),
        # child 5: a paediatrician record without its birth record
        row(5, "lnr", org_code="H002"),
    ]
    summary = linkage_summary(pl.DataFrame(rows, schema=LINKED_SCHEMA))
    assert summary.columns == ["org_code", "discipline", "records", "linked", "expected_links", "linked_expected",
                               "linkage_rate"]

    def line(org: str, discipline: str) -> tuple:
        found = summary.filter((pl.col("org_code") == org) & (pl.col("discipline") == discipline))
        return found.select("records", "linked", "expected_links", "linked_expected", "linkage_rate").row(0)

    assert line("P0001", "lvr1") == (3, 1, 2, 1, 0.5)
    assert line("H001", "lvr2") == (1, 1, 1, 1, 1.0)
    assert line("H002", "lvr2") == (1, 1, 0, 0, None)  # linked, but no partner was expected: not in the rate
    assert line("H002", "lnr") == (2, 1, 2, 1, 0.5)
    assert line("*", "lvr1") == (3, 1, 2, 1, 0.5)
    assert line("*", "*") == (7, 4, 5, 3, pytest.approx(3 / 5))


def test_two_records_of_one_discipline_for_one_child_is_refused():
    with pytest.raises(ValueError, match="two records of one discipline"):
        derive([row(1, "lvr2"), row(1, "lvr2", dossier_id="other")])


def test_derived_rows_can_be_written_to_the_births_table(engine):
    from sqlalchemy import func, insert, select

    births = derive([
        row(1, "lvr1"), row(1, "lvr2", link_method="deterministic"),
        row(2, "lvr2", org_code="H002", plurality=2, birth_order=2, child_birth_time=None, birth_weight_g=None),
    ])
    with engine.begin() as connection:
        connection.execute(insert(births_table), [{"data_version": 1, **values} for values in births.to_dicts()])
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(births_table)).scalar_one() == 2
        robson = connection.execute(select(births_table.c.robson_group).order_by(births_table.c.birth_id)).scalars()
        assert list(robson) == ["1", "8"]
