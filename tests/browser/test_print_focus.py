"""Pages on paper, the collapsed filter panel and where the keyboard is, in headless Chromium.

Printing: every page of the navigation, an indicator's detail page and compare, as a provider and as a VSV, printed
to an A4 PDF with Chromium's own print (which fires `beforeprint`, as a person's Ctrl+P does). Two checks that a
chart cut off at the right fails:
- the print layout (print media emulated, `beforeprint` fired as Chromium does): no chart wider than the printable
  width of A4 (plotly draws its SVG at a fixed size; assets/perispiegel.js redraws it before printing);
- the PDF (pdftotext -bbox): printed at full size, not shrunk to fit something too wide (Chromium then scales the
  whole page down and still cuts the chart off), and no word beyond the page's printable area.
Also under print media: no chart toolbar, the filter panel as its one-line summary, chart tables open with rows.
The first page of a few printouts is kept as PNG in tests/artifacts/.

The filter panel: collapsed on load (the summary and "Wijzig"), opened by "Wijzig"; at 1440 × 900 the results
start within the first screen. Focus: after following a navigation link the new page's heading has focus (not after
opening a page from the address bar); every kind of control shows a ring of at least 2px whose colour has at least
3:1 contrast against the background around it, computed here from the browser's computed colours.
"""

from __future__ import annotations

import base64
import re
import subprocess
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from machine_needs import require_pdf_tools
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.common.print_page_options import PrintOptions
from selenium.webdriver.support.ui import Select, WebDriverWait

from .helpers import RENDER_TIMEOUT, open_filter_panel, open_page, text_of, until_redrawn, wait_until_rendered
from .test_indicator_pages import PAGES as INDICATOR_PAGES
from .test_indicator_pages import wait_for_parts

A4_MM = (210, 297)
MARGIN_MM = 12  # assets/print.css, @page
MM_PER_INCH = 25.4
PRINTABLE_WIDTH_PX = (A4_MM[0] - 2 * MARGIN_MM) / MM_PER_INCH * 96  # CSS pixels: 703
PAGE_TITLE_PT = 16  # the h1's size on paper (assets/print.css)
KEPT_PNG = {("provider", "/mijn-organisatie"), ("vsv", "/indicator/caesarean"), ("vsv", "/vergelijken")}
OTHER_PAGES = ["/indicator/caesarean", "/vergelijken"]  # beside the navigation's


def navigation_paths(driver) -> list[str]:
    return [urlparse(link.get_attribute("href")).path
            for link in driver.find_elements(By.CSS_SELECTOR, ".site-nav a.nav-link")]


def wait_for_page(driver, path: str) -> None:
    wait_until_rendered(driver)
    for page_path, parts, _ in INDICATOR_PAGES.values():
        if page_path == path:
            wait_for_parts(driver, parts)
    WebDriverWait(driver, RENDER_TIMEOUT).until(lambda d: d.execute_script(
        "return [...document.querySelectorAll('.js-plotly-plot')].every(chart => chart._fullLayout)"))


def print_layout(driver) -> dict:
    """What the page looks like in its print layout: print media emulated and `beforeprint` fired, as Chromium
    does before it prints; undone afterwards."""
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        return driver.execute_script("""
            window.dispatchEvent(new Event('beforeprint'));
            const shown = element => element.getClientRects().length > 0
                && getComputedStyle(element).visibility !== 'hidden';
            const details = [...document.querySelectorAll('details.chart-table')];
            const result = {
                charts: [...document.querySelectorAll('.js-plotly-plot')].map(
                    chart => chart.querySelector('.main-svg').getBoundingClientRect().width),
                toolbars: [...document.querySelectorAll('.modebar, .modebar-container')].filter(shown).length,
                fields: [...document.querySelectorAll('#filter-fields, #filter-toggle, #filter-apply')]
                    .filter(shown).length,
                summary: (document.getElementById('active-filters') || {}).innerText || null,
                summaryShown: !!document.getElementById('active-filters')
                    && shown(document.getElementById('active-filters')),
                navigation: [...document.querySelectorAll('.site-nav')].filter(shown).length,
                tables: details.map(d => [d.open, d.querySelectorAll('tbody tr').length]),
            };
            window.dispatchEvent(new Event('afterprint'));
            return result;
        """)
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
        # `afterprint` draws the charts again at the window's width (asynchronously): wait until they are back.
        WebDriverWait(driver, RENDER_TIMEOUT).until(lambda d: d.execute_script("""
            return [...document.querySelectorAll('.js-plotly-plot')].every(
                chart => Math.abs(chart._fullLayout.width - chart.clientWidth) <= 1)"""))
        time.sleep(0.3)  # plotly's resize settles on a timer


