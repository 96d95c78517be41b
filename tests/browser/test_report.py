"""The meeting report as the VSV user gets it: from the VSV overview, one click on "Vergaderrapport (PDF)" gives an
A4 PDF naming every member, every indicator, the data version and the target group; its pages are kept as PNGs
under docs/screenshots/ (meeting-report-p1.png, ...). The same report as an HTML page passes axe-core.

The page's script fetches the report and saves it under the server's name, as it does an export (showing that it
is being made when that takes more than a second); the test reads the saved file.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from machine_needs import require_pdf_tools
from selenium.webdriver.common.by import By

from queries.catalogue import indicators_for
from texts import code_label

from .helpers import axe_violations, open_page, until_redrawn
from .test_exports import saved_file

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
MEMBERS = ("Ziekenhuis Kustzorg", "Verloskundigenpraktijk Zonnebloem")
TARGET_GROUP = "parity=nulliparous"


@pytest.mark.login("vsv")
def test_the_vsv_user_takes_the_meeting_report_from_the_overview(browser, app_url, planted_database, downloads):
    require_pdf_tools()
    _, planted = planted_database
    open_page(browser, f"{app_url}/mijn-organisatie?org=V01&{TARGET_GROUP}")
    link = until_redrawn(browser).until(lambda d: d.find_element(By.ID, "overview-report-link"))
    assert link.text == "Vergaderrapport (PDF)"
    href = link.get_attribute("href")
    assert "org=V01" in href and "parity=nulliparous" in href and "overdispersion=auto" in href and "lang=nl" in href
    pdf = saved_file(browser, "overview-report-link", downloads)
    assert re.fullmatch(r"perispiegel_vergaderrapport_V01_\d{4}-\d{2}_\d{4}-\d{2}_v1\.pdf", pdf.name)
    assert pdf.read_bytes().startswith(b"%PDF-")
    shown = re.sub(r"\s+", " ", subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                                               check=True, text=True).stdout)
    for name in ("VSV Rivierenland", planted.hospital_name, planted.practice_name, *MEMBERS):
        assert name in shown, name
    for definition in indicators_for("vsv"):
        assert code_label("indicator_name", definition.id, "nl") in shown, definition.id
    assert "Pariteit: Nullipara" in shown and "Victor Vsv (vsv-rivierenland)" in shown
    assert re.search(r"\(versie 1, gepubliceerd", shown)
    pages = int(re.search(r"pagina 1 van (\d+)", shown).group(1))
    assert f"pagina {pages} van {pages}" in shown
    # The pages, to look at: docs/screenshots/meeting-report-p1.png ...
    for old in SCREENSHOTS.glob("meeting-report-p*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(SCREENSHOTS / "meeting-report-p")], check=True)
    kept = sorted(SCREENSHOTS.glob("meeting-report-p*.png"))
    assert len(kept) == pages
    for path in kept:  # pdftoppm numbers with leading zeros when there are ten pages or more
        path.rename(SCREENSHOTS / f"meeting-report-p{int(path.stem.rsplit('-', 1)[1])}.png")


@pytest.mark.login("vsv")
@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_meeting_report_as_a_web_page_passes_axe(browser, app_url, axe_source, language):
    browser.get(f"{app_url}/api/v1/report?org=V01&{TARGET_GROUP}&format=html&lang={language}")
    assert browser.find_element(By.TAG_NAME, "h1").text in ("Vergaderrapport kwaliteit van zorg",
                                                           "Quality of care meeting report")
    assert browser.execute_script("return document.documentElement.lang") == language
    assert axe_violations(browser, axe_source) == []
