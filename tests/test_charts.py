"""The detail page's charts draw only what the engine gave: a suppressed period is a gap, not an interval."""

from __future__ import annotations

from dashboards.charts import TOOLBAR_BUTTONS, control_chart_figure, graph_config, trend_figure
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
def spine_row(label: str, standardised: float | None, verdict: str) -> dict:
    return {"label": label, "standardised": standardised, "verdict": verdict,
            "hover": ["20,0%", "t.o.v. alle ziekenhuizen: 18,0%", verdict]}


def test_the_spine_draws_one_marker_per_judged_indicator_in_the_given_order() -> None:
    from dashboards.charts import SPINE_MARKERS, spine_figure

    rows = [spine_row("A", 0.4, "within"), spine_row("B", 2.5, "worse"), spine_row("C", None, "within"),
            spine_row("D", -3.4, "better"), spine_row("E", -0.2, "lower")]
    figure = spine_figure(rows, "T", "X", "nl")
    markers = [trace for trace in figure["data"] if trace["mode"] == "markers"]
    # Every judged indicator exactly once at the engine's position; C (no position) is not drawn.
    drawn = {y: x for trace in markers for x, y in zip(trace["x"], trace["y"], strict=True)}
    assert drawn == {"A": 0.4, "B": 2.5, "D": -3.4, "E": -0.2}
    assert figure["layout"]["yaxis"]["categoryarray"] == ["A", "B", "D", "E"]
    assert figure["layout"]["yaxis"]["autorange"] == "reversed"  # the first row on top
    # Each verdict its own trace, named in words, with its own colour *and* shape (never colour alone).
    assert [trace["name"] for trace in markers] == ["Slechter", "Beter", "Lager", "Binnen verwachting"]
    shapes = {(trace["marker"]["color"], trace["marker"]["symbol"]) for trace in markers}
    assert len(shapes) == len(markers) and len({symbol for _, symbol in shapes}) == len(markers)
    assert len({marker["symbol"] for marker in SPINE_MARKERS.values()}) == len(SPINE_MARKERS)
    # The hover names the indicator, its rate, the comparator with its rate and the verdict.
    worse = next(trace for trace in markers if trace["name"] == "Slechter")
    assert worse["customdata"] == [["B", "20,0%", "t.o.v. alle ziekenhuizen: 18,0%", "worse"]]
    assert worse["hovertemplate"].count("customdata") == 4


def test_the_spine_marks_zero_and_both_limits_on_each_side_and_keeps_every_marker_in_range() -> None:
    from dashboards.charts import spine_figure
    from queries.judgement import Z_95, Z_998

    figure = spine_figure([spine_row("A", 4.2, "worse"), spine_row("B", -1.0, "within")], "T", "X", "en")
    lines = sorted(shape["x0"] for shape in figure["layout"]["shapes"] if shape["type"] == "line")
    assert lines == sorted([0, -Z_95, Z_95, -Z_998, Z_998])
    dashes = {round(shape["x0"], 2): shape["line"].get("dash") for shape in figure["layout"]["shapes"]
              if shape["type"] == "line"}
    assert dashes[1.96] == dashes[-1.96] == "dash" and dashes[3.09] == dashes[-3.09] == "dot"
    bands = [(shape["x0"], shape["x1"]) for shape in figure["layout"]["shapes"] if shape["type"] == "rect"]
    assert sorted(bands) == sorted([(-Z_998, Z_998), (-Z_95, Z_95)])
    low, high = figure["layout"]["xaxis"]["range"]
    assert low == -high and high > 4.2
    assert figure["layout"]["xaxis"]["ticktext"] == ["-3.09", "-1.96", "0.00", "1.96", "3.09"]
    # Without an outlier the axis still shows the 99.8% limits.
    quiet = spine_figure([spine_row("A", 0.1, "within")], "T", "X", "nl")
    assert quiet["layout"]["xaxis"]["range"][1] > Z_998
    assert quiet["layout"]["xaxis"]["ticktext"][3] == "1,96"


