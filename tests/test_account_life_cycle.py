"""The life cycle of sessions, remember-me cookies, API tokens and accounts (issue 15, OWASP ASVS 2.1, 3.2-3.5), as
a hostile user tried it: over real HTTP against the real app (app.create_app on a free port), each browser a
`requests.Session` with its own cookie jar, on SQLite and on PostgreSQL.

Time is the server's clock (`auth.session.now`), moved forward by the test while the server runs in this process:
the cookies are the ones the server sent, replayed as an attacker would replay a copy.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from app_server import serving
from births_factory import publish, random_births
from sqlalchemy import Engine, or_, select, update

import auth.session
from auth.users import add_user, authenticate, get_user, grant
from tables.database import make_engine
from tables.schema import api_tokens, audit_log, users

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a sentence nobody else would guess"
HOUR = 3600.0
DAY = 24 * HOUR

pytestmark = pytest.mark.xdist_group("account_life_cycle")


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Engine]]:
    """The real app on a database with births, served over HTTP: (base URL, engine). One server per database for the
    module; every test makes its own accounts."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('life_cycle') / 'perispiegel.db'}"
        yield from _served(url)
    else:
        from conftest import fresh_postgres_database

        with fresh_postgres_database() as url:
            yield from _served(url)


def _served(url: str) -> Iterator[tuple[str, Engine]]:
    engine = make_engine(url)
    publish(engine, random_births(200, seed=5))
    add_user(engine, "beheer", "admin", password=PASSWORD)
    with serving(url, quiet=True) as base:
        yield base, engine
    engine.dispose()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch):
    """Move the server's clock: `clock(hours=13)` puts it 13 hours ahead of now (and later calls further)."""
    real = auth.session.now
    offset = [0.0]
    monkeypatch.setattr(auth.session, "now", lambda: real() + offset[0])

    def forward(*, days: float = 0, hours: float = 0, minutes: float = 0) -> None:
        offset[0] += days * DAY + hours * HOUR + minutes * 60

    return forward


_counter = iter(range(1, 10_000))


def new_account(engine: Engine, role: str = "provider", **options: object) -> str:
    username = f"user{next(_counter)}"
    add_user(engine, username, role, org_code="H001" if role == "provider" else None, password=PASSWORD, **options)
    return username


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def browser() -> requests.Session:
    session = requests.Session()
    session.headers["Accept-Language"] = "nl"
    return session


def log_in(base: str, username: str, password: str = PASSWORD, *, remember: bool = False) -> requests.Session:
    client = browser()
    form = {"username": username, "password": password, "csrf_token": csrf(client.get(f"{base}/login").text)}
    if remember:
        form["remember"] = "on"
    answer = client.post(f"{base}/login", data=form, allow_redirects=False)
    assert answer.status_code == 303, answer.text[:300]
    return client


def api(client: requests.Session, base: str, **headers: str) -> int:
    return client.get(f"{base}/api/v1/indicators", headers=headers, allow_redirects=False).status_code


def page(client: requests.Session, base: str, path: str = "/account") -> requests.Response:
    return client.get(f"{base}{path}", allow_redirects=False)


def copy_of(client: requests.Session, *names: str) -> requests.Session:
    """Another browser holding a copy of `client`'s cookies (all, or those named)."""
    thief = browser()
    for cookie in client.cookies:
        if not names or cookie.name in names:
            thief.cookies.set(cookie.name, cookie.value)
    return thief


def log_out(client: requests.Session, base: str) -> None:
    token = csrf(client.get(f"{base}/logout").text)
    assert client.post(f"{base}/logout", data={"csrf_token": token}, allow_redirects=False).status_code == 303


def audit_rows(engine: Engine, action: str, username: str) -> list[str | None]:
    """The details of the audit entries `action` by or about `username`."""
    with engine.connect() as connection:
        return list(connection.execute(select(audit_log.c.detail).where(
            audit_log.c.action == action, or_(audit_log.c.actor == username, audit_log.c.target == username))
            .order_by(audit_log.c.audit_id)).scalars())


def new_token(client: requests.Session, base: str, days: str | None = None) -> str:
    form = {"csrf_token": csrf(page(client, base).text), "label": "script"}
    if days is not None:
        form["days"] = days
    answer = client.post(f"{base}/account/tokens", data=form)
    assert answer.status_code == 200, answer.text[:300]
    return re.search(r'id="new-token">(psp_[^<]+)<', answer.text).group(1)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def admin_post(admin: requests.Session, base: str, path: str, **form: str) -> requests.Response:
    form["csrf_token"] = csrf(admin.get(f"{base}/admin").text)
    return admin.post(f"{base}/admin{path}", data=form, allow_redirects=False)


