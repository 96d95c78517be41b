"""The meeting report (`GET /api/v1/report`, reports/) as its readers get it: a PDF whose text names the VSV, every
member, every indicator, the target group and the data version, verdicts in words, page numbers; refused for an
organisation the user may not see; audited; and kept per data version, across processes (files), until a refresh
publishes a new one.

Real SQLite databases with hand-made births (tests/births_factory.py); the PDF is read back with pdftotext."""

from __future__ import annotations

import base64
import re
import subprocess
from pathlib import Path

import flask
import pytest
from births_factory import ORGANISATIONS, publish, random_births
from machine_needs import require_pdf_tools

import auth
from api import register_api
from api.routes import REPORT_CACHE_HEADER, REPORT_FOLDER_CONFIG_KEY
from auth import audit
from auth.tokens import create_token
from auth.users import User, add_user
from queries.catalogue import indicators_for
from queries.config import EngineConfig
from queries.engine import IndicatorEngine
from texts import code_label, text

NAMES = {org["org_code"]: org["name"] for org in ORGANISATIONS}
MEMBERS_OF_V02 = ("H002", "H003", "P002")
SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
PARITY = "parity=nulliparous"


def pdf_text(content: bytes, tmp_path: Path) -> str:
    """The PDF's text as pdftotext reads it, whitespace collapsed (a long name may wrap in a table cell)."""
    require_pdf_tools()
    path = tmp_path / "report.pdf"
    path.write_bytes(content)
    result = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True)
    return re.sub(r"\s+", " ", result.stdout)


def client_of(engine, user: User, folder: Path) -> flask.testing.FlaskClient:
    """A client of a new server (as another process would be: its own app and engine) with login, the API and the
    report folder `folder`, sending an API token of `user`."""
    server = flask.Flask(__name__)
    server.config["SECRET_KEY"] = "test"
    server.config[REPORT_FOLDER_CONFIG_KEY] = folder
    auth.install(server, engine)
    register_api(server, IndicatorEngine(engine, EngineConfig()))
    client = server.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {create_token(engine, user, 'test')}"
    return client


def account(engine, role: str, org_code: str | None, username: str | None = None) -> User:
    return add_user(engine, username or f"report-{role}-{org_code}", role, org_code=org_code,
                    display_name=f"Tester {role}")[0]


def client_as(engine, role: str, org_code: str | None, folder: Path, username: str | None = None
              ) -> flask.testing.FlaskClient:
    """A client of a new server as a new `role` user of `org_code`."""
    return client_of(engine, account(engine, role, org_code, username), folder)


@pytest.fixture
def database(sqlite_engine):
    # H002 (in V02) has a caesarean rate far above the others': an indicator in alert for a member.
    publish(sqlite_engine, random_births(900, seed=2, caesarean_rates=(0.12, 0.45, 0.12)))
    return sqlite_engine


def test_a_vsv_report_names_every_member_every_indicator_the_target_group_and_the_version(database, tmp_path):
    client = client_as(database, "vsv", "V02", tmp_path / "reports")
    # Exact limits (overdispersion=none): beside two other hospitals the automatic choice widens them for H002.
    response = client.get(f"/api/v1/report?org=V02&{PARITY}&period=2023-01..2023-03&overdispersion=none")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="perispiegel_vergaderrapport_V02_2023-01_2023-03_v1.pdf"')
    shown = pdf_text(response.data, tmp_path)
    for code in ("V02", *MEMBERS_OF_V02):
        assert NAMES[code] in shown, code
    assert NAMES["H001"] not in shown and NAMES["P001"] not in shown  # another VSV's members: not in the report
    for definition in indicators_for("vsv"):
        assert code_label("indicator_name", definition.id, "nl") in shown, definition.id
    assert "Pariteit: Nullipara" in shown and "januari 2023 – maart 2023" in shown
    assert "test (1) (versie 1," in shown
    assert "Tester vsv (report-vsv-v02)" in shown  # who generated it
    assert re.search(r"pagina 1 van (\d+)", shown) and re.search(r"pagina (\d+) van \1", shown)
    # Verdicts in words, never their codes; the flagged member's trend and funnel.
    assert code_label("verdict", "within", "nl") in shown and " within " not in shown
    assert "Sectio caesarea — Ziekenhuis Zuid " in shown and "Hoger · alarm (buiten 99,8%)" in shown
    assert text("report.trend_title", "nl") in shown and text("report.funnel_title", "nl") in shown
    keep_page_with(response.data, text("report.funnel_title", "nl"), tmp_path,
                   SCREENSHOTS / "meeting-report-flagged.png")


