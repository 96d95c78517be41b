"""Provisional months (issue 14): deliveries loaded by the real loader on SQLite and PostgreSQL, and the marks the
engine's answers, the exports, the pages and the meeting report carry for a month whose deliveries are not all in.

The world (tests/provisional_world.py): VSV V001 with hospital H001 and practices P0001 "De Linde" and P0002 "Het
Anker"; P0001's May file has not arrived. May is then provisional for P0001, for V001 and nationally, not for P0002
or H001 — until the file arrives and a refresh publishes, or the month closes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from app_server import serving
from disclosure_world import PASSWORD, Hostile
from flask_caching.backends import SimpleCache
from provisional_world import (
    APRIL,
    CLOSES,
    COUNT_NOTICE,
    HOSPITAL,
    MAY,
    OTHER_PRACTICE,
    OWN_NOTICE,
    PRACTICE,
    PRACTICE_NAME,
    VSV,
    births,
    deliver,
    publish_world,
    refresh,
)
from sqlalchemy import Engine

from auth.users import add_user
from queries.config import EngineConfig
from queries.delivery_calendar import CLOSING_DAYS_VARIABLE
from queries.engine import IndicatorEngine
from queries.filters import Filters
from queries.meeting_report import meeting_report
from queries.scope import Viewer
from reports.document import report_html


@pytest.fixture
def world(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Engine, Path]:
    """April delivered by all three; May by P0002 and H001 only; published."""
    return engine, publish_world(engine, tmp_path / "deliveries", monkeypatch)


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


def test_the_overview_page_and_the_api_say_which_month_is_provisional_and_why(sqlite_engine: Engine, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The page's own callback over HTTP, as the browser asks it: P0001 reads its missing discipline, the VSV's user
    and the admin only how many deliveries their VSV and the nation await. A figure the page does not show gets no
    line: in this small world the national figure is withheld from all but the admin (fewer than five other VSVs) and
    each provider's VSV by the structural rule (docs/privacy.md, rules 4 and 6) — so P0002 sees no notice at all."""
    publish_world(sqlite_engine, tmp_path / "deliveries", monkeypatch)
    add_user(sqlite_engine, "linde", "provider", org_code=PRACTICE, password=PASSWORD)
    add_user(sqlite_engine, "anker", "provider", org_code=OTHER_PRACTICE, password=PASSWORD)
    add_user(sqlite_engine, "testregio", "vsv", org_code=VSV, password=PASSWORD)
    add_user(sqlite_engine, "beheer", "admin", password=PASSWORD)
    with serving(str(sqlite_engine.url), quiet=True) as base:
        def overview(username: str, search: str = "") -> str:
            return json.dumps(Hostile(base, username).callback("overview-indicators-body.children", search),
                              ensure_ascii=False)

        own = overview("linde")
        assert f"{PRACTICE_NAME}: {OWN_NOTICE}" in own and "overview-provisional" in own
        assert "Landelijk: Voorlopig" not in own and "VSV: VSV Testregio: Voorlopig" not in own  # both withheld
        assert f"VSV Testregio: {COUNT_NOTICE}" in overview("testregio")
        admin = overview("beheer", f"?org={OTHER_PRACTICE}")
        assert f"Landelijk: {COUNT_NOTICE}" in admin and f"VSV: VSV Testregio: {COUNT_NOTICE}" in admin
        assert "Verloskundigenpraktijk Het Anker: Voorlopig" not in admin  # its own figures are final
        other = overview("anker")
        assert "overview-provisional" not in other and "Voorlopig" not in other
        assert "De Linde" not in other and PRACTICE not in other
        # The detail page marks May in the trend: an open marker, a legend entry, and the table says it in words.
        trend = json.dumps(Hostile(base, "linde").callback("detail-trend-body.children", "?grain=month",
                                                           indicator="home_birth", path="/indicator/home_birth"),
                           ensure_ascii=False)
        assert "circle-open" in trend and "Voorlopige periode (open symbool)" in trend
        assert "2023-05 (voorlopig)" in trend and "2023-04 (voorlopig)" not in trend
        assert "Voorlopig" not in overview("linde", "?period=2023-04")
        # The API answers the same marks (docs/api.md, "Provisional months").
        answered = Hostile(base, "linde").api("overview")["rows"][0]["organisation"]["provisional"]
        assert answered == [{"month": MAY, "closes": CLOSES, "missing": 1, "disciplines": ["lvr1"]}]


def test_the_meeting_report_notes_the_provisional_month(world) -> None:
    engine, _ = world
    report = meeting_report(indicators(engine), Viewer("vsv", vsv_code=VSV), Filters(), VSV, "auto")
    written = report_html(report, "nl", "tester", datetime(2026, 12, 1, tzinfo=UTC))
    assert 'id="report-provisional"' in written
    assert f"{PRACTICE_NAME} (Verloskundigenpraktijk): {OWN_NOTICE}" in written
    assert f"VSV Testregio: {COUNT_NOTICE}" in written