def test_a_copied_session_cookie_is_worthless_after_logout(world):
    base, engine = world
    username = new_account(engine)
    laptop, phone = log_in(base, username), log_in(base, username)
    stolen = copy_of(laptop)
    assert api(stolen, base) == 200 and api(phone, base) == 200
    log_out(laptop, base)
    # Before: the copy taken before logout still answered 200. Now logout ends every session of the account.
    assert api(stolen, base) == 401
    assert api(phone, base) == 401
    assert page(phone, base).status_code == 303
    assert "overal uitgelogd" in log_in(base, username).get(f"{base}/logout").text


def test_remember_me_lasts_fourteen_days_and_its_use_is_recorded(world, clock):
    base, engine = world
    username = new_account(engine)
    assert "Ingelogd blijven op dit apparaat, 14 dagen lang" in requests.get(f"{base}/login").text
    client = log_in(base, username, remember=True)
    remember = next(cookie for cookie in client.cookies if cookie.name == "perispiegel_remember")
    assert remember.expires - datetime.now(UTC).timestamp() == pytest.approx(14 * DAY, abs=60)
    only_remembered = copy_of(client, "perispiegel_remember")
    clock(days=8)
    assert page(only_remembered, base).status_code == 200
    [detail] = audit_rows(engine, "remember_me_login", username)
    assert "valid until" in detail
    clock(days=7)  # 15 days after the login: the same cookie, replayed, no longer opens anything
    again = copy_of(client, "perispiegel_remember")
    refused = page(again, base)
    assert refused.status_code == 303 and "reason=login" in refused.headers["Location"]
    assert api(copy_of(client, "perispiegel_remember"), base) == 401
    assert "perispiegel_remember=; Expires=Thu, 01 Jan 1970" in refused.headers["Set-Cookie"]  # the browser drops it
    assert len(audit_rows(engine, "remember_me_login", username)) == 1
    clock(days=350)
    assert page(copy_of(client, "perispiegel_remember"), base).status_code == 303


def test_logout_also_ends_the_remember_me_cookie(world):
    base, engine = world
    username = new_account(engine)
    client = log_in(base, username, remember=True)
    remembered = copy_of(client, "perispiegel_remember")
    log_out(client, base)
    assert page(remembered, base).status_code == 303


def test_a_busy_session_ends_twelve_hours_after_login(world, clock):
    base, engine = world
    username = new_account(engine)
    client = log_in(base, username)
    for _ in range(28):  # a request every 25 minutes: never idle, 11 h 40 min
        clock(minutes=25)
        assert page(client, base).status_code == 200
    clock(minutes=25)  # 12 h 05 min after the login
    ended = page(client, base)
    assert ended.status_code == 303 and "reason=ended" in ended.headers["Location"]
    notice = client.get(base + ended.headers["Location"]).text
    assert "een sessie duurt hoogstens 12 uur na het inloggen" in notice
    assert audit_rows(engine, "session_expired", username) == ["absolute lifetime"]
    assert api(client, base) == 401


def test_an_idle_session_still_expires_after_thirty_minutes(world, clock):
    base, engine = world
    username = new_account(engine)
    client = log_in(base, username)
    clock(minutes=31)
    expired = page(client, base)
    assert expired.status_code == 303 and "reason=expired" in expired.headers["Location"]
    assert audit_rows(engine, "session_expired", username) == ["idle timeout"]


def test_a_password_reset_revokes_the_tokens_and_ends_the_sessions(world):
    base, engine = world
    username = new_account(engine)
    owner = log_in(base, username)
    token = new_token(owner, base)
    assert api(browser(), base, **bearer(token)) == 200
    admin = log_in(base, "beheer")
    reset = admin_post(admin, base, f"/users/{username}/reset-password")
    assert reset.status_code == 200
    one_time = re.search(r'id="shown-once">([^<]+)<', reset.text).group(1)
    # Before: the old session got 401, but the token kept working.
    assert api(browser(), base, **bearer(token)) == 401
    assert api(owner, base) == 401
    again = log_in(base, username, one_time)
    assert page(again, base).headers["Location"].endswith("/account/password")
    changed = change_password(again, base, one_time, NEW_PASSWORD)
    assert changed.status_code == 200
    assert re.search(r"ingetrokken: wachtwoord opnieuw ingesteld door een beheerder", changed.text)
    assert api(browser(), base, **bearer(token)) == 401


