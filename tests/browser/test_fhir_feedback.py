"""A midwifery practice that delivers FHIR sees its feedback in the browser as for CSV: its NDJSON file on the
data-quality page, the rejected Bundle with the FHIR element named and what to write instead, in Dutch.

The database is made the real way: a delivery folder with one NDJSON file (a good Bundle and one whose birth weight
is in 'gram'), loaded by a refresh, served by the real app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from app_server import serving
from fhir_scenario import child_row
from selenium.webdriver.common.by import By

from auth.users import add_user
from loader.refresh import run_refresh
from synthetic.fhir import bundle_of
from tables.database import make_engine

from .conftest import PASSWORD, Account, log_in_through_the_form
from .helpers import axe_violations, console_errors, full_page_screenshot, open_page

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PRACTICE = "P0001"  # in tests/fixtures/organisations.csv
MIDWIFE = Account("fhir-verloskundige", "provider", "Fenna FHIR", org_code=PRACTICE)


def grams_written_out(document: dict) -> dict:
    for entry in document["entry"]:
        resource = entry["resource"]
        if resource.get("code", {}).get("coding", [{}])[0].get("code") == "8339-4":
            resource["valueQuantity"]["code"] = "gram"
    return document


@pytest.fixture
def fhir_app_url(tmp_path: Path):
    month = tmp_path / "deliveries" / "2024-04"
    month.mkdir(parents=True)
    bundles = [bundle_of([child_row(dossier_id="GOED-1")]),
               grams_written_out(bundle_of([child_row(dossier_id="GRAM-1")]))]
    (month / f"lvr1_{PRACTICE}_2024-04.ndjson").write_text("".join(json.dumps(b) + "\n" for b in bundles))
    url = f"sqlite:///{tmp_path / 'fhir.db'}"
    engine = make_engine(url)
    summary = run_refresh(tmp_path / "deliveries", engine, organisations_file=FIXTURES / "organisations.csv",
                          postcode_file=FIXTURES / "postcode_ses.csv")
    assert (summary.records_accepted, summary.records_rejected) == (1, 1)
    add_user(engine, MIDWIFE.username, MIDWIFE.role, org_code=PRACTICE, display_name=MIDWIFE.display_name,
             password=PASSWORD, actor="tests")
    engine.dispose()
    with serving(url, quiet=True) as base:
        yield base


@pytest.mark.login(None)
def test_a_practice_delivering_fhir_sees_the_rejected_bundle_named_by_its_element(
        browser, browser_login, fhir_app_url, artifacts, axe_source):
    log_in_through_the_form(browser, fhir_app_url, MIDWIFE)
    try:
        open_page(browser, f"{fhir_app_url}/datakwaliteit")
        deliveries = browser.find_element(By.ID, "deliveries").text
        assert f"lvr1_{PRACTICE}_2024-04.ndjson" in deliveries
        rejected = browser.find_element(By.ID, "rejected")
        headers = [cell.text for cell in rejected.find_elements(By.TAG_NAME, "th")]
        assert "Regel / Bundle" in headers
        rows = [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
                for row in rejected.find_elements(By.CSS_SELECTOR, "tbody tr")]
        (row,) = [row for row in rows if "GRAM-1" in row]
        assert row[1] == "2"  # the second Bundle of the file
        assert "Bundle.entry[" in row[3] and ".resource.valueQuantity.code: 'gram' is geen UCUM-eenheid; gebruik 'g'" \
            in row[3]
        assert "invalid_unit:birth_weight_g" in row[4]
        full_page_screenshot(browser, artifacts / "data-quality-fhir.png")
        assert not axe_violations(browser, axe_source)
        assert not console_errors(browser)
    finally:
        browser_login.forget()
