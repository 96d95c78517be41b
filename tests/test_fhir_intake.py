"""The FHIR intake (loader/fhir.py, contracts/fhir_mapping.py): the Nictiz examples, a corpus of malformed FHIR,
and a national year delivered partly as FHIR, against the same births delivered as CSV only."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from fhir_scenario import ORGANISATION, child_row, scenario_bundle
from sqlalchemy import Engine

from contracts.delivery_format import COLUMNS
from loader.bulk import read_records
from loader.fhir import read_fhir_file
from loader.finding import received
from loader.linkage import link_records, pairwise_quality
from loader.refresh import run_refresh
from loader.validate import validate_deliveries
from synthetic.fhir import bundle_of

REGISTER = pl.DataFrame({"org_code": [ORGANISATION, "P0001", "H001"], "org_type": ["practice", "practice", "hospital"]})
PROJECT_ROOT = Path(__file__).resolve().parents[1]

#: What the messages of the published scenario ask the sender to change.
CORRECTIONS = {
    '<code value="gram"/>': '<code value="g"/>',
    '<reference value="Patient/XXX-KINDZW1VDWOUDEN" />\n        <display value="Kind 1 van der Wouden" />':
        '<reference value="Patient/XXX-KIND2VDWOUDEN" />\n        <display value="Kind 1 van der Wouden" />',
    '<code value="min"/>': '<code value="{score}"/>',
    '<reference value="Patient/XXX-KINDZW1VDWOUDEN" />\n        </valueReference>':
        '<reference value="Patient/XXX-KIND2VDWOUDEN" />\n        </valueReference>',
    "<code value='3311000146109'/>\n            <display value='Vaginale kunstverlossing'/>\n        </coding>\n"
    "    </code>\n    <!-- Referentie naar kind -->":
        "<code value='61586001'/>\n            <display value='Vacuümextractie'/>\n        </coding>\n"
        "    </code>\n    <!-- Referentie naar kind -->",
}
#: What the scenario's first pregnancy does not hold but the registry requires of a midwife (made up).
MISSING_FACTS = (
    '<Observation xmlns="http://hl7.org/fhir"><status value="final"/><code><coding><system value="http://loinc.org"/>'
    '<code value="11977-6"/></coding></code><subject><reference value="Patient/XXX-VDWOUDEN"/></subject>'
    '<valueQuantity><value value="0"/></valueQuantity></Observation>',
    '<Observation xmlns="http://hl7.org/fhir"><status value="final"/><code><coding><system value="http://loinc.org"/>'
    '<code value="11778-8"/></coding></code><subject><reference value="Patient/XXX-VDWOUDEN"/></subject>'
    '<valueDateTime value="2016-02-27"/></Observation>',
    '<Observation xmlns="http://hl7.org/fhir"><status value="final"/><code><coding>'
    '<system value="urn:oid:2.16.840.1.113883.2.4.3.22.1.1"/><code value="PRN5102"/></coding></code>'
    '<subject><reference value="Patient/XXX-VDWOUDEN"/></subject><valueCodeableConcept><coding>'
    '<system value="urn:oid:2.16.840.1.113883.2.4.3.22.1.2.25"/><code value="1"/></coding></valueCodeableConcept>'
    '</Observation>',
    '<Observation xmlns="http://hl7.org/fhir"><status value="final"/><code><coding>'
    '<system value="urn:oid:2.16.840.1.113883.2.4.4.13"/><code value="BeginDeliv"/></coding></code>'
    '<subject><reference value="Patient/XXX-VDWOUDEN"/></subject><valueCodeableConcept><coding>'
    '<system value="urn:oid:2.16.840.1.113883.2.4.3.22.1.2.46"/><code value="1"/></coding></valueCodeableConcept>'
    '</Observation>',
    '<Observation xmlns="http://hl7.org/fhir"><status value="final"/><code><coding>'
    '<system value="http://snomed.info/sct"/><code value="169812000"/></coding></code>'
    '<subject><reference value="Patient/XXX-VDWOUDEN"/></subject><valueCodeableConcept><coding>'
    '<system value="http://snomed.info/sct"/><code value="22232009"/></coding></valueCodeableConcept>'
    '</Observation>',
)


def validate(name: str, content: str | bytes) -> tuple:
    """Validate one delivery file given as text; the deliveries row and the result."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    result = validate_deliveries([received(Path(name), data, datetime(2024, 6, 1, tzinfo=UTC))], REGISTER)
    delivery = result.files[0]
    assert delivery.records_accepted + delivery.records_rejected + delivery.records_objected == delivery.records_read
    assert result.accepted.height == delivery.records_accepted
    return delivery, result


