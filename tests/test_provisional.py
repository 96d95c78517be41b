"""Provisional months (issue 14): deliveries loaded by the real loader on SQLite and PostgreSQL, and the marks the
engine's answers, the exports and the pages carry for a month whose deliveries are not all in.

The world (tests/fixtures/organisations.csv): VSV V001 with hospital H001 and practices P0001 "De Linde" and P0002
"Het Anker". All three deliver April 2023 (so each is an expected sender); for May, P0001's midwife file (lvr1) has
not arrived. May is then provisional for P0001, for V001 and nationally, not for P0002 or H001 — until the file
arrives and a refresh publishes, or the month closes. The months are in 2023, so the tests keep them open with a
closing period of many years (PERISPIEGEL_MONTH_CLOSES_AFTER_DAYS), never by the date the suite happens to run.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from app_server import serving
from disclosure_world import PASSWORD, Hostile
from fixtures.delivery_files import (
    ORGANISATIONS_FILE,
    POSTCODE_FILE,
    child_of,
    obstetrician_record,
    write_delivery,
)
from flask_caching.backends import SimpleCache
from sqlalchemy import Engine

from auth.users import add_user
from loader.refresh import run_refresh
from queries.config import EngineConfig
from queries.delivery_calendar import CLOSING_DAYS_VARIABLE, DeliveryCalendar
from queries.engine import IndicatorEngine
from queries.filters import Filters
from queries.meeting_report import meeting_report
from queries.scope import Viewer
from reports.document import report_html

APRIL, MAY = "2023-04", "2023-05"
#: Long enough that May 2023 is still open whenever the suite runs (and its closing day is known: see CLOSES).
OPEN_DAYS = 40_000
CLOSES = DeliveryCalendar(closing_days=OPEN_DAYS).closes(MAY).date().isoformat()
PRACTICE, OTHER_PRACTICE, HOSPITAL, VSV = "P0001", "P0002", "H001", "V001"
PRACTICE_NAME = "Verloskundigenpraktijk De Linde"
CLOSES_WRITTEN = f"{CLOSES[8:10]}-{CLOSES[5:7]}-{CLOSES[:4]}"  # as Dutch pages write a date
OWN_NOTICE = ("Voorlopig: mei 2023 — de levering van de verloskundigen (LVR-1) ontbreekt nog; "
              f"definitief na {CLOSES_WRITTEN}")
COUNT_NOTICE = f"Voorlopig: mei 2023 — 1 levering ontbreekt nog; definitief na {CLOSES_WRITTEN}"


def births(org_code: str, month: str, first: int, count: int = 12) -> list[dict[str, str]]:
    """`count` distinct midwife births of `org_code` in `month` (dossiers D<first>…)."""
    return [child_of(number, org_code=org_code, child_birth_date=f"{month}-{1 + number % 28:02d}")
            for number in range(first, first + count)]


def hospital_births(month: str, first: int, count: int = 3) -> list[dict[str, str]]:
    """`count` distinct obstetrician births of H001 in `month` (dossiers O<first>…)."""
    return [obstetrician_record(dossier_id=f"O{number}",
                                mother_birth_date=f"19{70 + number % 20}-06-{1 + number % 28:02d}",
                                child_birth_date=f"{month}-{1 + number % 28:02d}",
                                child_birth_time=f"{number % 24:02d}:41")
            for number in range(first, first + count)]


def deliver(folder: Path, discipline: str, org_code: str, month: str, rows: list[dict[str, str]]) -> None:
    write_delivery(folder / month, f"{discipline}_{org_code}_{month}.csv", rows)


def refresh(folder: Path, engine: Engine) -> None:
    summary = run_refresh(folder, engine, organisations_file=ORGANISATIONS_FILE, postcode_file=POSTCODE_FILE)
    assert summary.status == "published", summary


@pytest.fixture
def world(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Engine, Path]:
    """April delivered by all three; May by P0002 and H001 only; published."""
    return engine, publish_world(engine, tmp_path / "deliveries", monkeypatch)


def publish_world(engine: Engine, folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(CLOSING_DAYS_VARIABLE, str(OPEN_DAYS))
    deliver(folder, "lvr1", PRACTICE, APRIL, births(PRACTICE, APRIL, 1))
    deliver(folder, "lvr1", OTHER_PRACTICE, APRIL, births(OTHER_PRACTICE, APRIL, 21))
    deliver(folder, "lvr2", HOSPITAL, APRIL, hospital_births(APRIL, 41))
    deliver(folder, "lvr1", OTHER_PRACTICE, MAY, births(OTHER_PRACTICE, MAY, 61))
    deliver(folder, "lvr2", HOSPITAL, MAY, hospital_births(MAY, 81))
    refresh(folder, engine)
    return folder


def indicators(engine: Engine) -> IndicatorEngine:
    return IndicatorEngine(engine, EngineConfig(), SimpleCache())


def months(cell: dict | None) -> list[str]:
    assert cell is not None
    return [note["month"] for note in cell["provisional"]]


def test_a_missing_midwife_file_makes_may_provisional_for_the_practice_its_vsv_and_national(world) -> None:
    engine, _ = world
    answers = indicators(engine)
    own = answers.overview(Viewer("provider", org_code=PRACTICE))
    row = next(row for row in own["rows"] if row["indicator"]["id"] == "home_birth")
    assert row["organisation"]["provisional"] == [
        {"month": MAY, "closes": CLOSES, "missing": 1, "disciplines": ["lvr1"]}]
    assert row["vsv"]["provisional"] == [{"month": MAY, "closes": CLOSES, "missing": 1, "disciplines": []}]
    assert row["national"]["provisional"] == [{"month": MAY, "closes": CLOSES, "missing": 1, "disciplines": []}]
    # The comparator (all practices) counts P0001's births too.
    assert months(row["reference"]) == [MAY]

    other = answers.overview(Viewer("provider", org_code=OTHER_PRACTICE))
    other_row = next(row for row in other["rows"] if row["indicator"]["id"] == "home_birth")
    assert other_row["organisation"]["provisional"] == []
    assert months(other_row["vsv"]) == [MAY] and months(other_row["national"]) == [MAY]
    hospital = answers.overview(Viewer("provider", org_code=HOSPITAL))
    assert all(row["organisation"]["provisional"] == [] for row in hospital["rows"])

    # A period without May is final everywhere; the trend marks May's point only.
    april = answers.overview(Viewer("provider", org_code=PRACTICE), {"period": APRIL})
    assert all(cell["provisional"] == [] for row in april["rows"] for cell in (row["organisation"], row["national"]))
    trend = answers.trend("home_birth", Viewer("provider", org_code=PRACTICE), grain="month")
    for series in trend["series"]:
        assert {point["period"]: months(point) for point in series["points"]} == {APRIL: [], MAY: [MAY]}
    yearly = answers.trend("home_birth", Viewer("provider", org_code=OTHER_PRACTICE), grain="year")
    assert [months(point) for point in yearly["series"][1]["points"]] == [[]]
    assert [months(point) for point in yearly["series"][0]["points"]] == [[MAY]]


def test_the_delivery_arriving_or_the_month_closing_makes_may_final(world, monkeypatch: pytest.MonkeyPatch) -> None:
    engine, folder = world
    answers = indicators(engine)
    viewer = Viewer("provider", org_code=PRACTICE)
    first = answers.overview(viewer)
    assert months(first["rows"][0]["organisation"]) == [MAY]

    deliver(folder, "lvr1", PRACTICE, MAY, births(PRACTICE, MAY, 101))
    refresh(folder, engine)
    second = answers.overview(viewer)
    assert second["data_version"]["number"] == first["data_version"]["number"] + 1
    assert all(cell["provisional"] == [] for row in second["rows"]
               for cell in (row["organisation"], row["vsv"], row["national"], row["reference"]))
    # The earlier version keeps its marks: it was published before the file arrived.
    kept = answers.store.snapshot(first["data_version"]["number"])
    assert [month.month for month in kept.provisional.months("practice", PRACTICE, None, None)] == [MAY]


def test_a_closed_month_is_final_whatever_is_missing(world, monkeypatch: pytest.MonkeyPatch) -> None:
    engine, _ = world
    monkeypatch.setenv(CLOSING_DAYS_VARIABLE, "0")
    answer = indicators(engine).overview(Viewer("provider", org_code=PRACTICE))
    assert all(cell["provisional"] == [] for row in answer["rows"] for cell in (row["organisation"], row["national"]))


def test_a_provider_never_learns_which_other_organisation_is_late(world) -> None:
    """P0002 sees that one delivery of its VSV and of the nation is awaited, never whose or of which discipline;
    P0001's rows among P0002's peers carry no marks (they would follow the peer across answers)."""
    engine, _ = world
    answers = indicators(engine)
    viewer = Viewer("provider", org_code=OTHER_PRACTICE)
    said = [answers.overview(viewer), answers.results("home_birth", "practice", viewer),
            answers.funnel("home_birth", "practice", viewer), answers.trend("home_birth", viewer),
            answers.breakdown("home_birth", "parity", viewer), answers.adjusted("home_birth", "practice", viewer),
            answers.control_chart("home_birth", viewer)]
    written = json.dumps(said)
    assert PRACTICE not in written and "De Linde" not in written and "lvr1" not in written
    results = said[1]
    peers = [row for row in results["rows"] if not row["named"]]
    assert peers and all(row["provisional"] is None for row in peers)
    assert [row["provisional"] for row in results["rows"] if row["own"]] == [[]]
    assert months(results["national"]) == [MAY] and months(results["own_vsv"]) == [MAY]
    # The VSV's own user may name P0001: its row says which discipline is awaited.
    members = answers.results("home_birth", "practice", Viewer("vsv", vsv_code=VSV))
    marked = {row["org_code"]: row["provisional"] for row in members["rows"]}
    assert marked[PRACTICE] == [{"month": MAY, "closes": CLOSES, "missing": 1, "disciplines": ["lvr1"]}]
    assert marked[OTHER_PRACTICE] == []


def test_the_export_marks_each_row_of_a_provisional_figure(world) -> None:
    engine, _ = world
    table = indicators(engine).export(Viewer("provider", org_code=OTHER_PRACTICE), indicators=["home_birth"],
                                      level="practice", grain="month")
    rows = [row for chunk in table.chunks() for row in chunk.iter_rows(named=True)]
    marks = {(row["row_kind"], row["own"], row["period"]): (row["provisional"], row["provisional_months"])
             for row in rows}
    assert marks[("national", False, MAY)] == (True, MAY)
    assert marks[("national", False, APRIL)] == (False, None)
    assert marks[("comparator", False, MAY)] == (True, MAY)
    assert marks[("organisation", True, MAY)] == (False, None)
    # The late practice is a peer of this provider: not marked either way.
    assert {row["provisional"] for row in rows if row["row_kind"] == "organisation" and not row["named"]} == {None}


def test_the_overview_page_says_which_month_is_provisional_and_why(sqlite_engine: Engine, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The page's own callback over HTTP, as the browser asks it: P0001 reads its missing discipline, P0002 only that
    one delivery of its VSV and of the nation is awaited (never whose)."""
    publish_world(sqlite_engine, tmp_path / "deliveries", monkeypatch)
    add_user(sqlite_engine, "linde", "provider", org_code=PRACTICE, password=PASSWORD)
    add_user(sqlite_engine, "anker", "provider", org_code=OTHER_PRACTICE, password=PASSWORD)
    with serving(str(sqlite_engine.url), quiet=True) as base:
        own = json.dumps(Hostile(base, "linde").callback("overview-indicators-body.children", ""),
                         ensure_ascii=False)
        assert f"{PRACTICE_NAME}: {OWN_NOTICE}" in own
        assert f"VSV: VSV Testregio: {COUNT_NOTICE}" in own and f"Landelijk: {COUNT_NOTICE}" in own
        assert "overview-provisional" in own
        other = json.dumps(Hostile(base, "anker").callback("overview-indicators-body.children", ""),
                           ensure_ascii=False)
        assert f"VSV: VSV Testregio: {COUNT_NOTICE}" in other and f"Landelijk: {COUNT_NOTICE}" in other
        assert "De Linde" not in other and PRACTICE not in other and "verloskundigen (LVR-1)" not in other
        assert "Verloskundigenpraktijk Het Anker: Voorlopig" not in other
        # The detail page marks May in the trend: an open marker, a legend entry, and the table says it in words.
        trend = json.dumps(Hostile(base, "linde").callback("detail-trend-body.children", "?grain=month",
                                                           indicator="home_birth", path="/indicator/home_birth"),
                           ensure_ascii=False)
        assert "circle-open" in trend and "Voorlopige periode (open symbool)" in trend
        assert "2023-05 (voorlopig)" in trend and "2023-04 (voorlopig)" not in trend
        april = json.dumps(Hostile(base, "linde").callback("overview-indicators-body.children", "?period=2023-04"),
                           ensure_ascii=False)
        assert "Voorlopig" not in april


def test_the_meeting_report_notes_the_provisional_month(world) -> None:
    engine, _ = world
    report = meeting_report(indicators(engine), Viewer("vsv", vsv_code=VSV), Filters(), VSV, "auto")
    written = report_html(report, "nl", "tester", datetime(2026, 12, 1, tzinfo=UTC))
    assert 'id="report-provisional"' in written
    assert f"{PRACTICE_NAME} (Verloskundigenpraktijk): {OWN_NOTICE}" in written
    assert f"VSV Testregio: {COUNT_NOTICE}" in written