def test_reenabling_an_account_brings_neither_its_sessions_nor_its_tokens_back(world):
    base, engine = world
    username = new_account(engine)
    owner = log_in(base, username, remember=True)
    token = new_token(owner, base)
    remembered = copy_of(owner, "perispiegel_remember")
    admin = log_in(base, "beheer")
    assert admin_post(admin, base, f"/users/{username}/disable").status_code == 200
    assert api(owner, base) == 401 and api(browser(), base, **bearer(token)) == 401
    assert admin_post(admin, base, f"/users/{username}/enable").status_code == 200
    # Before: re-enabling brought the session and the token back.
    assert api(owner, base) == 401
    assert api(browser(), base, **bearer(token)) == 401
    assert page(remembered, base).status_code == 303
    assert audit_rows(engine, "user_disable", username) == ["1 API token revoked"]
    account = log_in(base, username).get(f"{base}/account").text
    assert "ingetrokken: account uitgeschakeld" in account


def test_a_role_change_ends_the_sessions_and_revokes_the_tokens(world):
    base, engine = world
    username = new_account(engine)
    owner = log_in(base, username)
    token = new_token(owner, base)
    admin = log_in(base, "beheer")
    changed = admin_post(admin, base, f"/users/{username}/role", role="researcher", org_code="")
    assert changed.status_code == 200 and f"De rol van {username} is gewijzigd" in changed.text
    assert api(owner, base) == 401 and api(browser(), base, **bearer(token)) == 401
    assert get_user(engine, username=username).role == "researcher"
    [detail] = audit_rows(engine, "user_change_role", username)
    assert detail == "role provider → researcher, organisation -; 1 API token revoked"
    refused = admin_post(admin, base, f"/users/{username}/role", role="provider", org_code="")
    assert refused.status_code == 400 and "needs an organisation code" in refused.text
    own = admin_post(admin, base, "/users/beheer/role", role="researcher", org_code="")
    assert own.status_code == 400 and "you cannot change your own role" in own.text


def test_tokens_expire_after_the_days_chosen_at_creation(world):
    base, engine = world
    username = new_account(engine)
    owner = log_in(base, username)
    form = page(owner, base).text
    assert re.search(r'<option value="90" selected>\s*90 dagen', form)  # the default
    token, short = new_token(owner, base), new_token(owner, base, days="30")
    with engine.connect() as connection:
        rows = connection.execute(select(api_tokens.c.token_prefix, api_tokens.c.created_at, api_tokens.c.expires_at)
                                  .where(api_tokens.c.token_prefix.in_([token[:10], short[:10]]))).all()
    days = {prefix: round((expires - created).total_seconds() / DAY) for prefix, created, expires in rows}
    assert days == {token[:10]: 90, short[:10]: 30}
    assert api(browser(), base, **bearer(short)) == 200
    # As if the 30-day token had been made 31 days ago.
    made = {prefix: (created, expires) for prefix, created, expires in rows}[short[:10]]
    with engine.begin() as connection:
        connection.execute(update(api_tokens).where(api_tokens.c.token_prefix == short[:10]).values(
            created_at=made[0] - timedelta(days=31), expires_at=made[1] - timedelta(days=31)))
    assert api(browser(), base, **bearer(short)) == 401
    assert api(browser(), base, **bearer(token)) == 200
    listing = page(owner, base).text
    assert listing.count(">verlopen<") == 1 and "Verloopt" in listing
    refused = owner.post(f"{base}/account/tokens", data={"csrf_token": csrf(listing), "label": "x", "days": "9999"})
    assert refused.status_code == 400 and "Een token is 30, 90, 180, 365 dagen geldig" in refused.text


def change_password(client: requests.Session, base: str, current: str, new: str, repeat: str | None = None,
                    *, token: str | None = None) -> requests.Response:
    form = {"csrf_token": token or csrf(client.get(f"{base}/account/password").text), "current_password": current,
            "new_password": new, "repeat_password": new if repeat is None else repeat}
    return client.post(f"{base}/account/password", data=form)


