"""Hand-made births for the engine's tests: one complete, ordinary row with overrides, and publishing.

The default child is a term, singleton, spontaneous vaginal home birth of a nulliparous woman in
midwife-led care (Robson 1, NTSV) with no adverse outcome; a test changes only what it is about.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
from sqlalchemy import Engine, delete, insert, select

from tables.schema import births, data_version_current, data_versions, organisations

DEFAULT_BIRTH = {
    "birth_month": "2023-03", "practice_code": "P001", "hospital_code": "H001", "vsv_code": "V01",
    "has_midwife_record": True, "has_obstetrician_record": False, "has_paediatrician_record": False,
    "link_method": "single", "maternal_age": 31, "maternal_age_band": "30-34", "parity": 0,
    "parity_group": "nulliparous", "previous_caesarean": False, "smoking": False, "ses_quintile": 3,
    "booking_ga_days": 60, "started_care_with_midwife": True, "early_booking": True,
    "is_first_child_of_birth": True, "plurality": 1, "plurality_group": "singleton", "birth_order": 1,
    "ga_days": 280, "ga_weeks": 40, "ga_band": "37-41", "presentation": "cephalic",
    "onset_of_labour": "spontaneous", "labour_started": True, "care_level_onset": "midwife",
    "midwife_led_at_onset": True, "referral_during_labour": False, "robson_group": "1", "ntsv": True,
    "mode_of_birth": "spontaneous", "caesarean": False, "vaginal_birth": True, "spontaneous_vaginal": True,
    "instrumental": False, "place_of_birth": "home", "home_birth": True, "epidural": False, "episiotomy": False,
    "oasis": False, "blood_loss_ml": 300, "pph": False, "child_sex": "F", "birth_weight_g": 3400, "sga": False,
    "preterm": False, "very_preterm": False, "live_birth": True, "stillbirth": False,
    "early_neonatal_death": False, "neonatal_death": False, "perinatal_death": False,
    "perinatal_death_22w_7d": False, "perinatal_death_24w_28d": False, "apgar_5min": 9, "low_apgar": False,
    "nicu_admission": False, "breastfeeding": True,
}

ORGANISATIONS = [
    {"org_code": "V01", "name": "VSV Noord", "org_type": "vsv", "vsv_code": "V01"},
    {"org_code": "V02", "name": "VSV Zuid", "org_type": "vsv", "vsv_code": "V02"},
    {"org_code": "H001", "name": "Ziekenhuis Noord", "org_type": "hospital", "vsv_code": "V01"},
    {"org_code": "H002", "name": "Ziekenhuis Zuid", "org_type": "hospital", "vsv_code": "V02"},
    {"org_code": "H003", "name": "Ziekenhuis Zuid-Oost", "org_type": "hospital", "vsv_code": "V02"},
    {"org_code": "P001", "name": "Praktijk De Wieg", "org_type": "practice", "vsv_code": "V01"},
    {"org_code": "P002", "name": "Praktijk Het Nest", "org_type": "practice", "vsv_code": "V02"},
]


def birth(**overrides: object) -> dict:
    """One births row: the default child with `overrides`; birth_date/year follow birth_month."""
    row = {**DEFAULT_BIRTH, **overrides}
    month = str(row["birth_month"])
    row.setdefault("birth_date", date(int(month[:4]), int(month[5:7]), 15))
    row.setdefault("birth_year", int(month[:4]))
    return row


def publish(engine: Engine, rows: list[dict], data_version: int = 1,
            register: list[dict] | None = None) -> None:
    """Insert the rows as data version `data_version` and point data_version_current at it."""
    with engine.begin() as connection:
        known = set(connection.execute(select(organisations.c.org_code)).scalars())
        new = [org for org in (register if register is not None else ORGANISATIONS) if org["org_code"] not in known]
        if new:
            connection.execute(insert(organisations), new)
        months = sorted(str(row["birth_month"]) for row in rows) or [None]
        connection.execute(insert(data_versions), [{
            "data_version": data_version, "refresh_id": data_version, "published_at": datetime.now(UTC),
            "label": f"test ({data_version})", "births": len(rows), "period_from": months[0],
            "period_to": months[-1]}])
        if rows:
            connection.execute(insert(births), [
                {**row, "data_version": data_version, "birth_id": i + 1} for i, row in enumerate(rows)])
        connection.execute(delete(data_version_current))
        connection.execute(insert(data_version_current), [{"id": 1, "data_version": data_version}])


def random_births(count: int, seed: int = 1, months: tuple[str, ...] = ("2023-01", "2023-02", "2023-03"),
                  hospitals: tuple[str, ...] = ("H001", "H002", "H003"),
                  caesarean_rates: tuple[float, ...] = (0.15, 0.15, 0.15)) -> list[dict]:
    """`count` plausible children spread over hospitals and months, each hospital with its own caesarean
    rate; practices and VSVs follow the register above."""
    rng = np.random.default_rng(seed)
    vsv_of = {org["org_code"]: org["vsv_code"] for org in ORGANISATIONS}
    rows = []
    for _ in range(count):
        index = int(rng.integers(len(hospitals)))
        hospital = hospitals[index]
        nulliparous = bool(rng.random() < 0.45)
        caesarean = bool(rng.random() < caesarean_rates[index])
        age_band = str(rng.choice(["<25", "25-29", "30-34", "35-39", ">=40"]))
        rows.append(birth(
            birth_month=str(rng.choice(months)), hospital_code=hospital, vsv_code=vsv_of[hospital],
            practice_code="P001" if vsv_of[hospital] == "V01" else "P002",
            parity=0 if nulliparous else 1, parity_group="nulliparous" if nulliparous else "multiparous",
            maternal_age_band=age_band, robson_group="1" if nulliparous else "3", ntsv=nulliparous,
            caesarean=caesarean, vaginal_birth=not caesarean, spontaneous_vaginal=not caesarean,
            mode_of_birth="caesarean" if caesarean else "spontaneous",
            ses_quintile=int(rng.integers(1, 6)), smoking=bool(rng.random() < 0.08)))
    return rows
