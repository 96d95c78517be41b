"""Receive, FHIR: a delivery file of FHIR Bundles read into the records a CSV file gives.

A FHIR delivery file (`.json`: one Bundle; `.ndjson`: one Bundle per line; `.xml`: one Bundle) holds one pregnancy
dossier per Bundle, in FHIR R4 or STU3 (the Nictiz Geboortezorg examples), read with `fhir.resources`: R4 with its
R4B models (the resources read here are the same in R4 and R4B), STU3 with its STU3 models. Which release a Bundle
is in is found by reading it: as R4 first, as STU3 when R4 does not fit (an NDJSON file tries the release of the
Bundle before it first).

Each Bundle becomes one record per child, in the delivery format's columns as text (as a CSV line is), through
the one mapping table `contracts.fhir_mapping.CONCEPTS`. Those records are then validated exactly as CSV records
are (`loader.validate`): the same checks, hints, resends, objections and counts. What only FHIR can get wrong is
found here, and named by its element (`Bundle.entry[3].resource.valueQuantity.code`): a Bundle the library cannot
read, a resource that is not a Bundle, a unit that is not UCUM or not the concept's, a code system or code the
table does not know, a reference that points to nothing in the Bundle, two children with the same birth order, two
different values for one field. Such a problem rejects the records it concerns (every record of the Bundle, or one
child's); the element of each field goes with the record, so the format's own messages name it too.

Pure: works on the text it is given.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import polars as pl
from lxml import etree  # type: ignore[import-untyped]
from pydantic import ValidationError

from contracts.delivery_format import COLUMNS, FHIR_EXTENSIONS
from contracts.fhir_mapping import (
    BIRTH_TIME_EXTENSION,
    CONCEPT_BY_CODE,
    CONCEPT_BY_FIELD,
    CONCEPTS,
    DAYS_AT_TERM,
    DERIVED_CONCEPTS,
    DONE_STATUSES,
    ENCOUNTER_HAPPENED,
    ENCOUNTER_NOT_HAPPENED,
    FOCUS_EXTENSION_STU3,
    GENDER_CODES,
    KEY_ELEMENTS,
    NOT_DONE_STATUSES,
    UCUM,
    Concept,
    FhirVersion,
)
from loader.messages import MESSAGE_SEPARATOR, shown
from loader.parsing import PARSED_SCHEMA
from loader.results import HINT_SCHEMA
from texts import code_label

#: Resources the reader looks at; any other resource in a Bundle is allowed and passed over.
READ_RESOURCES = ("Patient", "EpisodeOfCare", "Organization", "Observation", "Procedure", "Encounter", "Consent")
#: Statuses of a resource that is not a fact: not read.
NOT_A_FACT = ("entered-in-error", "cancelled")
#: A concept identified by its profile alone (one concept per profile): a resource with that profile but another
#: code is said to have the wrong code.
CONCEPT_BY_PROFILE: dict[str, Concept] = {
    concept.profile_url: concept for concept in CONCEPTS
    if concept.code is not None and sum(other.profile == concept.profile for other in CONCEPTS) == 1
}
ASSISTED = CONCEPT_BY_FIELD["assisted_birth"]
#: What the reading of a FHIR file can find (`code.fhir_problem` in the catalogue says each in words).
FHIR_PROBLEMS = ("not_json", "ndjson_as_json", "json_list", "not_xml", "not_json_line", "wrong_resource_type",
                 "unknown_resource_type", "unreadable_bundle", "unknown_element", "missing_element",
                 "invalid_element", "more_errors", "no_maternal_record", "no_child", "reference_not_found",
                 "duplicate_birth_order", "no_time_in_birth_time", "invalid_gender", "code_alias",
                 "wrong_code_system", "wrong_code", "no_child_reference", "missing_value", "unknown_code",
                 "not_ucum_system", "unit_only_as_text", "missing_unit", "wrong_unit", "not_ucum_unit",
                 "not_a_number", "conflicting_values", "assisted_without_kind", "deceased_without_phase",
                 "other_profile", "parity_not_below_gravidity", "no_resource_type", "not_an_object",
                 "subject_not_patient", "status_not_read")
#: Why a JSON text or a FHIR value cannot be read (`code.fhir_reason` says each in words).
FHIR_REASONS = ("json_expecting_value", "json_expecting_name", "json_expecting_comma", "json_expecting_colon",
                "json_unterminated_string", "json_extra_data", "json_control_character", "json_too_deep",
                "json_number_too_long", "json_lone_surrogate", "reason_date", "reason_datetime", "reason_decimal",
                "reason_pattern", "reason_integer", "reason_boolean", "reason_string", "reason_object",
                "reason_list")
#: What a JSON line may hold instead of an object (`code.json_type` names it).
JSON_TYPES = ("list", "str", "int", "float", "bool", "NoneType")
#: More pydantic errors than this about one Bundle are summed up ("and 12 more").
MAX_LISTED_ERRORS = 5


@dataclass(frozen=True)
class Problem:
    """Something wrong (an error: the record is rejected) or to improve (a hint) in a Bundle, at an element.

    `code` is `kind:field` as the CSV path writes it; `child` is the index of the child it concerns (None: every
    record of the Bundle)."""

    code: str
    message_nl: str
    message_en: str
    child: int | None = None

    @property
    def field_name(self) -> str:
        return self.code.split(":", 1)[1]


def _problem(kind: str, field_name: str, element: str, key: str, child: int | None = None, **values: Any) -> Problem:
    """A problem whose message is the text `loader_fhir.<key>`, after the element it is about. A value that is a
    function of the language (`_label`) is said in each language."""
    nl, en = (f"{element}: " + code_label("fhir_problem", key, language, **{
        name: value(language) if callable(value) else value for name, value in values.items()})
        for language in ("nl", "en"))
    return Problem(f"{kind}:{field_name}", nl, en, child)


def _label(name: str) -> Any:
    """A field's name in messages, in the language of the message."""
    if name in COLUMNS:
        return lambda language: code_label("field", name, language)
    return lambda language: code_label("fhir_concept", name, language)


