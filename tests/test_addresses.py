"""Bad addresses get clear answers from the server (issue 13): an unknown page is the app's "page not found" page with
status 404; under /api/ every answer is JSON, also for an unknown route (404) and a wrong method (405); the view
read from an address keeps what it left out (`IgnoredParameter`) and a period outside the data is put right
(`within_data`), so the page can say so. The messages as a user reads them: tests/browser/test_addresses.py.
"""

from __future__ import annotations

import re

import pytest
from births_factory import publish, random_births

from auth.users import add_user
from dashboards.view_state import IgnoredParameter, view_from_search, within_data
from queries.filters import PeriodOutsideData

PASSWORD = "correct horse battery"


@pytest.fixture
def client(sqlite_engine):
    from app import create_app

    publish(sqlite_engine, random_births(200, seed=2))
    add_user(sqlite_engine, "anna", "provider", org_code="H001", password=PASSWORD)
    client = create_app(sqlite_engine.url.render_as_string(hide_password=False)).server.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', login_page).group(1)
    client.post("/login", data={"username": "anna", "password": PASSWORD, "csrf_token": csrf})
    return client


@pytest.mark.parametrize("path", ["/nonexistent", "/nonexistent?lang=en", "/indicator/doesnotexist", "/404",
                                  "/mijn-organisatie/extra"])
def test_an_address_that_is_no_page_has_status_404(client, path):
    response = client.get(path)
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "dash-renderer" in response.get_data(as_text=True)  # the app's page, which renders "page not found"


@pytest.mark.parametrize("path", ["/", "/mijn-organisatie", "/mijn-organisatie/", "/indicator/caesarean",
                                  "/definities?lang=en", "/vergelijken"])
def test_every_page_has_status_200(client, path):
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/nonexistent", "/api/v1/results/extra", "/api/v2/overview", "/api/x",
                                  "/api/"])
def test_an_unknown_api_route_answers_json_404(client, path):
    response = client.get(path)
    assert response.status_code == 404 and response.is_json
    assert response.get_json()["error"].startswith("no such API route")


def test_a_wrong_method_on_an_api_route_answers_json_405(client):
    response = client.post("/api/v1/overview")
    assert response.status_code == 405 and response.is_json
    assert response.get_json()["error"] == "POST is not allowed on /api/v1/overview; allowed: GET, HEAD"
    assert "GET" in response.headers["Allow"]
    assert client.delete("/api/v1/nonexistent").get_json()["status"] == 404


def test_an_unknown_api_route_without_login_answers_json_401(sqlite_engine):
    from app import create_app

    publish(sqlite_engine, random_births(20, seed=1))
    response = create_app(sqlite_engine.url.render_as_string(hide_password=False)).server.test_client().get(
        "/api/v1/nonexistent")
    assert response.status_code == 401 and response.is_json


def test_published_at_carries_its_offset(client):
    published = client.get("/api/v1/indicators").get_json()["data_version"]["published_at"]
    assert published.endswith("+00:00")


def test_the_view_keeps_what_it_left_out_of_the_address():
    view = view_from_search("?org=no%20code&parity=bogus&period=2023-13&ses=3&robson=1,99")
    assert view.org_code is None
    assert view.ignored == (IgnoredParameter("org", "no code"), IgnoredParameter("period", "2023-13"),
                            IgnoredParameter("parity", "bogus"), IgnoredParameter("robson", "1,99"))
    assert view.query_string() == "?ses=3"  # what is left out is never written back
    assert view_from_search("?period=2024-01..2024-03&parity=nulliparous").ignored == ()


@pytest.mark.parametrize(("period", "kept_filter", "outside"), [
    ("2099", (None, None), PeriodOutsideData(("2099-01", "2099-12"), "2019-01", "2024-12", None)),
    ("2099-01..2099-12", (None, None), PeriodOutsideData(("2099-01", "2099-12"), "2019-01", "2024-12", None)),
    ("2010-Q1", (None, None), PeriodOutsideData(("2010-01", "2010-03"), "2019-01", "2024-12", None)),
    ("2018-06..2019-02", ("2019-01", "2019-02"),
     PeriodOutsideData(("2018-06", "2019-02"), "2019-01", "2024-12", ("2019-01", "2019-02"))),
    ("2018..2030", ("2019-01", "2024-12"),
     PeriodOutsideData(("2018-01", "2030-12"), "2019-01", "2024-12", ("2019-01", "2024-12"))),
    ("2019-01..2024-12", ("2019-01", "2024-12"), None),
    ("2021-Q2", ("2021-04", "2021-06"), None),
])
def test_a_period_outside_the_data_is_left_out_or_cut_to_the_data(period, kept_filter, outside):
    view, found = within_data(view_from_search(f"?period={period}&parity=nulliparous"), "2019-01", "2024-12")
    assert (view.filters.period_from, view.filters.period_to) == kept_filter
    assert found == outside
    assert view.filters.selections == (("parity", ("nulliparous",)),)
