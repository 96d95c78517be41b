"""The registry console and the audit log as a user meets them, through the Flask test client on a real database
(SQLite and PostgreSQL): only an admin gets either (every other role a 403 and none of the data, whatever it asks
for); the console's month, states in words, links, filters, sort and its bad values; the audit log's filters by
user, action, organisation and dates, its pages, its CSV file (formula cells neutralised, the download itself
logged) and its bad values. The registry: tests/registry_world.py."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path

import flask
import pytest
from registry_world import load_registry
from sqlalchemy import Engine, select, update

import auth
from api import register_api
from auth import audit
from auth.tokens import create_token
from auth.users import add_user, get_user, grant
from queries.config import EngineConfig
from queries.delivery_calendar import CLOSING_DAYS_VARIABLE, DUE_DAYS_VARIABLE
from queries.engine import IndicatorEngine
from tables.schema import audit_log
from texts.formatting import spreadsheet_text

PASSWORD = "correct horse battery staple"
ACCOUNTS = {"provider": ("zorg", "P0001"), "vsv": ("vsv-test", "V001"), "researcher": ("onderzoek", None),
            "admin": ("beheer", None)}
# What the console and the audit log would give away: organisation names and codes, their tables, the CSV's header.
SECRETS = ("Ziekenhuis De Testhoeve", "Het Anker", "X9999", "registry-table", "audit-table", "Ingelogd", "Actiecode")


@pytest.fixture
def registry(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.delenv(DUE_DAYS_VARIABLE, raising=False)
    monkeypatch.delenv(CLOSING_DAYS_VARIABLE, raising=False)
    load_registry(engine, tmp_path / "deliveries")
    for role, (username, org_code) in ACCOUNTS.items():
        add_user(engine, username, role, org_code=org_code, password=PASSWORD, actor="tests")
    return engine


@pytest.fixture
def server(registry: Engine) -> flask.Flask:
    server = flask.Flask(__name__)
    server.config["SECRET_KEY"] = "test-secret"
    auth.install(server, registry)
    register_api(server, IndicatorEngine(registry, EngineConfig()))
    return server


def logged_in(server: flask.Flask, role: str):
    client = server.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = client.post("/login", data={"username": ACCOUNTS[role][0], "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 303, answer.get_data(as_text=True)
    return client


def page_of(client, address: str, status: int = 200) -> str:
    answer = client.get(address)
    assert answer.status_code == status, (address, answer.status_code)
    return answer.get_data(as_text=True)


def table_rows(html: str, table_id: str) -> list[list[str]]:
    """The body rows of a table as the text of their cells."""
    body = re.search(rf'<table[^>]*id="{table_id}".*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    return [[" ".join(unescape(re.sub(r"<[^>]+>", " ", cell)).split()) for cell in re.findall(r"<td[^>]*>(.*?)</td>",
                                                                                               row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def code_in(cell: str) -> str:
    """The organisation code in the console's first cell: "name CODE · type", or "... CODE" without a type."""
    return cell.split(" · ")[0].split()[-1]


def logged(engine: Engine, action: str) -> list[dict]:
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(
            select(audit_log).where(audit_log.c.action == action).order_by(audit_log.c.audit_id)).mappings()]


ADMIN_ADDRESSES = ("/admin/registry", "/admin/registry?month=2023-04&state=missing", "/admin/audit",
                   "/admin/audit?action=login_success&org=H001", "/admin/audit.csv", "/admin/audit.csv?user=beheer")


@pytest.mark.parametrize("role", ["provider", "vsv", "researcher"])
def test_only_an_admin_gets_the_console_and_the_audit_log(server, registry, role):
    client = logged_in(server, role)
    for address in ADMIN_ADDRESSES:
        answer = client.get(address)
        body = answer.get_data(as_text=True)
        assert answer.status_code == 403 and answer.mimetype == "text/html", address
        assert "U hebt geen toegang tot deze pagina." in body
        assert not any(secret in body for secret in SECRETS), address
        assert 'id="registry-link"' not in body  # no link to the console either
    refused = [entry["target"] for entry in logged(registry, "access_denied") if entry["actor"] == ACCOUNTS[role][0]]
    assert refused == [address.split("?")[0] for address in ADMIN_ADDRESSES]
    anonymous = server.test_client()
    for address in ADMIN_ADDRESSES:
        assert anonymous.get(address).status_code == 303  # to the login page


