"""The Nictiz "van der Wouden" example resources (tests/fixtures/fhir/nictiz, SOURCE.md) assembled into a Bundle, and
small FHIR Bundles for the malformed-FHIR corpus."""

from __future__ import annotations

import re
from pathlib import Path

from contracts.delivery_format import COLUMNS

NICTIZ = Path(__file__).parent / "fixtures" / "fhir" / "nictiz"
#: The scenario's resources, in the order a sender would put them in the Bundle.
SCENARIO_FILES = (
    "Gebz-bc-MaternalRecord-wouden-zwanger1.xml",
    "Gebz-nl-core-organization-vlkpraktijka.xml",
    "Gebz-nl-core-patient-XXX-KIND1VDWOUDEN.xml",
    "Gebz-bc-BirthWeight-kind1vdwouden.xml",
    "Gebz-zib-ApgarScore-kind1vdwouden-apg5M.xml",
    "Gebz-bc-ParturitionType-wouden-zwanger1.xml",
    "Gebz-bc-ObstetricProcedure-kv-wouden-zwanger1.xml",
    "Gebz-bc-BloodLoss-wouden-zwanger1.xml",
    "Gebz-bc-StatePerineumPostpartum-wouden-zwanger1.xml",
    "Gebz-zib-pregnancy-gravidity-wouden-zwanger1.xml",
)
#: The woman, whom the scenario references but the examples do not hold (made up: birth date, postcode).
WOMAN = """<Patient xmlns="http://hl7.org/fhir">
  <id value="XXX-VDWOUDEN"/>
  <gender value="female"/>
  <birthDate value="1988-06-14"/>
  <address><use value="home"/><postalCode value="3511 AB"/></address>
</Patient>"""
ORGANISATION = "00001111"  # the identifier of the example's midwifery practice


def child_row(**overrides: str | None) -> dict:
    """A valid midwife's record of a singleton born 10 April 2024 at home (the delivery format's columns as text),
    with `overrides`; `synthetic.fhir.bundle_of([child_row()])` makes it a Bundle."""
    row = {name: None for name in COLUMNS}
    row.update(dossier_id="D1-1", dossier_version="1", org_code="P0001", objection="0",
               mother_birth_date="1990-05-01", mother_postcode4="3511", child_birth_date="2024-04-10",
               child_birth_time="10:15", child_sex="F", plurality="1", birth_order="1", birth_weight_g="3450",
               gestational_age_days="280", parity="0", previous_caesarean="0", smoking="0",
               booking_gestational_age_days="60", care_level_onset="midwife", referral_during_labour="0",
               onset_of_labour="spontaneous", presentation="cephalic", mode_of_birth="spontaneous",
               place_of_birth="home", episiotomy="0", perineal_tear="1", blood_loss_ml="300",
               vital_status_birth="live", apgar_5min="9", first_feed="breast")
    row.update(overrides)
    return row


def resource_text(name: str) -> str:
    """An example file's resource, without its XML declaration and processing instructions."""
    text = (NICTIZ / name).read_text(encoding="utf-8")
    return re.sub(r"<\?xml[^>]*\?>", "", text).strip()


def scenario_bundle(extra: tuple[str, ...] = (), replace: dict[str, str] | None = None,
                    files: tuple[str, ...] = SCENARIO_FILES) -> str:
    """The scenario as one STU3 Bundle in XML; `extra`: more resources (XML) to put in it; `replace`: text
    replacements made in the resources (what a sender changes after reading the messages)."""
    resources = [WOMAN, *(resource_text(name) for name in files), *extra]
    body = "\n".join(resources)
    for old, new in (replace or {}).items():
        assert old in body, old
        body = body.replace(old, new)
    entries = "\n".join(f"<entry><resource>{resource}</resource></entry>" for resource in re.split(
        r"(?=<(?:Patient|EpisodeOfCare|Organization|Observation|Procedure)[ >])", body) if resource.strip())
    return ('<Bundle xmlns="http://hl7.org/fhir"><meta><versionId value="1"/></meta>'
            '<identifier><value value="wouden-zwanger1"/></identifier><type value="collection"/>'
            f"{entries}</Bundle>")
