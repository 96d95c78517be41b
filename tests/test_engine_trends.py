"""`IndicatorEngine.trends` (every indicator's trend in one pass, for the overview's sparklines) answers exactly
what `trend` answers for each indicator on its own: same periods, counts, rates, intervals and suppression."""

from __future__ import annotations

import pytest
from births_factory import birth, publish, random_births

from queries.catalogue import INDICATORS
from queries.config import EngineConfig
from queries.engine import IndicatorEngine
from queries.scope import Viewer


@pytest.fixture
def indicators(sqlite_engine) -> IndicatorEngine:
    months = ("2022-11", "2022-12", "2023-01", "2023-02", "2023-05")
    rows = random_births(500, seed=9, months=months, caesarean_rates=(0.1, 0.3, 0.2))
    rows += [birth(birth_month="2023-07", hospital_code="H003", vsv_code="V02", practice_code="P002")] * 3
    publish(sqlite_engine, rows)
    return IndicatorEngine(sqlite_engine, EngineConfig())


@pytest.mark.parametrize("grain", ["month", "quarter", "year"])
@pytest.mark.parametrize(("viewer", "org_code", "filters"), [
    (Viewer("provider", org_code="H001"), None, {}),
    (Viewer("admin"), "H003", {"parity": "nulliparous"}),
    (Viewer("researcher"), None, {"period": "2022-12..2023-05", "ses": "1,2"}),
    (Viewer("provider", org_code="H002"), None, {"period": "2023"}),
])
def test_trends_equal_trend_for_every_indicator(indicators, grain, viewer, org_code, filters):
    for export in (False, True):
        together = indicators.trends(viewer, filters, grain=grain, org_code=org_code, export=export)
        assert [entry["indicator"]["id"] for entry in together["indicators"]] == [d.id for d in INDICATORS]
        for entry in together["indicators"]:
            alone = indicators.trend(entry["indicator"]["id"], viewer, filters, grain=grain, org_code=org_code,
                                     export=export)
            assert entry["series"] == alone["series"]
        assert together["data_version"] == alone["data_version"] and together["filters"] == alone["filters"]
