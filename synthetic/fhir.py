"""Synthetic deliveries as FHIR: the records of a delivery file written as FHIR R4 Bundles (NDJSON, one per line).

The inverse of `loader.fhir`, through the same mapping table (`contracts.fhir_mapping.CONCEPTS`): every record a
CSV line holds comes back from its Bundle as the same values. One Bundle per pregnancy dossier (the children of one
birth that the file holds); a child's own dossier number is its Patient's identifier. A fact that is the same for
every child is said once, of the woman; one that differs between the children of a multiple birth is said per child
(its focus), so nothing is lost. The Kernset codes are used where there are any: an instrumental birth is an
assisted vaginal birth with an obstetric procedure saying vacuum or forceps, a hospital birth is SNOMED 22232009
when the care level at the onset and the referral tell midwife-led from obstetrician-led (otherwise perispiegel's
own code for either kind), the gestational age is given as the term date.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import polars as pl

from contracts.delivery_format import COLUMNS
from contracts.fhir_mapping import (
    BIRTH_TIME_EXTENSION,
    CONCEPT_BY_FIELD,
    CONCEPTS,
    DAYS_AT_TERM,
    NICTIZ_PROFILE,
    SNOMED,
    UCUM,
    Concept,
)

AGB = "http://fhir.nl/fhir/NamingSystem/agb-z"
DOSSIER_SYSTEM = "urn:oid:2.16.840.1.113883.2.4.3.11.999.77"  # a sender's own dossier numbers (synthetic)
#: The base of the (made-up) FHIR server of a sender: an entry's fullUrl is `<base>/<Type>/<id>`.
SENDER_BASE = "https://fhir.sender.example"
#: The first code the table lists for a value is the one written.
_CODE_OF: dict[str, dict[str, tuple[str, str]]] = {
    concept.field: {value: code for code, value in reversed(list(concept.values.items()))} for concept in CONCEPTS
}
_UNIT_OF = {"birth_weight_g": "g", "blood_loss_ml": "mL", "booking_gestational_age_days": "d",
            "gestational_age_days": "d"}
#: Facts written by their own rule, not by their concept's reading.
_OWN_RULE = ("mode_of_birth", "place_of_birth", "gestational_age_days", "vital_status_birth", "death_date")


def bundles_of(records: pl.DataFrame) -> list[dict]:
    """The records of one delivery file (delivery-format columns as text, plus `birth_event_id`) as Bundles, in the
    order of the records."""
    bundles: list[dict] = []
    groups: dict[Any, list[dict]] = {}
    for row in records.select(*COLUMNS, "birth_event_id").iter_rows(named=True):
        groups.setdefault(row["birth_event_id"], []).append(row)
    for rows in groups.values():
        bundles.append(bundle_of(sorted(rows, key=lambda row: int(row["birth_order"] or 1))))
    return bundles


def ndjson_of(records: pl.DataFrame) -> str:
    """The records as an NDJSON delivery file: one Bundle per line."""
    return "".join(json.dumps(bundle, separators=(",", ":"), ensure_ascii=False) + "\n"
                   for bundle in bundles_of(records))


def bundle_of(children: list[dict]) -> dict:
    """One pregnancy dossier (the records of its children) as a FHIR R4 Bundle."""
    first = children[0]
    dossier = first["dossier_id"]
    entries: list[dict] = [
        {"resourceType": "Organization", "id": "organisation", "identifier": [{"system": AGB,
                                                                              "value": first["org_code"]}]},
        {"resourceType": "EpisodeOfCare", "id": "dossier", "meta": {"profile": [NICTIZ_PROFILE + "bc-MaternalRecord"]},
         "status": "finished", "patient": {"reference": "Patient/woman"},
         "managingOrganization": {"reference": "Organization/organisation"}},
    ]
    child_ids = [f"child-{row['birth_order'] or index + 1}" for index, row in enumerate(children)]
    if first["objection"] == "1":
        entries.append({"resourceType": "Consent", "id": "objection", "status": "active",
                        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                                              "code": "research"}]},
                        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
                        "patient": {"reference": "Patient/woman"},
                        "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                                                   "code": "OPTOUT"}]},
                        "provision": {"type": "deny"}})
        entries.append({"resourceType": "Patient", "id": "woman"})
        for row, child_id in zip(children, child_ids, strict=True):
            entries.append({"resourceType": "Patient", "id": child_id, **_child_identifier(row),
                            "multipleBirthInteger": int(row["birth_order"] or 1)})
        return _bundle(dossier, first["dossier_version"], entries)
    entries.append(_woman(first))
    for row, child_id in zip(children, child_ids, strict=True):
        entries.append(_child(row, child_id))
    facts = [concept for concept in CONCEPTS if concept.resource != "Patient" and not concept.derived
             and concept.field in COLUMNS and concept.field not in _OWN_RULE]
    for concept in facts:
        entries += _said(concept, children, child_ids, lambda row, c=concept: row[c.field])
    entries += _mode_of_birth(children, child_ids)
    entries += _place_of_birth(children, child_ids)
    entries += _term_date(children, child_ids)
    entries += _vital_status(children, child_ids)
    return _bundle(dossier, first["dossier_version"], entries)


def _bundle(dossier: str, version: str | None, resources: list[dict]) -> dict:
    bundle: dict = {"resourceType": "Bundle", "type": "collection",
                    "identifier": {"system": DOSSIER_SYSTEM, "value": dossier}}
    if version:
        bundle["meta"] = {"versionId": version}
    bundle["entry"] = [{"fullUrl": f"{SENDER_BASE}/{resource['resourceType']}/{resource['id']}",
                        "resource": resource} for resource in resources]
    return bundle


def _child_identifier(row: dict) -> dict:
    return {"identifier": [{"system": DOSSIER_SYSTEM, "value": row["dossier_id"]}]} if row["dossier_id"] else {}


def _woman(row: dict) -> dict:
    woman: dict = {"resourceType": "Patient", "id": "woman", "gender": "female"}
    if row["mother_birth_date"]:
        woman["birthDate"] = row["mother_birth_date"]
    if row["mother_postcode4"]:
        woman["address"] = [{"use": "home", "postalCode": row["mother_postcode4"], "country": "NL"}]
    return woman


def _child(row: dict, child_id: str) -> dict:
    child: dict = {"resourceType": "Patient", "id": child_id, **_child_identifier(row)}
    if row["child_birth_time"] and row["child_birth_date"]:
        child["extension"] = [{"url": BIRTH_TIME_EXTENSION,
                               "valueDateTime": f"{row['child_birth_date']}T{row['child_birth_time']}:00+01:00"}]
    if row["child_sex"]:
        child["gender"] = {"M": "male", "F": "female", "U": "other"}[row["child_sex"]]
    if row["child_birth_date"]:
        child["birthDate"] = row["child_birth_date"]
    if row["vital_status_birth"] in ("antepartum_death", "intrapartum_death"):
        child["deceasedBoolean"] = True
    elif row["death_date"]:
        child["deceasedDateTime"] = row["death_date"]
    if row["birth_order"]:
        child["multipleBirthInteger"] = int(row["birth_order"])
    return child


def _said(concept: Concept, children: list[dict], child_ids: list[str], value_of: Any) -> list[dict]:
    """The resources that say one concept: once, of the woman, when every child has the same value (or the concept is
    about a child and there is one child); else one per child that has a value, in focus."""
    values = [value_of(row) for row in children]
    if concept.about == "birth" and len(set(values)) == 1:
        return [] if values[0] is None else [_resource(concept, values[0], "Patient/woman", None)]
    resources = []
    for value, child_id in zip(values, child_ids, strict=True):
        if value is None:
            continue
        if concept.about == "child":
            resources.append(_resource(concept, value, f"Patient/{child_id}", None))
        else:
            resources.append(_resource(concept, value, "Patient/woman", f"Patient/{child_id}"))
    return resources


def _resource(concept: Concept, value: str, subject: str, focus: str | None) -> dict:
    """One resource that gives `value` for `concept`, of `subject` (and about `focus`)."""
    assert concept.code is not None
    system, code = concept.code
    reference = {"subject": {"reference": subject}}
    if concept.resource == "Procedure":
        # A Procedure has no focus: one said of a single child (the records of twins differ) has that child as
        # its subject.
        reference = {"subject": {"reference": focus or subject}}
        procedure: dict = {"resourceType": "Procedure", "id": _id(concept.field, subject, focus),
                           "status": "completed" if value == "1" else "not-done",
                           "code": {"coding": [{"system": system, "code": code}]}, **reference}
        return procedure
    if concept.resource == "Encounter":
        return {"resourceType": "Encounter", "id": _id(concept.field, subject, focus),
                "status": "finished" if value == "1" else "cancelled",
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
                "type": [{"coding": [{"system": system, "code": code}]}], **reference}
    observation: dict = {"resourceType": "Observation", "id": _id(concept.field, subject, focus),
                         "meta": {"profile": [concept.profile_url]}, "status": "final",
                         "code": {"coding": [{"system": system, "code": code}]}, **reference}
    if focus is not None:
        observation["focus"] = [{"reference": focus}]
    if concept.reading == "quantity":
        unit = _UNIT_OF.get(concept.field)
        observation.update({"valueQuantity": {"value": int(value), "system": UCUM, "code": unit, "unit": unit}}
                           if unit else {"valueInteger": int(value)})
    elif concept.reading == "boolean":
        observation["valueBoolean"] = value == "1"
    elif concept.reading == "datetime":
        observation["valueDateTime"] = value
    elif concept.reading == "coding":
        coded = {"coding": [dict(zip(("system", "code"), _CODE_OF[concept.field][value], strict=True))]}
        if concept.component is not None:
            observation["component"] = [{"code": {"coding": [dict(zip(("system", "code"), concept.component,
                                                                      strict=True))]},
                                         "valueCodeableConcept": coded}]
        else:
            observation["valueCodeableConcept"] = coded
    return observation


def _id(name: str, subject: str, focus: str | None) -> str:
    about = (focus or subject).split("/")[-1]
    return f"{name.replace('_', '-')}-{about}"


def _mode_of_birth(children: list[dict], child_ids: list[str]) -> list[dict]:
    """Vacuum and forceps as the Kernset says them: an assisted vaginal birth, and the procedure."""
    concept = CONCEPT_BY_FIELD["mode_of_birth"]

    def written(row: dict) -> str | None:
        return "assisted" if row["mode_of_birth"] in ("vacuum", "forceps") else row["mode_of_birth"]

    resources = _said(concept, children, child_ids, written)
    assisted = CONCEPT_BY_FIELD["assisted_birth"]
    procedure_code = {value: code for code, value in assisted.values.items()}
    for row, child_id in zip(children, child_ids, strict=True):
        if row["mode_of_birth"] in ("vacuum", "forceps"):
            system, code = procedure_code[row["mode_of_birth"]]
            resources.append({"resourceType": "Procedure", "id": f"assisted-birth-{child_id}",
                              "meta": {"profile": [assisted.profile_url]}, "status": "completed",
                              "code": {"coding": [{"system": system, "code": code}]},
                              "subject": {"reference": f"Patient/{child_id}"}})
    return resources


def _place_of_birth(children: list[dict], child_ids: list[str]) -> list[dict]:
    """A hospital birth is the Kernset's one code when care level and referral tell which kind it was."""
    concept = CONCEPT_BY_FIELD["place_of_birth"]

    def written(row: dict) -> str | None:
        place = row["place_of_birth"]
        if place in ("hospital_midwife", "hospital_obstetrician"):
            midwife_led = row["care_level_onset"] == "midwife" and row["referral_during_labour"] != "1"
            if (place == "hospital_midwife") == midwife_led:
                return "hospital"
        return place

    return _said(concept, children, child_ids, written)


def _term_date(children: list[dict], child_ids: list[str]) -> list[dict]:
    """The gestational age at birth as the Kernset gives it: the term date (280 days after day 0)."""
    concept = CONCEPT_BY_FIELD["term_date"]

    def term(row: dict) -> str | None:
        if not row["gestational_age_days"] or not row["child_birth_date"]:
            return None
        born = date.fromisoformat(row["child_birth_date"])
        return (born + timedelta(days=DAYS_AT_TERM - int(row["gestational_age_days"]))).isoformat()

    return _said(concept, children, child_ids, term)


def _vital_status(children: list[dict], child_ids: list[str]) -> list[dict]:
    """The phase of a perinatal death, for a child that died (a live-born child that died later: after birth)."""
    concept = CONCEPT_BY_FIELD["vital_status_birth"]
    resources = []
    for row, child_id in zip(children, child_ids, strict=True):
        status = row["vital_status_birth"]
        if status in ("antepartum_death", "intrapartum_death") or (status == "live" and row["death_date"]):
            resources.append(_resource(concept, status, f"Patient/{child_id}", None))
    return resources


__all__ = ["SNOMED", "bundle_of", "bundles_of", "ndjson_of"]