@dataclass
class Dossier:
    """One Bundle read: its records (one per child, the format's columns as text), where each field was found,
    and its errors and hints. `number` is the Bundle's place in the file (its line in an NDJSON file)."""

    number: int
    records: list[dict[str, str | None]] = field(default_factory=list)
    elements: list[dict[str, str]] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    hints: list[Problem] = field(default_factory=list)
    version: FhirVersion | None = None

    def problems_of(self, problems: list[Problem], child: int) -> list[Problem]:
        return [problem for problem in problems if problem.child is None or problem.child == child]


@dataclass(frozen=True)
class FhirFile:
    """A FHIR delivery file read: its dossiers, or why nothing in it can be read as FHIR (`problem`, in Dutch and
    English: the file is then rejected as a whole)."""

    dossiers: list[Dossier]
    problem: tuple[str, str] | None = None


def is_fhir_name(name: str) -> bool:
    """Whether a delivery file's name says it holds FHIR (its extension)."""
    return name.rsplit(".", 1)[-1].lower() in FHIR_EXTENSIONS


def read_fhir_file(content: str, extension: str) -> FhirFile:
    """The dossiers of a FHIR delivery file's text (`extension`: json, ndjson or xml)."""
    extension = extension.lower()
    if extension == "xml":
        return _read_xml(content)
    if extension == "ndjson":
        return _read_ndjson(content)
    stripped = content.strip()
    parsed, failure = _parse_json(stripped)
    if failure is not None:
        line, column, reason = failure
        if stripped.count("\n") and all(line.strip().startswith("{") for line in stripped.splitlines() if line.strip()):
            return _not_fhir("ndjson_as_json")
        return _not_fhir("not_json", line=line, column=column, reason=reason)
    if isinstance(parsed, list):
        return _not_fhir("json_list")
    return FhirFile([read_bundle(parsed, 1)])


def _not_fhir(key: str, **values: Any) -> FhirFile:
    def said(language: str) -> str:
        return code_label("fhir_problem", key, language, **{
            name: value(language) if callable(value) else value for name, value in values.items()})
    return FhirFile([], (said("nl"), said("en")))


#: Python's JSON messages, in the words of the catalogue (`code.fhir_reason`); another keeps its English.
JSON_REASONS = {"Expecting value": "json_expecting_value",
                "Expecting property name enclosed in double quotes": "json_expecting_name",
                "Expecting ',' delimiter": "json_expecting_comma", "Expecting ':' delimiter": "json_expecting_colon",
                "Unterminated string starting at": "json_unterminated_string", "Extra data": "json_extra_data",
                "Invalid control character at": "json_control_character"}


def _parse_json(text: str) -> tuple[Any, tuple[int, int, Any] | None]:
    """`text` as JSON, or where and why it is not (line, column, the reason as a function of the language): also a
    nesting too deep for the parser, a number of more digits than Python reads, and a `\\u` escape that is no
    character (a lone surrogate: no text can hold it)."""
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as error:
        key = JSON_REASONS.get(error.msg)
        english = error.msg

        def reason(language: str) -> str:
            return code_label("fhir_reason", key, language) if key else english
        return None, (error.lineno, error.colno, reason)
    except RecursionError:
        return None, (1, 1, lambda language: code_label("fhir_reason", "json_too_deep", language))
    except ValueError:  # a number longer than Python converts
        return None, (1, 1, lambda language: code_label("fhir_reason", "json_number_too_long", language))
    if "\\ud" in text.lower():
        try:
            json.dumps(parsed, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            return None, (1, 1, lambda language: code_label("fhir_reason", "json_lone_surrogate", language))
    return parsed, None


def _read_ndjson(content: str) -> FhirFile:
    dossiers: list[Dossier] = []
    version: FhirVersion | None = None
    for number, line in enumerate(content.split("\n"), start=1):
        if not line.strip():
            continue
        parsed, failure = _parse_json(line)
        if failure is not None:
            dossier = Dossier(number)
            _, column, reason = failure
            nl, en = _not_fhir("not_json_line", line=number, column=column, reason=reason).problem or ("", "")
            dossier.errors.append(Problem("invalid_json:record", nl, en))
            dossiers.append(dossier)
            continue
        dossier = read_bundle(parsed, number, prefer=version)
        version = dossier.version or version
        dossiers.append(dossier)
    return FhirFile(dossiers)


def _read_xml(content: str) -> FhirFile:
    try:
        root = etree.fromstring(content.encode("utf-8"), parser=_xml_parser())
    except etree.XMLSyntaxError as error:
        return _not_fhir("not_xml", reason=str(error.msg), line=error.lineno or 1)
    name = etree.QName(root).localname
    if name != "Bundle":
        dossier = Dossier(1)
        dossier.errors.append(_problem("wrong_resource_type", "record", "Bundle", "wrong_resource_type",
                                       resource=shown(name)))
        return FhirFile([dossier])
    errors: list[tuple[FhirVersion, ValidationError | Exception]] = []
    for version in ("R4", "STU3"):
        model = _bundle_model(version)
        try:
            parsed = model.model_validate_xml(content.encode("utf-8"), xmlparser=_xml_parser())
        except (ValidationError, ValueError, KeyError, TypeError, RecursionError, etree.LxmlError) as error:
            errors.append((version, error))
            continue
        return FhirFile([_map_bundle(json.loads(parsed.model_dump_json()), 1, version)])
    dossier = Dossier(1)
    dossier.errors += _library_problems(*_fewest(errors))
    return FhirFile([dossier])


def _xml_parser() -> Any:
    """An XML parser that neither fetches nor expands entities (no XXE, no entity bombs) and refuses huge trees."""
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)


def _bundle_model(version: FhirVersion) -> Any:
    """The library's Bundle model of a release (R4 is read with the R4B models)."""
    from fhir.resources.R4B.bundle import Bundle as BundleR4
    from fhir.resources.STU3.bundle import Bundle as BundleSTU3

    return BundleR4 if version == "R4" else BundleSTU3


def _fewest(errors: list[tuple[FhirVersion, ValidationError | Exception]]) -> tuple[FhirVersion, Exception]:
    """The release whose reading failed on the fewest elements: its errors are the ones to report."""
    def count(error: Exception) -> int:
        return error.error_count() if isinstance(error, ValidationError) else 10 ** 6
    return min(errors, key=lambda pair: count(pair[1]))