def test_the_console_shows_the_latest_month_per_organisation_and_discipline(server):
    client = logged_in(server, "admin")
    html = page_of(client, "/admin/registry")
    assert 'id="registry-link"' in html  # the admin's header links to it
    assert '<option value="2023-04" selected>april 2023</option>' in html
    assert "april 2023: leveringen zijn op tijd tot en met 30-05-2023; de maand sluit na 28-08-2023." in html
    assert "<code>PERISPIEGEL_DELIVERY_DUE_DAYS</code>" in html and "30e dag na het einde van de maand" in html
    rows = table_rows(html, "registry-table")
    # Most urgent first: missing, late, outside the calendar, on time.
    assert [row[:3] for row in rows] == [
        ["Verloskundigenpraktijk Het Anker P0002 · Verloskundigenpraktijk", "Verloskundige (LVR-1)", "Ontbreekt"],
        ["Ziekenhuis De Testhoeve H001 · Ziekenhuis", "Gynaecoloog (LVR-2)", "Te laat"],
        ["Niet in het register X9999", "Verloskundige (LVR-1)", "Buiten de kalender"],
        ["Verloskundigenpraktijk De Linde P0001 · Verloskundigenpraktijk", "Verloskundige (LVR-1)", "Op tijd"],
    ]
    assert rows[0][3:] == ["0", "0", "0", "0", "0", "—", "—"]
    assert rows[2][3:9] == ["1 1 geheel afgekeurd", "1", "0", "1", "0", "100,0%"]
    assert rows[3][3:9] == ["2 1 herzonden", "6", "5", "1", "0", "16,7%"]
    assert rows[3][9] == "02-06-2023 16:30 CEST"  # the resend, in Dutch time
    totals = re.search(r"<tfoot>(.*?)</tfoot>", html, re.S).group(1)
    assert 'id="total-files">4<' in totals and 'id="total-rejection-rate">16,7%<' in totals
    # Each registered organisation links to its feedback page; the unknown code has none.
    assert re.findall(r'href="(/datakwaliteit\?[^"]+)"', html) == [
        "/datakwaliteit?org=P0002", "/datakwaliteit?org=H001", "/datakwaliteit?org=P0001"]
    english = page_of(client, "/admin/registry?lang=en&state=late")
    assert "Administration: registry console" in english and "Late" in english
    assert "/datakwaliteit?org=H001&amp;lang=en" in english
    assert "April 2023: deliveries are on time up to and including 2023-05-30" in english
    # The language switch keeps the filters.
    assert re.search(r'class="language-switch" href="/admin/registry\?state=late&amp;lang=nl"', english)


def test_the_console_filters_and_sorts(server):
    client = logged_in(server, "admin")

    def codes(address: str) -> list[str]:
        return [code_in(row[0]) for row in table_rows(page_of(client, address), "registry-table")]

    assert codes("/admin/registry?state=missing") == ["P0002"]
    assert codes("/admin/registry?type=hospital") == ["H001"]
    assert codes("/admin/registry?discipline=lvr1&q=linde") == ["P0001"]
    assert codes("/admin/registry?q=x99") == ["X9999"]
    assert codes("/admin/registry?sort=rejection_rate") == ["X9999", "P0001", "H001", "P0002"]  # highest first
    assert codes("/admin/registry?sort=rejection_rate&order=asc") == ["H001", "P0001", "X9999", "P0002"]
    assert codes("/admin/registry?month=2023-03&sort=organisation") == ["P0001", "P0002", "H001"]
    html = page_of(client, "/admin/registry?type=practice&sort=rejection_rate&order=desc")
    assert 'aria-sort="descending"' in html
    # The column's link sorts the other way round, keeping the filters; another column's starts its own way.
    assert 'href="/admin/registry?type=practice&amp;sort=rejection_rate&amp;order=asc&amp;month=2023-04"' in html
    assert 'href="/admin/registry?type=practice&amp;sort=organisation&amp;order=asc&amp;month=2023-04"' in html
    none = page_of(client, "/admin/registry?type=hospital&state=missing")
    assert table_rows(none, "registry-table") == [["Geen organisaties die aan het filter voldoen."]]
    assert "0 van 4 rijen getoond." in none
    may = page_of(client, "/admin/registry?month=2023-05")  # nothing came in: everyone expected is missing
    assert {row[2] for row in table_rows(may, "registry-table")} == {"Ontbreekt"}


def test_the_console_says_which_value_it_does_not_take(server):
    client = logged_in(server, "admin")
    for address, words in (("/admin/registry?state=lost", "'lost' is geen waarde voor 'Stand'"),
                           ("/admin/registry?type=vsv", "'vsv' is geen waarde voor 'Type organisatie'"),
                           ("/admin/registry?month=2023-13", "'2023-13' is geen waarde voor 'Maand'"),
                           ("/admin/registry?sort=size", "'size' is geen waarde voor 'Sortering'"),
                           ("/admin/registry?order=sideways", "'sideways' is geen waarde voor 'Volgorde'")):
        html = page_of(client, address, 400)
        assert words in unescape(html), address
        assert len(table_rows(html, "registry-table")) == 4  # and the whole latest month instead


