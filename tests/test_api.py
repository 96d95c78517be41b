"""The JSON API as a client sees it: answers with the data version, 400s that explain, loopback only."""

from __future__ import annotations

import flask
import pytest
from births_factory import publish, random_births

from api import register_api
from queries.config import EngineConfig
from queries.engine import IndicatorEngine


@pytest.fixture
def client(sqlite_engine):
    publish(sqlite_engine, random_births(300, seed=2, caesarean_rates=(0.12, 0.40, 0.12)))
    server = flask.Flask(__name__)
    register_api(server, IndicatorEngine(sqlite_engine, EngineConfig()))
    return server.test_client()


@pytest.mark.parametrize("path", [
    "/api/v1/results?indicator=caesarean&level=hospital&period=2023-01..2023-12&parity=nulliparous",
    "/api/v1/funnel?indicator=caesarean&level=hospital&overdispersion=multiplicative",
    "/api/v1/trend?indicator=caesarean&grain=quarter&org=H001",
    "/api/v1/breakdown?indicator=caesarean&dimension=robson&org=H001",
    "/api/v1/adjusted?indicator=caesarean&level=hospital",
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


def test_researcher_view_anonymises_organisations(client):
    body = client.get("/api/v1/results?indicator=caesarean&level=hospital&as=researcher").get_json()
    assert all(row["org_code"] is None and not row["named"] for row in body["rows"])
    assert "Ziekenhuis" not in str(body["rows"])
    refused = client.get("/api/v1/trend?indicator=caesarean&org=H001&as=researcher")
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
    ("indicator=caesarean&level=hospital&overdispersion=lots", "overdispersion", "multiplicative, additive"),
    ("indicator=caesarean&level=hospital&colour=red", "colour", "indicator, level"),
    ("indicator=caesarean&level=hospital&as=provider", "as", "admin, researcher"),
])
def test_bad_parameters_get_400_naming_the_parameter_and_allowed_values(client, query, parameter, allowed):
    response = client.get(f"/api/v1/results?{query}")
    assert response.status_code == 400
    body = response.get_json()
    assert body["parameter"] == parameter
    assert f"'{parameter}'" in body["error"] and allowed in body["error"]


def test_requests_from_other_hosts_are_refused(client):
    response = client.get("/api/v1/indicators", environ_base={"REMOTE_ADDR": "192.0.2.10"})
    assert response.status_code == 403 and "loopback" in response.get_json()["error"]
    assert client.get("/api/v1/indicators", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200


def test_no_published_data_is_a_503_with_the_reason(tmp_path):
    from tables.database import make_engine

    server = flask.Flask(__name__)
    register_api(server, IndicatorEngine(make_engine(f"sqlite:///{tmp_path / 'empty.db'}"), EngineConfig()))
    response = server.test_client().get("/api/v1/results?indicator=caesarean&level=hospital")
    assert response.status_code == 503 and "perispiegel load" in response.get_json()["error"]
