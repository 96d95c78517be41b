"""Phones, tablets and the compare matrix in headless Chromium, checked for what a user sees.

At 390 × 844 (a phone, through Chromium's device emulation) every page of the navigation and an indicator's detail
page, as a provider, a VSV and a researcher, in Dutch and English: the page is never wider than the window once its
data are drawn (a wide table scrolls inside its own box), and axe-core finds nothing serious or critical. A
screenshot of each page at 390 px goes to tests/artifacts/.

At 820 × 1180 (a tablet) no page is wider than the window either. At 1440 × 900 the VSV's compare matrix — every
member and every indicator, one measure per cell — is no wider than its box, also with twelve members, and its
header stays in view when the page scrolls down; the measure switches between the rate with its verdict and O/E,
the full table is one click away, and each choice is kept in the address.

The column names say what a column is: a VSV looking at a member never reads "Eigen organisatie", and the VSV's own
overview names the VSV for its own figures. Expected figures come from the indicator engine in the test.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
from app_server import serving
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import func, insert, select, update

from queries.engine import get_engine
from queries.scope import Viewer
from tables.database import make_engine
from tables.schema import births, data_versions, organisations

from .conftest import ACCOUNTS, add_accounts
from .demo_data import MONTHS, demo_births, fill_demo_database
from .helpers import RENDER_TIMEOUT, axe_violations, console_errors, open_page, text_of, wait_until_rendered
from .test_indicator_pages import dutch_rate, table_rows, wait_for_parts

PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}
TABLET = {"width": 820, "height": 1180, "deviceScaleFactor": 1, "mobile": True}
DESKTOP = {"width": 1440, "height": 900, "deviceScaleFactor": 1, "mobile": False}
# Every page of the navigation and an indicator's detail page, with what shows that its data are drawn.
PAGES = {
    "home": ("/", "#counts-per-year"),
    "overview": ("/mijn-organisatie", "#overview-table"),
    "indicator": ("/indicator/caesarean", "#detail-summary-body > *"),
    "compare": ("/vergelijken", "#compare-matrix tbody tr"),
    "data_quality": ("/datakwaliteit", "#main-content h1 ~ *"),
    "definitions": ("/definities", "#main-content table"),
    "export": ("/exporteren", "#main-content h2"),
}
VSV_MEMBERS = {"H0001": "Ziekenhuis Rivierenland", "H0002": "Ziekenhuis Kustzorg",
               "P0001": "Verloskundigen <b>De Ooievaar</b>", "P0002": "Verloskundigenpraktijk Zonnebloem"}
VERDICT_SHORT = {"better": "Beter", "worse": "Slechter", "within": "Binnen", "higher": "Hoger", "lower": "Lager",
                 None: "Geen"}


@pytest.fixture
def screen(browser):
    """`screen(metrics)` makes the browser's window that size (Chromium's device emulation) for this test."""
    def emulate(metrics: dict) -> None:
        browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    yield emulate
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def page_screenshot(driver, path: Path) -> None:
    """The whole page at the emulated width (not widened to fit, as `helpers.full_page_screenshot` does)."""
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    path.write_bytes(base64.b64decode(shot["data"]))


def widths(driver) -> tuple[int, int]:
    return driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")


def widest_elements(driver) -> list[str]:
    """What sticks out on the right of the phone's screen, outside any box that scrolls or clips it (for the
    failure message)."""
    return driver.execute_script("""
        const clipped = element => {
            for (let parent = element.parentElement; parent; parent = parent.parentElement) {
                if (getComputedStyle(parent).overflowX !== 'visible') { return true; }
            }
            return false;
        };
        const out = [];
        for (const element of document.querySelectorAll('body *')) {
            const box = element.getBoundingClientRect();
            if (box.right > arguments[0] + 1 && box.width > 0 && !clipped(element)) {
                out.push(element.tagName + '#' + element.id + '.' + element.className + ' ' + Math.round(box.right));
            }
        }
        return out.slice(0, 6);
    """, PHONE["width"])


def phone_problems(browser, page: str, axe_source: str) -> dict[str, object]:
    """What is wrong with the page shown on the phone: wider than the phone (a phone's browser widens its layout
    viewport to a page wider than the screen and shrinks the page to fit, so the window must stay 390 px and the
    document no wider), and axe-core's serious or critical violations."""
    problems: dict[str, object] = {}
    document, window = widths(browser)
    if max(document, window) > PHONE["width"]:
        problems[page] = f"{document} px wide in a {window} px window: {widest_elements(browser)}"
    violations = axe_violations(browser, axe_source)
    if violations:
        problems[f"{page} (axe)"] = violations
    return problems


