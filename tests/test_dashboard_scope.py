"""Crafted Dash callback requests: a logged-in provider posts to `/_dash-update-component` what the browser would
post, but with another organisation's code. The answer must hold none of that organisation's identified numbers
(compared with what the engine gives an admin for it) and not its name or code — the server shows the provider's
own view instead. Without a session every callback is a 401.

The app is the real one (app.create_app) on a real SQLite database with the browser tests' demo data
(tests/browser/demo_data.py): hospitals H0001 "Ziekenhuis Rivierenland" (the provider's own) and H0002
"Ziekenhuis Kustzorg" (the other), practices P0001 and P0002, all in VSV V01.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import flask
import pytest
from browser.demo_data import PLANTED, fill_demo_database

from auth.users import add_user
from queries.engine import get_engine
from queries.scope import Viewer
from tables.database import make_engine

PASSWORD = "a long enough password"
OWN, OTHER = PLANTED.hospital, "H0002"
OWN_NAME, OTHER_NAME = PLANTED.hospital_name, "Ziekenhuis Kustzorg"
CRAFTED = f"?org={OTHER}"
INDICATOR = "caesarean"
PAIR = re.compile(r"(\d[\d.]*) / (\d[\d.]*)")  # "numerator / denominator" as the pages write counts


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('dashboard-scope') / 'demo.db'}"
    engine = make_engine(url)
    fill_demo_database(engine)
    add_user(engine, "zorgverlener", "provider", org_code=OWN, password=PASSWORD)
    add_user(engine, "onderzoeker", "researcher", password=PASSWORD)
    engine.dispose()
    yield url


@pytest.fixture(scope="module")
def app(database_url: str):
    from app import create_app

    return create_app(database_url)


def logged_in(app, username: str) -> flask.testing.FlaskClient:
    client = app.server.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', login_page).group(1)
    answer = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf})
    assert answer.status_code == 303
    client.get("/")  # the first page request also lets Dash Pages register its router callback
    return client


@pytest.fixture(scope="module")
def provider(app) -> flask.testing.FlaskClient:
    return logged_in(app, "zorgverlener")


@pytest.fixture(scope="module")
def researcher(app) -> flask.testing.FlaskClient:
    return logged_in(app, "onderzoeker")


def _value(component: dict, search: str, path: str, indicator: str = INDICATOR) -> object:
    """What the browser would send for this input or state, with `search` as the view's query string."""
    values = {
        "view-search.data": search, "overview-request.data": search, "compare-request.data": search,
        "detail-request.data": {"search": search, "indicator": indicator}, "detail-indicator.data": indicator,
        "detail-grain.value": "month", "detail-overdispersion.value": "none", "detail-dimension.value": "parity",
        "compare-download-button.n_clicks": 1, "compare-grid.virtualRowData": None,
        "_pages_location.pathname": path, "_pages_location.search": search,
    }
    return values.get(f"{component['id']}.{component['property']}")


def callback_request(app, output: str, search: str, path: str = "/", indicator: str = INDICATOR) -> dict:
    """The JSON body of the callback whose outputs include `output` ("id.property"), as the renderer builds it."""
    key = next(key for key in app.callback_map if output in key)
    entry = app.callback_map[key]
    names = key.split("@")[0].strip(".").split("...")
    outputs = [dict(zip(("id", "property"), name.rsplit(".", 1), strict=True)) for name in names]
    return {
        "output": key,
        "outputs": outputs if key.startswith("..") else outputs[0],
        "inputs": [{**item, "value": _value(item, search, path, indicator)} for item in entry["inputs"]],
        "state": [{**item, "value": _value(item, search, path, indicator)} for item in entry["state"]],
        "changedPropIds": [f"{item['id']}.{item['property']}" for item in entry["inputs"]],
    }


def post(client, app, output: str, search: str = CRAFTED, path: str = "/", indicator: str = INDICATOR) -> str:
    answer = client.post("/_dash-update-component", json=callback_request(app, output, search, path, indicator))
    assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
    # Dash's JSON escapes "/" and "<" as \u002f and \u003c: read it back as plain text.
    return json.dumps(answer.get_json(), ensure_ascii=False)


def pairs(text: str) -> set[str]:
    return {f"{numerator} / {denominator}" for numerator, denominator in PAIR.findall(text)}


def cell_pairs(*cells: dict | None) -> set[str]:
    return {f"{cell['numerator']} / {cell['denominator']}" for cell in cells if cell}


@pytest.fixture(scope="module")
def numbers(database_url: str) -> dict[str, set[str]]:
    """The other hospital's identified counts (as an admin sees them), and every count the provider may see."""
    engine = get_engine(database_url)
    admin, own = Viewer("admin"), Viewer("provider", org_code=OWN)
    other_rows = engine.overview(admin, {}, org_code=OTHER)["rows"]
    own_rows = engine.overview(own, {}, org_code=OWN)["rows"]
    other_trend = engine.trend(INDICATOR, admin, {}, grain="month", org_code=OTHER)["series"]
    own_trend = engine.trend(INDICATOR, own, {}, grain="month", org_code=OWN)["series"]
    allowed = cell_pairs(*(row[part] for row in own_rows for part in ("organisation", "vsv", "national")))
    allowed |= cell_pairs(*(point for series in own_trend for point in series["points"]))
    other = cell_pairs(*(row["organisation"] for row in other_rows))
    other |= cell_pairs(*(point for series in other_trend if series["kind"] == "organisation"
                          for point in series["points"]))
    identified = other - allowed
    assert identified, "the other hospital's counts should differ from the provider's (else the test cannot fail)"
    return {"identified": identified, "allowed": allowed}


