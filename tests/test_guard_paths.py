"""No page shell without login (issue 15): the guard lets through only the login and logout pages and their
stylesheet, by the view a *plain* path routes to — every other path, however it is written, gets the login page (a
person) or a 401 (a script), and a path under the API that no route has gets the API's JSON 404, never Dash's
page shell with its configuration. Sent over real HTTP exactly as written (http.client), with every method."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest
from app_server import serving
from births_factory import publish, random_births

from auth.tokens import create_token
from auth.users import add_user, get_user
from tables.database import make_engine

PASSWORD = "correct horse battery staple"
METHODS = ("GET", "HEAD", "OPTIONS", "POST")
# What Dash's page shell holds: its configuration and its renderer.
SHELL_MARKS = ("_dash-config", "dash-renderer", "_dash-renderer")
HOSTILE_PATHS = (
    "/auth/static//x", "/auth/static//etc/passwd", "/auth/static/../x", "/auth/static/%2e%2e/x",
    "/auth/static/%2E%2E/app.py", "/auth/static/..%2fapp.py", "/auth/static/%2fx", "/auth/static/.",
    "/auth/static/./auth.css", "/auth/static/x/../../", "/auth/static\\auth.css", "/auth/staticx",
    "/auth/static", "/auth/", "/auth", "/login/", "/login/x", "/login/../", "/login%2f..", "/logout/",
    "/logout/..", "/LOGIN", "/", "/x", "/mijn-organisatie", "/admin", "/account", "/_dash-layout",
    "/_dash-dependencies", "/_dash-update-component", "/assets/x", "/_reload-hash", "/api", "/api/v1",
    "/api/v1/", "/api/v1/x", "/api/v1//x", "/api/v1/../login", "/api/v1/%2e%2e/x", "/api/v2/x",
)

pytestmark = pytest.mark.xdist_group("guard_paths")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('guard') / 'perispiegel.db'}"
    engine = make_engine(url)
    publish(engine, random_births(50, seed=4))
    add_user(engine, "root", "admin", password=PASSWORD)
    token = create_token(engine, get_user(engine, username="root"), "guard test")
    engine.dispose()
    with serving(url, quiet=True) as base:
        yield urlparse(base).netloc, token


def send(host: str, method: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict, str]:
    connection = http.client.HTTPConnection(host, timeout=30)
    connection.putrequest(method, path, skip_accept_encoding=True)  # the path goes out exactly as written
    for name, value in {"Content-Length": "0", **(headers or {})}.items():
        connection.putheader(name, value)
    connection.endheaders()
    answer = connection.getresponse()
    body = answer.read().decode(errors="replace")
    connection.close()
    return answer.status, {name.lower(): value for name, value in answer.getheaders()}, body


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("path", HOSTILE_PATHS)
def test_no_anonymous_answer_holds_the_page_shell(world, path, method):
    host, _ = world
    status, headers, body = send(host, method, path)
    assert not any(mark in body for mark in SHELL_MARKS), (method, path, status)
    if path.rstrip("/") in ("/login", "/logout") and method in ("GET", "HEAD"):
        return  # werkzeug routes "/login/" to the login page itself (strict slashes redirect)
    assert status in (303, 308, 401, 404, 405), (method, path, status)
    if status == 303:
        assert urlparse(headers["location"]).path == "/login"
    if status == 401:
        assert headers["content-type"] == "application/json"


def test_the_login_page_and_its_stylesheet_stay_public(world):
    host, _ = world
    status, headers, body = send(host, "GET", "/login")
    assert status == 200 and 'name="csrf_token"' in body and not any(mark in body for mark in SHELL_MARKS)
    status, headers, body = send(host, "GET", "/auth/static/auth.css")
    assert status == 200 and headers["content-type"].startswith("text/css")
    assert send(host, "GET", "/logout")[0] == 303  # nobody to log out: to the login page


@pytest.mark.parametrize("path", ["/api/v1/x", "/api/v1//x", "/api/v1/%2e%2e/x", "/api/v1/indicators/../x",
                                  "/api/v2/x", "/api/v1/", "/api"])
@pytest.mark.parametrize("method", METHODS)
def test_a_token_on_an_unknown_api_path_gets_json_never_the_shell(world, path, method):
    host, token = world
    status, headers, body = send(host, method, path, {"Authorization": f"Bearer {token}"})
    assert not any(mark in body for mark in SHELL_MARKS), (method, path, status)
    if method == "OPTIONS" and status == 200:  # Flask's own answer to OPTIONS: the methods, no body
        assert body == "" and "allow" in headers
    else:
        assert status in (401, 404, 405) and (method == "HEAD" or headers["content-type"] == "application/json")
    bare_status, _, bare = send(host, method, path, {"Authorization": token})  # no "Bearer"
    assert bare_status == 401 and not any(mark in bare for mark in SHELL_MARKS)