def printed_pdf(driver, path: Path) -> Path:
    options = PrintOptions()
    options.page_width, options.page_height = A4_MM[0] / 10, A4_MM[1] / 10  # centimetres
    path.write_bytes(base64.b64decode(driver.print_page(options)))
    return path


def pdf_words(pdf: Path) -> list[tuple[int, float, float, float, float, str]]:
    """Every word of the PDF with its page and box in points (pdftotext -bbox)."""
    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    words, page = [], 0
    for line in html.splitlines():
        if "<page " in line:
            page += 1
        match = re.search(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<', line)
        if match:
            words.append((page, *map(float, match.groups()[:4]), match.group(5)))
    return words


@pytest.mark.parametrize("role", ["provider", "vsv"])
def test_every_page_prints_on_a4_with_charts_that_fit_and_without_the_controls(browser, app_url, artifacts, sign_in,
                                                                                role, tmp_path) -> None:
    require_pdf_tools()
    sign_in(role)
    open_page(browser, app_url + "/", expected_language="nl")
    paths = navigation_paths(browser) + OTHER_PAGES
    assert len(paths) >= 6
    page_width_pt = A4_MM[0] / MM_PER_INCH * 72
    margin_pt = MARGIN_MM / MM_PER_INCH * 72
    for path in paths:
        open_page(browser, app_url + path, expected_language="nl")
        wait_for_page(browser, path)
        title = browser.find_element(By.TAG_NAME, "h1").text
        layout = print_layout(browser)
        assert all(width <= PRINTABLE_WIDTH_PX for width in layout["charts"]), (path, layout["charts"])
        assert layout["toolbars"] == 0 and layout["navigation"] == 0, path
        if browser.find_elements(By.ID, "filters"):
            assert layout["fields"] == 0 and layout["summaryShown"], path
            assert layout["summary"] == text_of(browser, "active-filters")
        assert all(opened and rows > 0 for opened, rows in layout["tables"]), (path, layout["tables"])
        if path == "/indicator/caesarean":
            assert len(layout["charts"]) >= 4 and len(layout["tables"]) >= 4

        pdf = printed_pdf(browser, tmp_path / "page.pdf")
        words = pdf_words(pdf)
        first_word = title.split()[0]
        heading = next(word for word in words if word[5] == first_word)
        # Printed at full size: Chromium shrinks a whole page whose content is wider than the paper (a chart, the
        # compare page's matrix), and still cuts a wider chart off.
        assert heading[4] - heading[2] >= PAGE_TITLE_PT, (path, heading)
        beyond = [word for word in words if word[3] > page_width_pt - margin_pt + 3]  # 3pt: a glyph's bearing
        assert beyond == [], (path, beyond[:5])
        # The page as printed after printing: charts back at the window's width.
        assert browser.execute_script(
            "return [...document.querySelectorAll('details.chart-table .print-copy')].length") == 0
        if (role, path) in KEPT_PNG:
            name = f"print-{role}-{path.strip('/').replace('/', '-') or 'home'}"
            subprocess.run(["pdftoppm", "-r", "60", "-png", "-f", "1", "-l", "2", str(pdf),
                            str(artifacts / name)], check=True)


def test_the_filter_panel_is_one_line_until_wijzig_and_results_start_on_the_first_screen(browser, app_url,
                                                                                         planted_database) -> None:
    _, planted = planted_database
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": 1440, "height": 900, "deviceScaleFactor": 1, "mobile": False})
    try:
        for path in ("/mijn-organisatie", "/indicator/caesarean", "/vergelijken"):
            open_page(browser, f"{app_url}{path}?org={planted.hospital}", expected_language="nl")
            assert browser.execute_script("return window.innerHeight") == 900
            toggle = browser.find_element(By.ID, "filter-toggle")
            assert toggle.text == "Wijzig" and toggle.get_attribute("aria-expanded") == "false"
            assert toggle.get_attribute("aria-controls") == "filter-fields"
            assert not browser.find_element(By.ID, "filter-fields").is_displayed()
            assert text_of(browser, "active-filters") == "Alle kinderen in de gekozen periode."
            first_results = browser.execute_script(
                "return document.querySelector('#filters ~ .page-section, #filters ~ div > .page-section')"
                ".getBoundingClientRect().top")
            assert first_results < 900, (path, first_results)
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

    open_page(browser, f"{app_url}/mijn-organisatie?org={planted.hospital}", expected_language="nl")
    open_filter_panel(browser)
    assert browser.find_element(By.ID, "filter-toggle").get_attribute("aria-expanded") == "true"
    Select(browser.find_element(By.ID, "filter-period_to")).select_by_value("2024-04")
    browser.find_element(By.ID, "filter-apply").click()
    WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: "period=" in d.current_url)
    until_redrawn(browser).until(lambda d: "april 2024" in text_of(d, "active-filters"))
    until_redrawn(browser).until(lambda d: not d.find_element(By.ID, "filter-fields").is_displayed())
    assert browser.find_element(By.ID, "filter-toggle").get_attribute("aria-expanded") == "false"
    assert browser.switch_to.active_element.get_attribute("id") == "filter-toggle"


