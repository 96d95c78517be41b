"""Login as a user meets it, through the Flask test client on a real database: the guard, the login form,
sessions, throttling, password storage, API tokens, the admin page and the audit log."""

from __future__ import annotations

import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import flask
import pytest
from argon2 import PasswordHasher
from births_factory import publish, random_births
from sqlalchemy import Engine, select, text

import auth
from api import register_api
from auth.throttle import ACCOUNT_CEILING, ADDRESS_CEILING, FREE_FAILURES, login_throttle
from auth.users import add_user, get_user, grant, reset_password, set_active
from queries.config import EngineConfig
from queries.engine import IndicatorEngine
from tables.schema import api_tokens, audit_log, users

PASSWORD = "correct horse battery staple"
OTHER_HOST = {"REMOTE_ADDR": "192.0.2.44"}


def build_server(engine: Engine, **options: object) -> flask.Flask:
    """A Flask server with login and the API on `engine`, the way app.create_app sets them up."""
    server = flask.Flask(__name__)
    server.config["SECRET_KEY"] = "test-secret"
    auth.install(server, engine, **options)
    register_api(server, IndicatorEngine(engine, EngineConfig()))

    @server.get("/page")
    def page() -> str:  # stands in for a dashboard page
        return "<p>dashboard page</p>"

    @server.post("/_dash-update-component")
    def callback() -> dict:  # stands in for Dash's callback endpoint
        return {"viewer": auth.current_viewer().as_dict()}

    return server


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def log_in(client, username: str, password: str = PASSWORD, **form: str):
    token = csrf_of(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token, **form})


@pytest.fixture
def database(sqlite_engine: Engine) -> Engine:
    publish(sqlite_engine, random_births(200, seed=5))
    return sqlite_engine


@pytest.fixture
def server(database: Engine) -> flask.Flask:
    add_user(database, "Anna", "provider", org_code="H001", password=PASSWORD)
    add_user(database, "root", "admin", password=PASSWORD)
    return build_server(database)


def test_anonymous_requests_get_the_login_page_or_a_401(server):
    client = server.test_client()
    page = client.get("/page?org=H002")
    assert page.status_code == 303
    assert page.headers["Location"].startswith("/login?next=/page?org%3DH002")
    login_page = client.get(page.headers["Location"])
    assert login_page.status_code == 200 and 'type="password"' in login_page.get_data(as_text=True)
    for method, path in [("post", "/_dash-update-component"), ("get", "/_dash-layout"),
                         ("get", "/_dash-dependencies"), ("get", "/api/v1/indicators"), ("get", "/admin"),
                         ("get", "/account")]:
        response = getattr(client, method)(path, headers={"Accept": "application/json"})
        assert response.status_code in (401, 303), path
        assert "dashboard page" not in response.get_data(as_text=True)
    callback = client.post("/_dash-update-component", json={"output": "x"})
    assert callback.status_code == 401 and callback.get_json()["error"] == "login required"
    api = client.get("/api/v1/indicators")
    assert api.status_code == 401 and api.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/auth/static/auth.css").status_code == 200  # the login page's stylesheet


