"""The registry console and the audit log as the registry's admin uses them in the browser: from the dashboard's
header to the console, a filter on the state, a sort on the rejection rate, through to an organisation's feedback
page; then the audit log filtered by action and date, the next page, and its CSV file.

The demo database (tests/browser/demo_data.py) has every delivery read on 1 November 2026, long after its month was
due, so they are all late; the planted hospital's paediatricians sent nothing for June 2024: missing.
"""

from __future__ import annotations

import csv
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import update

from auth import audit
from tables.database import make_engine
from tables.schema import audit_log

from .conftest import ACCOUNTS
from .demo_data import PLANTED
from .helpers import (
    RENDER_TIMEOUT,
    axe_violations,
    console_errors,
    full_page_screenshot,
    open_page,
    text_of,
    wait_until_rendered,
)
from .test_indicator_pages import click

DOWNLOAD_TIMEOUT = 20
# Downloads the provider made on one day in January 2025 (written into the shared demo database by this test).
DOWNLOAD_DAY = datetime(2025, 1, 15, 9, 0, tzinfo=UTC)
DOWNLOADS = 60


def body_rows(browser, table_id: str) -> list[list[str]]:
    return [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
            for row in browser.find_elements(By.CSS_SELECTOR, f"#{table_id} tbody tr")]


def submit(browser, button_id: str) -> None:
    old = browser.find_element(By.TAG_NAME, "html")
    click(browser, browser.find_element(By.ID, button_id))
    WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: d.find_element(By.TAG_NAME, "html") != old)
    wait_until_rendered(browser)


def follow(browser, element) -> None:
    """Click a link to another page and wait for that page."""
    old = browser.find_element(By.TAG_NAME, "html")
    click(browser, element)
    WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: d.find_element(By.TAG_NAME, "html") != old)
    wait_until_rendered(browser)


def code_in(cell: str) -> str:
    """The organisation code in the console's first cell (name, then "CODE · type")."""
    return cell.splitlines()[-1].split(" · ")[0]


def percent(cell: str) -> float:
    return float(cell.rstrip("%").replace(",", ".")) if cell != "—" else -1.0


def plant_downloads(database_url: str) -> None:
    """DOWNLOADS downloads by the provider, a minute apart on DOWNLOAD_DAY, and one the day after."""
    engine = make_engine(database_url)
    try:
        provider = ACCOUNTS["provider"].username
        for number in range(DOWNLOADS + 1):
            audit_id = audit.record(engine, "download", actor=provider, target=f"rapport-{number:02d}.csv",
                                    address="192.0.2.10")
            moment = DOWNLOAD_DAY + (timedelta(days=1) if number == DOWNLOADS else timedelta(minutes=number))
            with engine.begin() as connection:
                connection.execute(update(audit_log).where(audit_log.c.audit_id == audit_id).values(at=moment))
    finally:
        engine.dispose()


def saved(folder: Path) -> Path:
    deadline = time.monotonic() + DOWNLOAD_TIMEOUT
    while time.monotonic() < deadline:
        files = [path for path in folder.glob("*.csv")]
        if files and not list(folder.glob("*.crdownload")):
            return files[0]
        time.sleep(0.1)
    raise AssertionError(f"no CSV file was saved into {folder}")