def messages(result) -> str:
    return " | ".join(result.rejected["message_en"].to_list())


# ----------------------------------------------------------------------------------------------------------
# The Nictiz examples
# ----------------------------------------------------------------------------------------------------------

def test_the_nictiz_scenario_as_published_is_read_as_stu3_and_each_fault_gets_a_message_naming_its_element():
    read = read_fhir_file(scenario_bundle(), "xml")
    assert read.problem is None
    (dossier,) = read.dossiers
    assert dossier.version == "STU3"
    (record,) = dossier.records
    # What the examples say right arrives: the woman, the child's birth date, blood loss, the perineum.
    assert record["dossier_id"] == "wouden-zwanger1-1"
    assert record["org_code"] == ORGANISATION
    assert (record["mother_birth_date"], record["mother_postcode4"]) == ("1988-06-14", "3511")
    assert record["child_birth_date"] == "2016-02-22"
    assert (record["blood_loss_ml"], record["perineal_tear"], record["episiotomy"]) == ("600", "none", "1")
    errors = {problem.code: problem.message_en for problem in dossier.errors}
    assert errors["invalid_unit:birth_weight_g"] == (
        "Bundle.entry[4].resource.valueQuantity.code: 'gram' is not a UCUM unit; use 'g'")
    apgar = errors["reference_not_found:apgar_5min"]
    assert "'Patient/XXX-KINDZW1VDWOUDEN' points to no Patient in the Bundle" in apgar
    assert apgar.startswith("Bundle.entry[5].resource.subject.reference: ")
    hints = [problem.message_en for problem in dossier.hints]
    assert any("code '64332008' is read as the registry's '364332008'" in hint for hint in hints)
    assert any("the unit 'ml' is only written as text" in hint for hint in hints)
    # Through the validator: rejected, with the FHIR faults and the missing required concepts, each named by where
    # it is (or is to be written) in the Bundle, in both languages.
    delivery, result = validate(f"lvr1_{ORGANISATION}_2016-02.xml", scenario_bundle())
    assert (delivery.records_read, delivery.records_rejected, delivery.status) == (1, 1, "rejected")
    codes = result.rejected["error_codes"][0].split(";")
    assert {"invalid_unit:birth_weight_g", "missing_required:child_sex", "missing_required:parity",
            "missing_required:gestational_age_days", "missing_required:onset_of_labour"} <= set(codes)
    assert "Patient.gender (bc-Child): " in messages(result)
    assert "Observation zib-Pregnancy-Parity (11977-6).valueQuantity: " in messages(result)
    assert "'gram' is geen UCUM-eenheid; gebruik 'g'" in result.rejected["message_nl"][0]


def test_once_the_sender_does_what_the_messages_say_the_facts_arrive_in_the_record_and_it_is_accepted():
    corrected = read_fhir_file(scenario_bundle(replace=CORRECTIONS), "xml").dossiers[0]
    record = corrected.records[0]
    assert (record["birth_weight_g"], record["apgar_5min"], record["mode_of_birth"], record["blood_loss_ml"]) == (
        "2845", "6", "vacuum", "600")
    assert not [problem for problem in corrected.errors if problem.code != "missing_required:record"]

    complete = scenario_bundle(replace={**CORRECTIONS, '<birthDate value="2016-02-22" />':
                                        '<gender value="female"/><birthDate value="2016-02-22" />'},
                               extra=MISSING_FACTS)
    delivery, result = validate(f"lvr1_{ORGANISATION}_2016-02.xml", complete)
    assert (delivery.status, delivery.records_accepted) == ("accepted", 1), messages(result)
    accepted = result.accepted.row(0, named=True)
    assert accepted["birth_weight_g"] == 2845 and accepted["apgar_5min"] == 6
    assert accepted["mode_of_birth"] == "vacuum" and accepted["blood_loss_ml"] == 600
    assert accepted["gestational_age_days"] == 280 - 5  # born 22 February, term date 27 February
    assert accepted["place_of_birth"] == "hospital_midwife"  # hospital, midwife-led at the onset, not referred
    assert accepted["child_sex"] == "F" and accepted["vital_status_birth"] == "live"
    hints = result.hints.filter(pl.col("field") == "blood_loss_ml")["message_en"].to_list()
    assert any("364332008" in hint for hint in hints)