def test_the_calendar_variables_change_the_console(server, monkeypatch):
    monkeypatch.setenv(DUE_DAYS_VARIABLE, "100")
    html = page_of(logged_in(server, "admin"), "/admin/registry?sort=organisation")
    assert "100e dag na het einde van de maand" in html and "tot en met 08-08-2023" in html
    assert [row[2] for row in table_rows(html, "registry-table")] == [
        "Op tijd", "Ontbreekt", "Op tijd", "Buiten de kalender"]  # De Linde, Het Anker, the hospital, X9999


def at_time(engine: Engine, audit_ids: list[int], moment: datetime) -> None:
    with engine.begin() as connection:
        connection.execute(update(audit_log).where(audit_log.c.audit_id.in_(audit_ids)).values(at=moment))


def test_the_audit_log_filters_by_user_action_organisation_and_dates(server, registry):
    admin = logged_in(server, "admin")
    grant(registry, "onderzoek", "H001", actor="beheer")
    grant(registry, "onderzoek", "P0002", actor="beheer")
    add_user(registry, "kinderarts", "provider", org_code="H001", password=PASSWORD, actor="beheer")
    researcher = logged_in(server, "researcher")
    assert researcher.get("/api/v1/trend?indicator=caesarean&org=H001").status_code == 200
    assert researcher.get("/api/v1/trend?indicator=caesarean&org=P0002").status_code == 200
    provider = logged_in(server, "provider")  # P0001's account: its own view without org=
    assert provider.get("/api/v1/trend?indicator=caesarean").status_code == 200

    def shown(query: str) -> list[tuple[str, str, str]]:
        """(who, action, detail or target) of every row of the page; none when it says no entry matches."""
        rows = table_rows(page_of(admin, f"/admin/audit?{query}"), "audit-table")
        if rows == [["Geen regels die aan het filter voldoen."]]:
            return []
        return [(row[1], row[2], row[4] or row[3]) for row in rows]

    assert shown("org=H001") == [
        ("onderzoek", "Gegevens opgevraagd (API of export)", "/api/v1/trend?indicator=caesarean&org=H001"),
        ("beheer", "Gebruiker toegevoegd", "role provider, organisation H001"),
        ("beheer", "Toegang tot organisatie gegeven", "organisation H001"),
    ]
    # P0001: nothing names it, but its account logged in and asked the API.
    assert [action for _, action, _ in shown("org=P0001")] == ["Gegevens opgevraagd (API of export)", "Ingelogd",
                                                                "Gebruiker toegevoegd"]
    assert shown("org=h00") == []  # a code is matched whole, never a part of one
    assert [who for who, _, _ in shown("user=ONDERZOEK")] == ["onderzoek"] * 3  # export, export, login
    assert {action for _, action, _ in shown("action=user_grant")} == {"Toegang tot organisatie gegeven"}
    assert len(shown("action=user_grant&org=P0002")) == 1
    # Days are Dutch days: 23:30 UTC on 1 March is 00:30 on 2 March in the Netherlands.
    late_evening = audit.record(registry, "download", actor="zorg", target="late.csv")
    at_time(registry, [late_evening], datetime(2026, 3, 1, 23, 30, tzinfo=UTC))
    assert [target for _, _, target in shown("from=2026-03-02&to=2026-03-02")] == ["late.csv"]
    assert shown("from=2026-03-01&to=2026-03-01") == []
    assert shown("to=2026-03-01") == []
    assert [target for _, _, target in shown("action=download&from=2026-01-01")] == ["late.csv"]
    form = page_of(admin, "/admin/audit?action=download&from=2026-01-01")
    assert '<option value="download" selected>Bestand gedownload</option>' in form
    assert 'name="from" type="date" value="2026-01-01"' in form