def read_bundle(parsed: Any, number: int, prefer: FhirVersion | None = None) -> Dossier:
    """One Bundle (parsed JSON) read and mapped; `prefer`: the release to try first."""
    if not isinstance(parsed, dict) or parsed.get("resourceType") != "Bundle":
        dossier = Dossier(number)
        kind = parsed.get("resourceType") if isinstance(parsed, dict) else None
        if isinstance(parsed, dict) and kind is None:
            dossier.errors.append(_problem("wrong_resource_type", "record", "Bundle", "no_resource_type"))
        elif kind is not None:
            dossier.errors.append(_problem("wrong_resource_type", "record", "Bundle", "wrong_resource_type",
                                           resource=shown(str(kind))))
        else:
            dossier.errors.append(_problem("wrong_resource_type", "record", "Bundle", "not_an_object",
                                           json_type=lambda language: code_label("json_type", type(parsed).__name__,
                                                                                 language)))
        return dossier
    objected = _objection_before_reading(parsed, number)
    if objected is not None:
        return objected
    unknown = _unknown_entries(parsed)
    if unknown:
        dossier = Dossier(number)
        dossier.errors += unknown
        return dossier
    versions: tuple[FhirVersion, ...] = ("STU3", "R4") if prefer == "STU3" else ("R4", "STU3")
    errors: list[tuple[FhirVersion, ValidationError | Exception]] = []
    for version in versions:
        try:
            _bundle_model(version).model_validate(parsed)
        except (ValidationError, ValueError, KeyError, TypeError, RecursionError) as error:
            errors.append((version, error))
            continue
        return _map_bundle(parsed, number, version)
    dossier = Dossier(number)
    dossier.errors += _library_problems(*_fewest(errors))
    identifier = parsed.get("identifier")
    value = identifier.get("value") if isinstance(identifier, dict) else None
    if isinstance(value, str):  # the sender finds the rejected dossier by its number
        dossier.records.append({**dict.fromkeys(COLUMNS), "dossier_id": value})
        dossier.elements.append({"dossier_id": "Bundle.identifier.value"})
    return dossier


def _objection_before_reading(bundle: dict, number: int) -> Dossier | None:
    """A Bundle with an objection (a Consent that denies) gives only its keys, read before the library validates
    anything: nothing else of it is looked at, as nothing else of an objected CSV line is (also not when the rest
    of the Bundle would not pass the library). None when there is no objection, or its keys cannot be read."""
    entries = bundle.get("entry")
    if not isinstance(entries, list) or not any(
            isinstance(entry, dict) and isinstance(entry.get("resource"), dict)
            and entry["resource"].get("resourceType") == "Consent" for entry in entries):
        return None
    if not any(_denies(entry["resource"]) for entry in entries
               if isinstance(entry, dict) and isinstance(entry.get("resource"), dict)):
        return None
    try:
        return _Reader(bundle, number, None).read()
    except (AttributeError, TypeError, ValueError, KeyError, IndexError):
        # The keys cannot be read: the objection is kept as one whose dossier number is missing, which rejects it
        # as `objection_not_recorded` (send it again) without a word of the rest.
        dossier = Dossier(number)
        dossier.records.append({**dict.fromkeys(COLUMNS), "objection": "1"})
        dossier.elements.append({})
        return dossier


def _denies(resource: dict) -> bool:
    """An active Consent that denies: R4 `provision.type` = deny, STU3 `except.type` = deny (read leniently: a
    provision written as a list counts too)."""
    if resource.get("resourceType") != "Consent" or resource.get("status") != "active":
        return False
    provisions = resource.get("provision")
    parts = [*(provisions if isinstance(provisions, list) else [provisions])]
    exceptions = resource.get("except")
    parts += exceptions if isinstance(exceptions, list) else [exceptions]
    return any(isinstance(part, dict) and part.get("type") == "deny" for part in parts)


def _unknown_entries(bundle: dict) -> list[Problem]:
    """Entries whose resource is not a FHIR resource at all (the library cannot even begin to read them)."""
    from fhir.resources.R4B import get_fhir_model_class as r4_class
    from fhir.resources.STU3 import get_fhir_model_class as stu3_class

    problems = []
    for index, entry in enumerate(bundle.get("entry") or []):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            continue
        kind = resource.get("resourceType")
        known = True
        for lookup in (r4_class, stu3_class):
            try:
                lookup(str(kind))
                break
            except (KeyError, ValueError, AttributeError):
                continue
        else:
            known = False
        if kind is None:
            problems.append(_problem("wrong_resource_type", "record", f"Bundle.entry[{index}].resource",
                                     "no_resource_type"))
        elif not known:
            problems.append(_problem("wrong_resource_type", "record", f"Bundle.entry[{index}].resource.resourceType",
                                     "unknown_resource_type", resource=shown(str(kind))))
    return problems


def _library_problems(version: FhirVersion, error: Exception) -> list[Problem]:
    """What the FHIR library found wrong, element by element (at most `MAX_LISTED_ERRORS`, then how many more)."""
    release = version
    if not isinstance(error, ValidationError):
        return [_problem("invalid_fhir", "record", "Bundle", "unreadable_bundle", release=release,
                         reason=shown(str(error)))]
    problems = []
    details = error.errors()
    for detail in details[:MAX_LISTED_ERRORS]:
        element = "Bundle" + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in detail["loc"])
        kind = detail["type"]
        if kind == "extra_forbidden":
            problems.append(_problem("invalid_fhir", "record", element, "unknown_element", release=release))
        elif kind == "missing" or "is required" in str(detail.get("msg")):
            problems.append(_problem("invalid_fhir", "record", element, "missing_element", release=release))
        else:
            value = detail.get("input")
            shown_value = shown(str(value)) if not isinstance(value, dict | list) else "…"
            problems.append(_problem("invalid_fhir", "record", element, "invalid_element", release=release,
                                     value=shown_value, reason=_library_reason(detail)))
    if len(details) > MAX_LISTED_ERRORS:
        problems.append(_problem("invalid_fhir", "record", "Bundle", "more_errors",
                                 count=len(details) - MAX_LISTED_ERRORS))
    return problems