def keep_page_with(content: bytes, heading: str, tmp_path: Path, target: Path) -> None:
    """The first page of the PDF that shows `heading`, as a PNG at `target` (docs/screenshots: the browser test's
    demo VSV has no indicator in alert, this one has), to look at."""
    require_pdf_tools()
    path = tmp_path / "flagged.pdf"
    path.write_bytes(content)
    pages = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True,
                           text=True).stdout.split("\f")
    page = next(number for number, page_text in enumerate(pages, start=1) if heading in page_text)
    subprocess.run(["pdftoppm", "-r", "60", "-png", "-singlefile", "-f", str(page), "-l", str(page), str(path),
                    str(target.with_suffix(""))], check=True)


def test_the_same_report_in_english_as_an_html_page(database, tmp_path):
    client = client_as(database, "vsv", "V02", tmp_path / "reports")
    response = client.get("/api/v1/report?org=V02&lang=en&format=html&overdispersion=none")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert response.headers["Content-Disposition"].startswith('inline; filename="perispiegel_meeting-report_V02_')
    page = response.get_data(as_text=True)
    assert '<html lang="en">' in page and "Quality of care meeting report" in page
    # The charts: vector graphics (SVG) as images named by their caption.
    charts = re.findall(r'<img class="chart-svg" alt="([^"]+)" src="data:image/svg\+xml;base64,([^"]+)"', page)
    assert charts and all(alt.strip() for alt, _ in charts)
    assert all(base64.b64decode(data).lstrip().startswith(b"<svg") for _, data in charts)
    assert "all births (no further restriction)" in page and "Within expected range" in page


def test_a_providers_report_is_of_its_own_organisation_beside_its_vsv(database, tmp_path):
    client = client_as(database, "provider", "H001", tmp_path / "reports")
    response = client.get("/api/v1/report")
    assert response.status_code == 200
    shown = pdf_text(response.data, tmp_path)
    assert NAMES["H001"] in shown and f"VSV: {NAMES['V01']}" in shown
    assert not any(NAMES[code] in shown for code in ("H002", "H003", "P001", "P002"))
    for definition in indicators_for("hospital"):
        assert code_label("indicator_name", definition.id, "nl") in shown, definition.id


@pytest.mark.parametrize(("role", "own", "asked"), [
    ("provider", "H001", "H002"), ("provider", "H001", "V01"), ("vsv", "V02", "V01"), ("vsv", "V02", "H001"),
    ("researcher", None, "H001"),
])
def test_a_report_of_an_organisation_the_user_may_not_see_is_refused(database, tmp_path, role, own, asked):
    client = client_as(database, role, own, tmp_path / "reports")
    response = client.get(f"/api/v1/report?org={asked}")
    assert response.status_code == 403 and response.is_json
    assert asked in response.get_json()["error"]
    assert not (tmp_path / "reports").exists()  # nothing was made


def test_bad_parameters_are_400s_that_say_what_is_allowed(database, tmp_path):
    client = client_as(database, "vsv", "V02", tmp_path / "reports")
    for query, parameter in (("format=docx", "format"), ("lang=de", "lang"), ("overdispersion=x", "overdispersion"),
                             ("period=2023-13", "period"), ("colour=red", "colour")):
        response = client.get(f"/api/v1/report?{query}")
        assert response.status_code == 400 and response.get_json()["parameter"] == parameter, query
    researcher = client_as(database, "researcher", None, tmp_path / "reports")
    assert researcher.get("/api/v1/report").get_json()["parameter"] == "org"  # national: no organisation to report


def test_a_report_is_audited_like_an_export(database, tmp_path):
    client = client_as(database, "vsv", "V02", tmp_path / "reports", username="vsv-audited")
    assert client.get("/api/v1/report?org=H002&format=html").status_code == 200
    logged = [event for event in audit.recent(database, action="export") if "/api/v1/report" in event["target"]]
    assert len(logged) == 1 and logged[0]["actor"] == "vsv-audited" and "org=H002" in logged[0]["target"]