def test_after_following_a_link_focus_is_on_the_new_pages_heading(browser, app_url) -> None:
    open_page(browser, app_url + "/", expected_language="nl")
    assert browser.execute_script("return document.activeElement === document.body")  # from the address bar
    for link, title in (("nav-definitions", "Definities"), ("nav-data_quality", "Datakwaliteit en aanleveringen")):
        browser.find_element(By.ID, link).click()
        until_redrawn(browser).until(lambda d, title=title: d.find_element(By.TAG_NAME, "h1").text == title)
        WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d, title=title: d.execute_script(
            "return document.activeElement.tagName === 'H1' && document.activeElement.textContent") == title)


def relative_luminance(rgb: tuple[float, ...]) -> float:
    channels = [value / 255 for value in rgb[:3]]
    linear = [value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4 for value in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: tuple[float, ...], second: tuple[float, ...]) -> float:
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def colour(css: str) -> tuple[float, ...]:
    return tuple(float(part) for part in re.findall(r"[\d.]+", css))


FOCUS_RING = """
    const element = arguments[0];
    const style = getComputedStyle(element);
    let around = element.parentElement, background = 'rgb(255, 255, 255)';
    while (around) {  // the colour next to the ring: the first ancestor that paints a background
        const painted = getComputedStyle(around).backgroundColor;
        if (painted && painted !== 'transparent' && !/rgba\\(.*, 0\\)$/.test(painted)) { background = painted; break; }
        around = around.parentElement;
    }
    return {visible: element.matches(':focus-visible'), style: style.outlineStyle, width: style.outlineWidth,
            colour: style.outlineColor, background: background};
"""


def test_every_kind_of_control_shows_a_focus_ring_with_3_to_1_contrast(browser, app_url, planted_database) -> None:
    _, planted = planted_database
    open_page(browser, f"{app_url}/indicator/caesarean?org={planted.hospital}", expected_language="nl")
    wait_for_parts(browser, INDICATOR_PAGES["indicator"][1])
    controls = {
        "a navigation link": "#nav-definitions", "the header's language link": "#language-switch",
        "the header's dropdown": "#org-select", "a button": "#filter-toggle", "a link": "#detail-back",
        "a radio button": "#detail-grain input[type='radio']", "a summary": "details.chart-table summary",
        "a select": "#filter-parity",
    }
    open_filter_panel(browser)
    for name, selector in controls.items():
        element = browser.find_element(By.CSS_SELECTOR, selector)
        browser.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});", element)
        # Reach the control from the keyboard: focus what comes before it, then Tab.
        browser.execute_script("""
            const target = arguments[0];
            const focusable = [...document.querySelectorAll('a[href], button, select, input, summary, [tabindex="0"]')]
                .filter(e => e.getClientRects().length && !e.disabled);
            const before = focusable[focusable.indexOf(target) - 1];
            before.focus();""", element)
        browser.switch_to.active_element.send_keys(Keys.TAB)
        if element.get_attribute("type") == "radio":
            element = browser.switch_to.active_element  # Tab enters a radio group at its chosen option
        assert browser.switch_to.active_element == element, name
        ring = browser.execute_script(FOCUS_RING, element)
        assert ring["visible"] and ring["style"] != "none", (name, ring)
        assert float(ring["width"].removesuffix("px")) >= 2, (name, ring)
        assert contrast(colour(ring["colour"]), colour(ring["background"])) >= 3, (name, ring)
