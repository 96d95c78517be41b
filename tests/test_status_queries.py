"""The status and delivery-feedback questions, on a small hand-made database (SQLite and PostgreSQL).

Every expected figure below is counted by hand from the rows inserted here.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, delete, insert

from queries.delivery_feedback import (
    completeness_of,
    deliveries_of,
    hint_summary_of,
    linkage_of,
    rejected_records_of,
    sender_codes,
)
from queries.status import counts_per_year, data_status, kept_versions, organisation_register, refresh_history
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

PUBLISHED = datetime(2026, 11, 1, 3, 15, tzinfo=UTC)


def birth(version: int, birth_id: int, year: int) -> dict:
    """A births row with only the columns that may not be empty."""
    return {
        "data_version": version, "birth_id": birth_id, "birth_date": date(year, 3, 1), "birth_month": f"{year}-03",
        "birth_year": year, "vsv_code": "V01", "has_midwife_record": True, "has_obstetrician_record": False,
        "has_paediatrician_record": False, "link_method": "single", "started_care_with_midwife": True,
        "is_first_child_of_birth": True, "plurality": 1, "plurality_group": "singleton", "birth_order": 1,
        "robson_group": "1", "live_birth": True, "stillbirth": False, "early_neonatal_death": False,
        "neonatal_death": False, "nicu_admission": False,
    }


def delivery(delivery_id: int, refresh_id: int, org: str, discipline: str, month: str,
             read: int, accepted: int, rejected: int, objected: int, status: str = "accepted") -> dict:
    return {
        "delivery_id": delivery_id, "refresh_id": refresh_id, "file_name": f"{discipline}_{org}_{month}.csv",
        "sha256": f"{delivery_id:064d}", "org_code": org, "discipline": discipline, "month": month, "resend": 0,
        "status": status, "records_read": read, "records_accepted": accepted, "records_rejected": rejected,
        "records_objected": objected, "received_at": datetime(2026, 11, 1, 3, 0, tzinfo=UTC),
    }


def fill(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(insert(organisations), [
            {"org_code": "V01", "name": "VSV Noord", "org_type": "vsv", "vsv_code": "V01"},
            {"org_code": "H01", "name": "Ziekenhuis Aa", "org_type": "hospital", "vsv_code": "V01"},
            {"org_code": "P01", "name": "Praktijk Zon", "org_type": "practice", "vsv_code": "V01"},
            {"org_code": "P02", "name": "Praktijk Maan", "org_type": "practice", "vsv_code": "V02"},
            {"org_code": "V02", "name": "VSV Zuid", "org_type": "vsv", "vsv_code": "V02"},
        ])
        connection.execute(insert(refreshes), [
            {"refresh_id": 1, "started_at": datetime(2026, 10, 1, 3, tzinfo=UTC), "status": "published",
             "finished_at": datetime(2026, 10, 1, 3, 5, tzinfo=UTC), "source_dir": "/in", "data_version": 1},
            {"refresh_id": 2, "started_at": datetime(2026, 11, 1, 3, tzinfo=UTC), "status": "published",
             "finished_at": PUBLISHED, "source_dir": "/in", "data_version": 2, "summary": json.dumps({})},
        ])
        connection.execute(insert(data_versions), [
            {"data_version": 1, "refresh_id": 1, "published_at": datetime(2026, 10, 1, 3, 5, tzinfo=UTC),
             "label": "2026-10 (1)", "births": 2, "period_from": "2023-03", "period_to": "2023-03"},
            {"data_version": 2, "refresh_id": 2, "published_at": PUBLISHED, "label": "2026-11 (1)", "births": 5,
             "period_from": "2023-03", "period_to": "2024-03"},
        ])
        connection.execute(insert(data_version_current), [{"id": 1, "data_version": 2}])
        # version 1 is superseded: its rows must not be counted
        connection.execute(insert(births), [
            birth(1, 1, 2023), birth(1, 2, 2023),
            birth(2, 1, 2023), birth(2, 2, 2023), birth(2, 3, 2024), birth(2, 4, 2024), birth(2, 5, 2024),
        ])
        connection.execute(insert(deliveries), [
            delivery(1, 1, "P01", "lvr1", "2023-03", read=10, accepted=8, rejected=1, objected=1),
            delivery(2, 2, "H01", "lvr2", "2024-03", read=6, accepted=6, rejected=0, objected=0),
            delivery(3, 2, "P01", "lvr1", "2024-03", read=4, accepted=2, rejected=2, objected=0,
                     status="partially_accepted"),
            delivery(4, 2, "P02", "lvr1", "2024-03", read=3, accepted=3, rejected=0, objected=0),
        ])
        connection.execute(insert(rejected_records), [
            {"rejection_id": 1, "delivery_id": 1, "line_number": 7, "dossier_id": "D-7",
             "error_codes": "invalid_code", "message_nl": "Ongeldige code", "message_en": "Invalid code",
             "raw": "{}"},
            {"rejection_id": 2, "delivery_id": 3, "line_number": 3, "dossier_id": "<b>D-3</b>",
             "error_codes": "missing_required", "message_nl": "Verplicht veld ontbreekt",
             "message_en": "Required field missing", "raw": "{}"},
            {"rejection_id": 3, "delivery_id": 3, "line_number": 2, "dossier_id": None,
             "error_codes": "invalid_date", "message_nl": "Ongeldige datum", "message_en": "Invalid date",
             "raw": "{}"},
        ])
        connection.execute(insert(hints), [
            {"hint_id": i, "delivery_id": d, "dossier_id": dossier, "field": field, "hint_code": code,
             "message_nl": f"{field} nl", "message_en": f"{field} en"}
            for i, (d, dossier, field, code) in enumerate([
                (1, "A", "birth_weight_g", "missing_important"),
                (1, "B", "birth_weight_g", "missing_important"),
                (3, "B", "birth_weight_g", "missing_important"),
                (3, "C", "blood_loss_ml", "implausible"),
                (4, "Z", "smoking", "missing_important"),
            ], start=1)
        ])
        connection.execute(insert(linkage_summary), [
            {"data_version": 1, "org_code": "P01", "discipline": "lvr1", "records": 1, "linked": 0,
             "expected_links": 1, "linked_expected": 0, "linkage_rate": 0.0},
            {"data_version": 2, "org_code": "P01", "discipline": "lvr1", "records": 10, "linked": 3,
             "expected_links": 4, "linked_expected": 3, "linkage_rate": 0.75},
            # more linked than expected (a booked birth's record next to the paediatrician's): the rate is 4/5
            {"data_version": 2, "org_code": "H01", "discipline": "lvr2", "records": 6, "linked": 6,
             "expected_links": 5, "linked_expected": 4, "linkage_rate": 0.8},
            {"data_version": 2, "org_code": "*", "discipline": "lvr1", "records": 13, "linked": 4,
             "expected_links": 5, "linked_expected": 4, "linkage_rate": 0.8},
            {"data_version": 2, "org_code": "*", "discipline": "lvr2", "records": 6, "linked": 6,
             "expected_links": 5, "linked_expected": 4, "linkage_rate": 0.8},
        ])
        base = {"discipline": "lvr1", "dossier_version": 1, "delivery_id": 1}
        connection.execute(insert(records), [
            {**base, "org_code": "P01", "dossier_id": "A", "birth_weight_g": 3400, "smoking": False},
            {**base, "org_code": "P01", "dossier_id": "B", "birth_weight_g": None, "smoking": True},
            {**base, "org_code": "P02", "dossier_id": "Z", "birth_weight_g": 3000, "smoking": None, "delivery_id": 4},
            {**base, "org_code": "P02", "dossier_id": "Y", "birth_weight_g": 3100, "smoking": None, "delivery_id": 4},
        ])


def test_nothing_loaded_yet(engine: Engine) -> None:
    assert data_status(engine) is None
    assert counts_per_year(engine).is_empty()
    assert refresh_history(engine).is_empty()
    assert linkage_of(engine, "P01").is_empty()


def test_data_status_is_the_published_version(engine: Engine) -> None:
    fill(engine)
    status = data_status(engine)
    assert status is not None
    assert (status.data_version, status.label, status.births) == (2, "2026-11 (1)", 5)
    assert status.published_at == PUBLISHED
    assert (status.period_from, status.period_to) == ("2023-03", "2024-03")


def test_kept_versions_are_those_whose_births_are_still_there_newest_first(engine: Engine) -> None:
    assert kept_versions(engine) == []
    fill(engine)
    assert kept_versions(engine) == [
        {"number": 2, "label": "2026-11 (1)", "published_at": PUBLISHED, "births": 5, "period_from": "2023-03",
         "period_to": "2024-03", "current": True},
        {"number": 1, "label": "2026-10 (1)", "published_at": datetime(2026, 10, 1, 3, 5, tzinfo=UTC), "births": 2,
         "period_from": "2023-03", "period_to": "2023-03", "current": False},
    ]
    with engine.begin() as connection:  # what a refresh does to a version it no longer keeps
        connection.execute(delete(births).where(births.c.data_version == 1))
    assert [(row["number"], row["current"]) for row in kept_versions(engine)] == [(2, True)]


def test_counts_per_year_count_only_the_current_version(engine: Engine) -> None:
    fill(engine)
    counts = counts_per_year(engine)
    assert counts.to_dicts() == [
        {"year": 2023, "births": 2, "records_read": 10, "records_accepted": 8, "records_rejected": 1,
         "records_objected": 1},
        {"year": 2024, "births": 3, "records_read": 13, "records_accepted": 11, "records_rejected": 2,
         "records_objected": 0},
    ]


def test_refresh_history_newest_first_with_delivery_counts(engine: Engine) -> None:
    fill(engine)
    history = refresh_history(engine)
    assert history["refresh_id"].to_list() == [2, 1]
    assert history["deliveries"].to_list() == [3, 1]
    assert history["records_rejected"].to_list() == [2, 1]
    assert history["finished_at"][0] == PUBLISHED


def test_organisation_register_lists_vsvs_then_hospitals_then_practices(engine: Engine) -> None:
    fill(engine)
    assert organisation_register(engine)["org_code"].to_list() == ["V01", "V02", "H01", "P02", "P01"]


def test_a_vsv_sees_the_deliveries_of_its_members(engine: Engine) -> None:
    fill(engine)
    assert sender_codes(engine, "V01") == ["H01", "P01", "V01"]
    assert sender_codes(engine, "P01") == ["P01"]
    assert deliveries_of(engine, "V01")["file_name"].to_list() == [  # newest month first, then by file
        "lvr1_P01_2024-03.csv", "lvr2_H01_2024-03.csv", "lvr1_P01_2023-03.csv"]
    assert deliveries_of(engine, "P02")["delivery_id"].to_list() == [4]


def test_rejected_records_carry_line_dossier_and_reason(engine: Engine) -> None:
    fill(engine)
    listing = rejected_records_of(engine, "P01")
    assert listing.total == 3
    assert listing.rows.select("file_name", "line_number", "dossier_id", "message_en").rows() == [
        ("lvr1_P01_2024-03.csv", 2, None, "Invalid date"),
        ("lvr1_P01_2024-03.csv", 3, "<b>D-3</b>", "Required field missing"),
        ("lvr1_P01_2023-03.csv", 7, "D-7", "Invalid code"),
    ]
    limited = rejected_records_of(engine, "P01", limit=1)
    assert (limited.rows.height, limited.total) == (1, 3)
    assert rejected_records_of(engine, "P02").total == 0


def test_hints_are_grouped_by_field_and_kind(engine: Engine) -> None:
    fill(engine)
    summary = hint_summary_of(engine, "P01")
    assert summary.select("field", "hint_code", "hints", "dossiers").rows() == [
        ("birth_weight_g", "missing_important", 3, 2),
        ("blood_loss_ml", "implausible", 1, 1),
    ]


def test_linkage_rate_of_the_organisation_next_to_the_national_rate(engine: Engine) -> None:
    fill(engine)
    practice = linkage_of(engine, "P01").to_dicts()
    assert practice == [{"discipline": "lvr1", "records": 10, "linked": 3, "expected_links": 4,
                         "linked_expected": 3, "linkage_rate": 0.75, "national_linkage_rate": 0.8}]
    vsv = linkage_of(engine, "V01")
    assert vsv["discipline"].to_list() == ["lvr1", "lvr2"]
    assert vsv["linkage_rate"].to_list() == [0.75, 0.8]  # not 6/5: linked records nobody expected do not count


def test_completeness_of_important_fields_against_national(engine: Engine) -> None:
    fill(engine)
    completeness = completeness_of(engine, "P01")
    by_field = {row["field"]: row for row in completeness.to_dicts()}
    assert by_field["birth_weight_g"]["completeness"] == pytest.approx(1 / 2)
    assert by_field["birth_weight_g"]["national_completeness"] == pytest.approx(3 / 4)
    assert by_field["smoking"]["completeness"] == pytest.approx(2 / 2)
    assert by_field["smoking"]["national_completeness"] == pytest.approx(2 / 4)
    assert set(completeness["discipline"]) == {"lvr1"}  # P01 sent no other discipline
