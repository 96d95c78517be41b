"""Exports in the browser, as a researcher and as a provider would take them (tests/browser/conftest.py ACCOUNTS):
from the export page (preview, row count, the file) and from a chart's "download these figures". Every file is read
back with a real reader and compared with the engine's export answer for the same question; the researcher's
per-hospital rows carry pseudonyms, never a code or a name; the provider's downloaded funnel has the labels the
funnel on the screen has."""

from __future__ import annotations

import re
import time
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from queries.engine import get_engine
from queries.export_table import EXPORT_COLUMNS
from queries.scope import Viewer

from .demo_data import MONTHS
from .helpers import RENDER_TIMEOUT, axe_violations, full_page_screenshot, open_page, text_of
from .test_indicator_pages import click
from .test_roles import NAMES, PSEUDONYM, funnel_labels

DOWNLOAD_TIMEOUT = 60


@pytest.fixture
def indicators(planted_database):
    return get_engine(planted_database[0])


def saved_file(browser, link_id: str, folder: Path) -> Path:
    """Click a download link and wait for the file the page's script saves (its name comes from the server)."""
    link = browser.find_element(By.ID, link_id)
    browser.execute_script("arguments[0].removeAttribute('data-saved');", link)
    click(browser, link)
    name = WebDriverWait(browser, DOWNLOAD_TIMEOUT).until(lambda d: link.get_attribute("data-saved"))
    deadline = time.monotonic() + DOWNLOAD_TIMEOUT
    while time.monotonic() < deadline:
        path = folder / name
        if path.exists() and not list(folder.glob("*.crdownload")):
            return path
        time.sleep(0.1)
    raise AssertionError(f"{name} was not saved into {folder}")


def same_rows(read: pl.DataFrame, truth: pl.DataFrame) -> None:
    """The same rows and values (case-mix expected counts: float sums, equal to their last digits' order)."""
    assert_frame_equal(read, truth, check_exact=False, rel_tol=1e-12, abs_tol=0)


def engine_rows(engine, viewer: Viewer, **question) -> pl.DataFrame:
    return pl.concat(list(engine.export(viewer, question.pop("filters", {}), **question).chunks()))


@pytest.mark.login("researcher")
def test_a_researcher_exports_pseudonymised_hospitals_from_the_export_page(browser, app_url, indicators, downloads,
                                                                         artifacts, axe_source):
    open_page(browser, f"{app_url}/exporteren?period=2024", expected_language="nl")
    WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: d.find_elements(By.ID, "export-row-count"))
    # "period=2024" reaches beyond the data (January to June): the page cuts it to them and asks for that period.
    truth = engine_rows(indicators, Viewer("researcher"), filters={"period": f"{MONTHS[0]}..{MONTHS[-1]}"},
                        level="hospital")
    count = text_of(browser, "export-row-count")
    assert f"{truth.height:,}".replace(",", ".") in count and f"{len(EXPORT_COLUMNS)} kolommen" in count
    # The preview shows the file's first rows.
    preview = browser.find_elements(By.CSS_SELECTOR, "#export-preview-table tbody tr")
    assert len(preview) == min(10, truth.height)
    assert text_of(browser, "export-address").startswith("/api/v1/export?level=hospital")
    full_page_screenshot(browser, artifacts / "export-page-researcher.png")
    assert not [v for v in axe_violations(browser, axe_source) if v["impact"] in ("serious", "critical")]

    csv_path = saved_file(browser, "export-download-csv", downloads)
    assert re.fullmatch(rf"perispiegel_hospital_all-indicators_{MONTHS[0]}_{MONTHS[-1]}_[0-9a-f]{{8}}_v\d+\.csv",
                        csv_path.name)
    rows = pl.read_csv(csv_path, schema=truth.schema)
    same_rows(rows, truth)
    hospitals = rows.filter(row_kind="organisation")
    assert hospitals.height > 0 and hospitals["org_code"].null_count() == hospitals.height
    assert all(PSEUDONYM.fullmatch(label) for label in hospitals["org_label"])
    text = csv_path.read_text(encoding="utf-8")
    assert not any(name in text for name in NAMES.values()) and "H0001" not in text

    xlsx_path = saved_file(browser, "export-download-xlsx", downloads)
    workbook = openpyxl.load_workbook(xlsx_path, read_only=True)
    assert workbook.sheetnames[:2] == ["Gegevens", "Toelichting"]
    about = " ".join(str(cell) for row in workbook["Toelichting"].iter_rows(values_only=True) for cell in row if cell)
    assert "2024" in about and "Sectio caesarea" in about


@pytest.mark.login("provider")
def test_a_provider_downloads_the_funnel_it_sees(browser, app_url, indicators, downloads):
    open_page(browser, f"{app_url}/indicator/caesarean", expected_language="nl")
    WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: d.find_elements(By.ID, "detail-funnel-download-csv"))
    WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: d.execute_script(
        "const g = document.querySelector('#detail-funnel-chart .js-plotly-plot'); return g && g.data;"))
    on_screen = set(funnel_labels(browser))
    path = saved_file(browser, "detail-funnel-download-csv", downloads)
    truth = engine_rows(indicators, Viewer("provider", org_code="H0001"), indicators=["caesarean"],
                        level="hospital")
    rows = pl.read_csv(path, schema=truth.schema)
    same_rows(rows, truth)
    organisations = rows.filter(row_kind="organisation")
    own = organisations.filter(own=True).row(0, named=True)
    assert own["org_code"] == "H0001" and own["disclosure"] == "exact" and own["denominator"] > 0
    peers = organisations.filter(named=False)
    assert peers.height > 0 and set(peers["org_label"]) <= on_screen  # the chart's labels
    assert peers["numerator"].null_count() == peers.height


@pytest.mark.login("provider")
def test_a_refused_export_says_why_next_to_the_link(browser, app_url):
    open_page(browser, f"{app_url}/mijn-organisatie", expected_language="nl")
    link = WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: d.find_element(By.ID, "overview-download-csv"))
    # An address the provider may not ask for (another hospital): the page shows the server's reason.
    browser.execute_script("arguments[0].href = arguments[0].href.replace('org=H0001', 'org=H0002');", link)
    click(browser, link)
    progress = browser.find_element(By.CSS_SELECTOR, "#overview-download .export-progress")
    WebDriverWait(browser, RENDER_TIMEOUT).until(lambda d: progress.text)
    assert progress.text.startswith("Exporteren is niet gelukt") and "H0002" in progress.text
