"""The dashboard in headless Chromium, checked for what a user sees: every page renders without console errors
and without serious accessibility violations, shows the data version, speaks Dutch or English on request,
lists the planted rejected record, and keeps the filter choice in a link that reproduces the view."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from .conftest import OTHER_HOSPITALS
from .demo_data import OTHER_HOSPITAL_BIRTHS
from .helpers import (
    RENDER_TIMEOUT,
    axe_violations,
    console_errors,
    full_page_screenshot,
    open_filter_panel,
    open_page,
    text_of,
    until_redrawn,
    wait_until_rendered,
)

PAGES = {
    "home": ("/", {"nl": "Start", "en": "Home"}),
    "overview": ("/mijn-organisatie", {"nl": "Mijn organisatie", "en": "My organisation"}),
    "data_quality": ("/datakwaliteit", {"nl": "Datakwaliteit en aanleveringen", "en": "Data quality and deliveries"}),
    "definitions": ("/definities", {"nl": "Definities", "en": "Definitions"}),
}


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_renders_accessibly_with_the_data_version(browser, app_url, planted_database, axe_source,
                                                              artifacts, page, language) -> None:
    _, planted = planted_database
    path, titles = PAGES[page]
    query = f"?lang=en&org={planted.practice}" if language == "en" else f"?org={planted.practice}"
    open_page(browser, app_url + path + query, expected_language=language)

    assert browser.find_element(By.TAG_NAME, "h1").text == titles[language]
    version = text_of(browser, "data-version")
    assert planted.version_label in version
    assert ("Dataversie" if language == "nl" else "Data version") in version
    assert ("01-11-2026" if language == "nl" else "2026-11-01") in version
    WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: titles[language] in d.title)
    full_page_screenshot(browser, artifacts / f"{page}-{language}.png")
    assert console_errors(browser) == []
    assert axe_violations(browser, axe_source) == []


def test_home_page_shows_national_counts_per_year_in_dutch_notation(browser, app_url) -> None:
    open_page(browser, app_url + "/", expected_language="nl")
    table = browser.find_element(By.ID, "counts-per-year")
    headers = [cell.text for cell in table.find_elements(By.CSS_SELECTOR, "thead th")]
    assert headers[:3] == ["Jaar", "Kinderen", "Records ontvangen"]
    first_row = [cell.text for cell in table.find_elements(By.CSS_SELECTOR, "tbody tr:first-child td")]
    assert first_row[0] == "2024"
    # The demo database's births, all in 2024: 400 of the planted organisations and those of the other hospitals.
    assert first_row[1] == str(400 + OTHER_HOSPITALS * OTHER_HOSPITAL_BIRTHS)
    facts = text_of(browser, "version-facts")
    assert "januari 2024 – juni 2024" in facts


def test_language_switch_changes_the_texts(browser, app_url) -> None:
    open_page(browser, app_url + "/definities", expected_language="nl")
    assert text_of(browser, "nav-data_quality") == "Datakwaliteit en aanleveringen"
    browser.find_element(By.ID, "language-switch").click()
    wait_until_rendered(browser, expected_language="en")
    WebDriverWait(browser, RENDER_TIMEOUT).until(
        lambda d: d.find_element(By.TAG_NAME, "h1").text == "Definitions")
    assert text_of(browser, "nav-data_quality") == "Data quality and deliveries"
    assert urlparse(browser.current_url).path == "/definities"
    assert parse_qs(urlparse(browser.current_url).query)["lang"] == ["en"]
    browser.find_element(By.ID, "language-switch").click()
    wait_until_rendered(browser, expected_language="nl")
    WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: d.find_element(By.TAG_NAME, "h1").text == "Definities")


def rejected_rows(browser) -> list[list[str]]:
    table = browser.find_element(By.ID, "rejected-table")
    return [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
            for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")]


def test_data_quality_page_lists_the_planted_rejected_record(browser, app_url, planted_database) -> None:
    _, planted = planted_database
    open_page(browser, f"{app_url}/datakwaliteit?org={planted.practice}", expected_language="nl")
    planted_row = [planted.rejected_file, str(planted.rejected_line), planted.rejected_dossier, planted.rejected_nl,
                   "not_integer"]
    assert planted_row in rejected_rows(browser)

    open_page(browser, f"{app_url}/datakwaliteit?org={planted.practice}&lang=en", expected_language="en")
    assert [*planted_row[:3], planted.rejected_en, "not_integer"] in rejected_rows(browser)
    deliveries = browser.find_element(By.ID, "deliveries-table").text
    assert planted.rejected_file in deliveries and "Partially accepted" in deliveries
    assert "Midwife (LVR-1)" in text_of(browser, "linkage-table")


def test_text_from_the_data_is_shown_as_text_never_as_html(browser, app_url, planted_database) -> None:
    _, planted = planted_database
    open_page(browser, f"{app_url}/datakwaliteit?org={planted.practice}", expected_language="nl")
    organisation = browser.find_element(By.ID, "dq-organisation")
    assert planted.practice_name in organisation.text  # the tags are visible as characters
    assert organisation.find_elements(By.TAG_NAME, "b") == []
    assert "<script>alert(1)</script>" in [row[2] for row in rejected_rows(browser)]
    assert browser.execute_script("return document.querySelectorAll('main script').length") == 0


def test_choosing_an_organisation_in_the_header_changes_the_page_and_the_link(browser, app_url) -> None:
    open_page(browser, f"{app_url}/datakwaliteit?org=P0001", expected_language="nl")
    Select(browser.find_element(By.ID, "org-select")).select_by_value("P0002")
    until_redrawn(browser).until(
        lambda d: "Zonnebloem" in text_of(d, "dq-organisation"))
    assert parse_qs(urlparse(browser.current_url).query)["org"] == ["P0002"]
    assert "lvr1_P0002_2024-03.csv" in text_of(browser, "deliveries-table")


def test_filter_state_lives_in_the_url_and_the_link_reproduces_the_view(browser, app_url) -> None:
    open_page(browser, f"{app_url}/mijn-organisatie?org=H0002", expected_language="nl")
    open_filter_panel(browser)
    Select(browser.find_element(By.ID, "filter-period_from")).select_by_value("2024-02")
    Select(browser.find_element(By.ID, "filter-period_to")).select_by_value("2024-04")
    Select(browser.find_element(By.ID, "filter-parity")).select_by_visible_text("Nullipara")
    Select(browser.find_element(By.ID, "filter-robson")).select_by_value("2a")
    browser.find_element(By.ID, "filter-apply").click()
    WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: "parity=" in d.current_url)
    wait_until_rendered(browser)

    query = parse_qs(urlparse(browser.current_url).query)
    assert query == {"org": ["H0002"], "period": ["2024-02..2024-04"], "parity": ["nulliparous"], "robson": ["2a"]}
    summary = text_of(browser, "active-filters")
    assert "februari 2024 – april 2024" in summary and "Nullipara" in summary and "Robson 2a" in summary

    link = browser.current_url
    open_page(browser, app_url + "/", expected_language="nl")  # go elsewhere, then paste the link
    open_page(browser, link, expected_language="nl")
    assert text_of(browser, "active-filters") == summary
    open_filter_panel(browser)
    assert Select(browser.find_element(By.ID, "filter-parity")).first_selected_option.text == "Nullipara"
    assert Select(browser.find_element(By.ID, "filter-period_to")).first_selected_option.text == "april 2024"
    assert "Ziekenhuis Kustzorg" in text_of(browser, "overview-organisation")

    browser.find_element(By.ID, "filter-reset").click()
    WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: "parity=" not in d.current_url)
    wait_until_rendered(browser)
    assert parse_qs(urlparse(browser.current_url).query) == {"org": ["H0002"]}
    WebDriverWait(browser, RENDER_TIMEOUT).until(
        lambda d: text_of(d, "active-filters") == "Alle kinderen in de gekozen periode.")


def test_keyboard_users_can_skip_to_the_content(browser, app_url) -> None:
    open_page(browser, app_url + "/", expected_language="nl")
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    focused = browser.switch_to.active_element
    assert focused.text == "Naar de inhoud"
    focused.send_keys(Keys.ENTER)
    WebDriverWait(browser, RENDER_TIMEOUT).until(
        lambda d: d.switch_to.active_element.get_attribute("id") == "main-content")


def test_without_data_the_header_says_how_to_load_it(browser, empty_app_url) -> None:
    open_page(browser, empty_app_url + "/", expected_language="nl")
    assert text_of(browser, "data-version") == "Nog geen gegevens geladen — draai perispiegel load"
    assert "perispiegel load" in text_of(browser, "empty-state")
    assert console_errors(browser) == []