def test_the_spine_shows_names_from_the_data_as_text() -> None:
    from dashboards.charts import spine_figure

    figure = spine_figure([spine_row("A <b>x</b>", 0.5, "within")], "Verloskundigen <b>De Ooievaar</b>: T", "X", "nl")
    assert figure["layout"]["title"]["text"] == "Verloskundigen &lt;b&gt;De Ooievaar&lt;/b&gt;: T"
    [trace] = figure["data"]
    assert trace["y"] == figure["layout"]["yaxis"]["categoryarray"] == ["A &lt;b&gt;x&lt;/b&gt;"]
    assert trace["customdata"][0][0] == "A &lt;b&gt;x&lt;/b&gt;"


# ---- funnel: every organisation as the engine discloses it ------------------------------------------------------

def funnel_row(label: str, rate: float | None, disclosure: str, *, numerator: int | None = None,
               denominator: int | None = None, band: dict | None = None, own: bool = False,
               reason: str | None = None) -> dict:
    return {"label": label, "org_code": "H0001" if own else None, "own": own, "named": own, "rate": rate,
            "numerator": numerator, "denominator": denominator, "ci_low": None, "ci_high": None,
            "disclosure": disclosure, "size_band": band, "suppressed": reason is not None,
            "suppression_reason": reason, "position": "within" if rate is not None else None}


def funnel_answer(rows: list[dict], woman_level: bool = False) -> dict:
    limits = [{"denominator": n, "lower_95": 0.1, "upper_95": 0.3, "lower_998": 0.05, "upper_998": 0.35}
              for n in (1, 10, 100, 1000, 2000)]
    return {"rows": rows, "limits": limits, "target": 0.2, "level": "hospital",
            "indicator": {"id": "caesarean", "woman_level": woman_level}}


BAND = {"low": 1000, "high": 1500, "middle": 1224.744871391589}


def test_the_funnel_draws_a_peer_at_its_band_and_its_hover_gives_the_band_and_rounded_rate_never_counts() -> None:
    from dashboards.charts import funnel_figure
    from wording.figures import funnel_drawn

    rows = [funnel_row("Eigen ziekenhuis", 0.19895, "exact", numerator=38, denominator=191, own=True),
            funnel_row("H-3F9C1A07", 0.221, "peer", band=BAND),
            funnel_row("H-00AA11BB", None, "peer", band=BAND, reason="count_masked"),
            funnel_row("VSV Rivierenland", 0.21, "perturbed", numerator=84, denominator=400)]
    answer = funnel_answer(rows)
    assert [row["label"] for row in funnel_drawn(rows)] == ["Eigen ziekenhuis", "H-3F9C1A07", "VSV Rivierenland"]
    figure = funnel_figure(answer, "%", "T", "H0001", "nl", smallest_denominator=191)
    markers = {trace["name"]: trace for trace in figure["data"] if trace.get("mode") == "markers"}
    others, own = markers["Andere organisaties"], markers["Eigen ziekenhuis"]
    # The peer at the middle of its band; the masked peer (no rate) not drawn at all.
    assert others["x"] == [BAND["middle"], 400] and others["y"] == [22.1, 21.0]
    assert others["customdata"] == [["H-3F9C1A07", "22,1%", "1.000–1.500 geboorten"],
                                    ["VSV Rivierenland", "21,0%", "≈\u00a084 / 400"]]
    assert "H-00AA11BB" not in str(figure)
    # The own organisation exactly, at its own denominator.
    assert own["x"] == [191] and own["customdata"] == [["Eigen ziekenhuis", "19,9%", "38 / 191"]]
    english = funnel_figure(funnel_answer(rows, woman_level=True), "%", "T", "H0001", "en", smallest_denominator=191)
    peer = next(trace for trace in english["data"] if trace.get("name") == "Other organisations")
    assert peer["customdata"][0] == ["H-3F9C1A07", "22.1%", "1,000–1,500 women"]


