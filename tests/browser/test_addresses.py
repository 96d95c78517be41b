"""Bad addresses get clear answers in the browser (issue 13): a page that does not exist is a page of the app (header,
navigation, in Dutch or English) saying so, with status 404; an organisation the user may not see, a value a filter
does not take, a malformed period and a period outside the data are each named in words on the page, and the address
is corrected to what the page shows. Data of the demo run from January to June 2024 (demo_data.MONTHS).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from selenium.webdriver.common.by import By

from .helpers import axe_violations, console_errors, full_page_screenshot, open_page, text_of, until_redrawn


def search_of(driver) -> dict[str, list[str]]:
    return parse_qs(urlparse(driver.execute_script("return window.location.href")).query)


def notices(driver) -> str:
    return until_redrawn(driver).until(lambda d: d.find_element(By.ID, "address-notices").text)


@pytest.mark.parametrize(("language", "heading", "message", "overview"), [
    ("nl", "Pagina niet gevonden", "Deze pagina bestaat niet", "Naar Mijn organisatie"),
    ("en", "Page not found", "This page does not exist", "To My organisation"),
])
def test_an_unknown_page_is_a_page_of_the_app_saying_so(browser, app_url, axe_source, artifacts, language, heading,
                                                        message, overview):
    open_page(browser, f"{app_url}/nonexistent?lang={language}", expected_language=language)
    assert browser.find_element(By.CSS_SELECTOR, "h1.page-title").text == heading
    assert message in text_of(browser, "not-found")
    assert browser.find_elements(By.CSS_SELECTOR, "header.site-header nav.site-nav a.nav-link")  # the frame is there
    link = browser.find_element(By.ID, "not-found-overview")
    assert link.text == overview and urlparse(link.get_attribute("href")).path == "/mijn-organisatie"
    assert parse_qs(urlparse(link.get_attribute("href")).query).get("lang", ["nl"]) == [language]
    assert "404 - Page not found" not in browser.find_element(By.TAG_NAME, "body").text
    assert axe_violations(browser, axe_source) == []
    assert not [entry for entry in console_errors(browser) if "404" not in entry]  # the page's own status is 404
    full_page_screenshot(browser, artifacts / f"not_found_{language}.png")


def test_an_organisation_the_user_may_see_not_is_named_and_the_address_corrected(browser, app_url, sign_in):
    sign_in("provider")
    open_page(browser, f"{app_url}/mijn-organisatie?org=H0002&parity=nulliparous", expected_language="nl")
    said = notices(browser)
    assert "U kunt organisatie H0002 niet bekijken; u ziet nu Ziekenhuis Rivierenland (H0001)" in said
    assert "Ziekenhuis Kustzorg" not in said  # the other organisation's name is not shown
    query = search_of(browser)
    assert query["org"] == ["H0001"] and query["parity"] == ["nulliparous"]


def test_an_organisation_that_does_not_exist_is_named_too(browser, app_url, sign_in):
    sign_in("provider")
    open_page(browser, f"{app_url}/mijn-organisatie?org=XX99&lang=en", expected_language="en")
    assert "You cannot view organisation XX99; you now see Ziekenhuis Rivierenland (H0001)" in notices(browser)
    assert search_of(browser)["org"] == ["H0001"] and search_of(browser)["lang"] == ["en"]


def test_unknown_filter_values_and_a_malformed_period_are_named_and_left_out(browser, app_url):
    open_page(browser, f"{app_url}/mijn-organisatie?org=H0001&parity=bogus&period=2023-13&ses=3",
              expected_language="nl")
    said = notices(browser)
    assert "Pariteit: de waarde ‘bogus’" in said and "is genegeerd" in said
    assert said.count("Het adres is aangepast") == 1
    assert "de periode ‘2023-13’" in said
    query = search_of(browser)
    assert "parity" not in query and "period" not in query and query["ses"] == ["3"]
    summary = text_of(browser, "active-filters")
    assert "Pariteit" not in summary and "Kwintiel 3" in summary


def test_a_period_outside_the_data_says_there_are_no_data_then(browser, app_url):
    open_page(browser, f"{app_url}/mijn-organisatie?org=H0001&period=2099", expected_language="nl")
    said = notices(browser)
    assert ("Er zijn geen gegevens in deze periode (januari 2099 – december 2099); de gegevens lopen van januari 2024 "
            "tot juni 2024") in said
    assert "period" not in search_of(browser)
    assert "2099" not in text_of(browser, "active-filters")  # the summary, the dropdowns and the figures agree
    assert browser.find_element(By.ID, "filter-period_from").get_attribute("value") == "all"


def test_a_period_partly_outside_the_data_is_cut_to_the_data(browser, app_url):
    open_page(browser, f"{app_url}/mijn-organisatie?org=H0001&period=2023-11..2024-02&lang=en", expected_language="en")
    said = notices(browser)
    assert "lies partly outside the data, which run from January 2024 to June 2024" in said
    assert "You now see January 2024 – February 2024" in said
    assert search_of(browser)["period"] == ["2024-01..2024-02"]
    assert browser.find_element(By.ID, "filter-period_from").get_attribute("value") == "2024-01"


def test_an_address_that_asks_nothing_wrong_has_no_notice(browser, app_url):
    open_page(browser, f"{app_url}/mijn-organisatie?org=H0001&period=2024-02..2024-04", expected_language="nl")
    assert browser.find_elements(By.ID, "address-notices") == []
    assert search_of(browser)["period"] == ["2024-02..2024-04"]