def test_the_nictiz_onset_example_with_a_code_beginning_with_a_space_rejects_its_bundle_with_the_element():
    files = ("Gebz-bc-MaternalRecord-wouden-zwanger1.xml", "Gebz-nl-core-organization-vlkpraktijka.xml",
             "Gebz-nl-core-patient-XXX-KIND1VDWOUDEN.xml", "DeliveryObservation-Wijze begin baring.xml")
    delivery, result = validate(f"lvr1_{ORGANISATION}_2016-02.xml", scenario_bundle(files=files))
    assert (delivery.records_read, delivery.records_rejected) == (1, 1)
    text = messages(result)
    assert "invalid_fhir:record" in result.rejected["error_codes"][0]
    # XML: the library names the element (code) and the value, not the whole path to it.
    assert "code: ' 225308005' is not valid here in FHIR STU3" in text, text


# ----------------------------------------------------------------------------------------------------------
# A corpus of malformed FHIR: each a clear message, nothing lost
# ----------------------------------------------------------------------------------------------------------

def bundle(**overrides: str | None) -> dict:
    return bundle_of([child_row(**overrides)])


def entry_of(document: dict, kind: str, code: str | None = None) -> dict:
    for entry in document["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == kind and (code is None or any(
                coding["code"] == code for coding in resource.get("code", {}).get("coding", []))):
            return resource
    raise LookupError(kind)


def ndjson(*documents: dict | str) -> str:
    return "".join((document if isinstance(document, str) else json.dumps(document)) + "\n"
                   for document in documents)


def test_a_generated_bundle_is_accepted_with_every_value_of_its_record():
    delivery, result = validate("lvr1_P0001_2024-04.ndjson", ndjson(bundle()))
    assert (delivery.status, delivery.records_accepted) == ("accepted", 1), messages(result)
    row = result.accepted.row(0, named=True)
    assert (row["dossier_id"], row["birth_weight_g"], row["perineal_tear"], row["gestational_age_days"]) == (
        "D1-1", 3450, "1", 280)


@pytest.mark.parametrize(("name", "content", "code", "words"), [
    ("lvr1_P0001_2024-04.json", '{"resourceType": "Bundle", "entry": [', "not_fhir", "is not JSON (line 1"),
    ("lvr1_P0001_2024-04.xml", "<Bundle xmlns='http://hl7.org/fhir'><type value='collection'/>", "not_fhir",
     "is not well-formed XML"),
    ("lvr1_P0001_2024-04.json", "[]", "not_fhir", "holds a JSON list"),
    ("lvr1_P0001_2024-04.json", '{"a": 1}\n{"b": 2}\n', "not_fhir", "name it .ndjson"),
    ("lvr1_P0001_2024-04.ndjson", "\n\n", "empty", "no records"),
])
def test_a_file_that_is_no_fhir_at_all_is_rejected_as_a_whole_with_what_to_do(name, content, code, words):
    delivery, _ = validate(name, content)
    assert delivery.error_code == code
    assert words in (delivery.message_en or ""), delivery.message_en


def wrong_resource_type() -> dict:
    return {"resourceType": "Patient", "birthDate": "1990-05-01"}


def unknown_resource() -> dict:
    document = bundle()
    document["entry"].append({"resource": {"resourceType": "Zwangerschap", "id": "x"}})
    return document


def observation_without_status() -> dict:
    document = bundle()
    del entry_of(document, "Observation", "8339-4")["status"]
    return document


def weight_in_snomed() -> dict:
    document = bundle()
    entry_of(document, "Observation", "8339-4")["code"]["coding"][0]["system"] = "http://snomed.info/sct"
    return document


def weight_profile_with_another_code() -> dict:
    document = bundle()
    weight = entry_of(document, "Observation", "8339-4")
    weight["code"]["coding"][0]["code"] = "29463-7"  # body weight
    return document


def reference_to_nothing() -> dict:
    document = bundle()
    entry_of(document, "Observation", "8339-4")["subject"]["reference"] = "Patient/nobody"
    return document


