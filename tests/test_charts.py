"""The detail page's charts draw only what the engine gave: a suppressed period is a gap, not an interval."""

from __future__ import annotations

from dashboards.charts import control_chart_figure, trend_figure
from queries.spc import control_chart


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


def test_the_control_chart_marks_signals_by_symbol_and_draws_stepped_limits() -> None:
    periods = [f"2023-{month:02d}" for month in range(1, 13)] + [f"2024-{month:02d}" for month in range(1, 9)]
    numerators = [34, 45, 40, 37, 45, 41, 36, 44, 39, 46, 35, 0, 52, 58, 54, 61, 55, 57, 53, 59]
    denominators = [300] * 11 + [0] + [300] * 8  # December 2023 has no births in the population
    answer = control_chart(periods, numerators, denominators, "higher_is_worse")
    figure = control_chart_figure(answer, "%", "T", "Eigen", "nl")
    by_name = {trace.get("name"): trace for trace in figure["data"]}
    limits = [trace for trace in figure["data"] if trace.get("legendgroup") == "limits"]
    assert len(limits) == 2 and all(trace["line"]["shape"] == "hvh" for trace in limits)
    assert limits[0]["y"][11] is None and limits[0]["y"][0] > limits[1]["y"][0]  # a gap where there is no limit
    assert "Middellijn (gemiddelde)" in by_name
    # Higher is worse: 11 months below the centre line, then 8 above (the month without births bridged).
    better, worse = by_name["Bijzondere variatie: verbetering"], by_name["Bijzondere variatie: zorgelijk"]
    assert better["x"] == periods[:11] and worse["x"] == periods[12:]
    assert better["marker"]["symbol"] != worse["marker"]["symbol"]  # never colour alone
    assert better["marker"]["color"] != worse["marker"]["color"]
    hover = worse["customdata"][-1]
    assert hover.startswith("2024-08: 19,7% (59 / 300)") and "controlegrenzen" in hover
    assert "8 maanden" not in hover and "7 maanden of meer achter elkaar aan dezelfde kant" in hover
    assert all("2023-12" not in trace["x"] for trace in figure["data"] if trace.get("mode") == "markers")
    assert "annotations" not in figure["layout"]
    short = control_chart_figure(control_chart(periods[:5], numerators[:5], [300] * 5, "neutral"), "%", "T", "E",
                                 "en")
    assert "Only 5 months with data" in short["layout"]["annotations"][0]["text"]