#: What the FHIR library says of a value, by its words, as the catalogue says it (`code.fhir_reason`).
LIBRARY_REASONS = (("Date value string", "reason_date"), ("day value is outside", "reason_date"),
                   ("DateTime value string", "reason_datetime"), ("Decimal value string", "reason_decimal"),
                   ("String should match pattern", "reason_pattern"), ("valid integer", "reason_integer"),
                   ("valid boolean", "reason_boolean"), ("valid string", "reason_string"),
                   ("valid dictionary", "reason_object"), ("valid list", "reason_list"))


def _library_reason(detail: Any) -> Any:
    """Why the library refused a value, in the language of the message: the catalogue's words for the usual reasons,
    else the library's own (English) words."""
    message = str(detail.get("msg"))
    key = next((key for words, key in LIBRARY_REASONS if words in message), None)
    english = shown(message, 120)
    return (lambda language: code_label("fhir_reason", key, language)) if key else english


# ----------------------------------------------------------------------------------------------------------
# The mapping: a Bundle the library read, into records
# ----------------------------------------------------------------------------------------------------------

@dataclass
class _Entry:
    index: int
    resource: dict

    @property
    def kind(self) -> str:
        return str(self.resource.get("resourceType"))

    def at(self, element: str) -> str:
        return f"Bundle.entry[{self.index}].resource.{element}" if element else f"Bundle.entry[{self.index}].resource"


class _Bundle:
    """The entries of a Bundle and how its references resolve."""

    def __init__(self, bundle: dict):
        self.bundle = bundle
        self.entries = [_Entry(index, entry["resource"]) for index, entry in enumerate(bundle.get("entry") or [])
                        if isinstance(entry, dict) and isinstance(entry.get("resource"), dict)]
        self._by_reference: dict[str, _Entry] = {}
        full_urls = [entry.get("fullUrl") if isinstance(entry, dict) else None for entry in bundle.get("entry") or []]
        for found in self.entries:
            full_url = full_urls[found.index]
            if isinstance(full_url, str) and full_url:
                self._by_reference[full_url] = found
                # An absolute or urn fullUrl ending in Type/id is found by that too (a reference "Patient/123").
                tail = full_url.rsplit(":", 1)[-1].rstrip("/").split("/")
                if len(tail) >= 2 and tail[-2] == found.kind:
                    self._by_reference.setdefault(f"{tail[-2]}/{tail[-1]}", found)
            if found.resource.get("id"):
                self._by_reference[f"{found.kind}/{found.resource['id']}"] = found

    def of_kind(self, kind: str) -> list[_Entry]:
        return [entry for entry in self.entries if entry.kind == kind]

    def resolve(self, reference: Any) -> _Entry | None:
        """The entry a Reference points to: by fullUrl, or by its last `Type/id` (also of an absolute URL)."""
        value = reference.get("reference") if isinstance(reference, dict) else None
        if not value:
            return None
        if value in self._by_reference:
            return self._by_reference[value]
        parts = value.rstrip("/").split("/")
        if len(parts) >= 2:
            return self._by_reference.get(f"{parts[-2]}/{parts[-1]}")
        return None


def _codings(concept: Any) -> list[dict]:
    return [coding for coding in (concept or {}).get("coding") or [] if isinstance(coding, dict)]


def _profiles(resource: dict) -> list[str]:
    return list((resource.get("meta") or {}).get("profile") or [])