def twins_with_one_birth_order() -> dict:
    document = bundle_of([child_row(plurality="2"), child_row(dossier_id="D1-2", plurality="2", birth_order="2")])
    for entry in document["entry"]:
        if entry["resource"]["resourceType"] == "Patient" and entry["resource"].get("multipleBirthInteger"):
            entry["resource"]["multipleBirthInteger"] = 1
    return document


def unknown_value_code() -> dict:
    document = bundle()
    entry_of(document, "Observation", "364336006")["valueCodeableConcept"]["coding"][0]["code"] = "123456"
    return document


def weight_in_pounds() -> dict:
    document = bundle()
    entry_of(document, "Observation", "8339-4")["valueQuantity"].update(code="[lb_av]", unit="lb", value=7.6)
    return document


def two_weights() -> dict:
    document = bundle()
    weight = json.loads(json.dumps(entry_of(document, "Observation", "8339-4")))
    weight["id"], weight["valueQuantity"]["value"] = "second-weight", 3500
    document["entry"].append({"resource": weight})
    return document


def unknown_profile() -> dict:
    document = bundle()
    entry_of(document, "Observation", "8339-4")["meta"]["profile"] = [
        "http://nictiz.nl/fhir/StructureDefinition/bc-BirthWieght"]
    return document


@pytest.mark.parametrize(("make", "code", "words"), [
    (wrong_resource_type, "wrong_resource_type:record", "Bundle: the resource is a Patient, not a Bundle"),
    (unknown_resource, "wrong_resource_type:record", "'Zwangerschap' is not a FHIR resource type"),
    (observation_without_status, "invalid_fhir:record", ".resource.status: this element is required in FHIR"),
    (weight_in_snomed, "wrong_code_system:birth_weight_g",
     "'http://snomed.info/sct' is not the code system of Birth weight; use system 'http://loinc.org'"),
    (weight_profile_with_another_code, "wrong_code:birth_weight_g", "that profile needs code '8339-4'"),
    (reference_to_nothing, "reference_not_found:birth_weight_g",
     "subject.reference: 'Patient/nobody' points to no Patient in the Bundle"),
    (twins_with_one_birth_order, "duplicate_birth_order:birth_order", "birth order 1 is also given to entry["),
    (unknown_value_code, "invalid_code:mode_of_birth", "code '123456' of 'http://snomed.info/sct' is not a value"),
    (weight_in_pounds, "invalid_unit:birth_weight_g", "'[lb_av]' is not a unit of Birth weight; use 'g'"),
    (two_weights, "conflicting_values:birth_weight_g", "Birth weight '3500' differs from '3450'"),
])
def test_each_malformed_bundle_is_rejected_with_a_message_naming_the_element_and_the_good_one_beside_it_loads(
        make, code, words):
    good = bundle(dossier_id="GOOD-1")
    delivery, result = validate("lvr1_P0001_2024-04.ndjson", ndjson(good, make()))
    assert delivery.records_accepted == 1 and result.accepted["dossier_id"].to_list() == ["GOOD-1"]
    assert delivery.records_rejected >= 1
    rejected = result.rejected.filter(pl.col("line_number") == 2)
    assert rejected.height >= 1
    assert any(code in codes.split(";") for codes in rejected["error_codes"]), rejected["error_codes"].to_list()
    assert any(words in message for message in rejected["message_en"]), rejected["message_en"].to_list()
    assert all(message for message in rejected["message_nl"])


def test_an_unknown_profile_is_a_hint_and_the_value_is_read_by_its_code():
    delivery, result = validate("lvr1_P0001_2024-04.ndjson", ndjson(unknown_profile()))
    assert delivery.records_accepted == 1
    hints = result.hints.filter(pl.col("field") == "birth_weight_g")["message_en"].to_list()
    assert any("bc-BirthWieght' is not http://nictiz.nl/fhir/StructureDefinition/bc-BirthWeight" in hint
               for hint in hints), hints


def test_a_line_that_is_no_json_is_one_rejected_record_and_the_lines_around_it_load():
    broken_line = '{"resourceType": "Bundle",'
    delivery, result = validate("lvr1_P0001_2024-04.ndjson",
                                ndjson(bundle(dossier_id="A-1"), broken_line, bundle(dossier_id="B-1")))
    assert (delivery.records_read, delivery.records_accepted, delivery.records_rejected) == (3, 2, 1)
    assert result.rejected["error_codes"].to_list() == ["invalid_json:record"]
    assert "Line 2 is not JSON" in result.rejected["message_en"][0]


