"""Deliveries over HTTP (`POST /api/v1/deliveries`, `/deliveries/validate`) and `perispiegel validate FILE`: a sender
token delivers for its own organisation only, gets the feedback per dossier (JSON or a FHIR OperationOutcome), and
the next refresh loads what was stored; validating stores nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import flask
import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fixtures.delivery_files import ORGANISATIONS_FILE, POSTCODE_FILE, child_of, csv_text
from sqlalchemy import Engine, func, select

import auth
import cli
from api import register_api
from auth.tokens import create_token
from auth.users import UserError, add_user, authenticate, sender_token
from loader.refresh import run_refresh
from loader.register import read_organisations_file, upsert_organisations
from queries.config import EngineConfig
from queries.engine import IndicatorEngine
from synthetic.fhir import bundle_of
from tables.schema import audit_log, deliveries, records

NDJSON = "application/x-ndjson"
APRIL = "/api/v1/deliveries?month=2023-04"


def ndjson(*bundles: dict) -> bytes:
    return "".join(json.dumps(bundle) + "\n" for bundle in bundles).encode()


def wrong_unit(bundle: dict) -> dict:
    """The first Observation's valueQuantity gets unit 'kg' (a FHIR error named by its element)."""
    for entry in bundle["entry"]:
        if "valueQuantity" in entry["resource"]:
            entry["resource"]["valueQuantity"]["code"] = "kg"
            return bundle
    raise AssertionError("no valueQuantity in the Bundle")


@pytest.fixture
def server(sqlite_engine: Engine, tmp_path: Path) -> flask.Flask:
    with sqlite_engine.begin() as connection:
        upsert_organisations(connection, read_organisations_file(ORGANISATIONS_FILE))
    app = flask.Flask(__name__)
    app.config["SECRET_KEY"] = "test"
    app.config["PERISPIEGEL_DELIVERIES_DIR"] = str(tmp_path / "deliveries")
    auth.install(app, sqlite_engine)
    register_api(app, IndicatorEngine(sqlite_engine, EngineConfig()))
    return app


def client_with(server: flask.Flask, token: str) -> flask.testing.FlaskClient:
    client = server.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


@pytest.fixture
def sender(server: flask.Flask, sqlite_engine: Engine) -> flask.testing.FlaskClient:
    add_user(sqlite_engine, "lis-p0001", "sender", org_code="P0001")
    return client_with(server, sender_token(sqlite_engine, "lis-p0001"))


def received_files(tmp_path: Path) -> list[str]:
    folder = tmp_path / "deliveries" / "received"
    return sorted(path.name for path in folder.iterdir() if path.is_file()) if folder.is_dir() else []


def count(engine: Engine, table) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def test_a_sender_delivers_ndjson_and_the_next_refresh_loads_it(sender, sqlite_engine, tmp_path):
    response = sender.post(APRIL, data=ndjson(bundle_of([child_of(1)]), bundle_of([child_of(2)])),
                           content_type=NDJSON)
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body["file_name"] == "lvr1_P0001_2023-04.ndjson" and body["stored"] is True
    assert (body["status"], body["records_read"], body["records_accepted"], body["records_rejected"]) == (
        "accepted", 2, 2, 0)
    assert [(d["dossier_id"], d["line_number"], d["status"]) for d in body["dossiers"]] == [
        ("D1", 1, "accepted"), ("D2", 2, "accepted")]
    assert received_files(tmp_path) == ["lvr1_P0001_2023-04.ndjson"]
    assert count(sqlite_engine, deliveries) == 0  # the refresh writes the deliveries row, not the API

    summary = run_refresh(tmp_path / "deliveries", sqlite_engine, organisations_file=ORGANISATIONS_FILE,
                          postcode_file=POSTCODE_FILE)
    assert summary.status == "published", summary
    with sqlite_engine.connect() as connection:
        loaded = connection.execute(select(deliveries.c.file_name, deliveries.c.status)).all()
        dossiers = set(connection.execute(select(records.c.dossier_id)).scalars())
    assert [tuple(row) for row in loaded] == [("lvr1_P0001_2023-04.ndjson", "accepted")]
    assert dossiers == {"D1", "D2"}
    with sqlite_engine.connect() as connection:
        actions = list(connection.execute(select(audit_log.c.action, audit_log.c.target)).all())
    assert ("delivery_received", "lvr1_P0001_2023-04.ndjson") in [tuple(row) for row in actions]