def test_reports_are_kept_per_data_version_until_a_refresh_publishes(database, tmp_path):
    folder = tmp_path / "reports"
    user = account(database, "vsv", "V02")
    client = client_of(database, user, folder)
    first = client.get(f"/api/v1/report?org=V02&{PARITY}")
    assert first.headers[REPORT_CACHE_HEADER] == "miss"
    stored = list((folder / "v1").glob("*.pdf"))
    assert len(stored) == 1 and stored[0].read_bytes() == first.data
    # Another server process (a second app and engine over the same database and folder) serves the same file.
    other_process = client_of(database, user, folder)
    again = other_process.get(f"/api/v1/report?org=V02&{PARITY}")
    assert again.headers[REPORT_CACHE_HEADER] == "hit" and again.data == first.data
    # Another question, language or user is another report.
    assert client.get(f"/api/v1/report?org=V02&{PARITY}&lang=en").headers[REPORT_CACHE_HEADER] == "miss"
    assert client.get("/api/v1/report?org=V02").headers[REPORT_CACHE_HEADER] == "miss"
    other_user = client_as(database, "vsv", "V02", folder, username="another-vsv-user")
    assert other_user.get(f"/api/v1/report?org=V02&{PARITY}").headers[REPORT_CACHE_HEADER] == "miss"
    # A refresh publishes version 2: the next request makes a new report that names it; version 1's are gone.
    publish(database, random_births(900, seed=3, caesarean_rates=(0.12, 0.45, 0.12)), data_version=2)
    newer = client.get(f"/api/v1/report?org=V02&{PARITY}")
    assert newer.headers[REPORT_CACHE_HEADER] == "miss" and newer.headers["X-Perispiegel-Data-Version"] == "2"
    assert 'filename="perispiegel_vergaderrapport_V02_2023-01_2023-03_v2.pdf"' in newer.headers["Content-Disposition"]
    assert "test (2) (versie 2," in pdf_text(newer.data, tmp_path)
    assert not (folder / "v1").exists() and len(list((folder / "v2").glob("*.pdf"))) == 1


def test_every_indicator_of_the_report_has_its_definition(database, tmp_path):
    client = client_as(database, "vsv", "V02", tmp_path / "reports")
    page = client.get("/api/v1/report?org=V02&format=html").get_data(as_text=True)
    for definition in indicators_for("vsv"):
        assert code_label("indicator_definition", definition.id, "nl").replace("'", "&#39;") in page, definition.id


def test_the_cover_says_when_it_was_made_with_its_zone_once(database, tmp_path):
    client = client_as(database, "vsv", "V02", tmp_path / "reports")
    page = client.get("/api/v1/report?org=V02&format=html").get_data(as_text=True)
    made = re.search(r'id="report-generated-at">\s*(\d\d-\d\d-\d{4} \d\d:\d\d (CES?T)( CES?T)?)\s*<', page)
    assert made and made.group(3) is None, made and made.group(0)  # "14:05 CET", not "CET CET"
    english = client.get("/api/v1/report?org=V02&format=html&lang=en").get_data(as_text=True)
    assert re.search(r'id="report-generated-at">\s*\d{4}-\d\d-\d\d \d\d:\d\d CES?T\s*<', english)


def test_a_report_of_a_period_outside_the_data_is_refused_and_one_reaching_beyond_is_cut(database, tmp_path):
    client = client_as(database, "vsv", "V02", tmp_path / "reports")
    # The data run from January to March 2023 (births_factory): a report of 2099 would be all "noemer < 10".
    outside = client.get("/api/v1/report?org=V02&period=2099")
    assert outside.status_code == 400 and outside.is_json
    answer = outside.get_json()
    assert answer["parameter"] == "period" and "no data in this period" in answer["error"]
    assert "2023-01" in answer["error"] and "2023-03" in answer["error"]
    assert not (tmp_path / "reports").exists()  # nothing was made
    # A period reaching beyond the data is the data's part of it, as on the pages: the cover says which months.
    beyond = client.get("/api/v1/report?org=V02&period=2022-06..2030-12&format=html")
    assert beyond.status_code == 200
    assert "januari 2023 – maart 2023" in beyond.get_data(as_text=True)
    assert "2030" not in beyond.headers["Content-Disposition"]


def test_the_cached_reports_follow_the_words_and_the_code_they_are_made_of():
    # A release that changes a text, or what the report asks the engine, makes new reports (the cache key holds a
    # fingerprint of the sources); a report kept from before would show the old words until the next refresh.
    from reports import cache

    root = Path(cache.__file__).resolve().parents[1]
    fingerprinted = {path.resolve().relative_to(root).as_posix() for path in cache.FINGERPRINTED_FILES}
    assert {"texts/nl.toml", "texts/en.toml", "queries/meeting_report.py", "reports/wording.py",
            "reports/templates/report/meeting.html"} <= fingerprinted