def test_an_objection_keeps_only_the_key_and_counts_as_objected():
    delivery, result = validate("lvr1_P0001_2024-04.ndjson", ndjson(bundle(objection="1"), bundle(dossier_id="B-1")))
    assert (delivery.records_read, delivery.records_objected, delivery.records_accepted) == (2, 1, 1)
    assert result.objections["dossier_id"].to_list() == ["D1-1"]


def test_an_objection_in_a_fhir_file_rejected_as_a_whole_is_honoured():
    delivery, _ = validate("lvr1_P0001_2031-04.ndjson", ndjson(bundle(objection="1"), bundle(dossier_id="B-1")))
    assert delivery.error_code == "month_in_future"
    assert (delivery.records_read, delivery.records_objected, delivery.records_rejected) == (2, 1, 1)


def test_a_missing_important_concept_gets_a_hint_that_says_where_to_write_it():
    delivery, result = validate("lvr1_P0001_2024-04.ndjson", ndjson(bundle(apgar_5min=None)))
    assert delivery.records_accepted == 1
    (hint,) = result.hints.filter(pl.col("field") == "apgar_5min")["message_en"].to_list()
    assert hint.startswith("Observation zib-ApgarScore (9274-2).valueQuantity: ")


# ----------------------------------------------------------------------------------------------------------
# Through a refresh: resends across formats, and a national year partly delivered as FHIR
# ----------------------------------------------------------------------------------------------------------

def test_a_newer_bundle_of_the_same_dossier_replaces_the_older_also_after_a_csv_line(sqlite_engine: Engine,
                                                                                      tmp_path: Path):
    folder = tmp_path / "deliveries"
    folder.mkdir()
    register = PROJECT_ROOT / "tests" / "fixtures" / "organisations.csv"
    organisation = pl.read_csv(register, infer_schema=False).filter(pl.col("org_type") == "practice")["org_code"][0]
    line = ",".join(value or "" for value in child_row(org_code=organisation, child_birth_date="2024-04-10").values())
    (folder / f"lvr1_{organisation}_2024-04.csv").write_text(",".join(COLUMNS) + "\n" + line + "\n")
    resend = bundle_of([child_row(org_code=organisation, dossier_version="2", birth_weight_g="3333")])
    (folder / f"lvr1_{organisation}_2024-04_resend1.json").write_text(json.dumps(resend))
    summary = run_refresh(folder, sqlite_engine, organisations_file=register,
                          postcode_file=PROJECT_ROOT / "tests" / "fixtures" / "postcode_ses.csv")
    assert summary.records_accepted == 2 and summary.records_rejected == 0, summary
    with sqlite_engine.connect() as connection:
        stored = read_records(connection)
    assert stored.filter(pl.col("dossier_id") == "D1-1")["birth_weight_g"].to_list() == [3333]


def test_a_year_delivered_partly_as_fhir_links_and_publishes_the_same_births_as_csv_only(tmp_path: Path):
    from synthetic.deliveries import generate_deliveries
    from tables.database import make_engine

    births = {}
    for share in (0.0, 0.5):
        out = tmp_path / f"share{share}"
        summary = generate_deliveries([2024], seed=11, out_dir=out, scale=0.02, fhir_share=share)
        engine = make_engine(f"sqlite:///{tmp_path / f'share{share}.db'}")
        refreshed = run_refresh(out, engine)
        with engine.connect() as connection:
            births[share] = pl.read_database("SELECT * FROM births", connection).drop("data_version")
            stored = read_records(connection)
        if share:
            assert summary["fhir_files"] > summary["files"] / 4
            assert len(list(out.glob("*/*.ndjson"))) == summary["fhir_files"]
            organisations = pl.read_csv(PROJECT_ROOT / "data" / "reference" / "organisations.csv", infer_schema=False)
            truth = pl.read_csv(out / "_truth" / "links.csv", infer_schema=False)
            quality = pairwise_quality(link_records(stored, organisations), truth)
            assert quality["precision"] >= 0.995 and quality["recall"] >= 0.995, quality
        engine.dispose()
        assert refreshed.status == "published"
    columns = births[0.0].columns
    assert births[0.5].height == births[0.0].height > 2000
    assert births[0.5].sort(columns).equals(births[0.0].sort(columns))