def test_changing_ones_own_password_ends_the_other_sessions(world):
    base, engine = world
    username = new_account(engine)
    here, elsewhere = log_in(base, username), log_in(base, username, remember=True)
    token = new_token(here, base)
    assert "Wachtwoord wijzigen" in page(here, base).text
    refusals = [
        (change_password(here, base, "not my password", NEW_PASSWORD), "Het huidige wachtwoord klopt niet"),
        (change_password(here, base, PASSWORD, NEW_PASSWORD, "other"), "De twee nieuwe wachtwoorden zijn niet gelijk"),
        (change_password(here, base, PASSWORD, "short"), "te kort: gebruik minstens 12 tekens"),
        (change_password(here, base, PASSWORD, PASSWORD), "hetzelfde als het huidige"),
        (change_password(here, base, PASSWORD, NEW_PASSWORD, token="forged"), "Het formulier is verlopen"),
    ]
    for answer, message in refusals:
        assert answer.status_code == 400 and message in answer.text
    assert api(elsewhere, base) == 200
    changed = change_password(here, base, PASSWORD, NEW_PASSWORD)
    assert changed.status_code == 200 and "Uw wachtwoord is gewijzigd" in changed.text
    assert api(here, base) == 200  # this browser goes on
    assert api(elsewhere, base) == 401 and page(copy_of(elsewhere, "perispiegel_remember"), base).status_code == 303
    assert api(browser(), base, **bearer(token)) == 200  # tokens stay: the page says so
    assert audit_rows(engine, "password_change", username) == [None]
    log_in(base, username, NEW_PASSWORD)
    with pytest.raises(AssertionError):
        log_in(base, username, PASSWORD)


def test_an_admin_set_password_must_be_changed_at_the_first_login(world):
    base, engine = world
    admin = log_in(base, "beheer")
    username = f"nieuw{next(_counter)}"
    added = admin_post(admin, base, "/users", username=username, role="researcher", org_code="")
    assert added.status_code == 200 and "kiest" in added.text
    one_time = re.search(r'id="shown-once">([^<]+)<', added.text).group(1)
    assert "eenmalig wachtwoord, nog niet gewijzigd" in admin.get(f"{base}/admin").text
    client = log_in(base, username, one_time)
    for path in ("/", "/account", "/indicator"):
        answer = page(client, base, path)
        assert answer.status_code == 303 and answer.headers["Location"].endswith("/account/password")
    forced = client.get(f"{base}/account/password").text
    assert "is eenmalig" in forced
    refused = client.get(f"{base}/api/v1/indicators")
    assert refused.status_code == 403 and refused.json()["error"] == "password change required"
    assert client.post(f"{base}/account/tokens", data={"csrf_token": csrf(forced), "label": "x"},
                       allow_redirects=False).status_code == 303
    assert change_password(client, base, one_time, NEW_PASSWORD).status_code == 200
    assert page(client, base, "/").status_code == 200 and api(client, base) == 200
    assert not get_user(engine, username=username).must_change_password


def test_an_older_database_keeps_its_accounts_and_its_old_tokens_count_as_expired(engine):
    """A database made before issue 15 lacks the new account columns: they are added in place (the accounts cannot
    be rebuilt from delivery files), every account can still log in, and a token made before tokens expired is
    expired."""
    from auth.tokens import create_token, token_owner
    from tables.database import add_kept_columns, make_engine

    add_user(engine, "ouder", "researcher", password=PASSWORD)
    token = create_token(engine, get_user(engine, username="ouder"), "old script")
    with engine.begin() as connection:
        for table, column in (("users", "session_generation"), ("users", "must_change_password"),
                              ("api_tokens", "expires_at"), ("api_tokens", "revoked_reason")):
            connection.exec_driver_sql(f"ALTER TABLE {table} DROP COLUMN {column}")
    upgraded = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        user = authenticate(upgraded, "ouder", PASSWORD)
        assert user is not None and user.session_generation == 0 and not user.must_change_password
        assert token_owner(upgraded, token) is None
        assert token_owner(upgraded, create_token(upgraded, user, "new script")) == user.user_id
        assert add_kept_columns(upgraded) == []  # once
    finally:
        upgraded.dispose()


# Found by the fresh-eyes review of this change (each failed before its fix).