class _Reader:
    """Maps one validated Bundle (as JSON) to a Dossier."""

    def __init__(self, bundle: dict, number: int, version: FhirVersion | None):
        self.bundle = _Bundle(bundle)
        self.dossier = Dossier(number, version=version)
        self.version = version
        # (field, child index or None for the birth) → (value, element)
        self.values: dict[tuple[str, int | None], tuple[str, str]] = {}

    def error(self, kind: str, field_name: str, element: str, key: str, child: int | None = None,
              **values: Any) -> None:
        """A problem that rejects the records it concerns; about a concept read only to derive or check a field
        (gravidity, the term date) it is a hint: the record itself may still be right."""
        if field_name in DERIVED_CONCEPTS:
            self.dossier.hints.append(_problem("implausible", field_name, element, key, child, **values))
            return
        self.dossier.errors.append(_problem(kind, field_name, element, key, child, **values))

    def hint(self, kind: str, field_name: str, element: str, key: str, child: int | None = None,
             **values: Any) -> None:
        self.dossier.hints.append(_problem(kind, field_name, element, key, child, **values))

    def put(self, name: str, child: int | None, value: str | None, element: str) -> None:
        """One field's value for one child (None: for every child), saying so when it contradicts another."""
        if value is None:
            return
        earlier = self.values.get((name, child))
        if earlier is not None and earlier[0] != value:
            self.error("conflicting_values", name, element, "conflicting_values", child,
                       field=_label(name), value=shown(value), other=shown(earlier[0]),
                       other_element=earlier[1])
            return
        self.values[(name, child)] = (value, element)

    # --- the dossier, the woman, the children ----------------------------------------------------------------
    def read(self) -> Dossier:
        bundle = self.bundle
        episodes = bundle.of_kind("EpisodeOfCare")
        maternal = [item for item in episodes if any(p.endswith("bc-MaternalRecord") for p in _profiles(item.resource))]
        episode: _Entry | None = (maternal or episodes)[0] if (maternal or episodes) else None
        mother: _Entry | None = None
        organisation_code: str | None = None
        if episode is None:
            self.error("missing_required", "record", "Bundle", "no_maternal_record")
        else:
            mother = self._referenced(episode, "patient", "Patient", "record")
            organisation = self._referenced(episode, "managingOrganization", "Organization", "org_code")
            if organisation is not None:
                identifiers = [item for item in organisation.resource.get("identifier") or []
                               if isinstance(item, dict) and item.get("value")]
                organisation_code = str(identifiers[0]["value"]) if identifiers else None
        identifier = bundle.bundle.get("identifier") or {}
        dossier_number = identifier.get("value") if isinstance(identifier, dict) else None
        dossier_system = identifier.get("system") if isinstance(identifier, dict) else None
        version = (bundle.bundle.get("meta") or {}).get("versionId")
        objected = self._objection()
        # The women of the Bundle (every EpisodeOfCare's and Consent's patient) are no children. Without the woman of
        # the maternal record the children cannot be told: one record, rejected as such (an objection keeps its keys).
        women = {id(found) for found in (bundle.resolve(item.resource.get("patient"))
                                         for item in (*episodes, *bundle.of_kind("Consent"))) if found is not None}
        known_woman = mother is not None or objected
        children = [entry for entry in bundle.of_kind("Patient")
                    if entry is not mother and id(entry) not in women] if known_woman else []
        orders = self._birth_orders(children)
        if not children and known_woman:
            self.error("missing_required", "record", "Bundle", "no_child")
        children_orders: list[tuple[_Entry | None, str | None]] = (
            list(zip(children, orders, strict=True)) if children else [(None, None)])
        keys = [_child_dossier_id(entry, dossier_number, dossier_system, order, len(children_orders))
                for entry, order in children_orders]
        if objected:
            for value, element in keys:
                record: dict[str, str | None] = dict.fromkeys(COLUMNS)
                record.update(objection="1", org_code=organisation_code, dossier_id=value)
                self.dossier.records.append(record)
                self.dossier.elements.append({"dossier_id": element})
            self.dossier.errors = []  # nothing else of an objected dossier is read, so nothing else is wrong
            return self.dossier
        if mother is not None:
            self._mother(mother)
        for index, (entry, order) in enumerate(children_orders):
            if entry is not None:
                self._child(entry, index, order)
        for entry in bundle.entries:
            if entry.kind in ("Observation", "Procedure", "Encounter"):
                self._fact(entry, children)
        for index, (value, element) in enumerate(keys):
            record = dict.fromkeys(COLUMNS)
            elements: dict[str, str] = {}
            record.update(dossier_id=value, dossier_version=version, org_code=organisation_code, objection="0",
                          plurality=str(len(children_orders)))
            elements.update(dossier_id=element, dossier_version="Bundle.meta.versionId",
                            org_code=KEY_ELEMENTS["org_code"], plurality="Bundle.entry (Patient)")
            for (name, child), (found, at) in self.values.items():
                if child is None or child == index:
                    if child is None and (name, index) in self.values:
                        continue  # what a resource says of this child wins over what is said of the birth
                    record[name] = found
                    elements[name] = at
            self._derive(record, elements, index)
            for name in COLUMNS:
                elements.setdefault(name, _where(name))
            self.dossier.records.append({name: record.get(name) for name in COLUMNS})
            self.dossier.elements.append(elements)
        return self.dossier

    def _referenced(self, entry: _Entry, element: str, kind: str, field_name: str) -> _Entry | None:
        reference = entry.resource.get(element)
        if not reference:
            return None
        found = self.bundle.resolve(reference)
        if found is None or found.kind != kind:
            self.error("reference_not_found", field_name, entry.at(f"{element}.reference"), "reference_not_found",
                       reference=shown(str(reference.get("reference"))), resource=kind)
            return None
        return found

    def _birth_orders(self, children: list[_Entry]) -> list[str | None]:
        orders: list[str | None] = []
        for entry in children:
            resource = entry.resource
            if resource.get("multipleBirthInteger") is not None:
                orders.append(str(resource["multipleBirthInteger"]))
            elif resource.get("multipleBirthBoolean") is False or len(children) == 1:
                orders.append("1")
            else:
                orders.append(None)
        for order in set(orders):
            twice = [entry for entry, other in zip(children, orders, strict=True) if other == order and order]
            if len(twice) > 1:
                for entry in twice:
                    self.error("duplicate_birth_order", "birth_order", entry.at("multipleBirthInteger"),
                               "duplicate_birth_order", children.index(entry), order=order,
                               others=", ".join(f"entry[{other.index}]" for other in twice if other is not entry))
        return orders

    def _objection(self) -> bool:
        return any(_denies(entry.resource) for entry in self.bundle.of_kind("Consent"))

    def _mother(self, entry: _Entry) -> None:
        resource = entry.resource
        self.put("mother_birth_date", None, resource.get("birthDate"), entry.at("birthDate"))
        addresses = [item for item in resource.get("address") or [] if item.get("postalCode")]
        address = next((item for item in addresses if item.get("use") == "home"), addresses[0] if addresses else None)
        if address is not None:
            position = (resource.get("address") or []).index(address)
            postal = str(address["postalCode"]).strip()
            match = re.fullmatch(r"([1-9]\d{3})\s?([A-Za-z]{2})?", postal)
            self.put("mother_postcode4", None, match.group(1) if match else postal,
                     entry.at(f"address[{position}].postalCode"))

    def _child(self, entry: _Entry, index: int, order: str | None) -> None:
        resource = entry.resource
        self.put("birth_order", index, order, entry.at("multipleBirthInteger"))
        self.put("child_birth_date", index, resource.get("birthDate"), entry.at("birthDate"))
        for position, extension in enumerate(resource.get("extension") or []):
            if extension.get("url") == BIRTH_TIME_EXTENSION and extension.get("valueDateTime"):
                moment = str(extension["valueDateTime"])
                element = entry.at(f"extension[{position}].valueDateTime")
                time = re.match(r"\d{4}-\d{2}-\d{2}T(\d{2}:\d{2})", moment)
                if time is None:
                    self.hint("missing_important", "child_birth_time", element, "no_time_in_birth_time", index,
                              value=shown(moment))
                else:
                    self.put("child_birth_time", index, time.group(1), element)
                    if resource.get("birthDate") is None:
                        self.put("child_birth_date", index, moment[:10], element)
        gender = resource.get("gender")
        if gender is not None:
            if gender not in GENDER_CODES:
                self.error("invalid_code", "child_sex", entry.at("gender"), "invalid_gender", index,
                           value=shown(str(gender)))
            else:
                self.put("child_sex", index, GENDER_CODES[gender], entry.at("gender"))
        deceased = resource.get("deceasedDateTime")
        if deceased:
            self.put("death_date", index, str(deceased)[:10], entry.at("deceasedDateTime"))
        if deceased or resource.get("deceasedBoolean"):
            self.values[("__deceased", index)] = ("1", entry.at("deceasedDateTime" if deceased else "deceasedBoolean"))

    # --- the facts: Observations, Procedures, Encounters -------------------------------------------------------
    def _fact(self, entry: _Entry, children: list[_Entry]) -> None:
        resource = entry.resource
        if resource.get("status") in NOT_A_FACT and not (entry.kind == "Encounter"
                                                         and resource["status"] in ENCOUNTER_NOT_HAPPENED):
            return
        concept, code_element = self._concept(entry, self._named_child(entry, children))
        if concept is None:
            return
        if concept.about == "mother":
            return
        child = self._which_child(entry, concept, children)
        if child == -1:
            return
        self._value(entry, concept, child, code_element)

    def _named_child(self, entry: _Entry, children: list[_Entry]) -> int | None:
        """The child a resource names as subject or focus (its index), if any: what its problems are about."""
        resource = entry.resource
        focus = resource.get("focus")
        references: list[Any] = [resource.get("subject"), *(focus if isinstance(focus, list) else [focus])]
        references += [extension.get("valueReference") for extension in resource.get("extension") or []
                       if isinstance(extension, dict) and extension.get("url") in FOCUS_EXTENSION_STU3]
        for reference in references:
            found = self.bundle.resolve(reference)
            if found is not None and found in children:
                return children.index(found)
        return None

    def _concept(self, entry: _Entry, child: int | None) -> tuple[Concept | None, str]:
        """The concept a resource gives, by its code (or, for a Procedure, the kind of assisted birth); a wrong code
        system, or a profile of one concept with another code, is an error naming the element (about `child`, the
        child the resource names, when it names one)."""
        resource = entry.resource
        code_element = "type" if entry.kind == "Encounter" else "code"
        concepts = resource.get(code_element)
        codings = [(position, coding) for concept in (concepts if isinstance(concepts, list) else [concepts])
                   for position, coding in enumerate(_codings(concept))]
        def element_of(position: int) -> str:
            return f"type[0].coding[{position}]" if entry.kind == "Encounter" else f"code.coding[{position}]"

        for position, coding in codings:
            key = (entry.kind, str(coding.get("system")), str(coding.get("code")))
            if key in CONCEPT_BY_CODE:
                concept = CONCEPT_BY_CODE[key]
                if concept.code is not None and (key[1], key[2]) != concept.code:
                    self.hint("implausible", concept.field, entry.at(f"{element_of(position)}.code"), "code_alias",
                              child, coded=key[2], right=concept.code[1])
                self._profile_hint(entry, concept, child)
                return concept, entry.at(element_of(position))
            if entry.kind == "Procedure" and (key[1], key[2]) in ASSISTED.values:
                return ASSISTED, entry.at(element_of(position))
        for position, coding in codings:  # the right code in another code system
            for concept in CONCEPTS:
                if (concept.code is not None and concept.resource == entry.kind
                        and coding.get("code") == concept.code[1] and coding.get("system") != concept.code[0]):
                    self.error("wrong_code_system", concept.field, entry.at(f"{element_of(position)}.system"),
                               "wrong_code_system", child, value=shown(str(coding.get("system"))),
                               field=_label(concept.field), system=concept.code[0],
                               coded=concept.code[1])
                    return None, ""
        for profile in _profiles(resource):
            by_profile = CONCEPT_BY_PROFILE.get(profile)
            if by_profile is not None and by_profile.code is not None:
                system, code = by_profile.code
                shown_codes = ", ".join(f"{coding.get('system')}|{coding.get('code')}" for _, coding in codings)
                self.error("wrong_code", by_profile.field, entry.at(code_element), "wrong_code", child,
                           profile=profile.rsplit("/", 1)[-1], value=shown(shown_codes or "—"), system=system,
                           coded=code)
                return None, ""
        return None, ""

    def _profile_hint(self, entry: _Entry, concept: Concept, child: int | None) -> None:
        """A resource read by its code whose Geboortezorg profile (`bc-`, `zib-`) is not the concept's: a hint."""
        profiles = _profiles(entry.resource)
        own = [profile for profile in profiles if profile.rsplit("/", 1)[-1].startswith(("bc-", "zib-"))]
        if own and concept.profile_url not in profiles:
            position = profiles.index(own[0])
            self.hint("implausible", concept.field, entry.at(f"meta.profile[{position}]"), "other_profile", child,
                      profile=shown(own[0]), expected=concept.profile_url)

    def _which_child(self, entry: _Entry, concept: Concept, children: list[_Entry]) -> int | None:
        """The child a fact is about (its index), None for the birth (every child), -1 when it cannot be used."""
        resource = entry.resource
        named: list[tuple[_Entry | None, str, str]] = []  # (entry, element, reference)
        subject = resource.get("subject")
        if isinstance(subject, dict):
            named.append((self.bundle.resolve(subject), "subject.reference", str(subject.get("reference"))))
        focus = resource.get("focus") or []
        for position, item in enumerate(focus if isinstance(focus, list) else [focus]):
            named.append((self.bundle.resolve(item), f"focus[{position}].reference", str(item.get("reference"))))
        for position, extension in enumerate(resource.get("extension") or []):
            if extension.get("url") in FOCUS_EXTENSION_STU3 and isinstance(extension.get("valueReference"), dict):
                reference = extension["valueReference"]
                named.append((self.bundle.resolve(reference), f"extension[{position}].valueReference.reference",
                              str(reference.get("reference"))))
        for found, element, reference in named:
            if found is None and (reference.split("/")[0] == "Patient" or element.startswith("subject")):
                self.error("reference_not_found", concept.field, entry.at(element), "reference_not_found",
                           reference=shown(reference), resource="Patient")
                return -1
            if found is not None and element.startswith("subject") and found.kind != "Patient":
                self.error("reference_not_found", concept.field, entry.at(element), "subject_not_patient",
                           reference=shown(reference))
                return -1
        named_children = [children.index(found) for found, _, _ in named if found is not None and found in children]
        if named_children:
            return named_children[0]
        if concept.about == "child":
            if len(children) == 1:
                return 0
            self.error("no_child_reference", concept.field, entry.at("subject.reference"), "no_child_reference",
                       field=_label(concept.field))
            return -1
        return None

    def _value(self, entry: _Entry, concept: Concept, child: int | None, code_element: str) -> None:
        resource = entry.resource
        name = concept.field
        if concept.reading == "performed":
            status = resource.get("status")
            value: str | None
            if status in NOT_DONE_STATUSES or resource.get("notDone") is True:
                value = "0"
            elif status in DONE_STATUSES:
                value = "1"
            else:  # planned, on hold, unknown: it says neither that it was done nor that it was not
                self.hint("implausible", name, entry.at("status"), "status_not_read", child,
                          status=shown(str(status)), field=_label(name))
                return
            if concept is ASSISTED:
                for coding in _codings(resource.get("code")):
                    kind = ASSISTED.values.get((str(coding.get("system")), str(coding.get("code"))))
                    if kind is not None and value == "1":
                        self.put("assisted_birth", child, kind, code_element)
                return
            self.put(name, child, value, entry.at("status"))
            return
        if concept.reading == "encounter":
            status = resource.get("status")
            if status in ENCOUNTER_HAPPENED:
                self.put(name, child, "1", entry.at("status"))
            elif status in ENCOUNTER_NOT_HAPPENED:
                self.put(name, child, "0", entry.at("status"))
            return
        if concept.component is not None and not any(key.startswith("value") for key in resource):
            for position, component in enumerate(resource.get("component") or []):
                if any((coding.get("system"), coding.get("code")) == concept.component
                       for coding in _codings(component.get("code"))):
                    self._read_value(component, concept, child, entry.at(f"component[{position}]"))
                    return
        self._read_value(resource, concept, child, entry.at(""))

    def _read_value(self, holder: dict, concept: Concept, child: int | None, at: str) -> None:
        name = concept.field
        label = _label(name)
        if concept.reading == "quantity":
            if holder.get("valueInteger") is not None:
                self.put(name, child, str(holder["valueInteger"]), f"{at}.valueInteger")
                return
            quantity = holder.get("valueQuantity")
            if not isinstance(quantity, dict) or quantity.get("value") is None:
                self.error("missing_value", name, f"{at}.valueQuantity.value", "missing_value", child, field=label)
                return
            self._quantity(quantity, concept, child, f"{at}.valueQuantity")
        elif concept.reading == "coding":
            value = holder.get("valueCodeableConcept")
            codings = _codings(value)
            if not codings:
                self.error("missing_value", name, f"{at}.valueCodeableConcept", "missing_value", child, field=label)
                return
            for position, coding in enumerate(codings):
                found = concept.values.get((str(coding.get("system")), str(coding.get("code"))))
                if found is not None:
                    element = f"{at}.valueCodeableConcept.coding[{position}]"
                    self.put(name, child, found, element)
                    for other, implied in concept.implies.get((str(coding.get("system")), str(coding.get("code"))),
                                                              {}).items():
                        self.put(other, child, implied, element)
                    return
            first = codings[0]
            allowed = sorted({f"{system.rsplit('/', 1)[-1]} {code}" for system, code in concept.values})
            listed = ", ".join(allowed[:8]) + (", …" if len(allowed) > 8 else "")
            self.error("invalid_code", name, f"{at}.valueCodeableConcept.coding[0]", "unknown_code", child,
                       field=label, coded=shown(str(first.get("code"))), system=shown(str(first.get("system"))),
                       allowed=listed)
        elif concept.reading == "boolean":
            value = holder.get("valueBoolean")
            if value is None:
                self.error("missing_value", name, f"{at}.valueBoolean", "missing_value", child, field=label)
                return
            self.put(name, child, "1" if value else "0", f"{at}.valueBoolean")
        elif concept.reading == "datetime":
            value = holder.get("valueDateTime")
            if not value:
                self.error("missing_value", name, f"{at}.valueDateTime", "missing_value", child, field=label)
                return
            self.put(name, child, str(value)[:10], f"{at}.valueDateTime")

    def _quantity(self, quantity: dict, concept: Concept, child: int | None, at: str) -> None:
        name = concept.field
        label = _label(name)
        system, unit_code, unit_text = quantity.get("system"), quantity.get("code"), quantity.get("unit")
        allowed = [unit for unit in concept.units if unit]
        if system is not None and system != UCUM and unit_code is not None:
            self.error("invalid_unit", name, f"{at}.system", "not_ucum_system", child, value=shown(str(system)),
                       system=UCUM)
            return
        if unit_code is None:
            if "" in concept.units and unit_text in (None, *concept.units):
                factor = 1.0 if unit_text in (None, "") else concept.units[unit_text]
            elif unit_text in concept.units:
                factor = concept.units[unit_text]
                self.hint("implausible", name, f"{at}.code", "unit_only_as_text", child, unit=shown(str(unit_text)))
            else:
                self.error("invalid_unit", name, f"{at}.code", "missing_unit", child, field=label,
                           allowed=", ".join(f"'{unit}'" for unit in allowed))
                return
        elif unit_code in concept.units:
            factor = concept.units[unit_code]
        else:
            key = "wrong_unit" if _is_ucum_like(unit_code) else "not_ucum_unit"
            self.error("invalid_unit", name, f"{at}.code", key, child, value=shown(str(unit_code)), field=label,
                       allowed=f"'{allowed[0]}'" if allowed else "'1'")
            return
        try:
            amount = Decimal(str(quantity["value"])) * Decimal(str(factor))
        except InvalidOperation:
            self.error("invalid_integer", name, f"{at}.value", "not_a_number", child,
                       value=shown(str(quantity["value"])))
            return
        nearest = amount.to_integral_value()
        value = str(int(nearest)) if abs(amount - nearest) < Decimal("0.01") else format(amount.normalize(), "f")
        self.put(name, child, value, f"{at}.value")

    # --- what follows from the rest -----------------------------------------------------------------------------
    def _derive(self, record: dict[str, str | None], elements: dict[str, str], index: int) -> None:
        """The fields a Bundle gives only in combination: the kind of an assisted birth, a hospital birth's care
        level, the gestational age from the term date, the vital status of a child not stated deceased, and no
        date of death for a stillbirth."""
        if record.get("mode_of_birth") == "assisted":
            kind = self.values.get(("assisted_birth", index)) or self.values.get(("assisted_birth", None))
            if kind is None:
                self.error("invalid_code", "mode_of_birth", elements["mode_of_birth"], "assisted_without_kind", index)
                record["mode_of_birth"] = None
            else:
                record["mode_of_birth"], elements["mode_of_birth"] = kind
        elif record.get("mode_of_birth") is None:
            kind = self.values.get(("assisted_birth", index)) or self.values.get(("assisted_birth", None))
            if kind is not None:
                record["mode_of_birth"], elements["mode_of_birth"] = kind
        if record.get("place_of_birth") == "hospital":
            midwife_led = record.get("care_level_onset") == "midwife" and record.get("referral_during_labour") != "1"
            record["place_of_birth"] = "hospital_midwife" if midwife_led else "hospital_obstetrician"
        if record.get("gestational_age_days") is None:
            term = self.values.get(("term_date", index)) or self.values.get(("term_date", None))
            birth = record.get("child_birth_date")
            if term is not None and birth is not None:
                try:
                    days = DAYS_AT_TERM - (date.fromisoformat(term[0]) - date.fromisoformat(birth[:10])).days
                except ValueError:
                    days = None
                if days is not None:
                    record["gestational_age_days"], elements["gestational_age_days"] = str(days), term[1]
        deceased = self.values.get(("__deceased", index))
        if record.get("vital_status_birth") is None:
            if deceased is None:
                record["vital_status_birth"], elements["vital_status_birth"] = "live", elements.get(
                    "child_birth_date", _where("child_birth_date"))
            else:
                self.error("missing_required", "vital_status_birth", deceased[1], "deceased_without_phase", index)
        if record.get("vital_status_birth") in ("antepartum_death", "intrapartum_death"):
            record["death_date"] = None
        gravidity = self.values.get(("gravidity", None))
        parity = record.get("parity")
        if gravidity is not None and parity is not None and parity.isdigit() and gravidity[0].isdigit() \
                and int(parity) >= int(gravidity[0]):
            self.hint("implausible", "parity", elements.get("parity", gravidity[1]), "parity_not_below_gravidity",
                      index, parity=parity, gravidity=gravidity[0])