def test_an_xml_external_entity_is_neither_fetched_nor_expanded(tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("1979-01-01")
    document = scenario_bundle(replace={'<birthDate value="1988-06-14"/>': '<birthDate value="&secret;"/>'})
    crafted = f'<?xml version="1.0"?><!DOCTYPE Bundle [<!ENTITY secret SYSTEM "file://{secret}">]>' + document
    delivery, result = validate(f"lvr1_{ORGANISATION}_2016-02.xml", crafted)
    # The entity is not defined for a parser that loads no DTD: the file is not read as FHIR, and says why.
    assert delivery.error_code == "not_fhir" and "external entity 'secret'" in (delivery.message_en or "")
    stored = " ".join([delivery.message_en or "", delivery.message_nl or "", *result.rejected["raw"].to_list()])
    assert "1979-01-01" not in stored


def test_json_nested_beyond_reason_is_a_rejection_not_a_crash():
    deep = '{"resourceType": "Bundle", "entry": ' + "[" * 100_000 + "]" * 100_000 + "}"
    delivery, result = validate("lvr1_P0001_2024-04.ndjson", ndjson(bundle(dossier_id="A-1"), deep))
    assert (delivery.records_read, delivery.records_accepted, delivery.records_rejected) == (2, 1, 1)
    assert "nested too deeply" in result.rejected["message_en"][0]
    delivery, _ = validate("lvr1_P0001_2024-04.json", deep)
    assert delivery.error_code == "not_fhir"


def test_a_bundle_without_a_maternal_record_is_one_rejected_record_saying_so():
    document = bundle()
    document["entry"] = [entry for entry in document["entry"] if entry["resource"]["resourceType"] != "EpisodeOfCare"]
    delivery, result = validate("lvr1_P0001_2024-04.ndjson", ndjson(document))
    assert (delivery.records_read, delivery.records_rejected) == (1, 1)
    assert "has no EpisodeOfCare (bc-MaternalRecord)" in result.rejected["message_en"][0]


def test_an_objection_is_honoured_unread_also_when_the_rest_of_its_bundle_would_not_pass():
    document = bundle(objection="1")
    woman = entry_of(document, "Patient")
    woman["birthDate"] = "1990-02-30"  # not a date: the library would reject the Bundle, and quote it
    delivery, result = validate("lvr1_P0001_2024-04.ndjson", ndjson(document))
    assert (delivery.records_read, delivery.records_objected, delivery.records_rejected) == (1, 1, 0)
    assert result.objections["dossier_id"].to_list() == ["D1-1"]
    assert result.rejected.height == 0


# ----------------------------------------------------------------------------------------------------------
# What a fresh-eyes review of the intake found (each first reproduced, then fixed)
# ----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("content", [
    '{"resourceType": "Bundle", "type": "collection", "total": ' + "9" * 5000 + "}",
    '{"resourceType": "Bundle", "type": "collection", "identifier": {"value": "\\ud800"}}',
])
def test_a_number_too_long_or_a_lone_surrogate_is_a_rejection_with_a_reason_not_a_crash(content):
    delivery, result = validate("lvr1_P0001_2024-04.ndjson", ndjson(bundle(dossier_id="A-1"), content))
    assert (delivery.records_read, delivery.records_accepted, delivery.records_rejected) == (2, 1, 1)
    assert result.rejected["error_codes"].to_list() == ["invalid_json:record"]
    assert any(words in result.rejected["message_nl"][0] for words in ("te veel cijfers", "losse surrogaat"))
    delivery, _ = validate("lvr1_P0001_2024-04.json", content)
    assert delivery.error_code == "not_fhir"


def test_a_bsn_never_becomes_the_dossier_number():
    document = bundle()
    child = next(entry["resource"] for entry in document["entry"] if entry["resource"].get("id") == "child-1")
    child["identifier"] = [{"system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": "123456782"}]
    document["identifier"]["value"] = "D1"
    _, result = validate("lvr1_P0001_2024-04.ndjson", ndjson(document))
    assert result.accepted["dossier_id"].to_list() == ["D1-1"]
    document["entry"].append({"resource": entry_of(bundle(objection="1"), "Consent")})
    _, result = validate("lvr1_P0001_2024-04.ndjson", ndjson(document))
    assert result.objections["dossier_id"].to_list() == ["D1-1"]