def test_login_page_is_bilingual_and_accessible(server):
    client = server.test_client()
    dutch = client.get("/login").get_data(as_text=True)
    assert '<html lang="nl">' in dutch and "Gebruikersnaam" in dutch and "Wachtwoord" in dutch
    assert '<label for="username">' in dutch and 'autocomplete="current-password"' in dutch
    english = client.get("/login?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in english and "Username" in english and "Log in" in english
    remember = re.search(r"<input[^>]*id=\"remember\"[^>]*>", dutch).group(0)
    assert "checked" not in remember  # remember-me is off unless the user ticks it


def test_login_needs_the_forms_csrf_token(server):
    client = server.test_client()
    client.get("/login")
    response = client.post("/login", data={"username": "anna", "password": PASSWORD, "csrf_token": "forged"})
    assert response.status_code == 400
    assert client.get("/page").status_code == 303  # still not logged in


def test_login_starts_a_new_session_with_safe_cookies(server):
    client = server.test_client()
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    before = client.get_cookie("perispiegel_session").value
    response = log_in(client, "ANNA ", next="/page?org=H001")
    assert response.status_code == 303 and response.headers["Location"] == "/page?org=H001"
    cookie = response.headers.getlist("Set-Cookie")[0]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert "perispiegel_remember" not in " ".join(response.headers.getlist("Set-Cookie"))
    assert client.get_cookie("perispiegel_session").value != before
    with client.session_transaction() as session:
        assert "planted" not in session
    assert client.get("/page").get_data(as_text=True) == "<p>dashboard page</p>"
    assert client.post("/_dash-update-component").get_json()["viewer"] == {
        "role": "provider", "org_code": "H001", "vsv_code": None}


def test_cookies_are_secure_over_https_and_remember_me_only_when_ticked(server):
    client = server.test_client()
    token = csrf_of(client.get("/login", base_url="https://localhost").get_data(as_text=True))
    response = client.post("/login", base_url="https://localhost",
                           data={"username": "anna", "password": PASSWORD, "csrf_token": token, "remember": "on"})
    cookies = response.headers.getlist("Set-Cookie")
    assert {cookie.split("=")[0] for cookie in cookies} == {"perispiegel_session", "perispiegel_remember"}
    assert all("; Secure" in cookie and "HttpOnly" in cookie for cookie in cookies)
    assert "Strict-Transport-Security" in response.headers


def test_login_redirects_only_within_the_site(server):
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        response = log_in(server.test_client(), "anna", next=target)
        assert response.status_code == 303 and response.headers["Location"] == "/"


def test_wrong_password_unknown_user_and_disabled_account_get_the_same_answer(server, database):
    add_user(database, "gone", "researcher", password=PASSWORD)
    set_active(database, "gone", False)
    answers = [log_in(server.test_client(), name, password) for name, password in
               [("anna", "wrong password!!"), ("nobody", PASSWORD), ("gone", PASSWORD)]]
    assert {answer.status_code for answer in answers} == {401}
    messages = {re.search(r'id="login-error">([^<]+)<', a.get_data(as_text=True)).group(1) for a in answers}
    assert messages == {"De combinatie van gebruikersnaam en wachtwoord is onjuist."}


def client_at(server: flask.Flask, address: str):
    client = server.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_throttling_per_account_and_address(server):
    attacker = client_at(server, "192.0.2.1")
    for _ in range(FREE_FAILURES):
        assert log_in(attacker, "anna", "wrong password!!").status_code == 401
    # The right password waits now from this address, with a clear message and Retry-After ...
    blocked = log_in(attacker, "anna", PASSWORD, lang="en")
    assert blocked.status_code == 429 and 1 <= int(blocked.headers["Retry-After"]) <= 30
    assert re.search(r"Too many failed login attempts\. Please try again in \d+ seconds\.",
                     blocked.get_data(as_text=True))
    # ... and not from another one (the account is not locked out), nor for another account here.
    assert log_in(client_at(server, "198.51.100.2"), "anna", PASSWORD).status_code == 303
    assert log_in(attacker, "root").status_code == 303


def test_throttling_per_address_for_unknown_users(server):
    client = client_at(server, "192.0.2.1")
    for number in range(ADDRESS_CEILING):
        assert log_in(client, f"guess{number}", "wrong password!!").status_code == 401
    assert log_in(client, "root").status_code == 429  # this address waits, whatever the account
    assert log_in(server.test_client(), "root").status_code == 303  # other addresses do not


def test_throttle_window_ends_fifteen_minutes_after_the_ceiling(database):
    start = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    with database.begin() as connection:
        for number in range(ACCOUNT_CEILING):
            connection.execute(audit_log.insert().values(at=start + timedelta(seconds=number), actor="anna",
                                                         action="login_failure", address=f"203.0.113.{number}"))
    throttle = login_throttle(database, "Anna", "198.51.100.7", now=start + timedelta(minutes=10))
    assert throttle.blocked and throttle.rule == "account" and throttle.retry_after == start + timedelta(minutes=15)
    assert not login_throttle(database, "anna", "198.51.100.7", now=start + timedelta(minutes=15, seconds=1)).blocked


def test_passwords_are_stored_as_argon2_hashes_only(server, database):
    with database.connect() as connection:
        stored = connection.execute(select(users.c.password_hash).where(users.c.username == "anna")).scalar_one()
        everything = str(connection.execute(text("select * from users")).all())
        audit = str(connection.execute(text("select * from audit_log")).all())
    assert stored.startswith("$argon2id$") and PASSWORD not in everything and PASSWORD not in audit
    assert PasswordHasher().verify(stored, PASSWORD)  # argon2's own verifier accepts it
    assert PASSWORD not in repr(get_user(database, username="anna"))


def browser_still_sends(cookie, after: timedelta) -> bool:
    """Whether a browser keeps `cookie` (set just now) for at least `after` (the test client ignores Expires)."""
    return cookie is not None and (cookie.expires is None or cookie.expires > datetime.now(UTC) + after)


def session_expired_rows(database: Engine, username: str) -> int:
    with database.connect() as connection:
        return len(connection.execute(select(audit_log.c.audit_id).where(
            audit_log.c.action == "session_expired", audit_log.c.actor == username)).all())


def test_idle_session_expires_after_the_configured_time(database):
    add_user(database, "anna", "provider", org_code="H001", password=PASSWORD)
    server = build_server(database, idle_timeout=timedelta(minutes=30))
    client = server.test_client()
    log_in(client, "anna")
    # The cookie outlives the idle timeout, so a browser coming back after 31 minutes still sends it and the
    # guard (not the browser) ends the session, with "expired" and an audit entry.
    assert browser_still_sends(client.get_cookie("perispiegel_session"), timedelta(minutes=31))
    with client.session_transaction() as session:
        session["last_seen"] = time.time() - 29 * 60
    assert client.get("/page").status_code == 200
    assert browser_still_sends(client.get_cookie("perispiegel_session"), timedelta(minutes=31))
    assert session_expired_rows(database, "anna") == 0
    with client.session_transaction() as session:
        session["last_seen"] = time.time() - 31 * 60
    expired = client.get("/page")
    assert expired.status_code == 303 and "reason=expired" in expired.headers["Location"]
    assert session_expired_rows(database, "anna") == 1
    assert client.get("/page").status_code == 303
    assert "Uw sessie is verlopen" in client.get(expired.headers["Location"]).get_data(as_text=True)
    english = client.get(expired.headers["Location"] + "&lang=en").get_data(as_text=True)
    assert "Your session expired after a period of inactivity" in english


def test_session_cookie_lifetime_is_configurable_and_longer_than_the_idle_timeout(database):
    add_user(database, "anna", "provider", org_code="H001", password=PASSWORD)
    server = build_server(database, idle_timeout=timedelta(minutes=30), session_lifetime=timedelta(hours=2))
    client = server.test_client()
    log_in(client, "anna")
    cookie = client.get_cookie("perispiegel_session")
    assert browser_still_sends(cookie, timedelta(minutes=110)) and not browser_still_sends(cookie, timedelta(hours=3))
    with pytest.raises(ValueError, match="longer than the idle timeout"):
        build_server(database, idle_timeout=timedelta(hours=1), session_lifetime=timedelta(minutes=30))


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("PERISPIEGEL_SESSION_IDLE_MINUTES", "-5", "PERISPIEGEL_SESSION_IDLE_MINUTES must be at least 1, got -5"),
    ("PERISPIEGEL_SESSION_IDLE_MINUTES", "half an hour", "must be a whole number, got 'half an hour'"),
    ("PERISPIEGEL_SESSION_LIFETIME_HOURS", "0", "PERISPIEGEL_SESSION_LIFETIME_HOURS must be at least 1, got 0"),
    ("PERISPIEGEL_REMEMBER_DAYS", "-1", "PERISPIEGEL_REMEMBER_DAYS must be at least 0, got -1"),
])
def test_a_login_setting_that_makes_no_sense_stops_the_server_with_its_name(database, monkeypatch, variable, value,
                                                                             message):
    # Before, a negative idle timeout was taken as it was: every session expired at its next request.
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=message):
        build_server(database)


