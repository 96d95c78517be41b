"""Formula cells (issue 15, OWASP "CSV Injection"): organisation names are anyone's text in the register, and a
name starting with `=`, `+`, `-` or `@` must reach every file people open in a spreadsheet as text — the compare
table's CSV (a Dash download), the API's CSV and XLSX exports — while numbers, negative ones too, stay numbers.
Over real HTTP against the real app, logged in as a person and with an API token."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from collections.abc import Iterator

import openpyxl
import pytest
import requests
from app_server import serving
from browser.demo_data import PLANTED, fill_demo_database
from sqlalchemy import update

from auth.tokens import create_token
from auth.users import add_user, get_user
from tables.database import make_engine
from tables.schema import organisations
from texts.formatting import spreadsheet_text, starts_a_formula

PASSWORD = "a long enough password"
HOSTILE_NAMES = {PLANTED.hospital: '=HYPERLINK("http://evil.example","klik")', "H0002": "@SUM(1+1)*cmd|' /C calc'!A0",
                 "H0003": "-2+3+cmd|' /C calc'!A0", "H0004": "+1+1"}

pytestmark = pytest.mark.xdist_group("formula_cells")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """The real app on the demo world, four hospitals renamed to formulas: (base URL, an admin's API token)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('formula') / 'demo.db'}"
    engine = make_engine(url)
    fill_demo_database(engine, other_hospitals=5)
    with engine.begin() as connection:
        for code, name in HOSTILE_NAMES.items():
            connection.execute(update(organisations).where(organisations.c.org_code == code).values(name=name))
    add_user(engine, "zorgverlener", "provider", org_code=PLANTED.hospital, password=PASSWORD)
    add_user(engine, "beheer", "admin", password=PASSWORD)
    token = create_token(engine, get_user(engine, username="beheer"), "formula test")
    engine.dispose()
    with serving(url, quiet=True) as base:
        yield base, token


def test_the_rule(world):
    assert [spreadsheet_text(value) for value in ("=1+1", "+31 6", "@x", "\tx", "\rx", "-2+3", "-1,5", "-3", -3,
                                                  "a=b", None)] == [
        "'=1+1", "'+31 6", "'@x", "'\tx", "'\rx", "'-2+3", "-1,5", "-3", "-3", "a=b", ""]
    assert not starts_a_formula("-0,25%") and starts_a_formula("-A1")


def test_the_compare_csv_holds_the_names_as_text(world):
    base, _ = world
    client = requests.Session()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get(f"{base}/login").text).group(1)
    client.post(f"{base}/login", data={"username": "zorgverlener", "password": PASSWORD, "csrf_token": csrf})
    client.get(f"{base}/vergelijken")
    dependencies = client.get(f"{base}/_dash-dependencies").json()
    callback = next(entry for entry in dependencies if entry["output"] == "compare-download.data")
    values = {"compare-download-button.n_clicks": 1, "compare-request.data": "", "compare-grid.virtualRowData": None,
              "compare-measure.value": "full"}

    def filled(items: list[dict]) -> list[dict]:
        return [{**item, "value": values.get(f"{item['id']}.{item['property']}")} for item in items]

    answer = client.post(f"{base}/_dash-update-component", json={
        "output": callback["output"], "outputs": {"id": "compare-download", "property": "data"},
        "inputs": filled(callback["inputs"]), "state": filled(callback["state"]),
        "changedPropIds": ["compare-download-button.n_clicks"]})
    assert answer.status_code == 200, answer.text[:300]
    download = answer.json()["response"]["compare-download"]["data"]
    content = download["content"] if not download.get("base64") else base64.b64decode(download["content"]).decode()
    rows = list(csv.reader(io.StringIO(content.lstrip("\ufeff")), delimiter=";"))
    cells = [cell for row in rows for cell in row]
    own = HOSTILE_NAMES[PLANTED.hospital]
    assert any(cell.startswith(f"'{own}") for cell in cells), rows[0]  # the provider's own hospital, by name
    assert not [cell for cell in cells if starts_a_formula(cell)]


def test_the_api_csv_and_xlsx_exports_hold_the_names_as_text(world):
    base, token = world
    headers = {"Authorization": f"Bearer {token}"}
    question = "indicator=caesarean&level=hospital"
    answer = requests.get(f"{base}/api/v1/export?{question}&format=csv", headers=headers)
    assert answer.status_code == 200, answer.text[:300]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    labels = {row["org_label"] for row in rows}
    assert {f"'{name}" for name in HOSTILE_NAMES.values()} <= labels
    assert not [value for row in rows for value in row.values() if starts_a_formula(value)]
    workbook = openpyxl.load_workbook(io.BytesIO(requests.get(f"{base}/api/v1/export?{question}&format=xlsx",
                                                              headers=headers).content))
    cells = [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    named = [cell for cell in cells if cell.value in HOSTILE_NAMES.values()]
    assert {cell.value for cell in named} == set(HOSTILE_NAMES.values()) and all(cell.quotePrefix for cell in named)
    negative = [cell for cell in cells if isinstance(cell.value, int | float) and cell.value < 0]
    assert all(not cell.quotePrefix and cell.data_type == "n" for cell in negative)
    assert json.dumps([cell.value for cell in cells], default=str).count("HYPERLINK") >= 1