def test_an_objection_whose_key_cannot_be_read_is_refused_without_quoting_anything():
    document = bundle(objection="1")
    del document["identifier"]
    for entry in document["entry"]:
        entry["resource"].pop("identifier", None)
        if entry["resource"].get("id") == "woman":
            entry["resource"]["birthDate"] = "Jansen SECRET"
    delivery, result = validate("lvr1_P0001_2024-04.ndjson", ndjson(document))
    assert (delivery.records_read, delivery.records_rejected) == (1, 1)
    assert result.rejected["error_codes"].to_list() == ["objection_not_recorded:dossier_id"]
    assert "SECRET" not in " ".join([*result.rejected["message_en"], *result.rejected["raw"]])


def test_an_objection_with_a_consent_written_oddly_is_still_honoured_unread():
    document = bundle(objection="1")
    consent = entry_of(document, "Consent")
    consent["provision"] = [{"type": "deny"}]
    entry_of(document, "Patient")["birthDate"] = "Jansen SECRET"
    delivery, _ = validate("lvr1_P0001_2024-04.ndjson", ndjson(document))
    assert (delivery.records_objected, delivery.records_rejected) == (1, 0)


def test_a_withdrawn_objection_is_no_objection():
    consent = entry_of(bundle(objection="1"), "Consent")
    document = bundle()
    document["entry"].append({"resource": {**consent, "status": "inactive"}})  # she withdrew her objection
    delivery, result = validate("lvr1_P0001_2024-04.ndjson", ndjson(document))
    assert (delivery.records_accepted, delivery.records_objected) == (1, 0), messages(result)


def test_another_womans_episode_or_an_unresolved_woman_makes_no_child_of_her():
    document = bundle()
    document["entry"] += [{"resource": {"resourceType": "Patient", "id": "woman2", "birthDate": "1970-01-01"}},
                          {"resource": {"resourceType": "EpisodeOfCare", "id": "other", "status": "finished",
                                        "patient": {"reference": "Patient/woman2"}}}]
    delivery, _ = validate("lvr1_P0001_2024-04.ndjson", ndjson(document))
    assert (delivery.records_read, delivery.records_accepted) == (1, 1)
    document = bundle(objection="1")
    entry_of(document, "EpisodeOfCare")["patient"]["reference"] = "Patient/nobody"
    entry_of(document, "Consent")["patient"] = {"reference": "Patient/woman"}
    delivery, result = validate("lvr1_P0001_2024-04.ndjson", ndjson(document))
    assert (delivery.records_read, delivery.records_objected) == (1, 1)
    assert result.objections["dossier_id"].to_list() == ["D1-1"]


def test_resources_without_ids_are_found_by_their_full_url():
    document = bundle()
    for entry in document["entry"]:
        entry["resource"].pop("id", None)
    delivery, result = validate("lvr1_P0001_2024-04.ndjson", ndjson(document))
    assert (delivery.records_read, delivery.records_accepted) == (1, 1), messages(result)


def twins(**second: str | None) -> dict:
    return bundle_of([child_row(dossier_id="T-1", plurality="2"),
                      child_row(dossier_id="T-2", plurality="2", birth_order="2", **second)])


def test_a_twins_error_rejects_that_twin_only_and_its_hints_are_its_own():
    document = twins()
    weights = [entry["resource"] for entry in document["entry"]
               if entry["resource"].get("code", {}).get("coding", [{}])[0].get("code") == "8339-4"]
    weights[1]["code"]["coding"][0]["system"] = "http://snomed.info/sct"
    child_2 = next(entry["resource"] for entry in document["entry"] if entry["resource"].get("id") == "child-2")
    child_2["extension"][0]["valueDateTime"] = "2024-04-10"
    _, result = validate("lvr1_P0001_2024-04.ndjson", ndjson(document))
    assert result.accepted["dossier_id"].to_list() == ["T-1"]
    assert result.rejected["dossier_id"].to_list() == ["T-2"]
    document = twins()
    child_2 = next(entry["resource"] for entry in document["entry"] if entry["resource"].get("id") == "child-2")
    child_2["extension"][0]["valueDateTime"] = "2024-04-10"
    _, result = validate("lvr1_P0001_2024-04.ndjson", ndjson(document))
    times = result.hints.filter(pl.col("field") == "child_birth_time")
    assert times["dossier_id"].to_list() == ["T-2"] * times.height and times.height >= 1