def test_remember_me_logs_in_again_after_the_idle_timeout(database):
    add_user(database, "anna", "provider", org_code="H001", password=PASSWORD)
    server = build_server(database, idle_timeout=timedelta(minutes=30))
    client = server.test_client()
    log_in(client, "anna", remember="on")
    with client.session_transaction() as session:
        session["last_seen"] = time.time() - 31 * 60
        old_sid, old_csrf = session["sid"], session["csrf_token"]
    assert client.get("/page").status_code == 200  # as if the browser had come back with only the remember cookie
    with client.session_transaction() as session:
        assert session["sid"] != old_sid and session["csrf_token"] != old_csrf  # a new session all the same
    assert client.get_cookie("perispiegel_remember") is not None and session_expired_rows(database, "anna") == 0


def test_logout_needs_a_form_post_and_ends_the_session(server):
    client = server.test_client()
    log_in(client, "anna")
    confirm = client.get("/logout")
    assert confirm.status_code == 200 and client.get("/page").status_code == 200
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 400
    assert client.post("/logout", data={"csrf_token": csrf_of(confirm.get_data(as_text=True))}).status_code == 303
    assert client.get("/page").status_code == 303


def readable_cookies(server: flask.Flask, client) -> str:
    """What anyone holding the browser's cookies can read: the decoded session and the remember-me cookie."""
    serializer = server.session_interface.get_signing_serializer(server)
    session_data = serializer.loads(client.get_cookie("perispiegel_session").value)
    remember = client.get_cookie("perispiegel_remember")
    return json.dumps(session_data) + (unquote(remember.value) if remember else "")