@pytest.mark.login(None)
@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("role", ["provider", "vsv", "researcher"])
def test_every_page_fits_a_phone_and_stays_accessible(browser, browser_login, app_url, axe_source, artifacts, screen,
                                                      role, language) -> None:
    browser_login(app_url, role)
    screen(PHONE)
    problems = {}
    for page, (path, drawn) in PAGES.items():
        open_page(browser, app_url + path + ("?lang=en" if language == "en" else ""), expected_language=language)
        wait_for_parts(browser, [drawn])
        wait_until_rendered(browser)
        page_screenshot(browser, artifacts / f"phone-{page}-{role}-{language}.png")
        problems.update(phone_problems(browser, page, axe_source))
        errors = console_errors(browser)
        if errors:
            problems[f"{page} (console)"] = errors
    assert not problems, "\n".join(f"{page}: {problem}" for page, problem in problems.items())


@pytest.mark.login("vsv")
def test_every_page_fits_a_tablet(browser, app_url, artifacts, screen) -> None:
    screen(TABLET)
    too_wide = {}
    for page, (path, drawn) in PAGES.items():
        open_page(browser, app_url + path, expected_language="nl")
        wait_for_parts(browser, [drawn])
        wait_until_rendered(browser)
        page_screenshot(browser, artifacts / f"tablet-{page}-vsv-nl.png")
        document, window = widths(browser)
        if max(document, window) > TABLET["width"]:
            too_wide[page] = (document, window)
    assert too_wide == {}


# The account and administration pages (server-rendered, auth/templates): pages too, with wide tables of users and
# of the audit log and the registry console.
ACCOUNT_PAGES = {"account": "/account", "admin": "/admin", "audit": "/admin/audit", "registry": "/admin/registry"}


@pytest.mark.login("admin")
@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_account_and_admin_pages_fit_a_phone(browser, app_url, axe_source, artifacts, screen, language) -> None:
    screen(PHONE)
    problems = {}
    for page, path in ACCOUNT_PAGES.items():
        browser.get(f"{app_url}{path}?lang={language}")
        WebDriverWait(browser, RENDER_TIMEOUT).until(lambda driver: driver.find_elements(By.CSS_SELECTOR, "main h1"))
        page_screenshot(browser, artifacts / f"phone-{page}-admin-{language}.png")
        problems.update(phone_problems(browser, page, axe_source))
    assert not problems, "\n".join(f"{page}: {problem}" for page, problem in problems.items())


@pytest.mark.login("vsv")
def test_the_phone_keeps_the_first_column_of_a_wide_table_in_view(browser, app_url, screen) -> None:
    screen(PHONE)
    open_page(browser, f"{app_url}/mijn-organisatie", expected_language="nl")
    wait_for_parts(browser, ["#overview-table"])
    box = browser.find_element(By.CSS_SELECTOR, "#overview-indicators .table-scroll")
    assert box.get_attribute("role") == "region" and box.get_attribute("tabindex") == "0"
    # The verdict and trend are in the box, reached by scrolling it; the indicator names stay where they were.
    name = browser.find_element(By.CSS_SELECTOR, "#overview-table tbody tr:first-child td:first-child")
    left = name.rect["x"]
    browser.execute_script("arguments[0].scrollLeft = 400", box)
    assert browser.execute_script("return arguments[0].scrollLeft", box) > 0
    assert abs(name.rect["x"] - left) < 1
    assert widths(browser)[0] <= PHONE["width"]