def test_a_second_delivery_of_the_month_is_a_resend(sender, tmp_path):
    first = sender.post(APRIL, data=ndjson(bundle_of([child_of(1)])), content_type=NDJSON)
    second = sender.post(APRIL + "&format=csv", data=csv_text([child_of(1), child_of(2)]).encode(),
                         content_type="application/octet-stream")
    third = sender.post(APRIL, data=ndjson(bundle_of([child_of(3)])), content_type=NDJSON)
    assert (first.status_code, second.status_code, third.status_code) == (202, 202, 202)
    assert [first.get_json()["file_name"], second.get_json()["file_name"], third.get_json()["file_name"]] == [
        "lvr1_P0001_2023-04.ndjson", "lvr1_P0001_2023-04_resend1.csv", "lvr1_P0001_2023-04_resend2.ndjson"]
    assert received_files(tmp_path) == ["lvr1_P0001_2023-04.ndjson", "lvr1_P0001_2023-04_resend1.csv",
                                        "lvr1_P0001_2023-04_resend2.ndjson"]


def test_records_of_another_organisation_are_rejected_in_the_feedback(sender, tmp_path):
    response = sender.post(APRIL + "&lang=nl", data=ndjson(bundle_of([child_of(1)]),
                                                           bundle_of([child_of(2, org_code="P0002")])),
                           content_type=NDJSON)
    assert response.status_code == 202
    body = response.get_json()
    assert (body["records_accepted"], body["records_rejected"]) == (1, 1)
    rejected = [d for d in body["dossiers"] if d["status"] == "rejected"]
    assert [d["dossier_id"] for d in rejected] == ["D2"]
    assert rejected[0]["errors"][0]["code"] == "org_code_mismatch:org_code"
    assert "P0002" in rejected[0]["errors"][0]["message"]
    assert "records gelezen" in body["message"]


def test_a_file_rejected_as_a_whole_is_not_stored(sender, tmp_path):
    # A practice sends no obstetrician's records (lvr2): the file is rejected as a whole.
    response = sender.post(APRIL + "&discipline=lvr2", data=ndjson(bundle_of([child_of(1)])), content_type=NDJSON)
    assert response.status_code == 422
    body = response.get_json()
    assert body["stored"] is False and body["status"] == "rejected" and body["error_code"]
    assert received_files(tmp_path) == []


def test_the_parameters_are_checked(sender):
    missing = sender.post("/api/v1/deliveries", data=b"x", content_type=NDJSON)
    assert missing.status_code == 400 and missing.get_json()["parameter"] == "month"
    assert "YYYY-MM" in missing.get_json()["error"]
    bad = sender.post("/api/v1/deliveries?month=2023-13", data=b"x", content_type=NDJSON)
    assert bad.status_code == 400 and bad.get_json()["parameter"] == "month"
    no_format = sender.post(APRIL, data=b"x", content_type="application/octet-stream")
    assert no_format.status_code == 415
    other_org = sender.post(APRIL + "&org=P0002", data=b"x", content_type=NDJSON)
    assert other_org.status_code == 400 and other_org.get_json()["parameter"] == "org"


def test_a_provider_token_may_not_deliver(server, sqlite_engine):
    user, _ = add_user(sqlite_engine, "midwife", "provider", org_code="P0001")
    provider = client_with(server, create_token(sqlite_engine, user, "test"))
    response = provider.post(APRIL, data=ndjson(bundle_of([child_of(1)])), content_type=NDJSON)
    assert response.status_code == 403


def test_a_sender_token_sees_no_figures(sender):
    for path in ("/api/v1/indicators", "/api/v1/overview", "/api/v1/results?indicator=caesarean&level=hospital"):
        response = sender.get(path)
        assert response.status_code == 403, path
        assert "sender" in response.get_json()["error"]


def test_a_sender_has_no_password_login(sqlite_engine, server):
    _, password = add_user(sqlite_engine, "lis-p0002", "sender", org_code="P0002", password="a-long-password-1")
    assert authenticate(sqlite_engine, "lis-p0002", password) is None
    with pytest.raises(UserError):
        add_user(sqlite_engine, "lis-v001", "sender", org_code="V001")  # a VSV sends nothing
    add_user(sqlite_engine, "midwife2", "provider", org_code="P0001")
    with pytest.raises(UserError):
        sender_token(sqlite_engine, "midwife2")  # other users make their own tokens