def test_guessing_the_current_password_on_the_password_form_is_throttled(world):
    """A stolen session without the password must not try passwords on /account/password: the right guess would set
    the attacker's password and log the owner out everywhere."""
    base, engine = world
    username = new_account(engine)
    client = log_in(base, username)
    statuses = [change_password(client, base, f"guess number {n:04d}", NEW_PASSWORD).status_code for n in range(6)]
    assert statuses[:3] == [400] * 3 and set(statuses[3:]) == {429}
    throttled = change_password(client, base, PASSWORD, NEW_PASSWORD)  # even the right one waits now
    assert throttled.status_code == 429 and "Probeer het over" in throttled.text
    assert len(audit_rows(engine, "login_failure", username)) == 3
    assert set(audit_rows(engine, "login_throttled", username)) == {"password form; rule account_address"}
    assert authenticate(engine, username, PASSWORD) is not None  # the password did not change
    assert api(client, base) == 200  # and the session goes on


def test_a_password_change_keeps_a_remembered_browser_to_its_day_and_remembers_no_other(world, clock):
    base, engine = world
    username = new_account(engine)
    plain = log_in(base, username)
    plain.cookies.set("perispiegel_remember", "not-a-cookie-this-server-made")
    answer = change_password(plain, base, PASSWORD, NEW_PASSWORD)
    assert answer.status_code == 200
    assert "perispiegel_remember=" not in answer.history[0].headers.get("Set-Cookie", "").replace(
        'perispiegel_remember=; Expires=Thu, 01 Jan 1970', "")
    remembered = log_in(base, username, NEW_PASSWORD, remember=True)
    clock(days=10)
    # Still within the session? No: 10 days on, the remember-me cookie opens a new one; then the change.
    assert change_password(remembered, base, NEW_PASSWORD, PASSWORD).status_code == 200
    renewed = next(cookie for cookie in remembered.cookies if cookie.name == "perispiegel_remember")
    clock(days=5)  # 15 days after the login: the cookie issued at the change is no longer valid either
    assert page(copy_of(remembered, "perispiegel_remember"), base).status_code == 303
    assert renewed.expires - datetime.now(UTC).timestamp() == pytest.approx(4 * DAY, abs=120)


def test_a_role_change_removes_the_old_roles_grants(world):
    base, engine = world
    username = new_account(engine)
    grant(engine, username, "P002")
    admin = log_in(base, "beheer")
    assert admin_post(admin, base, f"/users/{username}/role", role="vsv", org_code="V01").status_code == 200
    moved = get_user(engine, username=username)
    assert moved.granted == () and moved.organisations == ("V01",)
    [detail] = audit_rows(engine, "user_change_role", username)
    assert detail == "role provider → vsv, organisation V01; grants removed: P002"


def test_a_one_time_password_expires_after_72_hours(world):
    base, engine = world
    admin = log_in(base, "beheer")
    username = f"laat{next(_counter)}"
    added = admin_post(admin, base, "/users", username=username, role="researcher", org_code="")
    one_time = re.search(r'id="shown-once">([^<]+)<', added.text).group(1)
    log_in(base, username, one_time)  # works more than once within the 72 hours (until changed)
    with engine.begin() as connection:
        connection.execute(update(users).where(users.c.username == username).values(
            password_changed_at=datetime.now(UTC) - timedelta(hours=73)))
    with pytest.raises(AssertionError):
        log_in(base, username, one_time)
    assert "eenmalig wachtwoord verlopen (na 72 uur)" in admin.get(f"{base}/admin").text


@pytest.mark.parametrize("form", [{"days": "²"}, {"days": "90 "}, {"days": "-90"}])
def test_an_odd_token_lifetime_or_id_is_refused_in_words(world, form):
    base, engine = world
    client = log_in(base, new_account(engine))
    answer = client.post(f"{base}/account/tokens", data={"csrf_token": csrf(page(client, base).text), "label": "x",
                                                           **form})
    assert answer.status_code == 400 and "Een token is 30, 90, 180, 365 dagen geldig" in answer.text
    too_big = client.post(f"{base}/account/tokens/99999999999999999999999/revoke",
                          data={"csrf_token": csrf(page(client, base).text)})
    assert too_big.status_code == 404


def test_a_password_change_can_revoke_the_tokens_too(world):
    base, engine = world
    username = new_account(engine)
    client = log_in(base, username)
    token = new_token(client, base)
    form = {"csrf_token": csrf(client.get(f"{base}/account/password").text), "current_password": PASSWORD,
            "new_password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD, "revoke_tokens": "on"}
    changed = client.post(f"{base}/account/password", data=form)
    assert changed.status_code == 200 and "ingetrokken: bij het wijzigen van uw wachtwoord" in changed.text
    assert api(browser(), base, **bearer(token)) == 401 and api(client, base) == 200
    assert audit_rows(engine, "password_change", username) == ["1 API token revoked"]
