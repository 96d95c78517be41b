"""The toolbar above every chart (issue 15), as drawn in Chromium: no "Share chart" (plotly's cloud button, which
would send the chart's data to an outside service), no logo, four buttons — save as PNG, zoom in, zoom out, the whole
chart — titled in the page's language. Looked at: tests/artifacts/chart-toolbar.png."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from .helpers import RENDER_TIMEOUT, open_page
from .test_indicator_pages import PAGES, wait_for_parts

DUTCH_TITLES = ["Opslaan als afbeelding (PNG)", "Inzoomen", "Uitzoomen", "Hele grafiek tonen"]
ENGLISH_TITLES = ["Save as image (PNG)", "Zoom in", "Zoom out", "Show the whole chart"]
EVERY_PAGE = ("/mijn-organisatie", "/indicator/caesarean", "/indicator/pph", "/vergelijken", "/datakwaliteit",
              "/definities", "/export")

CHARTS = """
return Array.from(document.querySelectorAll('.js-plotly-plot')).map(gd => ({
  id: gd.id,
  cloud: gd._context.showSendToCloud, studio: gd._context.showEditInChartStudio, logo: gd._context.displaylogo,
  buttons: Array.from(gd.querySelectorAll('.modebar-btn')).map(button => button.getAttribute('data-title')),
}));
"""


def charts(browser) -> list[dict]:
    return browser.execute_script(CHARTS)


@pytest.mark.parametrize("path", EVERY_PAGE)
def test_no_chart_offers_to_share_its_data(browser, app_url, path):
    open_page(browser, f"{app_url}{path}", expected_language="nl")
    if path.startswith("/indicator/"):
        wait_for_parts(browser, PAGES["indicator"][1])
    drawn = charts(browser)
    if path.startswith("/indicator/"):
        assert len(drawn) >= 3  # trend, funnel, breakdown (and the control chart)
    for chart in drawn:
        assert chart["cloud"] is False and not chart["studio"] and chart["logo"] is False, chart
        assert chart["buttons"] == DUTCH_TITLES, chart
    assert "showSendToCloud\":true" not in browser.page_source and "Share chart" not in browser.page_source


def test_the_toolbar_speaks_the_pages_language(browser, app_url, artifacts):
    open_page(browser, f"{app_url}/indicator/caesarean?lang=en", expected_language="en")
    wait_for_parts(browser, PAGES["indicator"][1])
    assert {tuple(chart["buttons"]) for chart in charts(browser)} == {tuple(ENGLISH_TITLES)}
    open_page(browser, f"{app_url}/indicator/caesarean?lang=nl", expected_language="nl")
    wait_for_parts(browser, PAGES["indicator"][1])
    chart = browser.find_element(By.ID, "detail-trend-chart")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", chart)
    ActionChains(browser).move_to_element(chart).perform()
    WebDriverWait(browser, RENDER_TIMEOUT).until(
        lambda driver: chart.find_element(By.CSS_SELECTOR, ".modebar-container").is_displayed())
    save = chart.find_element(By.CSS_SELECTOR, ".modebar-btn[data-title='Opslaan als afbeelding (PNG)']")
    ActionChains(browser).move_to_element(save).perform()
    chart.screenshot(str(artifacts / "chart-toolbar.png"))
    assert len(chart.find_elements(By.CSS_SELECTOR, ".modebar-btn")) == 4
