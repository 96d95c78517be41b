"""What each role can and cannot see, through crafted HTTP requests with other organisations' codes.

The register (tests/births_factory.py): VSV Noord (V01) with Ziekenhuis Noord (H001) and Praktijk De Wieg (P001);
VSV Zuid (V02) with Ziekenhuis Zuid (H002), Ziekenhuis Zuid-Oost (H003) and Praktijk Het Nest (P002).
An organisation is "identified" in an answer when its code or name appears in it; peers may appear only under
a pseudonym. Every answer is read as raw text, so nothing identifying can hide in any field.
"""

from __future__ import annotations

from collections.abc import Iterator

import flask
import pytest
from births_factory import ORGANISATIONS, publish, random_births
from sqlalchemy import Engine

import auth
from api import register_api
from auth.tokens import create_token
from auth.users import add_user, grant
from queries.config import EngineConfig
from queries.engine import IndicatorEngine
from tables.database import make_engine

NAMES = {org["org_code"]: org["name"] for org in ORGANISATIONS}
ALL_CODES = set(NAMES)
# role → (user arguments, organisations it may identify)
ACCOUNTS = {
    "provider": ({"role": "provider", "org_code": "H001"}, {"H001", "V01"}),
    "vsv": ({"role": "vsv", "org_code": "V02"}, {"V02", "H002", "H003", "P002"}),
    "researcher": ({"role": "researcher"}, set()),
    "granted": ({"role": "researcher"}, {"H002"}),
    "admin": ({"role": "admin"}, ALL_CODES),
}
QUESTIONS = [f"/api/v1/{question}?indicator=caesarean&level={level}"
             for question in ("results", "funnel", "adjusted") for level in ("hospital", "practice", "vsv")]


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('scope') / 'scope.db'}")
    publish(engine, random_births(900, seed=11, caesarean_rates=(0.10, 0.30, 0.20)))
    for name, (arguments, _) in ACCOUNTS.items():
        add_user(engine, name, **arguments)
    grant(engine, "granted", "H002")
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def api(database: Engine) -> dict[str, flask.testing.FlaskClient]:
    """A client per role, each sending its user's personal API token."""
    server = flask.Flask(__name__)
    server.config["SECRET_KEY"] = "test"
    auth.install(server, database)
    register_api(server, IndicatorEngine(database, EngineConfig()))
    clients = {}
    for name in ACCOUNTS:
        client = server.test_client()
        user = auth.users.get_user(database, username=name)
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {create_token(database, user, 'scope test')}"
        clients[name] = client
    return clients


def identified(body: str) -> set[str]:
    """The organisations whose code or name appears in an answer."""
    return {code for code, name in NAMES.items() if f'"{code}"' in body or name in body}


@pytest.mark.parametrize("role", list(ACCOUNTS))
@pytest.mark.parametrize("path", QUESTIONS)
def test_answers_identify_only_the_organisations_the_role_may_see(api, role, path):
    response = api[role].get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_data(as_text=True)
    may_see = ACCOUNTS[role][1] if role != "granted" else set()  # results name no one but the viewer's own
    assert identified(body) <= may_see, f"{role} sees {identified(body) - may_see} in {path}"
    rows = response.get_json()["rows"]
    assert rows, "the answer has organisation rows"
    anonymous = [row for row in rows if row["org_code"] is None]
    assert all(not row["named"] and row["label"] not in NAMES.values() for row in anonymous)


def test_provider_sees_its_own_numbers_counted_from_the_births(api):
    births = random_births(900, seed=11, caesarean_rates=(0.10, 0.30, 0.20))
    own = [row for row in births if row["hospital_code"] == "H001"]
    body = api["provider"].get("/api/v1/results?indicator=caesarean&level=hospital").get_json()
    [row] = [row for row in body["rows"] if row["own"]]
    assert row["org_code"] == "H001" and row["label"] == "Ziekenhuis Noord"
    assert (row["numerator"], row["denominator"]) == (sum(r["caesarean"] for r in own), len(own))
    assert len(body["rows"]) == 3 and sum(row["org_code"] is None for row in body["rows"]) == 2


@pytest.mark.parametrize(("role", "org"), [
    ("provider", "H002"), ("provider", "P001"), ("provider", "V02"), ("vsv", "H001"), ("vsv", "P001"),
    ("vsv", "V01"), ("researcher", "H001"), ("researcher", "V01"), ("granted", "H001"), ("granted", "V02"),
])
@pytest.mark.parametrize("question", ["trend?indicator=caesarean", "breakdown?indicator=caesarean&dimension=parity"])
def test_asking_for_another_organisation_is_refused_without_its_numbers(api, role, org, question):
    response = api[role].get(f"/api/v1/{question}&org={org}")
    assert response.status_code == 403
    body = response.get_data(as_text=True)
    assert "numerator" not in body and NAMES[org] not in body


@pytest.mark.parametrize(("role", "org"), [
    ("provider", "H001"), ("vsv", "V02"), ("vsv", "H003"), ("vsv", "P002"), ("granted", "H002"), ("admin", "H002"),
])
def test_asking_for_a_permitted_organisation_answers_with_its_series(api, role, org):
    response = api[role].get(f"/api/v1/trend?indicator=caesarean&org={org}")
    assert response.status_code == 200
    series = response.get_json()["series"]
    assert [s["org_code"] for s in series if s["kind"] != "national"] == [org]
    assert identified(response.get_data(as_text=True)) <= ACCOUNTS[role][1] | {org}


def test_admin_and_vsv_see_organisations_by_name(api):
    admin = api["admin"].get("/api/v1/results?indicator=caesarean&level=hospital").get_data(as_text=True)
    assert identified(admin) >= {"H001", "H002", "H003"}
    vsv = api["vsv"].get("/api/v1/results?indicator=caesarean&level=hospital").get_data(as_text=True)
    assert identified(vsv) == {"H002", "H003", "V02"}  # V02: the viewer itself


def test_a_token_cannot_claim_another_role_or_organisation(api):
    # Parameters that once chose a demo viewer, or that look like a scope, change nothing: they are refused.
    for crafted in ("&as=admin", "&role=admin", "&viewer=admin", "&org_code=H002", "&vsv=V02"):
        response = api["provider"].get(f"/api/v1/results?indicator=caesarean&level=hospital{crafted}")
        assert response.status_code == 400 and identified(response.get_data(as_text=True)) <= {"H001", "V01"}
