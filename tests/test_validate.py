"""Receiving deliveries: what an organisation is told about its files and records."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from fixtures.delivery_files import (
    ORGANISATIONS_FILE,
    csv_text,
    midwife_record,
    obstetrician_record,
    write_delivery,
)

from contracts.delivery_format import COLUMNS, FIELD_BY_NAME
from loader.finding import read_delivery_file
from loader.results import RECORD_SCHEMA
from loader.validate import validate_deliveries, validate_file
from texts import code_label

APRIL_FILE = "lvr1_P0001_2023-04.csv"


@pytest.fixture(scope="module")
def register() -> pl.DataFrame:
    return pl.read_csv(ORGANISATIONS_FILE, infer_schema=False)


def validate_rows(tmp_path: Path, register: pl.DataFrame, rows: list[dict[str, str]], name: str = APRIL_FILE):
    return validate_file(write_delivery(tmp_path, name, rows), register)


def test_a_valid_record_is_accepted_with_typed_values(tmp_path: Path, register: pl.DataFrame) -> None:
    result = validate_rows(tmp_path, register, [midwife_record()])
    assert (result.files[0].status, result.files[0].records_accepted, result.rejected.height) == ("accepted", 1, 0)
    record = result.accepted.row(0, named=True)
    assert record["birth_weight_g"] == 3450
    assert record["child_birth_date"] == dt.date(2023, 4, 10)
    assert record["smoking"] is False
    assert record["discipline"] == "lvr1" and record["org_code"] == "P0001"
    assert dict(result.accepted.drop("file_index", "line_number").schema) == RECORD_SCHEMA


def test_birth_weight_in_kilograms_gets_the_documented_message(tmp_path: Path, register: pl.DataFrame) -> None:
    result = validate_rows(tmp_path, register, [midwife_record(birth_weight_g="3.45")])
    rejected = result.rejected.row(0, named=True)
    assert rejected["error_codes"] == "invalid_integer:birth_weight_g"
    assert rejected["message_nl"] == "Geboortegewicht '3.45' is geen geheel getal in grammen; verwacht 200–7000"
    assert rejected["message_en"] == "Birth weight '3.45' is not a whole number of grams; expected 200–7000"


@pytest.mark.parametrize(
    ("changes", "name", "code", "mentions"),
    [
        ({"child_sex": "X"}, APRIL_FILE, "invalid_code:child_sex", ["'X'", "M, F, U"]),
        ({"child_birth_date": ""}, APRIL_FILE, "missing_required:child_birth_date", []),
        ({"child_birth_date": "2023-02-30"}, "lvr1_P0001_2023-02.csv", "invalid_date:child_birth_date",
         ["'2023-02-30'"]),
        ({"mother_birth_date": "01-05-1990"}, APRIL_FILE, "invalid_date:mother_birth_date", ["'01-05-1990'"]),
        ({"birth_weight_g": "150"}, APRIL_FILE, "out_of_range:birth_weight_g", ["'150'", "200–7000"]),
        ({"dossier_version": "0"}, APRIL_FILE, "out_of_range:dossier_version", ["'0'", "1–99"]),
        ({"child_birth_time": "25:10"}, APRIL_FILE, "invalid_time:child_birth_time", ["'25:10'"]),
        ({"smoking": "ja"}, APRIL_FILE, "invalid_boolean:smoking", ["'ja'"]),
        ({"mother_postcode4": "351"}, APRIL_FILE, "invalid_postcode:mother_postcode4", ["'351'"]),
        ({"org_code": "P0002"}, APRIL_FILE, "org_code_mismatch:org_code", ["'P0002'", "P0001"]),
        ({"plurality": "1", "birth_order": "2"}, APRIL_FILE, "birth_order_exceeds_plurality:birth_order", ["'2'"]),
        ({"child_birth_date": "2023-05-01"}, APRIL_FILE, "outside_file_month:child_birth_date", ["2023-04"]),
        ({"mother_birth_date": "2023-06-01"}, APRIL_FILE, "born_before_mother:child_birth_date", ["2023-06-01"]),
        ({"death_date": "2023-04-09"}, APRIL_FILE, "death_before_birth:death_date", ["'2023-04-09'"]),
        ({"dossier_id": "D" * 65}, APRIL_FILE, "too_long:dossier_id", ["64"]),
        ({"objection": ""}, APRIL_FILE, "missing_required:objection", []),
    ],
)
def test_each_technical_error_rejects_the_record_with_a_readable_reason(
    tmp_path: Path, register: pl.DataFrame, changes: dict[str, str], name: str, code: str, mentions: list[str],
) -> None:
    month = name.split("_")[2][:7]
    base = {"child_birth_date": f"{month}-10"} if month != "2023-04" else {}
    result = validate_rows(tmp_path, register, [midwife_record(**{**base, **changes})], name)
    assert result.accepted.height == 0
    rejected = result.rejected.row(0, named=True)
    assert rejected["error_codes"] == code
    assert rejected["line_number"] == 2
    for text in mentions:
        assert text in rejected["message_nl"] and text in rejected["message_en"]
    field = code.split(":")[1]
    assert rejected["message_nl"].startswith(FIELD_BY_NAME[field].concept)
    assert rejected["message_en"].startswith(code_label("field", field, "en"))


def test_a_record_with_several_errors_lists_every_error(tmp_path: Path, register: pl.DataFrame) -> None:
    result = validate_rows(tmp_path, register, [midwife_record(child_sex="X", birth_weight_g="3.45", plurality="")])
    rejected = result.rejected.row(0, named=True)
    assert set(rejected["error_codes"].split(";")) == {
        "invalid_code:child_sex", "invalid_integer:birth_weight_g", "missing_required:plurality",
    }
    assert rejected["message_nl"].count(" | ") == 2 and rejected["message_en"].count(" | ") == 2
    assert '"child_sex":"X"' in rejected["raw"]


def test_required_fields_depend_on_the_discipline(tmp_path: Path, register: pl.DataFrame) -> None:
    without_parity = obstetrician_record(parity="", nicu_admission="0")
    obstetric = validate_rows(tmp_path, register, [without_parity], "lvr2_H001_2023-04.csv")
    paediatric = validate_rows(tmp_path, register, [without_parity], "lnr_H001_2023-04.csv")
    assert obstetric.rejected["error_codes"].to_list() == ["missing_required:parity"]
    assert paediatric.rejected.height == 0 and paediatric.accepted.height == 1
    no_nicu = validate_rows(tmp_path, register, [obstetrician_record(nicu_admission="")], "lnr_H001_2023-04.csv")
    assert no_nicu.rejected["error_codes"].to_list() == ["missing_required:nicu_admission"]


def test_an_objection_keeps_only_the_key(tmp_path: Path, register: pl.DataFrame) -> None:
    rows = [midwife_record(), midwife_record(dossier_id="SECRET", objection="1", child_sex="X", birth_weight_g="?")]
    result = validate_rows(tmp_path, register, rows)
    delivery = result.files[0]
    assert (delivery.records_read, delivery.records_accepted, delivery.records_rejected,
            delivery.records_objected) == (2, 1, 0, 1)
    assert result.objections.drop("file_index").to_dicts() == [
        {"org_code": "P0001", "discipline": "lvr1", "dossier_id": "SECRET"}
    ]
    assert "SECRET" not in result.accepted["dossier_id"].to_list()
    assert result.hints.filter(pl.col("dossier_id") == "SECRET").height == 0


def test_a_wrong_number_of_fields_rejects_only_that_line(tmp_path: Path, register: pl.DataFrame) -> None:
    text = csv_text([midwife_record(), midwife_record(dossier_id="D2")])
    short_line = ",".join(midwife_record(dossier_id="D3")[column] for column in COLUMNS[:-2])
    path = tmp_path / APRIL_FILE
    path.write_text(text + short_line + "\n", encoding="utf-8")
    result = validate_file(path, register)
    assert result.accepted["dossier_id"].to_list() == ["D1", "D2"]
    assert result.rejected.select("line_number", "error_codes").to_dicts() == [
        {"line_number": 4, "error_codes": "wrong_field_count:record"}
    ]
    assert f"{len(COLUMNS) - 2} velden; verwacht {len(COLUMNS)}" in result.rejected["message_nl"][0]


def test_line_numbers_point_at_the_line_in_the_file(tmp_path: Path, register: pl.DataFrame) -> None:
    rows = [midwife_record(dossier_id=f"D{i}", child_sex="X" if i in {3, 7} else "F") for i in range(1, 10)]
    path = write_delivery(tmp_path, APRIL_FILE, rows)
    lines = path.read_text(encoding="utf-8").splitlines()
    result = validate_file(path, register)
    for row in result.rejected.iter_rows(named=True):
        assert f"{row['dossier_id']}," in lines[row["line_number"] - 1]
    assert sorted(result.rejected["dossier_id"]) == ["D3", "D7"]


def test_duplicate_dossier_in_one_file_is_rejected_once(tmp_path: Path, register: pl.DataFrame) -> None:
    result = validate_rows(tmp_path, register, [midwife_record(), midwife_record(birth_weight_g="3500")])
    assert result.accepted["birth_weight_g"].to_list() == [3450]
    assert result.rejected["error_codes"].to_list() == ["duplicate_dossier:dossier_id"]


def test_quotes_bom_crlf_and_blank_lines_are_read_as_csv(tmp_path: Path, register: pl.DataFrame) -> None:
    text = csv_text([midwife_record(dossier_id="A,1"), midwife_record(dossier_id="B2")])
    text = text.replace("A,1", '"A,1"').replace("\n", "\r\n")
    lines = text.split("\r\n")
    lines.insert(2, "")  # a blank line between the records is not a record
    path = tmp_path / APRIL_FILE
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode("utf-8"))
    result = validate_file(path, register)
    assert result.accepted["dossier_id"].to_list() == ["A,1", "B2"]
    assert result.files[0].records_read == 2


def test_hints_never_reject(tmp_path: Path, register: pl.DataFrame) -> None:
    rows = [
        midwife_record(dossier_id="NOWEIGHT", birth_weight_g=""),
        midwife_record(dossier_id="HEAVY", birth_weight_g="6100"),
        midwife_record(dossier_id="CS", mode_of_birth="caesarean", episiotomy="1", perineal_tear=""),
        midwife_record(dossier_id="STILL", vital_status_birth="antepartum_death", apgar_5min="7", first_feed=""),
        midwife_record(dossier_id="STILL0", vital_status_birth="antepartum_death", apgar_5min="", first_feed=""),
    ]
    result = validate_rows(tmp_path, register, rows)
    assert result.accepted.height == 5 and result.rejected.height == 0
    found = {(row["dossier_id"], row["field"], row["hint_code"]) for row in result.hints.iter_rows(named=True)}
    assert found == {
        ("NOWEIGHT", "birth_weight_g", "missing_important"),
        ("HEAVY", "birth_weight_g", "implausible"),
        ("CS", "episiotomy", "implausible"),
        ("STILL", "apgar_5min", "implausible"),
    }
    heavy = result.hints.filter(pl.col("dossier_id") == "HEAVY").row(0, named=True)
    assert "'6100'" in heavy["message_nl"] and "400–5500" in heavy["message_en"]


def _broken_files(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    good = csv_text([midwife_record(org_code="P0002")])
    files = {
        "bad_file_name": folder / "midwives_april.csv",
        "empty": folder / "lvr1_P0002_2023-05.csv",
        "wrong_columns": folder / "lvr1_P0002_2023-06.csv",
        "not_utf8": folder / "lvr1_P0002_2023-07.csv",
        "unknown_organisation": folder / "lvr1_P0999_2023-04.csv",
        "organisation_type_not_allowed": folder / "lvr1_H001_2023-04.csv",
    }
    files["bad_file_name"].write_text(good, encoding="utf-8")
    files["empty"].write_text(",".join(COLUMNS) + "\n", encoding="utf-8")
    files["wrong_columns"].write_text(csv_text([midwife_record(org_code="P0002")], COLUMNS[:-1]), encoding="utf-8")
    files["not_utf8"].write_bytes(good.replace("3511", "3511é").encode("latin-1"))
    files["unknown_organisation"].write_text(csv_text([midwife_record(org_code="P0999")]), encoding="utf-8")
    files["organisation_type_not_allowed"].write_text(csv_text([midwife_record(org_code="H001")]), encoding="utf-8")
    return files


def test_broken_files_are_rejected_whole_and_the_rest_loads(tmp_path: Path, register: pl.DataFrame) -> None:
    broken = _broken_files(tmp_path)
    good = write_delivery(tmp_path, APRIL_FILE, [midwife_record(), midwife_record(dossier_id="D2")])
    result = validate_deliveries([read_delivery_file(path) for path in [*broken.values(), good]], register)
    by_name = {delivery.file_name: delivery for delivery in result.files}
    for code, path in broken.items():
        delivery = by_name[path.name]
        assert (delivery.status, delivery.error_code) == ("rejected", code)
        assert delivery.message_nl and delivery.message_en and delivery.message_nl != delivery.message_en
        assert delivery.records_accepted == delivery.records_objected == 0
        # every data line of a rejected file counts as read and rejected: nothing disappears from the counts
        assert delivery.records_read == delivery.records_rejected == (0 if code == "empty" else 1)
    assert by_name[APRIL_FILE].status == "accepted"
    assert result.accepted["dossier_id"].to_list() == ["D1", "D2"]
    assert "lvr1_P0999_2023-04" not in str(result.accepted["file_index"].to_list())
    assert "ontbrekend: death_date" in by_name[broken["wrong_columns"].name].message_nl
    assert "missing: death_date" in by_name[broken["wrong_columns"].name].message_en
    assert "P0999" in by_name[broken["unknown_organisation"].name].message_en
    assert result.rejected_by_reason()["file:unknown_organisation"] == 1


def test_counts_balance_per_file(tmp_path: Path, register: pl.DataFrame) -> None:
    kinds = ["ok", "bad", "objected", "ok", "hint", "bad", "ok"]
    rows = [
        midwife_record(dossier_id=f"D{i}", child_sex="X" if kind == "bad" else "F",
                       objection="1" if kind == "objected" else "0", smoking="" if kind == "hint" else "0")
        for i, kind in enumerate(kinds * 7)
    ]
    other = [obstetrician_record(dossier_id=f"O{i}", birth_weight_g="2.9" if i % 4 == 0 else "2900")
             for i in range(10)]
    paths = [write_delivery(tmp_path, APRIL_FILE, rows), write_delivery(tmp_path, "lvr2_H001_2023-04.csv", other)]
    result = validate_deliveries([read_delivery_file(path) for path in paths], register)
    midwife, obstetric = result.files
    assert (midwife.records_read, midwife.records_accepted, midwife.records_rejected, midwife.records_objected) == (
        len(rows), 4 * 7, 2 * 7, 1 * 7)
    assert (obstetric.records_read, obstetric.records_accepted, obstetric.records_rejected) == (10, 7, 3)
    for index, delivery in enumerate(result.files):
        balance = delivery.records_accepted + delivery.records_rejected + delivery.records_objected
        assert delivery.records_read == balance
        assert result.accepted.filter(pl.col("file_index") == index).height == delivery.records_accepted
        assert result.rejected.filter(pl.col("file_index") == index).height == delivery.records_rejected
    assert result.hints.filter(pl.col("field") == "smoking").height == 7

