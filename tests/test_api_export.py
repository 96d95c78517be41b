"""`GET /api/v1/export` and the file answers of the other routes, as a client sees them: each format read back with
a real reader (csv module and polars, openpyxl, pyarrow) holds the engine's export answer for the same question;
the file names differ per question; the audit log has the export with its rows; bad parameters get a 400."""

from __future__ import annotations

import csv
import io

import openpyxl
import polars as pl
import pyarrow.parquet as pq
import pytest
from births_factory import publish, random_births
from polars.testing import assert_frame_equal
from test_api import api_client

from auth import audit
from queries.config import EngineConfig
from queries.engine import IndicatorEngine
from queries.export_table import EXPORT_COLUMNS
from queries.scope import Viewer

COLUMN_NAMES = [column.name for column in EXPORT_COLUMNS]
QUESTION = "indicator=caesarean,preterm&level=hospital&grain=quarter&dimension=parity&period=2023-01..2023-12"


@pytest.fixture
def published(sqlite_engine):
    publish(sqlite_engine, random_births(600, seed=4, caesarean_rates=(0.12, 0.40, 0.12)))
    return sqlite_engine


def same_rows(read: pl.DataFrame, truth: pl.DataFrame) -> None:
    """The same rows and values; the case-mix expected counts are float sums whose last digits depend on the
    order the group-by summed them in (another engine instance, another order)."""
    assert_frame_equal(read, truth, check_exact=False, rel_tol=1e-12, abs_tol=0)


def engine_rows(db, viewer: Viewer, **question) -> pl.DataFrame:
    table = IndicatorEngine(db, EngineConfig()).export(viewer, question.pop("filters", {}), **question)
    return pl.concat(list(table.chunks()))


def expected(db, viewer: Viewer) -> pl.DataFrame:
    return engine_rows(db, viewer, filters={"period": "2023-01..2023-12"}, indicators=["caesarean", "preterm"],
                       level="hospital", grain="quarter", dimensions=["parity"])