def matrix_headers(driver) -> list[str]:
    """The column heads as a screen reader reads them (the full name and type; the columns show a short name)."""
    return [cell.get_attribute("textContent") if not cell.find_elements(By.CSS_SELECTOR, ".visually-hidden")
            else cell.find_element(By.CSS_SELECTOR, ".visually-hidden").get_attribute("textContent")
            for cell in driver.find_elements(By.CSS_SELECTOR, "#compare-matrix thead th")]


def shown_headers(driver) -> list[str]:
    """The column heads as seen: a short name over its type."""
    return [" / ".join(part.text for part in cell.find_elements(By.CSS_SELECTOR, ".matrix-name, .matrix-kind"))
            for cell in driver.find_elements(By.CSS_SELECTOR, "#compare-matrix thead th:not(.matrix-corner)")]


def matrix_cell(driver, indicator: str, column: int) -> str:
    """The visible text of a matrix cell (figure and short verdict), by indicator and column (1: the first unit)."""
    cell = driver.find_element(By.CSS_SELECTOR, f"#compare-row-{indicator} td:nth-of-type({column})")
    return " ".join(part.text for part in cell.find_elements(By.CSS_SELECTOR, ".matrix-figure, .matrix-verdict"))


def spoken(driver, indicator: str, column: int) -> str:
    cell = driver.find_element(By.CSS_SELECTOR, f"#compare-row-{indicator} td:nth-of-type({column})")
    return cell.find_element(By.CSS_SELECTOR, ".visually-hidden").get_attribute("textContent")


def choose(driver, measure: str) -> None:
    """Pick a measure in the page's radio group, as a user clicks it."""
    radio = driver.find_element(By.CSS_SELECTOR, f"#compare-measure input[value='{measure}']")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});", radio)
    driver.execute_script("arguments[0].click();", radio)


