"""Words, not codes, as a user reads them (issue 13): the definitions page and an indicator's detail page say what is
counted in the page's language (no "caesarean = true", no "all births" on a Dutch page), the data dictionary's
meanings are Dutch on a Dutch page, and the refresh history's times carry their zone."""

from __future__ import annotations

import re

import pytest
from selenium.webdriver.common.by import By

from .helpers import open_page, text_of

CODES = ("= true", "all births", "is missing", "caesarean =")


@pytest.mark.parametrize("path", ["/definities", "/indicator/caesarean"])
def test_what_is_counted_is_in_dutch_words(browser, app_url, path):
    open_page(browser, f"{app_url}{path}", expected_language="nl")
    page = browser.find_element(By.TAG_NAME, "main").text
    assert not [code for code in CODES if code in page]
    assert "Teller: Geboren met een sectio caesarea" in page or "Geboren met een sectio caesarea" in page
    assert "Alle geboorten" in page


def test_the_data_dictionary_and_refresh_times_on_a_dutch_page(browser, app_url):
    open_page(browser, f"{app_url}/definities", expected_language="nl")
    dictionary = text_of(browser, "data-dictionary")
    assert "Bloedverlies binnen 24 uur, in ml" in dictionary and "Blood loss within 24 h" not in dictionary
    history = text_of(browser, "refresh-history")
    assert re.search(r"\d\d-\d\d-\d{4} \d\d:\d\d CES?T", history)


def test_the_english_page_has_english_words(browser, app_url):
    open_page(browser, f"{app_url}/definities?lang=en", expected_language="en")
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "Born by caesarean section" in page and "All births" in page and "= true" not in page
    assert "Blood loss within 24 h, ml" in text_of(browser, "data-dictionary")