@pytest.mark.login("admin")
def test_the_admin_follows_deliveries_and_the_audit_log(browser, app_url, planted_database, artifacts, axe_source,
                                                       downloads):
    # From the dashboard's header to the console.
    open_page(browser, f"{app_url}/mijn-organisatie", expected_language="nl")
    follow(browser, browser.find_element(By.ID, "registry-link"))
    assert urlparse(browser.current_url).path == "/admin/registry"
    assert browser.find_element(By.TAG_NAME, "h1").text == "Beheer: registratieconsole"
    assert Select(browser.find_element(By.ID, "registry-month")).first_selected_option.text == "juni 2024"
    rows = body_rows(browser, "registry-table")
    assert len(rows) == 5
    assert rows[0][0].splitlines() == [PLANTED.hospital_name, f"{PLANTED.hospital} · Ziekenhuis"]
    assert rows[0][1:3] == ["Kinderarts (LNR)", "Ontbreekt"] and rows[0][3] == "0"  # most urgent first
    assert {row[2] for row in rows[1:]} == {"Te laat"}
    assert text_of(browser, "registry-month-summary").startswith(
        "juni 2024: leveringen zijn op tijd tot en met 30-07-2024; de maand sluit na 28-10-2024.")
    calendar = browser.find_element(By.ID, "registry-calendar")
    click(browser, calendar.find_element(By.TAG_NAME, "summary"))
    assert "PERISPIEGEL_DELIVERY_DUE_DAYS" in calendar.text and "30e dag" in calendar.text
    full_page_screenshot(browser, artifacts / "registry-console.png")
    assert not axe_violations(browser, axe_source)
    assert not console_errors(browser)

    # Only what is missing.
    Select(browser.find_element(By.ID, "registry-state")).select_by_visible_text("Ontbreekt")
    submit(browser, "registry-show")
    rows = body_rows(browser, "registry-table")
    assert [(code_in(row[0]), row[1]) for row in rows] == [(PLANTED.hospital, "Kinderarts (LNR)")]
    assert text_of(browser, "registry-summary").startswith("1 van 5 rijen getoond.")
    assert parse_qs(urlparse(browser.current_url).query)["state"] == ["missing"]

    # March 2024, practices, by rejection rate: highest first, the planted practice (two rejected records) among them.
    open_page(browser, f"{app_url}/admin/registry")
    Select(browser.find_element(By.ID, "registry-month")).select_by_visible_text("maart 2024")
    Select(browser.find_element(By.ID, "registry-type")).select_by_visible_text("Verloskundigenpraktijk")
    submit(browser, "registry-show")
    follow(browser, browser.find_element(By.ID, "sort-rejection_rate"))
    header = browser.find_element(By.ID, "sort-rejection_rate").find_element(By.XPATH, "..")
    assert header.get_attribute("aria-sort") == "descending"
    rows = body_rows(browser, "registry-table")
    assert {code_in(row[0]) for row in rows} == {PLANTED.practice, "P0002"}
    rates = [percent(row[8]) for row in rows]
    assert rates == sorted(rates, reverse=True) and rates[0] > 0
    planted = next(row for row in rows if code_in(row[0]) == PLANTED.practice)
    assert int(planted[6]) == 2
    full_page_screenshot(browser, artifacts / "registry-console-sorted.png")

    # Through to the organisation's feedback page.
    link = browser.find_element(By.LINK_TEXT, PLANTED.practice_name)
    assert link.get_attribute("href").endswith(f"/datakwaliteit?org={PLANTED.practice}")
    follow(browser, link)
    WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: d.find_elements(By.ID, "dq-organisation"))
    assert text_of(browser, "dq-organisation") == f"{PLANTED.practice_name} ({PLANTED.practice})"
    assert PLANTED.rejected_file in text_of(browser, "deliveries-table")

    # The audit log: the provider's downloads of one day, 50 to a page.
    plant_downloads(planted_database[0])
    open_page(browser, f"{app_url}/admin/registry")
    follow(browser, browser.find_element(By.LINK_TEXT, "Auditlog"))
    assert urlparse(browser.current_url).path == "/admin/audit"
    Select(browser.find_element(By.ID, "audit-action")).select_by_visible_text("Bestand gedownload")
    for field in ("audit-from", "audit-to"):
        # As the date picker sets it: how a date is typed into the field depends on the browser's locale.
        browser.execute_script("arguments[0].value = '2025-01-15'; arguments[0].dispatchEvent(new Event('change'));",
                               browser.find_element(By.ID, field))
    submit(browser, "audit-show")
    assert parse_qs(urlparse(browser.current_url).query) == {"action": ["download"], "from": ["2025-01-15"],
                                                             "to": ["2025-01-15"]}
    assert text_of(browser, "audit-summary") == f"{DOWNLOADS} regels gevonden; pagina 1 van 2."
    rows = body_rows(browser, "audit-table")
    assert len(rows) == 50 and rows[0][3] == "rapport-59.csv"
    assert {(row[1], row[2]) for row in rows} == {(ACCOUNTS["provider"].username, "Bestand gedownload")}
    assert rows[0][0] == "15-01-2025 10:59 CET"  # 09:59 UTC
    full_page_screenshot(browser, artifacts / "audit-filtered.png")
    assert not axe_violations(browser, axe_source)
    follow(browser, browser.find_element(By.ID, "audit-next"))
    assert text_of(browser, "audit-page") == "Pagina 2 van 2"
    assert [row[3] for row in body_rows(browser, "audit-table")] == [f"rapport-{n:02d}.csv" for n in range(9, -1, -1)]
    assert Select(browser.find_element(By.ID, "audit-action")).first_selected_option.text == "Bestand gedownload"
    assert browser.find_element(By.ID, "audit-from").get_attribute("value") == "2025-01-15"
    full_page_screenshot(browser, artifacts / "audit-page-2.png")

    # The same entries as a file.
    click(browser, browser.find_element(By.ID, "audit-csv"))
    with saved(downloads).open(encoding="utf-8-sig", newline="") as file:
        lines = list(csv.reader(file, delimiter=";"))
    assert lines[0][:4] == ["Tijdstip (Nederlandse tijd)", "Wie", "Actie", "Actiecode"]
    assert len(lines) == DOWNLOADS + 1 and lines[1][4] == "rapport-59.csv" and lines[-1][4] == "rapport-00.csv"
    assert {line[2] for line in lines[1:]} == {"Bestand gedownload"}
    assert lines[1][0] == "2025-01-15 10:59:00+01:00"
    open_page(browser, f"{app_url}/admin/audit?action=audit_export")
    assert body_rows(browser, "audit-table")[0][2] == "Auditlog gedownload (CSV)"