def test_validate_stores_nothing(sender, sqlite_engine, tmp_path):
    response = sender.post("/api/v1/deliveries/validate?month=2023-04",
                           data=ndjson(bundle_of([child_of(1)]), wrong_unit(bundle_of([child_of(2)]))),
                           content_type=NDJSON)
    assert response.status_code == 200
    body = response.get_json()
    assert body["stored"] is False and (body["records_accepted"], body["records_rejected"]) == (1, 1)
    assert received_files(tmp_path) == [] and not (tmp_path / "deliveries").exists()
    assert count(sqlite_engine, deliveries) == 0


def test_any_account_validates_naming_the_organisation(server, sqlite_engine):
    user, _ = add_user(sqlite_engine, "vendor", "researcher")
    vendor = client_with(server, create_token(sqlite_engine, user, "test"))
    without = vendor.post("/api/v1/deliveries/validate?month=2023-04", data=b"x", content_type=NDJSON)
    assert without.status_code == 400 and without.get_json()["parameter"] == "org"
    response = vendor.post("/api/v1/deliveries/validate?month=2023-04&org=P0001",
                           data=ndjson(bundle_of([child_of(1)])), content_type=NDJSON)
    assert response.status_code == 200 and response.get_json()["records_accepted"] == 1


def test_validating_for_another_organisation_does_not_tell_whether_it_delivered(server, sender, sqlite_engine,
                                                                                tmp_path):
    for _ in range(2):  # P0001 delivers April twice: the file and _resend1
        assert sender.post(APRIL, data=ndjson(bundle_of([child_of(1)])), content_type=NDJSON).status_code == 202
    user, _ = add_user(sqlite_engine, "vendor", "researcher")
    vendor = client_with(server, create_token(sqlite_engine, user, "test"))
    response = vendor.post("/api/v1/deliveries/validate?month=2023-04&org=P0001",
                           data=ndjson(bundle_of([child_of(1)])), content_type=NDJSON)
    assert response.get_json()["file_name"] == "lvr1_P0001_2023-04.ndjson"  # not _resend2: that would tell
    own = sender.post("/api/v1/deliveries/validate?month=2023-04", data=ndjson(bundle_of([child_of(1)])),
                      content_type=NDJSON)
    assert own.get_json()["file_name"] == "lvr1_P0001_2023-04_resend2.ndjson"  # the sender's own: what it will be


def test_the_operation_outcome_names_the_fhir_element(sender):
    response = sender.post("/api/v1/deliveries/validate?month=2023-04",
                           data=ndjson(bundle_of([child_of(1)]), wrong_unit(bundle_of([child_of(2)]))),
                           content_type=NDJSON, headers={"Accept": "application/fhir+json"})
    assert response.status_code == 200 and response.mimetype == "application/fhir+json"
    outcome = OperationOutcome.model_validate_json(response.get_data())
    errors = [issue for issue in outcome.issue if issue.severity == "error"]
    assert len(errors) == 1 and errors[0].code == "invalid"
    assert errors[0].expression and errors[0].expression[0].startswith("Bundle.entry[")
    assert errors[0].expression[0].endswith(".resource.valueQuantity.code")
    assert errors[0].diagnostics.startswith(errors[0].expression[0] + ": ")
    assert "D2" in errors[0].details.text
    assert outcome.issue[0].severity == "information"


def test_perispiegel_validate_exit_codes(sqlite_engine, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "make_engine", lambda: sqlite_engine)
    with sqlite_engine.begin() as connection:
        upsert_organisations(connection, read_organisations_file(ORGANISATIONS_FILE))
    good = tmp_path / "lvr1_P0001_2023-04.ndjson"
    good.write_bytes(ndjson(bundle_of([child_of(1)])))
    bad = tmp_path / "lvr1_P0001_2023-04_resend1.ndjson"
    bad.write_bytes(ndjson(bundle_of([child_of(1)]), wrong_unit(bundle_of([child_of(2)]))))
    assert cli.main(["validate", str(good)]) == 0
    assert cli.main(["validate", str(bad)]) == 1
    assert "partially_accepted" in capsys.readouterr().out
    assert cli.main(["validate", str(bad), "--json"]) == 1
    answer = json.loads(capsys.readouterr().out)
    assert answer["records_rejected"] == 1 and answer["stored"] is False
    assert answer["dossiers"][1]["errors"][0]["message"].startswith("Bundle.entry[")
    # As another organisation's: every record names P0001, so each is rejected.
    assert cli.main(["validate", str(good), "--org", "P0002"]) == 1
    assert cli.main(["validate", str(tmp_path / "no_such_file.ndjson")]) == 2