def test_cookies_hold_no_part_of_the_password_hash(server, database):
    client = server.test_client()
    log_in(client, "anna", remember="on")
    with database.connect() as connection:
        stored = connection.execute(select(users.c.password_hash).where(users.c.username == "anna")).scalar_one()
    salt, digest = stored.split("$")[-2:]
    readable = readable_cookies(server, client)
    assert "_user_id" in readable and client.get_cookie("perispiegel_remember") is not None
    for part in (salt, digest):
        pieces = {part[start:start + 6] for start in range(len(part) - 5)}
        assert not [piece for piece in pieces if piece in readable]
    # A new password still ends the session and the remember-me cookie.
    remembered = server.test_client()
    remembered.set_cookie("perispiegel_remember", client.get_cookie("perispiegel_remember").value)
    assert remembered.get("/page").status_code == 200
    reset_password(database, "anna", "another long password")
    assert client.get("/page").status_code == 303
    remembered.delete_cookie("perispiegel_session")
    assert remembered.get("/page").status_code == 303


def parallel_logins(server: flask.Flask, attempts: list[tuple[str, str, str]]) -> list[int]:
    """POST every (address, username, password) to /login at the same moment, each from its own browser."""
    prepared = []
    for address, username, password in attempts:
        client = client_at(server, address)
        token = csrf_of(client.get("/login").get_data(as_text=True))
        prepared.append((client, {"username": username, "password": password, "csrf_token": token}))
    start = threading.Barrier(len(prepared))

    def attempt(client_and_form) -> int:
        client, form = client_and_form
        start.wait()
        return client.post("/login", data=form).status_code

    with ThreadPoolExecutor(max_workers=len(prepared)) as pool:
        return list(pool.map(attempt, prepared))


def audit_actions(database: Engine, column, value: str) -> list[str]:
    with database.connect() as connection:
        return list(connection.execute(select(audit_log.c.action).where(column == value)).scalars())


def test_parallel_wrong_passwords_are_throttled_per_account_and_address(engine):
    publish(engine, random_births(20, seed=2))
    add_user(engine, "anna", "provider", org_code="H001", password=PASSWORD)
    server = build_server(engine)
    statuses = parallel_logins(server, [("192.0.2.5", "anna", "wrong password!!") for _ in range(30)])
    assert set(statuses) <= {401, 429} and statuses.count(401) <= FREE_FAILURES
    actions = audit_actions(engine, audit_log.c.actor, "anna")
    assert actions.count("login_failure") == statuses.count(401) <= FREE_FAILURES
    assert actions.count("login_throttled") == statuses.count(429) and len(actions) == 30


def test_parallel_wrong_passwords_from_many_addresses_are_throttled_per_account(engine):
    publish(engine, random_births(20, seed=2))
    add_user(engine, "anna", "provider", org_code="H001", password=PASSWORD)
    server = build_server(engine)
    statuses = parallel_logins(server, [(f"192.0.2.{number}", "anna", "wrong password!!") for number in range(40)])
    assert set(statuses) <= {401, 429} and statuses.count(401) <= ACCOUNT_CEILING
    actions = audit_actions(engine, audit_log.c.actor, "anna")
    assert actions.count("login_failure") == statuses.count(401) <= ACCOUNT_CEILING
    assert actions.count("login_throttled") == statuses.count(429) and len(actions) == 40