def _is_ucum_like(code: str) -> bool:
    """A unit that UCUM has (a common one), though not the concept's: 'min', 'kg', 'cm', 'wk'…"""
    return code in {"g", "kg", "mg", "mL", "ml", "L", "l", "d", "wk", "mo", "a", "h", "min", "s", "cm", "mm", "m",
                    "%", "1", "{score}", "[lb_av]"}


def _child_dossier_id(child: _Entry | None, dossier_number: Any, dossier_system: Any, order: str | None,
                      children: int) -> tuple[str | None, str]:
    """A child's record's dossier number, and the element it is from: the child's own identifier in the Bundle's
    identifier system (the sender's dossier numbers; a neonatology dossier is per child; never a BSN or another
    system's number), else the Bundle's number with the birth order (`VK23-00001-1`). None when neither can be read
    (no number, or a child of several whose birth order is not given): the record is then rejected (an objection:
    `objection_not_recorded`), never given a made-up key."""
    if child is not None and dossier_system is not None:
        for position, item in enumerate(child.resource.get("identifier") or []):
            if isinstance(item, dict) and item.get("system") == dossier_system and item.get("value"):
                return str(item["value"]), child.at(f"identifier[{position}].value")
    if not isinstance(dossier_number, str) or not dossier_number:
        return None, "Bundle.identifier.value"
    if order is None and children > 1:
        return None, child.at("multipleBirthInteger") if child else "Patient.multipleBirthInteger"
    return f"{dossier_number}-{order or 1}", "Bundle.identifier.value"