def test_an_admin_makes_a_sender_and_its_token_on_the_admin_page(server, sqlite_engine, tmp_path):
    add_user(sqlite_engine, "root", "admin", password="a-long-password-1")
    admin = server.test_client()
    csrf = re.compile(r'name="csrf_token" value="([^"]+)"')
    login_form = admin.get("/login").get_data(as_text=True)
    admin.post("/login", data={"username": "root", "password": "a-long-password-1",
                               "csrf_token": csrf.search(login_form).group(1)})
    page = admin.get("/admin").get_data(as_text=True)
    added = admin.post("/admin/users", data={"username": "lis-h001", "role": "sender", "org_code": "H001",
                                             "csrf_token": csrf.search(page).group(1)})
    token = re.search(r'<code id="shown-once">([^<]+)</code>', added.get_data(as_text=True)).group(1)
    assert token.startswith("psp_")
    hospital = client_with(server, token)
    no_discipline = hospital.post(APRIL, data=b"x", content_type=NDJSON)
    assert no_discipline.status_code == 400 and no_discipline.get_json()["parameter"] == "discipline"
    response = hospital.post(APRIL + "&discipline=lvr2", data=b"x", content_type=NDJSON)
    assert response.status_code in (202, 422) and response.get_json()["file_name"] == "lvr2_H001_2023-04.ndjson"


def test_a_delivery_to_the_real_server(sqlite_engine, tmp_path, monkeypatch):
    """The whole app (app.create_app) on a port: a sender's token delivers, the file lands in
    $PERISPIEGEL_DELIVERIES_DIR/received."""
    from urllib.error import HTTPError
    from urllib.request import Request, urlopen

    from app_server import serving

    monkeypatch.setenv("PERISPIEGEL_DELIVERIES_DIR", str(tmp_path / "deliveries"))
    with sqlite_engine.begin() as connection:
        upsert_organisations(connection, read_organisations_file(ORGANISATIONS_FILE))
    add_user(sqlite_engine, "lis-p0001", "sender", org_code="P0001")
    token = sender_token(sqlite_engine, "lis-p0001")
    with serving(str(sqlite_engine.url), quiet=True) as base:
        request = Request(f"{base}{APRIL}", data=ndjson(bundle_of([child_of(1)])), method="POST",
                          headers={"Authorization": f"Bearer {token}", "Content-Type": NDJSON})
        with urlopen(request, timeout=30) as answer:
            assert answer.status == 202
            assert json.loads(answer.read())["file_name"] == "lvr1_P0001_2023-04.ndjson"
        refused = Request(f"{base}/api/v1/indicators", headers={"Authorization": f"Bearer {token}"})
        with pytest.raises(HTTPError) as error:
            urlopen(refused, timeout=30)
        assert error.value.code == 403
    assert received_files(tmp_path) == ["lvr1_P0001_2023-04.ndjson"]


def test_the_console_makes_a_sender_and_its_token(sqlite_engine, monkeypatch, capsys):
    monkeypatch.setattr(cli, "make_engine", lambda: sqlite_engine)
    with sqlite_engine.begin() as connection:
        upsert_organisations(connection, read_organisations_file(ORGANISATIONS_FILE))
    assert cli.main(["users", "add", "lis-p0001", "--role", "sender", "--org", "P0001"]) == 0
    assert "Password" not in capsys.readouterr().out
    assert cli.main(["users", "token", "lis-p0001", "--days", "365"]) == 0
    assert re.search(r"psp_[A-Za-z0-9_-]{20,}", capsys.readouterr().out)
    assert cli.main(["users", "add", "midwife", "--role", "provider", "--org", "P0001"]) == 0
    assert cli.main(["users", "token", "midwife"]) == 1  # other users make their own on /account
