"""The detail page's charts draw only what the engine gave: a suppressed period is a gap, not an interval."""

from __future__ import annotations

from dashboards.charts import trend_figure


def point(period: str, rate: float | None, low: float | None, high: float | None) -> dict:
    return {"period": period, "rate": rate, "ci_low": low, "ci_high": high, "numerator": 5, "denominator": 50,
            "suppressed": rate is None}


def test_the_trend_band_leaves_a_suppressed_period_empty_and_periods_stay_in_time_order() -> None:
    own = [point("2024-01", 0.2, 0.1, 0.3), point("2024-02", None, None, None), point("2024-03", 0.25, 0.15, 0.35),
           point("2024-04", 0.22, 0.12, 0.32)]
    national = [point(p["period"], 0.2, 0.19, 0.21) for p in own]
    figure = trend_figure([{"kind": "organisation", "label": "Eigen", "points": own},
                           {"kind": "national", "label": "national", "points": national}], "%", "T", "Eigen", "nl")
    periods = next(trace["x"] for trace in figure["data"] if trace.get("name") == "Landelijk")
    assert len(periods) == 4
    bands = [trace for trace in figure["data"] if trace.get("legendgroup") == "band"]
    # Two runs around the gap (upper and lower edge each); February is in none of them.
    assert [trace["x"] for trace in bands] == [[periods[0]], [periods[0]], periods[2:], periods[2:]]
    assert [trace["y"] for trace in bands] == [[30.0], [10.0], [35.0, 32.0], [15.0, 12.0]]
    filled = [trace for trace in bands if trace.get("fill") == "tonexty"]
    assert len(filled) == 2 and sum(trace["showlegend"] for trace in filled) == 1
    assert figure["layout"]["xaxis"]["categoryarray"] == periods