def test_hover_texts_mark_perturbed_counts_and_never_show_a_masked_count() -> None:
    from dashboards.charts import breakdown_figure

    own = [dict(point("2024-01", 0.2, 0.1, 0.3), disclosure="exact")]
    national = [dict(point("2024-01", 0.25, 0.2, 0.3), disclosure="perturbed")]
    figure = trend_figure([{"kind": "organisation", "label": "Eigen", "points": own},
                           {"kind": "national", "label": "national", "points": national}], "%", "T", "Eigen", "nl")
    by_name = {trace.get("name"): trace for trace in figure["data"]}
    assert by_name["Eigen"]["customdata"] == [["20,0%", "5 / 50"]]
    assert by_name["Landelijk"]["customdata"] == [["25,0%", "≈\u00a05 / 50"]]
    masked = [{"value": "a", "rate": None, "ci_low": None, "ci_high": None, "numerator": None, "denominator": None,
               "suppressed": True, "suppression_reason": "count_masked", "disclosure": "perturbed"}]
    bars = breakdown_figure([{"kind": "national", "values": masked}], ["A"], "%", "T", "X", None, "nl")
    assert bars["data"][0]["customdata"] == [["—", "gemaskeerd (1–4)"]]


def test_the_control_chart_hover_marks_perturbed_counts() -> None:
    answer = control_chart([f"2024-{month:02d}" for month in range(1, 13)], [30] * 12, [300] * 12, "neutral")
    exact = control_chart_figure(answer, "%", "T", "Eigen", "nl")
    perturbed = control_chart_figure(answer, "%", "T", "Landelijk", "nl", disclosure="perturbed")
    hover = next(trace for trace in exact["data"] if trace.get("customdata"))["customdata"][0]
    noisy = next(trace for trace in perturbed["data"] if trace.get("customdata"))["customdata"][0]
    assert hover.startswith("2024-01: 10,0% (30 / 300)")
    assert noisy.startswith("2024-01: 10,0% (≈\u00a030 / 300)")


def test_beside_fewer_than_five_peers_no_peer_limit_or_comparator_is_drawn_and_the_texts_say_why() -> None:
    """The engine's `few_peers` answer: the peer without rate or band, no limits, no target, a verdict without a
    centre. Nothing of the peers is drawn, no limit is in the legend, and the comparator is named without a rate,
    saying why."""
    from dashboards.charts import funnel_figure
    from wording.figures import counts_text, few_peers, funnel_drawn, judged_against, rate_text

    own = funnel_row("Eigen ziekenhuis", 0.19895, "exact", numerator=38, denominator=191, own=True)
    peer = funnel_row("H-3F9C1A07", None, "peer", reason="few_peers")
    answer = {**funnel_answer([own, peer]), "limits": [], "target": None}
    assert funnel_drawn(answer["rows"]) == [own] and few_peers(peer) and not few_peers(own)
    figure = funnel_figure(answer, "%", "T", "H0001", "nl", smallest_denominator=191)
    assert [trace["name"] for trace in figure["data"]] == ["Eigen ziekenhuis"]
    assert "H-3F9C1A07" not in str(figure)
    assert rate_text(peer, "%", "nl", 10) == counts_text({**peer, "disclosure": "perturbed"}, "nl") == \
        "niet getoond (minder dan vijf andere organisaties)"
    judged = {**own, "verdict": "within", "judgement": {"comparator": "hospital", "centre": None}}
    assert judged_against(judged, "%", "nl") == "t.o.v. alle ziekenhuizen: niet getoond, minder dan vijf andere " \
                                                "organisaties"
    assert judged_against(judged, "%", "en") == "against all hospitals: not shown, fewer than five other organisations"
    centred = {**judged, "judgement": {"comparator": "hospital", "centre": 0.205}}
    assert judged_against(centred, "%", "nl") == "t.o.v. alle ziekenhuizen: 20,5%"


def test_the_chart_toolbar_shares_nothing_and_speaks_the_pages_language():
    dutch, english = graph_config("nl", "detail-trend-chart"), graph_config("en", "detail-trend-chart")
    for config in (dutch, english):
        assert config["showSendToCloud"] is False and config["displaylogo"] is False
        assert config["modeBarButtons"] == [["toImage", "zoomIn2d", "zoomOut2d", "resetScale2d"]] == [TOOLBAR_BUTTONS]
        assert config["toImageButtonOptions"]["filename"] == "perispiegel-detail-trend-chart"
    assert dutch["locales"][dutch["locale"]]["dictionary"]["Zoom in"] == "Inzoomen"
    assert english["locales"][english["locale"]]["dictionary"]["Download plot as a PNG"] == "Save as image (PNG)"