def test_parallel_wrong_passwords_are_throttled_per_address(engine):
    publish(engine, random_births(20, seed=2))
    server = build_server(engine)
    statuses = parallel_logins(server, [("192.0.2.9", f"guess{number}", "wrong password!!") for number in range(40)])
    assert set(statuses) <= {401, 429} and statuses.count(401) <= ADDRESS_CEILING
    actions = audit_actions(engine, audit_log.c.address, "192.0.2.9")
    assert actions.count("login_failure") == statuses.count(401)
    assert actions.count("login_throttled") == statuses.count(429)


def test_new_password_or_disabling_ends_existing_sessions(server, database):
    client = server.test_client()
    log_in(client, "anna")
    assert client.get("/page").status_code == 200
    reset_password(database, "anna", "another long password")
    assert client.get("/page").status_code == 303
    log_in(client, "anna", "another long password")
    set_active(database, "anna", False)
    assert client.get("/page").status_code == 303


def test_security_headers_on_every_answer(server):
    client = server.test_client()
    for response in (client.get("/login"), client.get("/page"), client.get("/api/v1/indicators")):
        policy = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy
        assert "'unsafe-eval'" not in policy and "script-src 'self'" in policy
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"


def test_api_token_create_use_and_revoke(server, database):
    browser = server.test_client()
    log_in(browser, "anna")
    account = browser.get("/account").get_data(as_text=True)
    created = browser.post("/account/tokens", data={"label": "R script", "csrf_token": csrf_of(account)})
    token = re.search(r'<code id="new-token">([^<]+)</code>', created.get_data(as_text=True)).group(1)
    assert "R script" in created.get_data(as_text=True)
    with database.connect() as connection:
        row = connection.execute(select(api_tokens)).mappings().one()
    assert token not in str(dict(row)) and len(row["token_hash"]) == 64  # only a hash is kept
    listed = browser.get("/account").get_data(as_text=True)
    assert token not in listed  # shown once
    # The header a client sends is shown as code, not between literal backticks; the token's time with its zone.
    assert "`" not in listed and "<code>Authorization: Bearer &lt;token&gt;</code>" in listed
    assert re.search(r"<td>\d\d-\d\d-\d{4} \d\d:\d\d CES?T</td>", listed)

    api = server.test_client()
    api.environ_base.update({**OTHER_HOST, "HTTP_AUTHORIZATION": f"Bearer {token}"})
    answer = api.get("/api/v1/results?indicator=caesarean&level=hospital")
    assert answer.status_code == 200 and answer.get_json()["viewer"]["org_code"] == "H001"
    assert "Set-Cookie" not in answer.headers  # a token request opens no session
    assert api.get("/page").status_code == 303  # tokens open the API only, not pages or callbacks
    assert api.post("/_dash-update-component").status_code == 401

    revoke_form = browser.get("/account").get_data(as_text=True)
    revoked = browser.post(f"/account/tokens/{row['token_id']}/revoke", data={"csrf_token": csrf_of(revoke_form)})
    assert revoked.status_code == 200
    refused = api.get("/api/v1/results?indicator=caesarean&level=hospital")
    assert refused.status_code == 401 and 'error="invalid_token"' in refused.headers["WWW-Authenticate"]


def test_someone_elses_token_cannot_be_revoked(server, database):
    from auth.tokens import create_token, revoke_token

    root = get_user(database, username="root")
    create_token(database, root, "root's")
    with database.connect() as connection:
        token_id = connection.execute(select(api_tokens.c.token_id)).scalar_one()
    assert not revoke_token(database, get_user(database, username="anna"), token_id)


