"""The FHIR delivery format: where each field of the delivery format is found in a FHIR Bundle.

A care organisation may send its dossiers as HL7 FHIR instead of CSV: one Bundle per pregnancy dossier, on the
Nictiz Geboortezorg profiles (the `bc-` and `zib-` profiles, STU3) or their R4 counterparts. This module is the
one mapping table between the two (`CONCEPTS`): for every field of `contracts.delivery_format`, the resource and
profile that carry it, the element read, the code that identifies the resource (Observation.code, Procedure.code,
Encounter.type), the PWD concept id, and for coded values which code gives which value of the field. The reader
(`loader.fhir`) and the synthetic generator (`synthetic.fhir`) both use it, so the two cannot drift;
`docs/delivery-format.md` ("FHIR") lists it for people and `tests/test_delivery_format_doc.py` checks the list.

How a Bundle becomes records (one per child, the same record a CSV line gives):
- the **dossier**: `Bundle.identifier.value` is the dossier number; each child's record gets it with the child's
  birth order (`VK23-00001` → `VK23-00001-1`, `VK23-00001-2`), unless the child's Patient has an identifier of its
  own (a neonatology dossier is per child), and `Bundle.meta.versionId` is the version;
- the **woman** is `EpisodeOfCare.patient` of the maternal record (bc-MaternalRecord), the **sending
  organisation** its `managingOrganization` (its `identifier.value` is the organisation code); every other Patient
  in the Bundle is a **child**;
- a resource **about a child** names that child as its `subject` or its focus (R4 `Observation.focus`, STU3 the
  Nictiz extension `Observation-focus-stu3`); a resource about the pregnancy or the labour (subject: the woman,
  no child in focus) holds for every child of the Bundle;
- an **objection** is a `Consent` whose provision denies (R4 `provision.type = deny`, STU3 `except.type = deny`):
  only the dossier's key is kept, nothing else in the Bundle is read.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

#: The code systems of the table.
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
#: The PWD concept ids (Perinatale Woordenlijst, as the Nictiz Geboortezorg ART-DECOR project numbers them).
PWD_ROOT = "2.16.840.1.113883.2.4.3.11.60.90.77.2.6"
NICTIZ_PROFILE = "http://nictiz.nl/fhir/StructureDefinition/"
#: The STU3 extension by which a Nictiz Observation names what it is about (R4: `Observation.focus`).
FOCUS_EXTENSION_STU3 = ("http://nictiz.nl/fhir/StructureDefinition/Observation-focus-stu3",
                        "http://nictiz.nl/fhir/StructureDefinition/Observation-focusSTU3",
                        "http://nictiz.nl/fhir/StructureDefinition/observation-focusSTU3")
#: The time of birth: the core extension on the child's Patient.
BIRTH_TIME_EXTENSION = "http://hl7.org/fhir/StructureDefinition/patient-birthTime"
FhirVersion = Literal["R4", "STU3"]

#: What a concept says about: the woman, one child, or the birth (pregnancy and labour: each child of the Bundle
#: unless the resource names one).
About = Literal["mother", "child", "birth"]
#: How the value is read: a Quantity (`valueQuantity`, or `valueInteger` in R4), a coded value (first coding of
#: `valueCodeableConcept` whose system and code the table knows), a `valueBoolean`, a `valueDateTime`, whether a
#: Procedure was done (`status` completed: 1; R4 `status` not-done or STU3 `notDone`: 0), whether an Encounter took
#: place (finished or in progress: 1; cancelled: 0), or an element of the Patient.
Reading = Literal["quantity", "coding", "boolean", "datetime", "performed", "encounter", "patient"]


@dataclass(frozen=True)
class Concept:
    """One row of the mapping table: how a FHIR resource gives a delivery field.

    `code`: the (system, code) that identifies the resource among the Bundle's (any coding of Observation.code,
    Procedure.code or Encounter.type); None for the Patient's elements. `units`: for a quantity, the UCUM units
    allowed and the factor to the field's unit (an empty unit is allowed when "" is among them). `values`: for a
    coded value, which (system, code) gives which value of the field. `component`: read the value of the
    Observation's component with this code instead of the Observation's own value (when it has no value of its own).
    `implies`: a coded value that also gives another field (an episiotomy wound: no tear, and an episiotomy).
    `derived`: not a field of the delivery format, but read to derive or check one (the term date, gravidity).
    `aliases`: other codes that are read as this concept, with a hint to write `code` (a typo in a published
    mapping that senders copied).
    """

    field: str
    resource: str
    profile: str
    element: str
    reading: Reading
    about: About
    code: tuple[str, str] | None = None
    pwd_concept: str | None = None
    units: dict[str, float] = dataclasses.field(default_factory=dict)
    values: dict[tuple[str, str], str] = dataclasses.field(default_factory=dict)
    component: tuple[str, str] | None = None
    implies: dict[tuple[str, str], dict[str, str]] = dataclasses.field(default_factory=dict)
    derived: bool = False
    aliases: tuple[tuple[str, str], ...] = ()

    @property
    def profile_url(self) -> str:
        return NICTIZ_PROFILE + self.profile if not self.profile.startswith("http") else self.profile

    @property
    def concept_id(self) -> str | None:
        """The full PWD concept id (OID)."""
        return f"{PWD_ROOT}.{self.pwd_concept}" if self.pwd_concept else None


#: perispiegel's own codes, for the few registry items the Kernset has no FHIR code for (docs say which).
PERISPIEGEL_CODES = "https://perispiegel.nl/fhir/CodeSystem/registry-item"
#: Perined's observation codes of the Kernset messages (HL7v3), which the Nictiz examples use as FHIR codes too
#: (`EindeZw` in Gebz-bc-WayEndPregnancy).
PERINED_ITEM = "urn:oid:2.16.840.1.113883.2.4.4.13"
PERINED_PRN = "urn:oid:2.16.840.1.113883.2.4.3.22.1.1"
#: Perined value lists (PWD code systems).
ONSET_LIST = "urn:oid:2.16.840.1.113883.2.4.3.22.1.2.46"
RISK_LIST = "urn:oid:2.16.840.1.113883.2.4.3.22.1.2.25"
PLACE_LIST = "urn:oid:2.16.840.1.113883.2.4.3.22.1.8.7"
SMOKING_LIST = "urn:oid:2.16.840.1.113883.2.4.4.13.58"
FEEDING_LIST = "urn:oid:2.16.840.1.113883.2.4.3.22.1.4.8"
#: A hospital birth (SNOMED 22232009) is midwife-led (poliklinisch) when labour started midwife-led and the woman
#: was not referred, else obstetrician-led (klinisch): the Kernset has one code for both.
HOSPITAL = (SNOMED, "22232009")

_HEAD = ("70028003", "37235006", "249079005", "21882006", "8014007")
_BREECH = ("6096002", "49168004", "38049006", "18559007")
_CAESAREAN = ("11466000", "177141003", "274130007", "236990004")
_INDUCTION = ("236958009", "236960006", "408818004", "425861005", "236966000", "177135005", "177136006")

CONCEPTS: tuple[Concept, ...] = (
    # --- the woman ---------------------------------------------------------------------------------------------
    Concept("mother_birth_date", "Patient", "bc-Woman", "Patient.birthDate", "patient", "mother",
            pwd_concept="10040"),
    Concept("mother_postcode4", "Patient", "bc-Woman", "Patient.address.postalCode", "patient", "mother",
            pwd_concept="10304"),
    # --- the pregnancy -----------------------------------------------------------------------------------------
    Concept("parity", "Observation", "zib-Pregnancy-Parity", "Observation.valueQuantity", "quantity", "birth",
            code=(LOINC, "11977-6"), pwd_concept="20150", units={"": 1, "1": 1, "{births}": 1}),
    Concept("gravidity", "Observation", "zib-Pregnancy-Gravidity", "Observation.valueQuantity", "quantity", "birth",
            code=(LOINC, "11996-6"), pwd_concept="20010", units={"": 1, "1": 1, "{pregnancies}": 1}, derived=True),
    Concept("term_date", "Observation", "zib-Pregnancy-TermDate", "Observation.valueDateTime", "datetime", "birth",
            code=(LOINC, "11778-8"), pwd_concept="82160", derived=True),
    Concept("gestational_age_days", "Observation", "bc-GestationalAge", "Observation.valueQuantity", "quantity",
            "birth", code=(LOINC, "11884-4"), units={"d": 1, "wk": 7}),
    Concept("plurality", "Observation", "bc-PregnancyObservation", "Observation.valueQuantity", "quantity", "birth",
            code=(PERINED_ITEM, "NBorn16"), pwd_concept="20505", units={"": 1, "1": 1}),
    Concept("previous_caesarean", "Observation", "bc-PregnancyObservation", "Observation.valueBoolean", "boolean",
            "birth", code=(PERISPIEGEL_CODES, "previous-caesarean")),
    Concept("smoking", "Observation", "zib-TobaccoUse", "Observation.valueCodeableConcept", "coding", "birth",
            code=(LOINC, "72166-2"), pwd_concept="80810",
            values={(SMOKING_LIST, "1"): "0", (SMOKING_LIST, "2"): "1", (SMOKING_LIST, "3"): "1",
                    (SMOKING_LIST, "4"): "1", (SMOKING_LIST, "5"): "0", (SMOKING_LIST, "6"): "1",
                    (SNOMED, "77176002"): "1", (SNOMED, "266919005"): "0"}),
    Concept("booking_gestational_age_days", "Observation", "bc-PregnancyObservation", "Observation.valueQuantity",
            "quantity", "birth", code=(PERISPIEGEL_CODES, "gestational-age-first-visit"), pwd_concept="80738",
            units={"d": 1, "wk": 7}),
    # --- labour and birth --------------------------------------------------------------------------------------
    Concept("care_level_onset", "Observation", "bc-DeliveryObservation", "Observation.valueCodeableConcept",
            "coding", "birth", code=(PERINED_PRN, "PRN5102"), pwd_concept="20530",
            values={(RISK_LIST, "1"): "midwife", (RISK_LIST, "4"): "midwife", (RISK_LIST, "3"): "obstetrician",
                    (RISK_LIST, "5"): "obstetrician"}),
    Concept("referral_during_labour", "Observation", "bc-DeliveryObservation", "Observation.valueBoolean",
            "boolean", "birth", code=(PERISPIEGEL_CODES, "referral-during-labour"), pwd_concept="82012"),
    Concept("onset_of_labour", "Observation", "bc-DeliveryObservation", "Observation.valueCodeableConcept",
            "coding", "birth", code=(PERINED_ITEM, "BeginDeliv"), pwd_concept="20550",
            values={(ONSET_LIST, "1"): "spontaneous", (ONSET_LIST, "2"): "spontaneous",
                    **{(SNOMED, code): "induced" for code in _INDUCTION},
                    (SNOMED, "177141003"): "prelabour_caesarean"}),
    Concept("presentation", "Observation", "bc-BirthObservation", "Observation.valueCodeableConcept", "coding",
            "child", code=(PERINED_PRN, "LigGbrt"), pwd_concept="40140",
            values={**{(SNOMED, code): "cephalic" for code in _HEAD}, **{(SNOMED, code): "breech" for code in _BREECH},
                    (SNOMED, "288203005"): "transverse", (SNOMED, "261665006"): "unknown"}),
    Concept("mode_of_birth", "Observation", "bc-ParturitionType", "Observation.valueCodeableConcept", "coding",
            "child", code=(SNOMED, "364336006"), pwd_concept="80626",
            values={(SNOMED, "177184002"): "spontaneous", (SNOMED, "48782003"): "spontaneous",
                    **{(SNOMED, code): "caesarean" for code in _CAESAREAN},
                    (SNOMED, "61586001"): "vacuum", (SNOMED, "302383004"): "forceps",
                    (SNOMED, "3311000146109"): "assisted"}),
    Concept("assisted_birth", "Procedure", "bc-ObstetricProcedure", "Procedure.code", "performed", "child",
            pwd_concept="40190", values={(SNOMED, "61586001"): "vacuum", (SNOMED, "302383004"): "forceps"},
            derived=True),
    Concept("place_of_birth", "Observation", "bc-DeliveryObservation", "Observation.valueCodeableConcept",
            "coding", "birth", code=(SNOMED, "169812000"), pwd_concept="40003",
            values={(SNOMED, "169813005"): "home", (PLACE_LIST, "23"): "birth_centre", HOSPITAL: "hospital",
                    (PERISPIEGEL_CODES, "hospital-midwife-led"): "hospital_midwife",
                    (PERISPIEGEL_CODES, "hospital-obstetrician-led"): "hospital_obstetrician",
                    (SNOMED, "261665006"): "unknown"}),
    Concept("epidural", "Procedure", "bc-ObstetricProcedure", "Procedure.status", "performed", "birth",
            code=(SNOMED, "18946005"), pwd_concept="82092"),
    Concept("episiotomy", "Procedure", "bc-ObstetricProcedure", "Procedure.status", "performed", "birth",
            code=(SNOMED, "85548006"), pwd_concept="30050"),
    Concept("perineal_tear", "Observation", "bc-StatePerineumPostPartum", "Observation.valueCodeableConcept",
            "coding", "birth", code=(SNOMED, "364297003"), pwd_concept="80673",
            values={(SNOMED, "289854007"): "none", (SNOMED, "609344008"): "none", (SNOMED, "199916005"): "1",
                    (SNOMED, "199925004"): "2", (SNOMED, "199930000"): "3", (SNOMED, "449807005"): "3",
                    (SNOMED, "449808000"): "3", (SNOMED, "449809008"): "3", (SNOMED, "199934009"): "4"},
            implies={(SNOMED, "609344008"): {"episiotomy": "1"}}),
    Concept("blood_loss_ml", "Observation", "bc-BloodLoss", "Observation.valueQuantity", "quantity", "birth",
            code=(SNOMED, "364332008"), pwd_concept="20640", units={"mL": 1, "ml": 1, "L": 1000, "l": 1000},
            aliases=((SNOMED, "64332008"),)),
    # --- the child ---------------------------------------------------------------------------------------------
    Concept("child_birth_date", "Patient", "bc-Child", "Patient.birthDate", "patient", "child",
            pwd_concept="40050"),
    Concept("child_birth_time", "Patient", "bc-Child", "Patient.extension:birthTime.valueDateTime",
            "patient", "child", pwd_concept="40050"),
    Concept("child_sex", "Patient", "bc-Child", "Patient.gender", "patient", "child", pwd_concept="40041"),
    Concept("birth_order", "Patient", "bc-Child", "Patient.multipleBirthInteger", "patient", "child",
            pwd_concept="40025"),
    Concept("birth_weight_g", "Observation", "bc-BirthWeight", "Observation.valueQuantity", "quantity", "child",
            code=(LOINC, "8339-4"), pwd_concept="40060", units={"g": 1, "kg": 1000}),
    Concept("vital_status_birth", "Observation", "bc-BirthObservation", "Observation.valueCodeableConcept",
            "coding", "child", code=(PERINED_ITEM, "FasePerinataleSterfte"), pwd_concept="40290",
            values={(SNOMED, "237361005"): "antepartum_death", (SNOMED, "237362003"): "intrapartum_death",
                    (SNOMED, "276506001"): "live"}),
    Concept("apgar_5min", "Observation", "zib-ApgarScore", "Observation.valueQuantity", "quantity", "child",
            code=(LOINC, "9274-2"), pwd_concept="40071", units={"": 1, "1": 1, "{score}": 1}),
    Concept("first_feed", "Observation", "bc-FeedingPatternInfant", "Observation.component.valueCodeableConcept",
            "coding", "child", code=(SNOMED, "289145007"), pwd_concept="70030",
            component=(SNOMED, "109021000146107"),
            values={(FEEDING_LIST, "1"): "breast", (FEEDING_LIST, "2"): "formula", (SNOMED, "226789007"): "breast",
                    (SNOMED, "226790003"): "breast", (SNOMED, "260413007"): "none"}),
    Concept("nicu_admission", "Encounter", "bc-Encounter", "Encounter.status", "encounter", "child",
            code=(SNOMED, "305351004")),
    Concept("death_date", "Patient", "bc-Child", "Patient.deceasedDateTime", "patient", "child",
            pwd_concept="40300"),
)

#: The concepts read to derive or check a field, not fields themselves (`code.fhir_concept` names them).
DERIVED_CONCEPTS: tuple[str, ...] = tuple(concept.field for concept in CONCEPTS if concept.derived)
CONCEPT_BY_FIELD: dict[str, Concept] = {concept.field: concept for concept in CONCEPTS}
#: The resources that carry a coded concept, by (resource type, system, code).
CONCEPT_BY_CODE: dict[tuple[str, str, str], Concept] = {
    (concept.resource, *code): concept for concept in CONCEPTS
    for code in ((concept.code, *concept.aliases) if concept.code else ())
}
#: The fields of the key and the sender, read from the Bundle itself (docs list them with the table).
KEY_ELEMENTS: dict[str, str] = {
    "dossier_id": "the child's Patient.identifier.value, else Bundle.identifier.value + '-' + birth order",
    "dossier_version": "Bundle.meta.versionId",
    "org_code": "EpisodeOfCare.managingOrganization → Organization.identifier.value",
    "objection": "Consent.provision.type = deny (STU3: Consent.except.type = deny)",
}
#: FHIR's administrative gender as the delivery format's `child_sex` (unknown: not recorded).
GENDER_CODES: dict[str, str | None] = {"male": "M", "female": "F", "other": "U", "unknown": None}
#: A Procedure that was done (R4 and STU3 statuses: completed, going on, or started and then stopped or aborted), one
#: that was not (R4 status, or STU3 `notDone`); any other status (preparation, on hold, suspended, unknown) says
#: neither, and the Procedure is not read. An Encounter that took place, or did not.
NOT_DONE_STATUSES = ("not-done",)
DONE_STATUSES = ("completed", "in-progress", "stopped", "aborted")
ENCOUNTER_HAPPENED = ("finished", "in-progress", "arrived", "onleave")
ENCOUNTER_NOT_HAPPENED = ("cancelled",)
#: A gestational age from the term date: 280 days (40+0 weeks) at the term date.
DAYS_AT_TERM = 280
