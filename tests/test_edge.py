"""What an attacker meets at the edge of the server (issue 15): login throttling that protects accounts without
locking their owners out, client addresses and HTTPS behind trusted proxies only, production mode behind TLS
(Secure cookies, HSTS, no debugger, no version banner), and request bodies an anonymous client cannot make the
server read. Over real HTTP against the real app; the command line as a subprocess."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests
from app_server import serving
from births_factory import publish, random_births
from sqlalchemy import Engine, select

from auth.throttle import ACCOUNT_CEILING, ADDRESS_CEILING, FIRST_DELAY, FREE_FAILURES, MAX_DELAY, login_throttle
from auth.users import add_user
from tables.database import make_engine
from tables.schema import audit_log

PASSWORD = "correct horse battery staple"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_KEYS = {"PERISPIEGEL_SECRET_KEY": "a" * 64, "PERISPIEGEL_PSEUDONYM_KEY": "b" * 64}

pytestmark = pytest.mark.xdist_group("edge")


def database_with_accounts(folder: Path) -> str:
    url = f"sqlite:///{folder / 'perispiegel.db'}"
    engine = make_engine(url)
    publish(engine, random_births(100, seed=7))
    for name in ("anna", "bert", "carla"):
        add_user(engine, name, "provider", org_code="H001", password=PASSWORD)
    engine.dispose()
    return url


@pytest.fixture
def behind_one_proxy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Engine]]:
    """The app behind one trusted reverse proxy (PERISPIEGEL_TRUSTED_PROXIES=1): X-Forwarded-For is the address."""
    monkeypatch.setenv("PERISPIEGEL_TRUSTED_PROXIES", "1")
    url = database_with_accounts(tmp_path)
    engine = make_engine(url)
    with serving(url, quiet=True) as base:
        yield base, engine
    engine.dispose()


@pytest.fixture
def without_proxies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Engine]]:
    monkeypatch.delenv("PERISPIEGEL_TRUSTED_PROXIES", raising=False)
    url = database_with_accounts(tmp_path)
    engine = make_engine(url)
    with serving(url, quiet=True) as base:
        yield base, engine
    engine.dispose()


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def attempt(base: str, username: str, password: str, address: str | None = None, *,
            remember: bool = False, https: bool = False) -> requests.Response:
    """One login from a new browser, as coming from `address` (through the proxy's X-Forwarded-For)."""
    client = requests.Session()
    headers = {"Accept-Language": "nl"}
    if address:
        headers["X-Forwarded-For"] = address
    if https:
        headers["X-Forwarded-Proto"] = "https"
    form = {"username": username, "password": password,
            "csrf_token": csrf(client.get(f"{base}/login", headers=headers).text)}
    if remember:
        form["remember"] = "on"
    # The proxy speaks HTTPS with the browser and plain HTTP with the app: the browser sends its Secure cookies.
    headers["Cookie"] = "; ".join(f"{cookie.name}={cookie.value}" for cookie in client.cookies)
    return client.post(f"{base}/login", data=form, headers=headers, allow_redirects=False)


def error_of(answer: requests.Response) -> str:
    return re.search(r'id="login-error">([^<]+)<', answer.text).group(1)


def test_an_attack_from_one_address_does_not_lock_the_owner_out(behind_one_proxy):
    base, engine = behind_one_proxy
    answers = [attempt(base, "anna", f"guess number {n}", "203.0.113.66") for n in range(20)]
    statuses = [answer.status_code for answer in answers]
    assert statuses[:FREE_FAILURES] == [401] * FREE_FAILURES and set(statuses[FREE_FAILURES:]) == {429}
    # Before: five failures locked the account out from everywhere. Now its owner logs in from her own address.
    assert attempt(base, "anna", PASSWORD, "198.51.100.20").status_code == 303
    # The attacker waits, with the right password too, told how long in words and in Retry-After.
    waiting = attempt(base, "anna", PASSWORD, "203.0.113.66")
    assert waiting.status_code == 429 and 1 <= int(waiting.headers["Retry-After"]) <= FIRST_DELAY.total_seconds()
    assert re.fullmatch(r"Te veel mislukte inlogpogingen\. Probeer het over \d+ seconden opnieuw\.", error_of(waiting))
    with engine.connect() as connection:
        details = set(connection.execute(select(audit_log.c.detail).where(
            audit_log.c.action == "login_throttled")).scalars())
    assert details == {"rule account_address"}


def test_people_behind_one_shared_address_do_not_lock_each_other_out(behind_one_proxy):
    base, _ = behind_one_proxy
    office = "192.0.2.10"
    for _ in range(FREE_FAILURES):
        assert attempt(base, "bert", "mistyped password", office).status_code == 401
    assert attempt(base, "bert", PASSWORD, office).status_code == 429
    assert attempt(base, "carla", PASSWORD, office).status_code == 303  # a colleague at the same address


def test_one_address_trying_many_names_meets_the_address_ceiling(behind_one_proxy):
    base, _ = behind_one_proxy
    scanner = "203.0.113.7"
    statuses = [attempt(base, f"name{n}", "wrong password!!", scanner).status_code for n in range(ADDRESS_CEILING)]
    assert statuses == [401] * ADDRESS_CEILING
    assert attempt(base, "anna", PASSWORD, scanner).status_code == 429
    assert attempt(base, "anna", PASSWORD, "198.51.100.21").status_code == 303


def test_many_addresses_on_one_account_meet_the_account_ceiling_but_not_its_known_address(behind_one_proxy):
    base, _ = behind_one_proxy
    assert attempt(base, "anna", PASSWORD, "198.51.100.30").status_code == 303  # her desk, used before
    statuses = [attempt(base, "anna", "wrong password!!", f"203.0.113.{n}").status_code
                for n in range(100, 100 + ACCOUNT_CEILING)]
    assert statuses == [401] * ACCOUNT_CEILING
    assert attempt(base, "anna", PASSWORD, "203.0.113.250").status_code == 429  # a new address waits
    assert attempt(base, "anna", PASSWORD, "198.51.100.30").status_code == 303  # her own desk does not


def test_the_wait_doubles_with_every_failure_up_to_fifteen_minutes(sqlite_engine):
    start = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    waits = []
    for failures in range(1, 10):
        with sqlite_engine.begin() as connection:
            connection.execute(audit_log.insert().values(at=start + timedelta(seconds=failures), actor="anna",
                                                         action="login_failure", address="192.0.2.1"))
        moment = start + timedelta(seconds=failures)
        throttle = login_throttle(sqlite_engine, "Anna", "192.0.2.1", now=moment)
        waits.append(throttle.wait_seconds(moment) if throttle.blocked else 0)
    assert waits == [0, 0, 30, 60, 120, 240, 480, 900, 900]
    assert timedelta(minutes=15) == MAX_DELAY
    # The same name from another address does not wait; failures leave the window after 15 minutes.
    assert not login_throttle(sqlite_engine, "anna", "198.51.100.7", now=start + timedelta(seconds=10)).blocked
    assert not login_throttle(sqlite_engine, "anna", "192.0.2.1", now=start + timedelta(minutes=15, seconds=10)).blocked


def test_without_trusted_proxies_forwarded_headers_are_ignored(without_proxies):
    base, engine = without_proxies
    # Each attempt claims another address: ignored, they are all this client's.
    for n in range(FREE_FAILURES):
        assert attempt(base, "anna", "wrong password!!", f"198.51.100.{n}").status_code == 401
    assert attempt(base, "anna", PASSWORD, "198.51.100.99").status_code == 429
    with engine.connect() as connection:
        addresses = set(connection.execute(select(audit_log.c.address).where(
            audit_log.c.action.like("login%"))).scalars())
    assert addresses == {"127.0.0.1"}
    spoofed = attempt(base, "bert", PASSWORD, https=True, remember=True)
    assert spoofed.status_code == 303
    assert "Strict-Transport-Security" not in spoofed.headers
    assert "secure" not in spoofed.headers["Set-Cookie"].lower()


def cookie_lines(answer: requests.Response) -> dict[str, str]:
    return {line.split("=", 1)[0]: line for line in answer.raw.headers.getlist("Set-Cookie")}


def test_behind_a_tls_proxy_cookies_are_secure_and_hsts_is_sent(behind_one_proxy):
    base, _ = behind_one_proxy
    answer = attempt(base, "carla", PASSWORD, "198.51.100.40", https=True, remember=True)
    assert answer.status_code == 303
    cookies = cookie_lines(answer)
    assert {"perispiegel_session", "perispiegel_remember"} <= cookies.keys()
    assert all("; Secure" in line for line in cookies.values())
    assert answer.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert urlparse(answer.headers["Location"]).scheme in ("", "https")
    plain = attempt(base, "carla", PASSWORD, "198.51.100.40")
    assert "Strict-Transport-Security" not in plain.headers


def test_in_production_cookies_are_secure_and_hsts_is_sent_on_every_answer(tmp_path, monkeypatch):
    for variable, value in PRODUCTION_KEYS.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setenv("PERISPIEGEL_ENV", "production")
    url = database_with_accounts(tmp_path)
    with serving(url, quiet=True) as base:
        answer = attempt(base, "anna", PASSWORD, remember=True)  # plain HTTP: the proxy forwarded it so
        assert answer.status_code == 303
        assert all("; Secure" in line for line in cookie_lines(answer).values())
        assert answer.headers["Strict-Transport-Security"] == "max-age=31536000"
        assert requests.get(f"{base}/login").headers["Server"] == "perispiegel"


def raw_request(base: str, head: str, body: bytes, timeout: float = 20) -> tuple[str, float]:
    """Send `head` and only `body` of what Content-Length announces; the status line and seconds until it came."""
    address = urlparse(base)
    started = time.monotonic()
    with socket.create_connection((address.hostname, address.port), timeout=timeout) as connection:
        connection.sendall(head.encode() + b"\r\n\r\n" + body)
        answer = connection.recv(4096).decode(errors="replace")
    return answer.split("\r\n", 1)[0], time.monotonic() - started


def test_an_anonymous_twenty_megabyte_post_is_refused_unread(without_proxies):
    base, _ = without_proxies
    host = urlparse(base).netloc
    head = (f"POST /login HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {20 * 1024 * 1024}")
    # Only 1 KB of the 20 MB is sent: an answer at all shows the server did not wait to read the rest.
    status, _ = raw_request(base, head, b"username=x&password=" + b"y" * 1000)
    assert status == "HTTP/1.1 413 REQUEST ENTITY TOO LARGE"
    chunked = f"POST /login HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked"
    assert raw_request(base, chunked, b"400\r\n" + b"y" * 1024 + b"\r\n")[0].startswith("HTTP/1.1 413")
    words = requests.post(f"{base}/login", data=b"x" * (100 * 1024), headers={"Accept-Language": "nl"})
    assert words.status_code == 413 and "groter dan de server aanneemt" in words.text
    api = requests.post(f"{base}/api/v1/indicators", data=b"x" * (100 * 1024))
    assert api.status_code == 413 and api.json() == {"error": "request too large", "status": 413}


def test_a_logged_in_user_may_send_a_larger_body_up_to_the_limit(tmp_path, monkeypatch):
    monkeypatch.setenv("PERISPIEGEL_MAX_REQUEST_MB", "1")
    url = database_with_accounts(tmp_path)
    with serving(url, quiet=True) as base:
        client = requests.Session()
        form = {"username": "anna", "password": PASSWORD, "csrf_token": csrf(client.get(f"{base}/login").text)}
        assert client.post(f"{base}/login", data=form, allow_redirects=False).status_code == 303
        token = csrf(client.get(f"{base}/account").text)
        # 200 KB from a logged-in user is read (the form is then refused for its odd days, not for its size).
        read = client.post(f"{base}/account/tokens", data={"csrf_token": token, "label": "x" * 200_000, "days": "7"})
        assert read.status_code == 400 and "Een token is 30, 90, 180, 365 dagen geldig" in read.text
        too_large = client.post(f"{base}/account/tokens", data={"csrf_token": token, "label": "x" * 2_000_000})
        assert too_large.status_code == 413
        layout = client.post(f"{base}/_dash-update-component", json={"output": "x", "inputs": [], "changedPropIds": []})
        assert layout.status_code != 413


def cli_environment(database_url: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "PERISPIEGEL_DATABASE_URL": database_url, "COLUMNS": "200", **extra}


def test_debug_is_refused_in_production(tmp_path):
    url = database_with_accounts(tmp_path)
    refused = subprocess.run([sys.executable, "-m", "cli", "serve", "--debug", "--port", "0"], cwd=PROJECT_ROOT,
                             capture_output=True, text=True, timeout=120,
                             env=cli_environment(url, PERISPIEGEL_ENV="production", **PRODUCTION_KEYS))
    assert refused.returncode == 2
    assert "--debug is refused with PERISPIEGEL_ENV=production" in refused.stdout
    assert "Traceback" not in refused.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_perispiegel_serve_names_no_software_versions(tmp_path):
    url = database_with_accounts(tmp_path)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "cli", "serve", "--port", str(port)], cwd=PROJECT_ROOT,
                              env=cli_environment(url), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/login", timeout=5)
                break
            except requests.ConnectionError:
                assert server.poll() is None and time.monotonic() < deadline, "perispiegel serve did not start"
                time.sleep(0.5)
        # Before: "Werkzeug/3.1.9 Python/3.11.7".
        assert answer.status_code == 200 and answer.headers["Server"] == "perispiegel"
    finally:
        server.terminate()
        server.wait(timeout=30)