@pytest.mark.login("vsv")
def test_the_vsv_compare_matrix_fits_1440_and_switches_its_measure(browser, app_url, planted_database, artifacts,
                                                                   screen) -> None:
    engine = get_engine(planted_database[0])
    viewer = Viewer("vsv", vsv_code="V01")
    screen(DESKTOP)
    open_page(browser, f"{app_url}/vergelijken", expected_language="nl")
    wait_for_parts(browser, ["#compare-matrix tbody tr"])

    # The VSV's own column and national first, then every member; every indicator of the VSV's overview.
    headers = matrix_headers(browser)
    assert headers[:3] == ["Indicator", "VSV Rivierenland", "Landelijk"]
    assert sorted(headers[3:]) == sorted(f"{name} ({'Ziekenhuis' if code[0] == 'H' else 'Verloskundigenpraktijk'})"
                                         for code, name in VSV_MEMBERS.items())
    assert shown_headers(browser)[0] == "Rivierenland / VSV"  # the name without its type, over its type
    own = {row["indicator"]["id"]: row for row in engine.overview(viewer, {}, org_code="V01")["rows"]}
    rows = browser.find_elements(By.CSS_SELECTOR, "#compare-matrix tbody tr")
    assert [row.find_element(By.TAG_NAME, "th").text for row in rows] == [
        row["indicator"]["name_nl"] for row in own.values()]

    # Each cell: the engine's rate with its verdict in a short word, the verdict in full for a screen reader.
    member = {row["indicator"]["id"]: row["organisation"]
              for row in engine.overview(viewer, {}, org_code="H0001")["rows"]}["caesarean"]
    column = 1 + headers[1:].index(VSV_MEMBERS["H0001"] + " (Ziekenhuis)")
    mark = {"alert": " !", "alarm": " !!", None: ""}[member["flag"]]
    shown = f"{dutch_rate(member['rate'])} {VERDICT_SHORT[member['verdict']]}{mark}"
    assert matrix_cell(browser, "caesarean", column) == shown
    assert spoken(browser, "caesarean", column).endswith(
        f"t.o.v. alle ziekenhuizen: {dutch_rate(member['judgement']['centre'])}")
    vsv = own["caesarean"]["organisation"]
    assert matrix_cell(browser, "caesarean", 1).startswith(dutch_rate(vsv["rate"]))
    assert "t.o.v. alle VSV's" in spoken(browser, "caesarean", 1)
    assert browser.find_elements(By.ID, "compare-legend")

    # It fits: no wider than its box, the box no wider than the page, and the page no wider than the window.
    matrix, box = (browser.execute_script(f"return document.querySelector('{selector}').getBoundingClientRect()"
                                          ".width") for selector in ("#compare-matrix", "#compare .matrix-scroll"))
    assert matrix <= box + 0.5 and widths(browser)[0] <= DESKTOP["width"]
    page_screenshot(browser, artifacts / "compare-matrix-1440.png")

    # Scrolling down keeps the column names in view.
    browser.execute_script("document.querySelector('#compare-matrix').scrollIntoView({block: 'start', "
                           "behavior: 'instant'}); window.scrollBy({top: 500, behavior: 'instant'});")
    header_top, table_top = browser.execute_script(
        "return [document.querySelector('#compare-matrix thead th:nth-child(2)').getBoundingClientRect().top, "
        "document.querySelector('#compare-matrix').getBoundingClientRect().top]")
    assert table_top < -100 and -1 <= header_top <= 1

    # O/E: the engine's adjusted answer for the member, with the verdict of the O/E funnel; kept in the address.
    choose(browser, "oe")
    WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".compare-matrix-oe"))
    wait_until_rendered(browser)
    assert parse_qs(urlparse(browser.current_url).query)["measure"] == ["oe"]
    adjusted = next(row for row in engine.adjusted("caesarean", "hospital", viewer, {})["rows"]
                    if row["org_code"] == "H0001")
    assert matrix_cell(browser, "caesarean", column).startswith(f"{adjusted['ratio']:.2f}".replace(".", ","))
    assert spoken(browser, "caesarean", column).startswith(
        f"O/E {adjusted['ratio']:.2f} (95%-BI {adjusted['ratio_low']:.2f}–".replace(".", ","))
    assert matrix_cell(browser, "preterm", column) == "n.v.t."  # not adjusted for case mix
    browser.execute_script("window.scrollTo(0, 0)")
    page_screenshot(browser, artifacts / "compare-matrix-oe-1440.png")
    assert matrix_headers(browser) == headers

    # The full table, one click away; a copied link opens the same choice.
    choose(browser, "full")
    WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#compare-grid .ag-row"))
    assert browser.find_element(By.ID, "compare-grid").is_displayed()
    assert not browser.find_elements(By.ID, "compare-matrix")
    assert parse_qs(urlparse(browser.current_url).query)["measure"] == ["full"]
    open_page(browser, f"{app_url}/vergelijken?measure=oe", expected_language="nl")
    wait_for_parts(browser, [".compare-matrix-oe tbody tr"])
    assert not browser.find_element(By.ID, "compare-full").is_displayed()
    assert console_errors(browser) == []


@pytest.mark.login("vsv")
def test_columns_are_named_by_what_they_show(browser, app_url, planted_database) -> None:
    _, planted = planted_database
    # The VSV looking at a member: the member's name, not "Eigen organisatie".
    open_page(browser, f"{app_url}/mijn-organisatie?org={planted.hospital}", expected_language="nl")
    wait_for_parts(browser, ["#overview-table"])
    headers = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "#overview-table thead th")]
    assert headers[:4] == ["Indicator", planted.hospital_name, "VSV", "Landelijk"]
    assert "Eigen organisatie" not in browser.find_element(By.ID, "main-content").text

    # The VSV's own overview: its own figures are the VSV's, and the page says so.
    open_page(browser, f"{app_url}/mijn-organisatie", expected_language="nl")
    wait_for_parts(browser, ["#overview-table"])
    headers = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "#overview-table thead th")]
    assert headers[:3] == ["Indicator", "VSV Rivierenland", "Landelijk"]
    assert "uw VSV" in text_of(browser, "overview-intro") and "naast uw VSV" not in text_of(browser, "overview-intro")

    # The detail page of the VSV: one row for the VSV, not a second "VSV: …" repeating it.
    open_page(browser, f"{app_url}/indicator/caesarean", expected_language="nl")
    wait_for_parts(browser, ["#detail-summary-table"])
    labels = [row[0] for row in table_rows(browser, "detail-summary-table")]
    assert labels[0] == "VSV Rivierenland" and not any(label.startswith("VSV:") for label in labels)

    # Data quality of a member names the member's column.
    open_page(browser, f"{app_url}/datakwaliteit?org={planted.practice}", expected_language="nl")
    wait_until_rendered(browser)
    if browser.find_elements(By.ID, "completeness-table"):
        headers = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "#completeness-table thead th")]
        assert headers[2] == planted.practice_name
    assert "Eigen organisatie" not in browser.find_element(By.ID, "main-content").text