def assert_own_view_only(body: str) -> None:
    assert OTHER_NAME not in body and f'"{OTHER}' not in body and f"={OTHER}" not in body


def test_overview_callback_answers_with_the_providers_own_numbers(app, provider, numbers):
    body = post(provider, app, "overview-indicators-body.children")
    assert_own_view_only(body)
    assert pairs(body) and pairs(body) <= numbers["allowed"]
    assert not pairs(body) & numbers["identified"]


def output_text(body: str, component_id: str) -> str:
    """One output of a callback answer (a callback may fill several parts of a page at once)."""
    return json.dumps(json.loads(body)["response"][component_id], ensure_ascii=False)


@pytest.mark.parametrize("part", ["summary", "trend", "breakdown", "adjusted", "funnel"])
def test_detail_callbacks_answer_with_the_providers_own_view(app, provider, numbers, part):
    answer = post(provider, app, f"detail-{part}-body.children")
    assert_own_view_only(answer)
    body = output_text(answer, f"detail-{part}-body")
    if part == "funnel":
        # Peers are in the funnel, but only under a pseudonym: every label but the provider's own is one.
        labels = {label for trace in _figures(body) for label in _labels(trace)}
        assert OWN_NAME in labels and labels - {OWN_NAME}
        assert all(re.fullmatch(r"H-[0-9A-F]{8}", label) for label in labels - {OWN_NAME})
    else:
        assert not pairs(body) & numbers["identified"]
    if part in ("summary", "trend"):
        assert OWN_NAME in body


def test_the_detail_page_of_an_indicator_not_on_the_types_overview_says_so(provider, app):
    """A hospital on early booking (a practice's indicator, not on a hospital's overview): the summary says why
    there is no verdict, and every other part still answers (before, the whole page failed)."""
    answer = post(provider, app, "detail-summary-body.children", search=f"?org={OWN}", indicator="early_booking")
    assert "staat niet in het overzicht van ziekenhuizen" in output_text(answer, "detail-summary-body")
    assert "detail-funnel-chart" in output_text(answer, "detail-funnel-body")


def _figures(body: str) -> list[dict]:
    """Every plotly trace in a callback answer."""
    traces: list[dict] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("figure"), dict):
                traces.extend(node["figure"].get("data", []))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(body))
    return traces


def _labels(trace: dict) -> list[str]:
    return [row[0] for row in trace.get("customdata") or [] if isinstance(row, list) and row]


def test_compare_table_and_download_hold_the_providers_own_numbers(app, provider, numbers, database_url):
    body = post(provider, app, "compare-grid.rowData")
    assert_own_view_only(body)
    rows = json.loads(body)["response"]["compare-grid"]["rowData"]
    shown = {f"{row['org__numerator']} / {row['org__denominator']}" for row in rows}
    assert shown <= numbers["allowed"] and not shown & numbers["identified"]
    assert OWN_NAME in body

    download = post(provider, app, "compare-download.data")
    assert_own_view_only(download)
    file = json.loads(download)["response"]["compare-download"]["data"]
    assert file["filename"].startswith(f"perispiegel-{OWN}-")
    assert OWN_NAME in file["content"] and OTHER_NAME not in file["content"]


def test_the_download_is_in_the_audit_log(app, provider, database_url):
    from auth.audit import recent

    post(provider, app, "compare-download.data")
    [entry] = recent(make_engine(database_url), limit=1, action="download")
    assert entry["actor"] == "zorgverlener" and entry["target"].startswith(f"perispiegel-{OWN}-")


def test_the_data_quality_page_of_another_organisation_is_not_sent(app, provider):
    body = post(provider, app, "_pages_content.children", search=f"?org={PLANTED.practice}", path="/datakwaliteit")
    assert f"lvr2_{OWN}_2024-03.csv" in body  # the provider's own deliveries instead
    for other in (PLANTED.rejected_file, PLANTED.rejected_dossier, "lvr1_P0001", "Ooievaar"):
        assert other not in body


def test_a_researcher_asking_for_a_hospital_gets_national_figures_only(app, researcher, numbers):
    body = post(researcher, app, "overview-indicators-body.children", search=f"?org={OWN}")
    for name in (OWN_NAME, OTHER_NAME, OWN, OTHER):
        assert name not in body
    page = post(researcher, app, "_pages_content.children", search=f"?org={OWN}", path="/datakwaliteit")
    assert "dq-not-permitted" in page and "lvr2_" not in page and "lvr1_" not in page


def test_callbacks_without_a_session_get_401(app):
    anonymous = app.server.test_client()
    for output in ("overview-indicators-body.children", "detail-summary-body.children", "compare-grid.rowData",
                   "compare-download.data"):
        answer = anonymous.post("/_dash-update-component", json=callback_request(app, output, CRAFTED))
        assert answer.status_code == 401 and answer.get_json()["error"] == "login required"
        assert OTHER_NAME not in answer.get_data(as_text=True)
