"""The JSON API as a client sees it: answers with the data version, 400s that explain, login required.

(What each role may see through the API is tested in tests/test_auth_scope.py.)"""

from __future__ import annotations

import re

import flask
import polars as pl
import pytest
from births_factory import publish, random_births

import auth
from api import register_api
from auth.tokens import create_token
from auth.users import add_user
from queries.config import EngineConfig
from queries.engine import IndicatorEngine
from queries.scope import Viewer
from queries.store import STRATUM_COLUMN, population_column


def api_client(engine, role: str = "admin") -> flask.testing.FlaskClient:
    """A test client of a server with login and the API, sending a personal API token of a `role` user."""
    server = flask.Flask(__name__)
    server.config["SECRET_KEY"] = "test"
    auth.install(server, engine)
    register_api(server, IndicatorEngine(engine, EngineConfig()))
    user, _ = add_user(engine, f"api-{role}", role)
    client = server.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {create_token(engine, user, 'test')}"
    return client


@pytest.fixture
def client(sqlite_engine):
    publish(sqlite_engine, random_births(300, seed=2, caesarean_rates=(0.12, 0.40, 0.12)))
    return api_client(sqlite_engine)


@pytest.mark.parametrize("path", [
    "/api/v1/results?indicator=caesarean&level=hospital&period=2023-01..2023-12&parity=nulliparous",
    "/api/v1/funnel?indicator=caesarean&level=hospital&overdispersion=multiplicative",
    "/api/v1/trend?indicator=caesarean&grain=quarter&org=H001",
    "/api/v1/breakdown?indicator=caesarean&dimension=robson&org=H001",
    "/api/v1/adjusted?indicator=caesarean&level=hospital&overdispersion=none",
    "/api/v1/overview?org=H001&overdispersion=additive",
    "/api/v1/control-chart?indicator=caesarean&org=H002",
])
def test_every_question_answers_json_with_the_data_version(client, path):
    response = client.get(path)
    assert response.status_code == 200 and response.is_json
    body = response.get_json()
    assert body["data_version"]["number"] == 1 and body["data_version"]["label"] == "test (1)"
    assert body["viewer"]["role"] == "admin"


def test_results_has_rows_per_organisation_plus_national(client):
    body = client.get("/api/v1/results?indicator=caesarean&level=hospital&parity=nulliparous").get_json()
    assert body["filters"] == {"parity": "nulliparous"}
    assert sorted(row["org_code"] for row in body["rows"]) == ["H001", "H002", "H003"]
    assert body["national"]["denominator"] == sum(row["denominator"] for row in body["rows"])
    for row in body["rows"]:
        assert {"numerator", "denominator", "rate", "ci_low", "ci_high", "position", "suppressed"} <= set(row)


def test_researcher_view_anonymises_organisations(client, sqlite_engine):
    researcher = api_client(sqlite_engine, "researcher")
    body = researcher.get("/api/v1/results?indicator=caesarean&level=hospital").get_json()
    assert all(row["org_code"] is None and not row["named"] for row in body["rows"])
    assert "Ziekenhuis" not in str(body["rows"])
    refused = researcher.get("/api/v1/trend?indicator=caesarean&org=H001")
    assert refused.status_code == 403


def test_indicators_lists_the_catalogue_and_the_allowed_values(client):
    body = client.get("/api/v1/indicators").get_json()
    assert body["data_version"]["number"] == 1
    assert {"caesarean", "perinatal_mortality", "early_booking"} <= {i["id"] for i in body["indicators"]}
    assert body["dimensions"]["parity"]["values"] == ["nulliparous", "multiparous"]


@pytest.mark.parametrize(("query", "parameter", "allowed"), [
    ("indicator=caesarean&level=ward", "level", "practice, hospital, vsv"),
    ("indicator=csection&level=hospital", "indicator", "caesarean_ntsv"),
    ("level=hospital", "indicator", "caesarean"),
    ("indicator=caesarean&level=hospital&parity=first", "parity", "nulliparous, multiparous"),
    ("indicator=caesarean&level=hospital&period=2023-13", "period", "YYYY-MM"),
    ("indicator=caesarean&level=hospital&overdispersion=lots", "overdispersion",
     "auto, none, additive, multiplicative"),
    ("indicator=caesarean&level=hospital&colour=red", "colour", "indicator, level"),
    ("indicator=caesarean&level=hospital&as=provider", "as", "indicator, level"),
])
def test_bad_parameters_get_400_naming_the_parameter_and_allowed_values(client, query, parameter, allowed):
    response = client.get(f"/api/v1/results?{query}")
    assert response.status_code == 400
    body = response.get_json()
    assert body["parameter"] == parameter
    assert f"'{parameter}'" in body["error"] and allowed in body["error"]


def test_requests_without_a_token_are_refused_from_any_host(client):
    remote = {"REMOTE_ADDR": "192.0.2.10"}
    assert client.get("/api/v1/indicators", environ_base=remote).status_code == 200
    anonymous = {**remote, "HTTP_AUTHORIZATION": ""}
    response = client.get("/api/v1/indicators", environ_base=anonymous)
    assert response.status_code == 401 and response.get_json()["error"] == "login required"
    assert client.get("/api/v1/indicators", environ_base={**anonymous, "REMOTE_ADDR": "127.0.0.1"}).status_code == 401