@pytest.mark.login("admin")
def test_an_administrator_reads_the_organisation_name_not_own(browser, app_url, planted_database) -> None:
    _, planted = planted_database
    open_page(browser, f"{app_url}/mijn-organisatie?org={planted.hospital}&lang=en", expected_language="en")
    wait_for_parts(browser, ["#overview-table"])
    headers = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "#overview-table thead th")]
    assert headers[1] == planted.hospital_name and "Own organisation" not in headers
    assert ACCOUNTS["admin"].org_code is None  # the administrator has no organisation of its own


# The bar: a VSV of twelve members fits 1440 px. The demo VSV has four; this database gives it eight more
# practices with long names and births of their own.
EXTRA_PRACTICES = 8


@pytest.fixture(scope="module")
def twelve_members_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('twelve-members') / 'demo.db'}"
    engine = make_engine(url)
    fill_demo_database(engine)
    codes = [f"P01{number:02d}" for number in range(EXTRA_PRACTICES)]
    random = np.random.default_rng(5)
    with engine.begin() as connection:
        connection.execute(insert(organisations), [
            {"org_code": code, "name": f"Verloskundigenpraktijk De Lange Naam {number + 1}", "org_type": "practice",
             "vsv_code": "V01", "hospital_codes": "H0001"} for number, code in enumerate(codes)])
        connection.execute(insert(births), [row for number, code in enumerate(codes)
                                            for row in demo_births(random, 60, first_id=10_000 + number * 100,
                                                                   months=MONTHS, practices=(code,))])
        # the version holds these births too: the store serves a version only whole (queries.store guard)
        connection.execute(update(data_versions).values(
            births=select(func.count()).select_from(births).scalar_subquery()))
    add_accounts(engine, {"vsv": ACCOUNTS["vsv"]})
    engine.dispose()
    with serving(url) as base:
        yield base


@pytest.mark.login(None)
def test_twelve_members_fit_1440(browser, browser_login, twelve_members_url, artifacts, screen) -> None:
    browser_login(twelve_members_url, "vsv")
    screen(DESKTOP)
    for measure in ("rate", "oe"):
        open_page(browser, f"{twelve_members_url}/vergelijken?measure={measure}", expected_language="nl")
        wait_for_parts(browser, [f".compare-matrix-{measure} tbody tr"])
        headers = matrix_headers(browser)
        assert len(headers) == 1 + 2 + 4 + EXTRA_PRACTICES  # indicator, VSV, national, every member
        assert sum("De Lange Naam" in header for header in headers) == EXTRA_PRACTICES
        shown = shown_headers(browser)
        assert len(set(shown)) == len(shown)  # members stay apart in what their columns show
        matrix, box = (browser.execute_script(f"return document.querySelector('{selector}')"
                                              ".getBoundingClientRect().width")
                       for selector in ("#compare-matrix", "#compare .matrix-scroll"))
        assert matrix <= box + 0.5 and widths(browser)[0] <= DESKTOP["width"]
        # No cell's content runs out of its cell (a cut-off name or figure).
        overflowing = browser.execute_script("""
            return [...document.querySelectorAll('#compare-matrix th, #compare-matrix td')]
                .filter(cell => cell.scrollWidth > cell.clientWidth + 1).map(cell => cell.textContent).slice(0, 5);
        """)
        page_screenshot(browser, artifacts / f"compare-matrix-twelve-members-{measure}-1440.png")
        assert overflowing == []