def test_admin_page_is_for_admins_and_its_forms_need_csrf(server, database):
    provider = server.test_client()
    log_in(provider, "anna")
    assert provider.get("/admin").status_code == 403
    assert provider.post("/admin/users", data={"username": "x", "role": "admin"}).status_code == 403
    assert get_user(database, username="x") is None

    admin = server.test_client()
    log_in(admin, "root")
    page = admin.get("/admin").get_data(as_text=True)
    assert admin.post("/admin/users", data={"username": "bert", "role": "vsv", "org_code": "V01"}).status_code == 400
    added = admin.post("/admin/users", data={"username": "bert", "role": "vsv", "org_code": "V01",
                                             "display_name": "Bert <script>alert(1)</script>",
                                             "csrf_token": csrf_of(page)})
    html = added.get_data(as_text=True)
    password = re.search(r'<code id="shown-once">([^<]+)</code>', html).group(1)
    assert "<script>alert(1)</script>" not in html and "Bert &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert log_in(server.test_client(), "bert", password).status_code == 303
    wrong = admin.post("/admin/users", data={"username": "carla", "role": "provider", "org_code": "V01",
                                             "csrf_token": csrf_of(page)})
    assert wrong.status_code == 400 and "is not a hospital or practice" in wrong.get_data(as_text=True)
    admin.post("/admin/users/bert/grant", data={"org_code": "P002", "csrf_token": csrf_of(page)})
    assert get_user(database, username="bert").organisations == ("V01", "P002")
    admin.post("/admin/users/bert/disable", data={"csrf_token": csrf_of(page)})
    assert not get_user(database, username="bert").active

    audit = admin.get("/admin/audit").get_data(as_text=True)
    # The actions in words, not the log's codes; the times in Dutch local time with the zone.
    for action in ("Ingelogd", "Gebruiker toegevoegd", "Toegang tot organisatie gegeven", "Gebruiker uitgeschakeld",
                   "Toegang geweigerd"):
        assert f"<td>{action}</td>" in audit
    assert "login_success" not in audit.replace('value="login_success"', "")
    assert re.search(r"<tr><td>\d\d-\d\d-\d{4} \d\d:\d\d CES?T</td>", audit)
    # The column's head does not contradict its times: they are local, with their zone, not UTC.
    assert '<th scope="col">Wanneer</th>' in audit and "(UTC)" not in audit
    english = admin.get("/admin/audit?lang=en").get_data(as_text=True)
    assert "<td>Logged in</td>" in english and re.search(r"<td>\d{4}-\d\d-\d\d \d\d:\d\d CES?T</td>", english)
    filtered = admin.get("/admin/audit?action=user_grant&lang=nl").get_data(as_text=True)
    assert filtered.count("<td>Toegang tot organisatie gegeven</td>") == 1


def test_audit_log_records_logins_and_exports_with_who_and_where(server, database):
    client = server.test_client()
    client.environ_base.update(OTHER_HOST)
    log_in(client, "anna", "wrong password!!")
    log_in(client, "anna")
    client.get("/api/v1/results?indicator=caesarean&level=hospital")
    with database.connect() as connection:
        rows = connection.execute(select(audit_log.c.actor, audit_log.c.action, audit_log.c.target,
                                         audit_log.c.address).order_by(audit_log.c.audit_id)).all()
    assert [tuple(row) for row in rows if row.address] == [
        ("anna", "login_failure", None, "192.0.2.44"),
        ("anna", "login_success", None, "192.0.2.44"),
        ("anna", "export", "/api/v1/results?indicator=caesarean&level=hospital", "192.0.2.44"),
    ]


def test_roles_need_the_right_kind_of_organisation(engine):
    from auth.users import UserError

    publish(engine, random_births(20, seed=1))
    with pytest.raises(UserError, match="needs an organisation"):
        add_user(engine, "pp", "provider")
    with pytest.raises(UserError, match="not a vsv"):
        add_user(engine, "vv", "vsv", org_code="H001")
    with pytest.raises(UserError, match="no organisation of its own"):
        add_user(engine, "rr", "researcher", org_code="H001")
    with pytest.raises(UserError, match="at least 12"):
        add_user(engine, "rr", "researcher", password="short")
    with pytest.raises(UserError, match="a username is"):
        add_user(engine, "r r", "researcher")
    user, password = add_user(engine, " Rr ", "researcher")
    assert user.username == "rr" and len(password) >= 12 and user.organisations == ()
    with pytest.raises(UserError, match="already exists"):
        add_user(engine, "RR", "admin")
    assert grant(engine, "rr", "H002").organisations == ("H002",)
    assert grant(engine, "rr", "H002", revoke=True).organisations == ()


def test_without_remember_me_days_the_login_form_offers_no_remember_me(database):
    add_user(database, "anna", "provider", org_code="H001", password=PASSWORD)
    client = build_server(database, remember_days=0).test_client()
    assert 'name="remember"' not in client.get("/login").get_data(as_text=True)
    log_in(client, "anna", remember="on")
    assert client.get_cookie("perispiegel_remember") is None
    assert 'name="remember"' in build_server(database).test_client().get("/login").get_data(as_text=True)
