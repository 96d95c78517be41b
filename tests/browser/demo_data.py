"""A small synthetic database for the browser tests: a few organisations, one published data version, deliveries
with a planted rejected record (and the planted hospital's paediatric delivery for the last month missing), hints,
linkage figures and a few hundred births.

With `other_hospitals`, also that many hospitals, each in a VSV of its own (`other_vsv_code`), with births in the
first months only
(OTHER_MONTHS): enough hospitals for a provider's peers to be shown by size band (the engine shows no peer beside
fewer than five, queries/disclosure.py PEER_GROUP_SIZE), while the last months leave the planted hospital beside one
peer. Their own VSVs make enough VSVs and organisations behind the national figure for it to be shown (beside
fewer than five other organisations or VSVs it is withheld, queries.disclosure.national_withheld) — except in the
last months. The planted organisations and their births are the same either way.

Rows are inserted directly into the tables of `tables/schema.py`, so the browser tests do not depend on the
generator and loader being finished. Everything here is invented; the planted values are what the tests look for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
from sqlalchemy import Engine, insert

from tables.schema import (
    births,
    data_version_current,
    data_versions,
    deliveries,
    hints,
    linkage_summary,
    organisations,
    records,
    refreshes,
    rejected_records,
)


@dataclass(frozen=True)
class Planted:
    """What a user should be able to find on the pages."""

    version_label: str = "2026-11 (1)"
    published_at: datetime = datetime(2026, 11, 1, 3, 15, tzinfo=UTC)
    practice: str = "P0001"
    # An organisation name with markup: it must appear literally, never as HTML.
    practice_name: str = "Verloskundigen <b>De Ooievaar</b>"
    hospital: str = "H0001"
    hospital_name: str = "Ziekenhuis Rivierenland"
    rejected_file: str = "lvr1_P0001_2024-03.csv"
    rejected_line: int = 17
    rejected_dossier: str = "PLANT-0042"
    rejected_nl: str = "Geboortegewicht 3,4 is geen geheel aantal grammen (in kilogrammen aangeleverd?)"
    rejected_en: str = "Birth weight 3.4 is not a whole number of grams (sent in kilograms?)"
    # A VSV (no members, no births) whose name holds a script: it must show as text and never run.
    script_vsv: str = "V02"
    script_vsv_name: str = "VSV <script>window.perispiegelInjected = true</script> Noord"


PLANTED = Planted()
MONTHS = [f"2024-{month:02d}" for month in range(1, 7)]
#: The VSV of the other hospitals, and the months of their births (none in the last two months).
OTHER_MONTHS = MONTHS[:4]
#: Births per other hospital.
OTHER_HOSPITAL_BIRTHS = 90


def other_hospital_codes(count: int) -> list[str]:
    """The codes of `count` other hospitals: H0003, H0004, …"""
    return [f"H{number:04d}" for number in range(3, 3 + count)]


def other_vsv_code(hospital: str) -> str:
    """The VSV of another hospital: one each (H0003 → V13)."""
    return f"V1{hospital[-1]}"


def fill_demo_database(engine: Engine, births_count: int = 400, seed: int = 11, other_hospitals: int = 0) -> Planted:
    """Fill an empty database (schema created) with the demo rows, and `other_hospitals` hospitals of another VSV
    (see the module docstring); returns what was planted."""
    random = np.random.default_rng(seed)
    p = PLANTED
    others = other_hospital_codes(other_hospitals)
    other_random = np.random.default_rng(seed + 1)
    other_births = [row for index, code in enumerate(others)
                    for row in demo_births(other_random, OTHER_HOSPITAL_BIRTHS,
                                           first_id=births_count + 1 + index * OTHER_HOSPITAL_BIRTHS,
                                           months=OTHER_MONTHS, hospitals=(code,), practices=(),
                                           vsv_code=other_vsv_code(code))]
    with engine.begin() as connection:
        connection.execute(insert(organisations), [
            {"org_code": "V01", "name": "VSV Rivierenland", "org_type": "vsv", "vsv_code": "V01"},
            {"org_code": p.hospital, "name": p.hospital_name, "org_type": "hospital", "vsv_code": "V01"},
            {"org_code": "H0002", "name": "Ziekenhuis Kustzorg", "org_type": "hospital", "vsv_code": "V01"},
            {"org_code": p.practice, "name": p.practice_name, "org_type": "practice", "vsv_code": "V01",
             "hospital_codes": p.hospital},
            {"org_code": "P0002", "name": "Verloskundigenpraktijk Zonnebloem", "org_type": "practice",
             "vsv_code": "V01", "hospital_codes": "H0002"},
            {"org_code": p.script_vsv, "name": p.script_vsv_name, "org_type": "vsv", "vsv_code": p.script_vsv},
        ])
        if others:
            connection.execute(insert(organisations), [
                *({"org_code": other_vsv_code(code), "name": f"VSV Elders {code[-1]}", "org_type": "vsv",
                   "vsv_code": other_vsv_code(code)} for code in others),
                *({"org_code": code, "name": f"Ziekenhuis Elders {code[-1]}", "org_type": "hospital",
                   "vsv_code": other_vsv_code(code)} for code in others)])
        connection.execute(insert(refreshes), [{
            "refresh_id": 1, "started_at": datetime(2026, 11, 1, 3, 0, tzinfo=UTC), "finished_at": p.published_at,
            "status": "published", "source_dir": "/demo/deliveries", "data_version": 1,
        }])
        connection.execute(insert(data_versions), [{
            "data_version": 1, "refresh_id": 1, "published_at": p.published_at, "label": p.version_label,
            "births": births_count + len(other_births), "period_from": MONTHS[0], "period_to": MONTHS[-1],
        }])
        connection.execute(insert(data_version_current), [{"id": 1, "data_version": 1}])

        delivery_rows = []
        for org, discipline in ((p.practice, "lvr1"), ("P0002", "lvr1"), (p.hospital, "lvr2"), ("H0002", "lvr2")):
            for month in MONTHS:
                read = int(random.integers(20, 40))
                rejected = 2 if (org, month) == (p.practice, "2024-03") else int(random.integers(0, 2))
                objected = int(random.integers(0, 2))
                delivery_rows.append({
                    "delivery_id": len(delivery_rows) + 1, "refresh_id": 1,
                    "file_name": f"{discipline}_{org}_{month}.csv", "sha256": f"{len(delivery_rows) + 1:064x}",
                    "org_code": org, "discipline": discipline, "month": month, "resend": 0,
                    "status": "partially_accepted" if rejected else "accepted",
                    "records_read": read, "records_accepted": read - rejected - objected,
                    "records_rejected": rejected, "records_objected": objected,
                    "received_at": datetime(2026, 11, 1, 3, 1, tzinfo=UTC),
                })
        # The planted hospital's paediatricians deliver too (fixed counts, no hints: the random draws above feed the
        # births), but not for the last month: the registry console's one missing delivery.
        paediatric_rows = [{
            "delivery_id": len(delivery_rows) + index, "refresh_id": 1, "file_name": f"lnr_{p.hospital}_{month}.csv",
            "sha256": f"{len(delivery_rows) + index:064x}", "org_code": p.hospital, "discipline": "lnr",
            "month": month, "resend": 0, "status": "accepted", "records_read": 12, "records_accepted": 12,
            "records_rejected": 0, "records_objected": 0, "received_at": datetime(2026, 11, 1, 3, 1, tzinfo=UTC),
        } for index, month in enumerate(MONTHS[:-1], start=1)]
        connection.execute(insert(deliveries), delivery_rows + paediatric_rows)
        planted_delivery = next(row["delivery_id"] for row in delivery_rows if row["file_name"] == p.rejected_file)
        rejections = [
            {"delivery_id": planted_delivery, "line_number": p.rejected_line, "dossier_id": p.rejected_dossier,
             "error_codes": "not_integer", "message_nl": p.rejected_nl, "message_en": p.rejected_en, "raw": "{}"},
            {"delivery_id": planted_delivery, "line_number": 23, "dossier_id": "<script>alert(1)</script>",
             "error_codes": "invalid_code", "message_nl": "Onbekende code 'X' voor geslacht kind",
             "message_en": "Unknown code 'X' for child's sex", "raw": "{}"},
        ]
        for row in delivery_rows:
            for line in range(row["records_rejected"] if row["delivery_id"] != planted_delivery else 0):
                rejections.append({
                    "delivery_id": row["delivery_id"], "line_number": 5 + line, "dossier_id": f"D{row['delivery_id']}",
                    "error_codes": "missing_required", "message_nl": "Verplicht veld amenorroeduur ontbreekt",
                    "message_en": "Required field gestational age is missing", "raw": "{}"})
        connection.execute(insert(rejected_records),
                           [{"rejection_id": i, **row} for i, row in enumerate(rejections, start=1)])
        connection.execute(insert(hints), [
            {"hint_id": i, "delivery_id": row["delivery_id"], "dossier_id": f"D{row['delivery_id']}-{i}",
             "field": field, "hint_code": code,
             "message_nl": f"{label_nl} ontbreekt" if code == "missing_important" else f"{label_nl} onwaarschijnlijk",
             "message_en": f"{label_en} is missing" if code == "missing_important" else f"{label_en} implausible"}
            for i, (row, (field, code, label_nl, label_en)) in enumerate(
                ((row, hint) for row in delivery_rows for hint in (
                    ("birth_weight_g", "missing_important", "Geboortegewicht", "Birth weight"),
                    ("blood_loss_ml", "implausible", "Bloedverlies", "Blood loss"))), start=1)
        ])
        connection.execute(insert(linkage_summary), [
            {"data_version": 1, "org_code": org, "discipline": discipline, "records": recs, "linked": linked,
             "expected_links": expected, "linked_expected": linked, "linkage_rate": linked / expected}
            for org, discipline, recs, linked, expected in (
                (p.practice, "lvr1", 160, 58, 60), ("P0002", "lvr1", 150, 50, 50),
                (p.hospital, "lvr2", 170, 99, 100), ("H0002", "lvr2", 140, 70, 70),
                ("*", "lvr1", 310, 108, 110), ("*", "lvr2", 310, 169, 170))
        ])
        connection.execute(insert(records), [
            {"org_code": org, "discipline": "lvr1", "dossier_id": f"R{org}{i}", "dossier_version": 1,
             "delivery_id": 1, "birth_weight_g": None if i % 7 == 0 else 3400, "smoking": i % 3 == 0,
             "child_birth_time": "12:00", "care_level_onset": "midwife"}
            for org in (p.practice, "P0002") for i in range(30)
        ])
        connection.execute(insert(births), demo_births(random, births_count) + other_births)
    return p


def demo_births(random: np.random.Generator, count: int, first_id: int = 1, months: list[str] = MONTHS,
                hospitals: Sequence[str] = ("H0001", "H0002"), practices: Sequence[str] = ("P0001", "P0002"),
                vsv_code: str = "V01") -> list[dict]:
    """Plausible processed births rows (one per child) spread over `months` and the organisations (no practices:
    hospital births without a midwife record)."""
    rows = []
    for birth_id in range(first_id, first_id + count):
        month = months[int(random.integers(0, len(months)))]
        year, month_number = int(month[:4]), int(month[5:])
        ga_days = int(np.clip(random.normal(278, 12), 168, 300))
        parity = int(random.choice([0, 1, 2, 3], p=[0.45, 0.37, 0.13, 0.05]))
        onset = str(random.choice(["spontaneous", "induced", "prelabour_caesarean"], p=[0.67, 0.25, 0.08]))
        caesarean = onset == "prelabour_caesarean" or random.random() < 0.08
        mode = "caesarean" if caesarean else str(random.choice(["spontaneous", "vacuum"], p=[0.9, 0.1]))
        midwife_led = onset == "spontaneous" and random.random() < 0.6
        age = int(random.integers(20, 43))
        weight = int(random.normal(3400, 450))
        place = "home" if midwife_led and random.random() < 0.3 else "hospital_obstetrician"
        practice = str(random.choice(list(practices))) if practices else None
        hospital = str(random.choice(list(hospitals)))
        rows.append({
            "data_version": 1, "birth_id": birth_id, "birth_date": date(year, month_number, 10),
            "birth_month": month, "birth_year": year, "practice_code": practice, "hospital_code": hospital,
            "vsv_code": vsv_code, "has_midwife_record": practice is not None,
            "has_obstetrician_record": not midwife_led,
            "has_paediatrician_record": False, "link_method": "deterministic" if not midwife_led else "single",
            "maternal_age": age, "maternal_age_band": "<25" if age < 25 else "25-29" if age < 30 else "30-34"
            if age < 35 else "35-39" if age < 40 else ">=40",
            "parity": parity, "parity_group": "nulliparous" if parity == 0 else "multiparous",
            "previous_caesarean": False, "smoking": bool(random.random() < 0.08),
            "ses_quintile": int(random.integers(1, 6)), "booking_ga_days": int(random.integers(50, 90)),
            "started_care_with_midwife": True, "early_booking": True, "is_first_child_of_birth": True,
            "plurality": 1, "plurality_group": "singleton", "birth_order": 1, "ga_days": ga_days,
            "ga_weeks": ga_days // 7, "ga_band": "<32" if ga_days < 224 else "32-36" if ga_days < 259 else "37-41"
            if ga_days < 294 else ">=42",
            "presentation": "cephalic", "onset_of_labour": onset, "labour_started": onset != "prelabour_caesarean",
            "care_level_onset": "midwife" if midwife_led else "obstetrician", "midwife_led_at_onset": midwife_led,
            "referral_during_labour": bool(midwife_led and random.random() < 0.4) if midwife_led else None,
            "robson_group": ("1" if parity == 0 else "3") if onset == "spontaneous" else
            ("2a" if parity == 0 else "4a") if onset == "induced" else ("2b" if parity == 0 else "4b"),
            "ntsv": parity == 0 and ga_days >= 259, "mode_of_birth": mode, "caesarean": caesarean,
            "vaginal_birth": not caesarean, "spontaneous_vaginal": mode == "spontaneous",
            "instrumental": mode == "vacuum", "place_of_birth": place, "home_birth": place == "home",
            "epidural": bool(not midwife_led and random.random() < 0.3), "episiotomy": bool(random.random() < 0.2),
            "oasis": bool(random.random() < 0.03), "blood_loss_ml": int(random.integers(100, 1500)),
            "pph": False, "child_sex": str(random.choice(["M", "F"])), "birth_weight_g": weight,
            "sga": weight < 2900, "preterm": ga_days < 259, "very_preterm": ga_days < 224, "live_birth": True,
            "stillbirth": False, "early_neonatal_death": False, "neonatal_death": False, "perinatal_death": False,
            "perinatal_death_22w_7d": False, "perinatal_death_24w_28d": False,
            "apgar_5min": 9, "low_apgar": False, "nicu_admission": False, "breastfeeding": bool(random.random() < 0.8),
        })
    for row in rows:
        row["pph"] = row["blood_loss_ml"] >= 1000
    return rows