def test_no_published_data_is_a_503_with_the_reason(tmp_path):
    from tables.database import make_engine

    response = api_client(make_engine(f"sqlite:///{tmp_path / 'empty.db'}")).get(
        "/api/v1/results?indicator=caesarean&level=hospital")
    assert response.status_code == 503 and "perispiegel load" in response.get_json()["error"]


def test_the_dashboard_server_answers_the_api_only_after_login_even_on_loopback(sqlite_engine):
    from app import create_app

    publish(sqlite_engine, random_births(200, seed=2))
    add_user(sqlite_engine, "anna", "provider", org_code="H001", password="correct horse battery")
    client = create_app(sqlite_engine.url.render_as_string(hide_password=False)).server.test_client()
    question = "/api/v1/results?indicator=caesarean&level=hospital"
    refused = client.get(question)  # the test client asks from 127.0.0.1: no demo admin there any more
    assert refused.status_code == 401 and refused.get_json()["error"] == "login required"

    login_page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', login_page).group(1)
    client.post("/login", data={"username": "anna", "password": "correct horse battery", "csrf_token": csrf})
    answer = client.get(question)
    assert answer.status_code == 200
    assert answer.json["viewer"] == {"role": "provider", "org_code": "H001", "vsv_code": None}


def test_the_api_gives_the_verdicts_the_dashboard_shows_and_says_how(client, sqlite_engine):
    """Overview, results, funnel and adjusted through the API carry the same verdict as the engine gives the
    dashboard for the same question, each with its comparator and method (default: overdispersion "auto")."""
    engine = IndicatorEngine(sqlite_engine, EngineConfig())
    admin = Viewer("admin")
    for code in ("H001", "H002", "H003"):
        overview = client.get(f"/api/v1/overview?org={code}").get_json()
        row = next(r for r in overview["rows"] if r["indicator"]["id"] == "caesarean")
        page = next(r for r in engine.overview(admin, org_code=code)["rows"] if r["indicator"]["id"] == "caesarean")
        assert row["organisation"]["verdict"] == page["organisation"]["verdict"]
        assert row["organisation"]["judgement"]["comparator"] == "hospital"
        assert row["organisation"]["judgement"]["requested"] == "auto"
        assert row["reference"]["label"] == "all_hospital"
    results = client.get("/api/v1/results?indicator=caesarean&level=hospital").get_json()
    funnel = client.get("/api/v1/funnel?indicator=caesarean&level=hospital").get_json()
    assert [r["verdict"] for r in results["rows"]] == [r["verdict"] for r in funnel["rows"]]
    assert results["judgement"] == funnel["judgement"] and results["judgement"]["method"] in ("exact", "additive")
    by_code = {r["org_code"]: r["verdict"] for r in results["rows"]}
    for code, verdict in by_code.items():
        overview = client.get(f"/api/v1/overview?org={code}").get_json()
        assert next(r for r in overview["rows"] if r["indicator"]["id"] == "caesarean")["organisation"][
            "verdict"] == verdict
    adjusted = client.get("/api/v1/adjusted?indicator=caesarean&level=hospital").get_json()
    assert adjusted["judgement"]["measure"] == "adjusted"
    # E comes from the strata's perturbed totals (docs/privacy.md): Σ E is Σ O give or take each stratum's noise —
    # at most 2 on its events and, through its perturbed births, at most 2 × its rate (≤ 1) more.
    observed, expected = (sum(r[name] for r in adjusted["rows"]) for name in ("numerator", "expected"))
    frame = engine.store.snapshot().frame
    strata = frame.filter(pl.col("hospital_code").is_not_null() & pl.col(population_column("caesarean")))[
        STRATUM_COLUMN].n_unique()
    assert abs(expected - observed) <= 4 * strata and expected != pytest.approx(observed, rel=1e-9)


def test_the_control_chart_answers_with_its_signals(client):
    body = client.get("/api/v1/control-chart?indicator=caesarean&org=H002").get_json()
    chart = body["chart"]
    assert body["series"]["org_code"] == "H002" and chart["method"] == "laney"
    assert [point["period"] for point in chart["points"]] == ["2023-01", "2023-02", "2023-03"]
    assert chart["enough_points"] is False  # three months: too few for limits that mean much


def test_no_control_chart_is_built_from_the_months_left_after_masking(client, sqlite_engine):
    """Masking counts of 1–4 keeps months by their own outcome: a chart of the rest would be biased, so the API
    (an export) gives none and says why; the dashboard, which does not mask, gives the chart with every month."""
    body = client.get("/api/v1/control-chart?indicator=caesarean&org=H001").get_json()
    trend = client.get("/api/v1/trend?indicator=caesarean&org=H001&grain=month").get_json()
    own = next(s for s in trend["series"] if s["kind"] == "organisation")["points"]
    assert any(point["suppression_reason"] == "count_masked" for point in own), "the data should mask a month"
    assert body["chart"] is None and body["withheld"] == "count_masked"
    dashboard = IndicatorEngine(sqlite_engine, EngineConfig()).control_chart("caesarean", Viewer("admin"),
                                                                             org_code="H001")
    assert dashboard["withheld"] is None and dashboard["chart"]["points_with_data"] == 3