def test_the_audit_log_is_paged_with_its_filters_kept(server, registry):
    admin = logged_in(server, "admin")
    ids = [audit.record(registry, "download", actor="zorg", target=f"file-{number:03d}.csv") for number in range(120)]
    start = datetime(2026, 2, 1, 9, tzinfo=UTC)
    for index, audit_id in enumerate(ids):
        at_time(registry, [audit_id], start + timedelta(hours=index))
    first = page_of(admin, "/admin/audit?action=download&user=zorg")
    assert "120 regels gevonden; pagina 1 van 3." in first and 'id="audit-page">Pagina 1 van 3<' in first
    rows = table_rows(first, "audit-table")
    assert len(rows) == 50 and rows[0][3] == "file-119.csv" and rows[-1][3] == "file-070.csv"  # newest first
    assert 'id="audit-previous"' not in first
    next_page = re.search(r'id="audit-next"', first) and re.search(r'href="([^"]+)" id="audit-next"', first).group(1)
    assert unescape(next_page) == "/admin/audit?user=zorg&action=download&page=2"
    second = page_of(admin, unescape(next_page))
    assert table_rows(second, "audit-table")[0][3] == "file-069.csv"
    assert 'href="/admin/audit?user=zorg&amp;action=download&amp;page=1" id="audit-previous"' in second
    last = page_of(admin, "/admin/audit?action=download&user=zorg&page=3")
    assert len(table_rows(last, "audit-table")) == 20 and 'id="audit-next"' not in last
    assert "pagina 3 van 3" in page_of(admin, "/admin/audit?action=download&user=zorg&page=99")
    english = page_of(admin, "/admin/audit?action=download&user=zorg&lang=en")
    assert "Page 1 of 3" in english and "/admin/audit?user=zorg&amp;action=download&amp;page=2&amp;lang=en" in english


def test_the_audit_log_as_csv_neutralises_formulas_and_is_itself_logged(server, registry):
    admin = logged_in(server, "admin")
    zorg = get_user(registry, username="zorg")
    for label in ('=HYPERLINK("http://evil.example","klik")', "+31 6 1234", "-2+3", "@SUM(A1)", "gewoon label"):
        create_token(registry, zorg, label, address="192.0.2.7")
    answer = admin.get("/admin/audit.csv?action=token_create")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert re.fullmatch(r'attachment; filename="perispiegel-audit-\d{4}-\d\d-\d\d\.csv"',
                        answer.headers["Content-Disposition"])
    body = answer.get_data(as_text=True)
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.removeprefix("\ufeff")), delimiter=";"))
    assert rows[0] == ["Tijdstip (Nederlandse tijd)", "Wie", "Actie", "Actiecode", "Waarop", "Details", "Adres"]
    assert [row[4] for row in rows[1:]] == ["gewoon label", "'@SUM(A1)", "'-2+3", "'+31 6 1234",
                                            '\'=HYPERLINK("http://evil.example","klik")']
    # A token's label loses its leading blanks; a tab or carriage return at the start of another text would get one.
    cells = ("\tcmd", "\r=1", "a=b", None, 7, -3, "-2+3", "-1,5")
    assert [spreadsheet_text(value) for value in cells] == ["'\tcmd", "'\r=1", "a=b", "", "7", "-3", "'-2+3", "-1,5"]
    assert {(row[1], row[2], row[3], row[6]) for row in rows[1:]} == {
        ("zorg", "API-token aangemaakt", "token_create", "192.0.2.7")}
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+0[12]:00", row[0]) for row in rows[1:])
    exported = logged(registry, "audit_export")
    assert [(entry["actor"], entry["target"], entry["detail"]) for entry in exported] == [
        ("beheer", "/admin/audit.csv?action=token_create", "5 rows")]
    # The audit page names the download in words; in English the file is comma-separated.
    assert "Auditlog gedownload (CSV)" in page_of(admin, "/admin/audit?action=audit_export")
    english = admin.get("/admin/audit.csv?action=audit_export&lang=en").get_data(as_text=True)
    assert list(csv.reader(io.StringIO(english.removeprefix("\ufeff"))))[1][2] == "Audit log downloaded (CSV)"


def test_the_audit_log_says_which_filter_it_does_not_take(server, registry):
    admin = logged_in(server, "admin")
    for address, words in (
            ("/admin/audit?action=delete_everything", "'delete_everything' is geen actie van het auditlog"),
            ("/admin/audit?from=01-03-2026", "'01-03-2026' bij 'Vanaf' is geen datum"),
            ("/admin/audit?to=2026-02-30", "'2026-02-30' bij 'Tot en met' is geen datum"),
            ("/admin/audit?from=2026-03-05&to=2026-03-01",
             "De einddatum 2026-03-01 ligt vóór de begindatum 2026-03-05"),
            ("/admin/audit?org=H001%27%20OR%201%3D1", "'H001' OR 1=1' is geen organisatiecode"),
            ("/admin/audit?page=twee", "'twee' is geen paginanummer")):
        html = page_of(admin, address, 400)
        assert words in unescape(html), address
        assert 'id="audit-table"' not in html
    answer = admin.get("/admin/audit.csv?from=2026-03-05&to=2026-03-01")
    assert answer.status_code == 400 and answer.mimetype == "text/html"
    assert "De einddatum 2026-03-01 ligt vóór de begindatum 2026-03-05" in unescape(answer.get_data(as_text=True))
    assert logged(registry, "audit_export") == []  # nothing was downloaded
