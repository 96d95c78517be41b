"""Provisional months in the browser: the overview's notice and the detail page's open markers, as the provider of a
practice whose May file has not arrived sees them (tests/provisional_world.py, a small database of its own: the demo
data's months are all closed), with axe-core finding nothing serious.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from app_server import serving
from provisional_world import OWN_NOTICE, PRACTICE, PRACTICE_NAME, publish_world
from selenium.webdriver.common.by import By

from auth.users import add_user
from tables.database import make_engine

from .conftest import PASSWORD, Account, BrowserLogin, log_in_through_the_form
from .helpers import axe_violations, console_errors, open_page, until_redrawn

ACCOUNT = Account("linde", "provider", "Lien Linde", org_code=PRACTICE)


@pytest.fixture(scope="module")
def provisional_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("provisional")
    url = f"sqlite:///{folder / 'provisional.db'}"
    engine = make_engine(url)
    with pytest.MonkeyPatch.context() as monkeypatch:  # the closing period, while the server loads the version
        publish_world(engine, folder / "deliveries", monkeypatch)
        add_user(engine, ACCOUNT.username, ACCOUNT.role, org_code=ACCOUNT.org_code,
                 display_name=ACCOUNT.display_name, password=PASSWORD, actor="tests")
        engine.dispose()
        with serving(url, quiet=True) as base:
            yield base


def test_the_notice_and_the_open_markers_of_a_provisional_month(browser, browser_login: BrowserLogin,
                                                                provisional_app: str, axe_source: str) -> None:
    browser_login.forget()
    log_in_through_the_form(browser, provisional_app, ACCOUNT)
    try:
        open_page(browser, f"{provisional_app}/mijn-organisatie")
        notice = until_redrawn(browser).until(lambda d: d.find_element(By.ID, "overview-provisional"))
        assert notice.is_displayed() and notice.get_attribute("role") == "note"
        assert f"{PRACTICE_NAME}: {OWN_NOTICE}" in notice.text
        assert axe_violations(browser, axe_source) == []

        open_page(browser, f"{provisional_app}/indicator/home_birth?grain=month")
        until_redrawn(browser).until(lambda d: d.find_element(By.ID, "detail-provisional"))
        # the chart's container is there before plotly has drawn its legend: wait for the words, not the box
        legend = until_redrawn(browser).until(
            lambda d: d.find_element(By.ID, "detail-trend-chart").text or None)
        assert "Voorlopige periode (open symbool)" in legend  # the legend entry
        symbols = browser.execute_script(
            "return document.getElementById('detail-trend-chart').querySelector('.js-plotly-plot')"
            ".data.filter(t => t.marker && Array.isArray(t.marker.symbol)).map(t => t.marker.symbol)")
        assert symbols and all(series == ["circle", "circle-open"] or series == ["square", "square-open"]
                               for series in symbols), symbols
        assert axe_violations(browser, axe_source) == []
        assert console_errors(browser) == []
    finally:
        browser_login.forget()