def test_csv_holds_the_engines_answer_and_is_machine_readable(published):
    client = api_client(published, "researcher")
    response = client.get(f"/api/v1/export?{QUESTION}&format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == COLUMN_NAMES
    truth = expected(published, Viewer("researcher"))
    read = pl.read_csv(io.StringIO(body), schema=truth.schema)
    same_rows(read, truth)
    # Numbers are numbers: integers without decimals, proportions with a dot, never a word in a number column.
    numerator = COLUMN_NAMES.index("numerator")
    rate = COLUMN_NAMES.index("rate")
    assert all(row[numerator] == "" or row[numerator].isdigit() for row in rows[1:])
    assert all(row[rate] == "" or 0 <= float(row[rate]) <= 1 for row in rows[1:])
    # A cell without counts is empty and says why (here: three hospitals are fewer than five peers).
    reason = COLUMN_NAMES.index("suppression_reason")
    hidden = [row for row in rows[1:] if row[reason] in ("count_masked", "few_peers", "complementary")]
    assert hidden and all(row[numerator] == "" and row[rate] == "" for row in hidden)
    assert {row[reason] for row in hidden} == {"few_peers"}


def test_xlsx_and_parquet_hold_the_same_numbers_and_say_what_they_are(published):
    client = api_client(published, "researcher")
    truth = expected(published, Viewer("researcher"))
    workbook = openpyxl.load_workbook(io.BytesIO(client.get(f"/api/v1/export?{QUESTION}&format=xlsx").data))
    data, about = workbook.worksheets[0], workbook.worksheets[1]
    values = list(data.iter_rows(min_row=2, values_only=True))
    assert len(values) == truth.height
    denominator = COLUMN_NAMES.index("denominator")
    rate = COLUMN_NAMES.index("rate")
    for row, (expected_denominator, expected_rate) in zip(values, truth.select("denominator", "rate").rows(),
                                                          strict=True):
        assert row[denominator] == expected_denominator
        assert row[rate] == (pytest.approx(expected_rate) if expected_rate is not None else None)
    about_text = " ".join(str(cell) for row in about.iter_rows(values_only=True) for cell in row if cell)
    assert "2023-01..2023-12" in about_text and "test (1)" in about_text

    response = client.get(f"/api/v1/export?{QUESTION}&format=parquet")
    assert response.mimetype == "application/vnd.apache.parquet"
    parquet = pq.read_table(io.BytesIO(response.data))
    same_rows(pl.from_arrow(parquet), truth)
    metadata = {key.decode(): value.decode() for key, value in parquet.schema.metadata.items()}
    assert "2023-01..2023-12" in metadata["filters"] and metadata["data_version"] == "1"


def test_file_names_say_the_question_and_differ_per_question(published):
    client = api_client(published, "admin")
    first = client.get("/api/v1/export?indicator=caesarean&level=hospital&format=csv")
    second = client.get("/api/v1/export?indicator=caesarean&level=hospital&parity=nulliparous&format=csv")
    names = [response.headers["Content-Disposition"] for response in (first, second)]
    assert names[0] != names[1]
    assert all("caesarean" in name and "hospital" in name and name.startswith("attachment;") for name in names)
    assert all(name.rstrip('"').endswith("_v1.csv") for name in names)


def test_every_file_is_in_the_audit_log_with_its_rows(published):
    client = api_client(published, "admin")
    response = client.get("/api/v1/export?indicator=caesarean&level=hospital&format=parquet")
    assert response.status_code == 200
    response.get_data()  # the stream's end writes the log
    rows = len(engine_rows(published, Viewer("admin"), indicators=["caesarean"], level="hospital"))
    logged = [event for event in audit.recent(published, action="export") if "/api/v1/export" in event["target"]]
    assert logged and f"{rows} rows" in logged[0]["detail"] and "parquet" in logged[0]["detail"]


@pytest.mark.parametrize(("route", "question"), [
    ("/api/v1/results?indicator=caesarean&level=hospital", {"indicators": ["caesarean"], "level": "hospital"}),
    ("/api/v1/trend?indicator=caesarean&org=H001&grain=year", {"indicators": ["caesarean"], "org_code": "H001",
                                                               "grain": "year"}),
    ("/api/v1/breakdown?indicator=caesarean&dimension=parity&org=H002",
     {"indicators": ["caesarean"], "org_code": "H002", "dimensions": ["parity"]}),
    ("/api/v1/overview?org=H003", {"org_code": "H003"}),
])
def test_the_other_routes_answer_a_file_when_asked(published, route, question):
    client = api_client(published, "admin")
    truth = engine_rows(published, Viewer("admin"), **question)
    by_parameter = client.get(f"{route}&format=csv")
    by_header = client.get(route, headers={"Accept": "text/csv"})
    for response in (by_parameter, by_header):
        assert response.status_code == 200 and response.mimetype == "text/csv"
        same_rows(pl.read_csv(io.BytesIO(response.data), schema=truth.schema), truth)
    assert client.get(route).is_json  # without asking: JSON as before
    assert client.get(route, headers={"Accept": "*/*"}).is_json


@pytest.mark.parametrize(("query", "parameter"), [
    ("format=docx", "format"), ("indicator=nope", "indicator"), ("level=country", "level"),
    ("grain=week", "grain"), ("dimension=parity,parity", "dimension"), ("lang=fr", "lang"),
    ("data_version=abc", "data_version"), ("colour=red", "colour"),
])
def test_a_wrong_export_parameter_is_a_400_naming_it(published, query, parameter):
    response = api_client(published, "admin").get(f"/api/v1/export?{query}")
    assert response.status_code == 400
    assert response.get_json()["parameter"] == parameter


def test_an_export_of_an_organisation_the_user_may_not_name_is_refused(published):
    response = api_client(published, "researcher").get("/api/v1/export?org=H001&format=csv")
    assert response.status_code == 403
    assert "H001" in response.get_json()["error"]


def test_a_file_cites_the_request_that_makes_it_again(published):
    client = api_client(published, "admin")
    by_header = client.get("/api/v1/results?indicator=caesarean&level=hospital",
                           headers={"Accept": "application/vnd.apache.parquet"})
    metadata = {key.decode(): value.decode() for key, value in pq.read_table(io.BytesIO(by_header.data))
                .schema.metadata.items()}
    assert metadata["request"] == "/api/v1/results?indicator=caesarean&level=hospital&data_version=1&format=parquet"
    again = client.get(metadata["request"])
    assert again.status_code == 200 and again.mimetype == "application/vnd.apache.parquet"
    same_rows(pl.read_parquet(io.BytesIO(again.data)), pl.read_parquet(io.BytesIO(by_header.data)))


@pytest.mark.parametrize(("path", "parameter"), [
    ("/api/v1/export?format=json", "format"),
    ("/api/v1/export?data_version=%C2%B2", "data_version"),  # a superscript two is no version number
    ("/api/v1/export?org=H001&level=vsv", "level"),
    ("/api/v1/results?indicator=caesarean&level=hospital&data_version=1", "data_version"),
    ("/api/v1/results?indicator=caesarean&level=hospital&lang=en", "lang"),
])
def test_parameters_that_would_be_ignored_are_refused(published, path, parameter):
    response = api_client(published, "admin").get(path)
    assert response.status_code == 400 and response.get_json()["parameter"] == parameter


def test_an_organisations_file_holds_its_overviews_indicators(published):
    from queries.catalogue import indicators_for

    response = api_client(published, "admin").get("/api/v1/overview?org=H001&format=csv")
    rows = pl.read_csv(io.BytesIO(response.data), infer_schema_length=0)
    assert list(dict.fromkeys(rows["indicator_id"])) == [definition.id for definition in indicators_for("hospital")]
