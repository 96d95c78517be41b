"""The indicator pages (overview, indicator detail, compare) in headless Chromium, checked for what a user sees:
they render without console errors and without serious accessibility violations in Dutch and English; the
numbers after a filter change are exactly the engine's answer for that filter; a copied link reproduces the view;
small numbers are shown as such; the compare download holds the table with the engine's export masking.

Expected numbers come from calling the indicator engine in the test and are written out with plain Python
formatting here, independent of the pages' own formatting helpers.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait

from queries.engine import get_engine
from queries.scope import Viewer

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

# What each page shows once every callback has answered.
PAGES = {
    "overview": ("/mijn-organisatie", ["#overview-table"], {"nl": "Mijn organisatie", "en": "My organisation"}),
    "indicator": ("/indicator/caesarean", ["#detail-summary-table", "#detail-trend-chart .main-svg",
                                           "#detail-funnel-chart .main-svg", "#detail-breakdown-chart .main-svg",
                                           "#detail-adjusted-facts"],
                  {"nl": "Sectio caesarea", "en": "Caesarean section"}),
    "compare": ("/vergelijken", ["#compare-matrix tbody tr"], {"nl": "Vergelijken", "en": "Compare"}),
}


def wait_for_parts(driver, selectors: list[str]) -> None:
    wait = WebDriverWait(driver, RENDER_TIMEOUT)
    for selector in selectors:
        wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, selector)))
    wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "[data-dash-is-loading='true']"))


def dutch_rate(rate: float, scale: int = 100, unit: str = "%") -> str:
    return f"{rate * scale:.1f}".replace(".", ",") + unit


def english_rate(rate: float) -> str:
    return f"{rate * 100:.1f}%"


def click(driver, element) -> None:
    """Click as a user would after scrolling the element to the middle of the window."""
    # Bootstrap turns on smooth scrolling; an instant scroll leaves no element in motion when it is clicked.
    driver.execute_script("arguments[0].scrollIntoView({block: 'center', inline: 'center', behavior: 'instant'});",
                          element)
    element.click()


def cell_lines(driver, element_id: str) -> list[str]:
    return text_of(driver, element_id).split("\n")


def table_rows(driver, table_id: str) -> list[list[str]]:
    table = driver.find_element(By.ID, table_id)
    return [[cell.get_attribute("textContent").strip() for cell in row.find_elements(By.TAG_NAME, "td")]
            for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")]


def chart_table_rows(driver, part: str) -> list[list[str]]:
    """The rows of a detail chart's table ("trend", "funnel", "breakdown"), opening "Toon tabel" first as a user
    does (the table is drawn when opened); [] until it is there."""
    if not driver.find_elements(By.ID, f"detail-{part}-table"):
        summaries = driver.find_elements(By.CSS_SELECTOR, f"#detail-{part}-body details > summary")
        details = driver.find_elements(By.CSS_SELECTOR, f"#detail-{part}-body details")
        if summaries and details and not details[0].get_attribute("open"):
            click(driver, summaries[0])
        return []
    return table_rows(driver, f"detail-{part}-table")


def apply_filters(driver, choices: dict[str, str]) -> None:
    """Choose values in the filter panel and press Toepassen, then wait for the page to follow the URL."""
    before = driver.current_url
    open_filter_panel(driver)
    for key, value in choices.items():
        Select(driver.find_element(By.ID, f"filter-{key}")).select_by_value(value)
    click(driver, driver.find_element(By.ID, "filter-apply"))
    WebDriverWait(driver, RENDER_TIMEOUT).until(lambda d: d.current_url != before)


@pytest.fixture(scope="module")
def indicators(planted_database):
    """The indicator engine of the demo database: the source of every expected number."""
    return get_engine(planted_database[0])


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("page", list(PAGES))
def test_indicator_pages_render_accessibly(browser, app_url, planted_database, axe_source, artifacts, page,
                                           language) -> None:
    _, planted = planted_database
    path, parts, titles = PAGES[page]
    organisation = "V01" if page == "compare" else planted.hospital  # a VSV shows its members on compare
    query = f"?org={organisation}" + ("&lang=en" if language == "en" else "")
    open_page(browser, app_url + path + query, expected_language=language)
    wait_for_parts(browser, parts)

    assert browser.find_element(By.TAG_NAME, "h1").text == titles[language]
    WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: titles[language] in d.title)
    full_page_screenshot(browser, artifacts / f"{page}-{language}.png")
    assert console_errors(browser) == []
    assert axe_violations(browser, axe_source) == []


@pytest.mark.login("provider")  # the viewer the expected numbers are asked as
def test_overview_numbers_follow_the_filter_exactly(browser, app_url, planted_database, indicators) -> None:
    _, planted = planted_database
    viewer = Viewer("provider", org_code=planted.hospital)
    unfiltered = indicators.overview(viewer, {}, org_code=planted.hospital)
    filtered = indicators.overview(viewer, {"parity": "nulliparous"}, org_code=planted.hospital)
    expected = {row["indicator"]["id"]: row for row in filtered["rows"]}["caesarean"]
    before = {row["indicator"]["id"]: row for row in unfiltered["rows"]}["caesarean"]
    assert expected["organisation"]["denominator"] != before["organisation"]["denominator"]  # the test can fail

    open_page(browser, f"{app_url}/mijn-organisatie?org={planted.hospital}", expected_language="nl")
    wait_for_parts(browser, ["#overview-table"])
    assert cell_lines(browser, "overview-caesarean-organisation")[0] == dutch_rate(before["organisation"]["rate"])

    apply_filters(browser, {"parity": "nulliparous"})
    wait_for_parts(browser, ["#overview-table"])
    WebDriverWait(browser, RENDER_TIMEOUT).until(
        lambda d: cell_lines(d, "overview-caesarean-organisation")[0] == dutch_rate(expected["organisation"]["rate"]))
    own = expected["organisation"]
    assert cell_lines(browser, "overview-caesarean-organisation") == [
        dutch_rate(own["rate"]), f"95%-BI {dutch_rate(own['ci_low'])[:-1]}–{dutch_rate(own['ci_high'])}",
        f"{own['numerator']} / {own['denominator']}"]
    assert cell_lines(browser, "overview-caesarean-national")[0] == dutch_rate(expected["national"]["rate"])
    # The VSV minus this hospital would be the other hospital's numbers: hidden, and said so (never a 0).
    assert expected["vsv"]["suppression_reason"] == "complementary"
    assert cell_lines(browser, "overview-caesarean-vsv")[0] == "verborgen (anders één andere organisatie)"
    verdict_words = {"within": "Binnen verwachting", "higher": "Hoger", "lower": "Lager"}
    assert verdict_words[own["verdict"]] in text_of(browser, "overview-caesarean-verdict")

    # The link to the detail page keeps the URL state, and works from the keyboard.
    link = browser.find_element(By.ID, "overview-link-caesarean")
    link.send_keys(Keys.ENTER)
    WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: urlparse(d.current_url).path == "/indicator/caesarean")
    wait_for_parts(browser, ["#detail-summary-table"])
    # The detail page adds its own choices (the grain shown, ...) to the address; the view itself is kept.
    WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: "grain=" in d.current_url)
    assert parse_qs(urlparse(browser.current_url).query) == {"org": [planted.hospital], "parity": ["nulliparous"],
                                                             "grain": ["month"], "overdispersion": ["auto"],
                                                             "by": ["parity"]}
    assert table_rows(browser, "detail-summary-table")[0][1] == dutch_rate(own["rate"])


@pytest.mark.login("provider")  # the viewer the expected numbers are asked as
def test_detail_page_follows_the_filter_and_its_link_reproduces_the_view(browser, app_url, planted_database,
                                                                         indicators) -> None:
    _, planted = planted_database
    viewer = Viewer("provider", org_code=planted.hospital)
    period = {"period": "2024-02..2024-04"}
    trend = indicators.trend("caesarean", viewer, period, grain="quarter", org_code=planted.hospital)
    summary = {row["indicator"]["id"]: row for row in indicators.overview(viewer, period, org_code=planted.hospital)
               ["rows"]}["caesarean"]
    funnel = indicators.funnel("caesarean", "hospital", viewer, period)

    open_page(browser, f"{app_url}/indicator/caesarean?org={planted.hospital}&lang=en", expected_language="en")
    wait_for_parts(browser, PAGES["indicator"][1])
    apply_filters(browser, {"period_from": "2024-02", "period_to": "2024-04"})
    wait_for_parts(browser, PAGES["indicator"][1])
    # With the keyboard: arrow keys move a radio group's choice (month → quarter).
    month = browser.find_element(By.CSS_SELECTOR, "#detail-grain input[value='month']")
    assert month.is_selected()
    browser.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'}); arguments[0].focus();",
                           month)
    browser.switch_to.active_element.send_keys(Keys.ARROW_RIGHT)
    WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: "grain=quarter" in d.current_url)
    WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: chart_table_rows(d, "funnel"))

    def check_view() -> None:
        own = summary["organisation"]
        assert table_rows(browser, "detail-summary-table")[0][:5] == [
            planted.hospital_name, english_rate(own["rate"]),
            f"{own['ci_low'] * 100:.1f}–{english_rate(own['ci_high'])}", str(own["numerator"]),
            str(own["denominator"])]
        own_points = next(s for s in trend["series"] if s["kind"] == "organisation")["points"]
        shown = chart_table_rows(browser, "trend")
        assert [row[0] for row in shown] == [p["period"].replace("-Q", " Q") for p in own_points] == ["2024 Q1",
                                                                                                     "2024 Q2"]
        assert [row[1] for row in shown] == [english_rate(p["rate"]) for p in own_points]
        own_funnel = next(row for row in funnel["rows"] if row["own"])
        assert chart_table_rows(browser, "funnel")[0][:2] == [planted.hospital_name,
                                                                     english_rate(own_funnel["rate"])]
        # Peers of a provider are anonymous: no other hospital's name anywhere on the page.
        assert "Kustzorg" not in browser.find_element(By.ID, "main-content").text

    WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: len(chart_table_rows(d, "trend")) == 2)
    check_view()
    link = browser.current_url
    assert parse_qs(urlparse(link).query) == {"lang": ["en"], "org": [planted.hospital],
                                              "period": ["2024-02..2024-04"], "grain": ["quarter"],
                                              "overdispersion": ["auto"], "by": ["parity"]}
    open_page(browser, app_url + "/?lang=en", expected_language="en")  # elsewhere first, then paste the link
    open_page(browser, link, expected_language="en")
    wait_for_parts(browser, PAGES["indicator"][1])
    assert browser.find_element(By.CSS_SELECTOR, "#detail-grain input[value='quarter']").is_selected()
    WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: chart_table_rows(d, "trend") and
                                                 chart_table_rows(d, "funnel"))
    check_view()
    assert console_errors(browser) == []


def test_applying_a_filter_keeps_the_page_and_its_choices_and_links_carry_the_filter(browser, app_url,
                                                                                      planted_database) -> None:
    _, planted = planted_database
    open_page(browser, f"{app_url}/indicator/caesarean?org={planted.hospital}&grain=quarter&by=ga_band",
              expected_language="nl")
    wait_for_parts(browser, PAGES["indicator"][1])
    click(browser, browser.find_element(By.CSS_SELECTOR, "#detail-overdispersion input[value='multiplicative']"))
    WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: "overdispersion=multiplicative" in d.current_url)
    wait_for_parts(browser, PAGES["indicator"][1])
    trend_before = WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: chart_table_rows(d, "trend"))

    apply_filters(browser, {"parity": "nulliparous"})
    wait_for_parts(browser, PAGES["indicator"][1])
    # The page was not rebuilt: the panel closed again and a keyboard user is on its "Wijzig" button.
    WebDriverWait(browser, RENDER_TIMEOUT).until(
        lambda d: d.switch_to.active_element.get_attribute("id") == "filter-toggle")
    assert not browser.find_element(By.ID, "filter-fields").is_displayed()
    WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: chart_table_rows(d, "trend") not in ([], trend_before))
    # The page's own choices survive Apply, in the controls and in the address.
    assert browser.find_element(By.CSS_SELECTOR, "#detail-grain input[value='quarter']").is_selected()
    assert browser.find_element(By.CSS_SELECTOR, "#detail-overdispersion input[value='multiplicative']").is_selected()
    assert Select(browser.find_element(By.ID, "detail-dimension")).first_selected_option.text == "Zwangerschapsduur"
    assert parse_qs(urlparse(browser.current_url).query) == {
        "org": [planted.hospital], "grain": ["quarter"], "by": ["ga_band"], "overdispersion": ["multiplicative"],
        "parity": ["nulliparous"]}
    WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: "Nullipara" in text_of(d, "active-filters"))

    # A breakdown by the filtered dimension itself shows every value of it, and says so.
    assert not browser.find_elements(By.ID, "detail-breakdown-lifted")
    Select(browser.find_element(By.ID, "detail-dimension")).select_by_value("parity")
    WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: d.find_elements(By.ID, "detail-breakdown-lifted"))
    assert "Uitgesplitst naar pariteit: alle waarden" in text_of(browser, "detail-breakdown-lifted")
    breakdown = WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: chart_table_rows(d, "breakdown"))
    assert [row[0] for row in breakdown][:2] == ["Nullipara", "Multipara"]

    # Every link that carries the view carries the new target group (not the page's own choices).
    back = browser.find_element(By.ID, "detail-back")
    WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: "parity=nulliparous" in back.get_attribute("href"))
    assert parse_qs(urlparse(back.get_attribute("href")).query) == {"org": [planted.hospital],
                                                                   "parity": ["nulliparous"]}
    # The language switch keeps the whole view, the page's own choices included.
    switch = parse_qs(urlparse(browser.find_element(By.ID, "language-switch").get_attribute("href")).query)
    assert switch == {"org": [planted.hospital], "parity": ["nulliparous"], "grain": ["quarter"],
                      "overdispersion": ["multiplicative"], "by": ["parity"], "lang": ["en"]}
    click(browser, browser.find_element(By.ID, "nav-compare"))
    WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: urlparse(d.current_url).path == "/vergelijken")
    wait_for_parts(browser, PAGES["compare"][1])
    assert parse_qs(urlparse(browser.current_url).query) == {"org": [planted.hospital], "parity": ["nulliparous"]}
    assert "Nullipara" in text_of(browser, "active-filters")
    open_filter_panel(browser)
    assert Select(browser.find_element(By.ID, "filter-parity")).first_selected_option.text == "Nullipara"
    assert console_errors(browser) == []


@pytest.mark.login("practice")  # the viewer the expected numbers are asked as
def test_one_end_of_the_period_fills_in_the_other_in_the_address_and_the_panel(browser, app_url,
                                                                               planted_database) -> None:
    _, planted = planted_database
    open_page(browser, f"{app_url}/mijn-organisatie?org={planted.hospital}", expected_language="nl")
    offered = [option.get_attribute("value") for option in Select(browser.find_element(By.ID,
                                                                                         "filter-period_from")).options]
    first_month = next(value for value in offered if value[:1].isdigit())
    apply_filters(browser, {"period_to": "2024-04"})
    assert parse_qs(urlparse(browser.current_url).query)["period"] == [f"{first_month}..2024-04"]
    assert Select(browser.find_element(By.ID, "filter-period_from")).first_selected_option.get_attribute(
        "value") == first_month
    WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: "april 2024" in text_of(d, "active-filters"))


def test_back_leaves_a_page_opened_without_an_organisation_in_its_address(browser, app_url) -> None:
    open_page(browser, f"{app_url}/definities", expected_language="nl")
    open_page(browser, f"{app_url}/vergelijken", expected_language="nl")  # the page picks the organisation shown
    wait_for_parts(browser, PAGES["compare"][1])
    browser.back()
    WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: urlparse(d.current_url).path == "/definities")
    wait_until_rendered(browser)
    assert urlparse(browser.current_url).path == "/definities"


def test_a_filter_change_after_the_session_ended_goes_to_the_login_page_and_back(browser, app_url, browser_login,
                                                                               planted_database) -> None:
    _, planted = planted_database
    open_page(browser, f"{app_url}/mijn-organisatie?org={planted.hospital}", expected_language="nl")
    wait_for_parts(browser, PAGES["overview"][1])
    browser.delete_cookie("perispiegel_session")  # as when the idle timeout has passed
    browser_login.current = None  # the next test logs in again
    apply_filters(browser, {"parity": "multiparous"})
    WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: urlparse(d.current_url).path == "/login")
    target = parse_qs(urlparse(browser.current_url).query)["next"][0]
    assert urlparse(target).path == "/mijn-organisatie" and "parity=multiparous" in target


def test_small_numbers_are_shown_as_such_never_as_zero(browser, app_url, planted_database, indicators) -> None:
    _, planted = planted_database
    selection = {"period": "2024-01", "robson": "4b"}
    answer = indicators.overview(Viewer("provider", org_code=planted.practice), selection, org_code=planted.practice)
    own = {row["indicator"]["id"]: row for row in answer["rows"]}["caesarean"]["organisation"]
    assert 0 < own["denominator"] < indicators.config.min_denominator and own["suppressed"]

    open_page(browser, f"{app_url}/mijn-organisatie?org={planted.practice}&period=2024-01&robson=4b",
              expected_language="nl")
    wait_for_parts(browser, ["#overview-table"])
    assert cell_lines(browser, "overview-caesarean-organisation") == [
        f"noemer < {indicators.config.min_denominator}", f"{own['numerator']} / {own['denominator']}"]
    assert text_of(browser, "overview-empty").startswith(
        f"Minder dan {indicators.config.min_denominator} geboorten in deze selectie")

    open_page(browser, f"{app_url}/indicator/caesarean?org={planted.practice}&period=2024-01&robson=4b",
              expected_language="nl")
    wait_for_parts(browser, ["#detail-trend-empty", "#detail-breakdown-empty", "#detail-adjusted-empty"])
    assert browser.find_elements(By.CSS_SELECTOR, "#detail-trend-chart") == []  # no empty chart
    assert "Minder dan 10 geboorten" in text_of(browser, "detail-trend-empty")


def downloaded_file(folder: Path, timeout: float = RENDER_TIMEOUT) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [path for path in folder.glob("*.csv")]
        if done:
            return done[0]
        time.sleep(0.1)
    raise AssertionError(f"no CSV downloaded into {folder}")


@pytest.mark.login("vsv")  # the viewer the expected numbers are asked as
def test_compare_table_sorts_and_downloads_exactly_what_is_shown(browser, app_url, planted_database, indicators,
                                                                 tmp_path) -> None:
    _, planted = planted_database
    viewer = Viewer("vsv", vsv_code="V01")
    open_page(browser, f"{app_url}/vergelijken?org=V01&measure=full", expected_language="nl")  # the full table
    wait_for_parts(browser, ["#compare-grid .ag-row"])
    headers = browser.find_element(By.ID, "compare-grid").text
    for member in (planted.hospital_name, "Ziekenhuis Kustzorg", planted.practice_name):
        assert member in headers  # a VSV sees its members by name

    def shown_order() -> list[str]:
        return browser.execute_script("""
            const cells = [...document.querySelectorAll("#compare-grid .ag-cell[col-id='indicator']")];
            const index = cell => Number(cell.closest('[row-index]').getAttribute('row-index'));
            return cells.sort((a, b) => index(a) - index(b)).map(cell => cell.textContent.trim());
        """)

    catalogue_order = [definition["name_nl"] for definition in indicators.catalogue()]
    assert shown_order() == catalogue_order
    header = browser.find_element(By.CSS_SELECTOR, "#compare-grid .ag-header-cell[col-id='org__rate']")
    click(browser, header)  # ascending by the VSV's own rate
    WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: shown_order() != catalogue_order)
    # The grid sorts the rates as shown, i.e. in each indicator's unit (% × 100, ‰ × 1000).
    shown_rates = {row["indicator"]["name_nl"]: row["organisation"]["rate"] * row["indicator"]["unit_scale"]
                   for row in indicators.overview(viewer, {})["rows"]}
    ascending = [shown_rates[name] for name in shown_order()]
    assert ascending == sorted(ascending)

    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    click(browser, browser.find_element(By.ID, "compare-download-button"))
    rows = list(csv.reader(io.StringIO(downloaded_file(tmp_path).read_text(encoding="utf-8-sig")), delimiter=";"))
    assert [row[0] for row in rows[1:]] == shown_order()  # the order the user sorted in
    assert rows[0][:2] == ["Indicator", "Eenheid"]

    # Counts of 1–4 are masked in the download (the engine's export rules), not on the screen.
    member = next(m for m in indicators.organisations(viewer, "hospital") if m["name"] == planted.hospital_name)
    exported = indicators.overview(viewer, {}, org_code=member["org_code"], export=True)
    on_screen = indicators.overview(viewer, {}, org_code=member["org_code"])
    masked = [row["indicator"]["name_nl"] for row in exported["rows"]
              if row["organisation"]["suppression_reason"] == "count_masked"]
    assert masked, "the demo data should hold a count of 1–4 for this member"
    numerator_column = rows[0].index(f"{planted.hospital_name} (Ziekenhuis) – Teller")
    by_name = {row[0]: row for row in rows[1:]}
    shown_counts = {row["indicator"]["name_nl"]: row["organisation"]["numerator"] for row in on_screen["rows"]}
    for name in masked:
        assert by_name[name][numerator_column] == "gemaskeerd (1–4)"
        assert 1 <= shown_counts[name] <= 4
    unmasked = next(name for name in by_name if name not in masked)
    assert by_name[unmasked][numerator_column] == f"{shown_counts[unmasked]:,}".replace(",", ".")

    # The download gives each member's verdict as the overview, the detail page and the API do, with its comparator.
    verdict_column = rows[0].index(f"{planted.hospital_name} (Ziekenhuis) – Oordeel")
    comparator_column = rows[0].index(f"{planted.hospital_name} (Ziekenhuis) – Vergeleken met")
    api_like = {row["indicator"]["name_nl"]: row for row in exported["rows"]}
    judged = [name for name, row in api_like.items() if row["organisation"]["verdict"]]
    assert judged
    for name in judged:
        cell, indicator = api_like[name]["organisation"], api_like[name]["indicator"]
        assert by_name[name][verdict_column].startswith(VERDICT_WORDS[cell["verdict"]])
        centre = dutch_rate(cell["judgement"]["centre"], indicator["unit_scale"], indicator["unit"])
        assert by_name[name][comparator_column] == f"t.o.v. alle ziekenhuizen: {centre}"


VERDICT_WORDS = {"within": "Binnen verwachting", "higher": "Hoger", "lower": "Lager", "better": "Beter",
                 "worse": "Slechter", None: "Geen oordeel"}
METHOD_WORDS = {"exact": "exacte grenzen", "additive": "verbrede grenzen, additief", "multiplicative":
                "verbrede grenzen, multiplicatief"}


@pytest.mark.login("provider")
def test_the_detail_page_names_its_comparator_and_shows_whether_the_verdict_depends_on_the_method(
        browser, app_url, planted_database, indicators, artifacts) -> None:
    _, planted = planted_database
    viewer = Viewer("provider", org_code=planted.hospital)
    for method in ("auto", "none"):
        row = {r["indicator"]["id"]: r for r in indicators.overview(viewer, {}, org_code=planted.hospital,
                                                                    overdispersion=method)["rows"]}["caesarean"]
        own = row["organisation"]
        funnel = indicators.funnel("caesarean", "hospital", viewer, {}, overdispersion=method)
        query = f"?org={planted.hospital}" + ("&overdispersion=none" if method == "none" else "")
        open_page(browser, f"{app_url}/indicator/caesarean{query}", expected_language="nl")
        wait_for_parts(browser, [*PAGES["indicator"][1], "#detail-control-chart .main-svg", "#detail-sensitivity"])
        assert parse_qs(urlparse(browser.current_url).query)["overdispersion"] == [method]

        # The verdict, its comparator by name and rate (the centre the engine judged against, from the published
        # figures), and the method, in the headline and the summary table.
        centre = dutch_rate(own["judgement"]["centre"])
        reference = f"t.o.v. alle ziekenhuizen: {centre}"
        assert text_of(browser, "detail-verdict") == VERDICT_WORDS[own["verdict"]]
        method_line = text_of(browser, "detail-verdict-method")
        assert f"alle ziekenhuizen ({centre})" in method_line
        assert METHOD_WORDS[own["judgement"]["method"]] in method_line
        summary = table_rows(browser, "detail-summary-table")
        assert summary[0][5].startswith(VERDICT_WORDS[own["verdict"]]) and summary[0][5].endswith(f"({reference})")
        assert not any("landelijk" in cells[5].lower() for cells in summary)  # national: context, not the comparator

        # The sensitivity table: the verdict of each method, and the note that says whether they differ.
        sensitivity = table_rows(browser, "detail-sensitivity-table")
        expected = [[VERDICT_WORDS[own["sensitivity"][measure][column]] for column in ("exact", "widened")]
                    for measure in ("crude", "adjusted")]
        assert [cells[1:] for cells in sensitivity] == expected
        note = text_of(browser, "detail-sensitivity-note")
        assert ("hangt af van de methode" in note) == own["depends_on_method"]

        # The funnel's caption counts the organisations drawn; its table lists every organisation of the answer
        # (one without a rate to show is not drawn, but listed with its reason).
        shown = [r for r in funnel["rows"] if r["rate"] is not None]
        assert browser.find_elements(By.CSS_SELECTOR, f"#detail-funnel-body [aria-label$='({len(shown)})']")
        count = len(funnel["rows"])
        until_redrawn(browser).until(lambda d, count=count: len(chart_table_rows(d, "funnel")) == count)
        # The control chart says in words how many months it has and what the latest one shows.
        control = browser.find_element(By.ID, "detail-control-chart-summary").get_attribute("textContent")
        chart = indicators.control_chart("caesarean", viewer, {}, org_code=planted.hospital)["chart"]
        assert f"over {chart['points_with_data']} maanden" in control and "met een signaal" in control
        full_page_screenshot(browser, artifacts / f"indicator-verdict-{method}.png")
        assert console_errors(browser) == []