def test_a_childs_fact_said_of_an_organisation_is_an_error():
    document = bundle()
    entry_of(document, "Observation", "8339-4")["subject"]["reference"] = "Organization/organisation"
    _, result = validate("lvr1_P0001_2024-04.ndjson", ndjson(document))
    assert "'Organization/organisation' is not a Patient" in messages(result)


@pytest.mark.parametrize(("status", "epidural"), [("completed", True), ("in-progress", True), ("not-done", False),
                                                    ("preparation", None), ("unknown", None)])
def test_a_procedure_counts_as_done_only_when_its_status_says_so(status, epidural):
    document = bundle_of([child_row(epidural="1")])
    procedure = entry_of(document, "Procedure", "18946005")
    procedure["status"] = status
    _, result = validate("lvr1_P0001_2024-04.ndjson", ndjson(document))
    assert result.accepted["epidural"].to_list() == [epidural]


def test_twins_without_birth_orders_get_no_made_up_keys():
    document = twins()
    for entry in document["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Patient" and resource.get("multipleBirthInteger"):
            resource.pop("identifier", None)
            del resource["multipleBirthInteger"]
            resource["multipleBirthBoolean"] = True
    document["identifier"]["value"] = "TW"
    delivery, result = validate("lvr1_P0001_2024-04.ndjson", ndjson(document))
    assert (delivery.records_read, delivery.records_rejected) == (2, 2)
    assert "duplicate_dossier" not in " ".join(result.rejected["error_codes"])


def test_a_bundle_the_library_cannot_read_keeps_its_dossier_number_for_the_sender():
    _, result = validate("lvr1_P0001_2024-04.ndjson", ndjson(observation_without_status()))
    assert result.rejected["dossier_id"].to_list() == ["D1-1"]


def test_a_wrong_unit_of_gravidity_is_a_hint_in_words_not_a_rejection():
    document = bundle()
    document["entry"].append({"resource": {
        "resourceType": "Observation", "status": "final", "subject": {"reference": "Patient/woman"},
        "code": {"coding": [{"system": "http://loinc.org", "code": "11996-6"}]},
        "valueQuantity": {"value": 2, "system": "http://unitsofmeasure.org", "code": "kg"}}})
    delivery, result = validate("lvr1_P0001_2024-04.ndjson", ndjson(document))
    assert delivery.records_accepted == 1
    assert any("'kg' is geen eenheid van graviditeit" in hint for hint in result.hints["message_nl"])


def test_library_and_json_reasons_are_said_in_dutch():
    _, result = validate("lvr1_P0001_2024-04.ndjson", ndjson('{"resourceType": "Bundle",', bundle(
        mother_birth_date="1990-02-30")))
    dutch = " ".join(result.rejected["message_nl"])
    assert "er werd een naam tussen dubbele aanhalingstekens verwacht" in dutch
    assert "geen datum (JJJJ-MM-DD, een echte dag)" in dutch


def test_reading_in_worker_processes_gives_the_same_result_as_reading_here(monkeypatch):
    import loader.validate as validate_module

    monkeypatch.setattr(validate_module, "PARALLEL_FROM_BYTES", 0)
    files = [received(Path(f"lvr1_P0001_2024-0{month}.ndjson"),
                      ndjson(bundle(dossier_id=f"M{month}-1", child_birth_date=f"2024-0{month}-10"),
                             two_weights()).encode(), datetime(2024, 6, 1, tzinfo=UTC)) for month in (4, 5)]
    files.append(received(Path("lvr1_P0001_2024-05.csv"), b"not a header\n", datetime(2024, 6, 1, tzinfo=UTC)))
    here = validate_deliveries(files, REGISTER, processes=1)
    there = validate_deliveries(files, REGISTER, processes=2)
    assert there.accepted.equals(here.accepted) and there.rejected.equals(here.rejected)
    assert there.hints.equals(here.hints)
    assert [vars(delivery) for delivery in there.files] == [vars(delivery) for delivery in here.files]
    assert [delivery.records_read for delivery in here.files] == [2, 2, 0]
    assert validate_module._POOLS[2] is not None  # read by the pool, not by the fallback


def test_a_wrong_number_of_reading_processes_is_refused_before_a_refresh_starts(sqlite_engine: Engine,
                                                                                  tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PERISPIEGEL_READING_PROCESSES", "twee")
    with pytest.raises(ValueError, match="PERISPIEGEL_READING_PROCESSES must be a whole number"):
        run_refresh(tmp_path, sqlite_engine)