def _where(name: str) -> str:
    """Where a field is written in a Bundle, for a message about a field that is missing."""
    if name in KEY_ELEMENTS:
        return KEY_ELEMENTS[name]
    concept = CONCEPT_BY_FIELD.get(name)
    if concept is None:
        return "Bundle"
    if concept.code is None:
        return f"{concept.element} ({concept.profile})"
    return f"{concept.resource} {concept.profile} ({concept.code[1]}).{concept.element.split('.', 1)[1]}"


def _map_bundle(bundle: dict, number: int, version: FhirVersion) -> Dossier:
    return _Reader(bundle, number, version).read()


def element_column(name: str) -> str:
    """The column that holds, for a record read from FHIR, the element a field was read from (or is to be written
    at): messages about the field name it first."""
    return f"__at_{name}"


#: The columns of FHIR-read records besides the format's: the FHIR problems found while reading.
PROBLEM_COLUMNS = ("fhir_error_codes", "fhir_message_nl", "fhir_message_en")


def dossier_rows(files: list[tuple[int, list[Dossier]]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The records of the FHIR files of a batch (`(file_index, dossiers)`) as rows shaped like
    `loader.parsing.PARSED_SCHEMA` (one per child, `line_number` = the Bundle's place in the file), with the
    element of every field (`element_column`) and the FHIR errors (`PROBLEM_COLUMNS`, joined as stored messages
    are); and the FHIR hints, per file and dossier (`loader.results.HINT_SCHEMA`)."""
    rows: list[dict[str, Any]] = []
    hints: list[dict[str, Any]] = []
    for file_index, dossiers in files:
        for dossier in dossiers:
            records = dossier.records or [dict.fromkeys(COLUMNS)]
            for child, record in enumerate(records):
                errors = dossier.problems_of(dossier.errors, child)
                row: dict[str, Any] = {name: record.get(name) for name in COLUMNS}
                row.update(file_index=file_index, line_number=dossier.number, field_count=len(COLUMNS),
                           line_problem=None, last_line_number=dossier.number, line=None,
                           fhir_error_codes=";".join(problem.code for problem in errors) or None,
                           fhir_message_nl=MESSAGE_SEPARATOR.join(problem.message_nl for problem in errors) or None,
                           fhir_message_en=MESSAGE_SEPARATOR.join(problem.message_en for problem in errors) or None)
                elements = dossier.elements[child] if child < len(dossier.elements) else {}
                row.update({element_column(name): elements.get(name, _where(name)) for name in COLUMNS})
                rows.append(row)
                hints += [{"file_index": file_index, "dossier_id": record.get("dossier_id"),
                           "field": problem.field_name, "hint_code": problem.code.split(":", 1)[0],
                           "message_nl": problem.message_nl, "message_en": problem.message_en}
                          for problem in dossier.problems_of(dossier.hints, child)]
    schema = {**PARSED_SCHEMA, **{name: pl.Utf8() for name in PROBLEM_COLUMNS},
              **{element_column(name): pl.Utf8() for name in COLUMNS}}
    return pl.DataFrame(rows, schema=schema), pl.DataFrame(hints, schema=HINT_SCHEMA)
