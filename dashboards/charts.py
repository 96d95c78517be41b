"""The charts of the indicator pages: plotly figures of engine answers, small sparklines, and their text alternatives.

Figures only draw what the engine returned (rates, intervals, control limits); nothing here computes a statistic.
They are plain plotly.js figure dictionaries, not `plotly.graph_objects`: the objects validate every property in
Python, which cost about 30 ms per chart on each filter change, and plotly.js checks the same figure anyway.
Colours are the Okabe–Ito palette (safe for colour-blind readers) and every series also differs in shape or line
style, so colour is never the only cue. Every chart has a title, axis titles with units, a text summary for screen
readers and a table of its figures (`accessible_chart`). The toolbar shows while the pointer is over a chart, in a
strip of its own above the title (`TOOLBAR_STRIP`); on a phone it is hidden and the title is text above the chart,
where it wraps (assets/responsive.css).

Hover texts write counts as the tables do (wording.figures.counts_text): exact for the viewer's own, "≈" for
perturbed figures of others, and no counts at all for a peer (an organisation under a pseudonym), whose size band is
shown instead and which the funnel draws at the middle of that band (the engine's `size_band.middle`).
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from dash import dcc, html

from queries.catalogue import UNIT_SCALE
from queries.judgement import Z_95, Z_998
from queries.spc import SHIFT_POINTS, TREND_POINTS, ControlChartAnswer, ControlChartPoint
from texts import code_label, text
from texts.formatting import format_interval, format_number, format_period, format_rate, separators
from wording.figures import approximately, counts_text, funnel_drawn, funnel_position
from wording.provisional import is_provisional

OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7",
}
OWN_COLOUR = OKABE_ITO["blue"]
HIGHLIGHT_COLOUR = OKABE_ITO["vermillion"]
NATIONAL_COLOUR = OKABE_ITO["black"]
PEER_COLOUR = "#5f6b76"  # a neutral grey-blue with 5.6:1 contrast on white, so peers recede behind the own dot
BAND_FILL = "rgba(0, 114, 178, 0.18)"
GRID_COLOUR = "#e3e7eb"
# The toolbar shows while the pointer is over a chart, in a strip of its own above the title (`TOOLBAR_STRIP`), so it
# never covers the title; on a phone the stylesheet hides it (assets/responsive.css).
# Only the buttons people use: save as PNG, zoom in and out, back to the whole chart. No "Share chart" (plotly's
# cloud button would send the chart's data to an outside service), no logo, no hover-mode toggles: four tab stops.
TOOLBAR_BUTTONS = ["toImage", "zoomIn2d", "zoomOut2d", "resetScale2d"]


def graph_config(language: str, chart_id: str) -> dict:
    """The plotly config of every chart: the toolbar above, in the page's language (plotly's own `locales`
    dictionary, keyed by its English texts), the PNG named after the chart."""
    dictionary = {
        "Download plot as a PNG": text("chart_toolbar.download_png", language),
        "Zoom in": text("chart_toolbar.zoom_in", language),
        "Zoom out": text("chart_toolbar.zoom_out", language),
        "Reset axes": text("chart_toolbar.reset_axes", language),
        "Preparing image - this may take a few seconds": text("chart_toolbar.preparing_image", language),
        "Image download succeeded": text("chart_toolbar.image_saved", language),
        "Sorry, there was a problem downloading your image!": text("chart_toolbar.image_failed", language),
        "Double-click to zoom back out": text("chart_toolbar.double_click", language),
    }
    return {"displaylogo": False, "showSendToCloud": False, "showEditInChartStudio": False, "showLink": False,
            "modeBarButtons": [TOOLBAR_BUTTONS], "responsive": True, "displayModeBar": "hover",
            "toImageButtonOptions": {"format": "png", "filename": f"perispiegel-{chart_id}", "scale": 2},
            "locale": f"{language}-perispiegel", "locales": {f"{language}-perispiegel": {"dictionary": dictionary}}}


TOOLBAR_STRIP = 28  # px above the title: the toolbar's height


def rate_axis_title(unit: str, language: str) -> str:
    return text("rate_axis_permille", language) if unit == "‰" else text("rate_axis_percent", language)


def scaled(rate: float | None, unit: str) -> float | None:
    """A proportion in the plotted unit (15.8 for 15.8%), None stays a gap."""
    return None if rate is None else rate * UNIT_SCALE[unit]


def base_layout(title: str, x_title: str, y_title: str, language: str, height: int = 380) -> dict:
    axis = {"showgrid": True, "gridcolor": GRID_COLOUR, "zeroline": False, "linecolor": "#6b6b6b",
            "ticks": "outside", "automargin": True}
    return {
        "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 16}, "yref": "container", "y": 1,
                  "yanchor": "top", "pad": {"t": TOOLBAR_STRIP}},
        "xaxis": {**axis, "title": {"text": x_title}},
        "yaxis": {**axis, "title": {"text": y_title}, "rangemode": "tozero"},
        "separators": separators(language),
        "font": {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 13,
                 "color": "#1a1a1a"},
        "margin": {"l": 70, "r": 20, "t": 50 + TOOLBAR_STRIP, "b": 20},
        "height": height,
        # Anchored to the figure's bottom edge: long or rotated tick labels push the plot up, not into the legend.
        "legend": {"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "x": 0},
        "hoverlabel": {"bgcolor": "#ffffff"},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
    }


CHART_TABLE = "chart-table"  # pattern-matching id types: {"type": CHART_TABLE + "-summary" | "-data" | "-body", ...}

# A chart's table is built in the browser when its "show table" summary is first opened (a callback of the frame,
# dashboards/layout.py, drawing with assets/perispiegel.js `drawChartTable`). Hundreds of table cells as Dash
# components made every filter change on the detail page twice as slow (the renderer keeps book of each
# component), for a table most people never open; as a store of strings it costs nothing until asked for.


def accessible_chart(chart_id: str, figure: dict, title: str, summary: str, table: dict,
                     language: str) -> html.Figure:
    """A chart with its title as the figure's name, a spoken summary, and its figures as a table on request.

    `table` is `dashboards.layout.table_data(...)`: the table is drawn in the browser when opened (see
    CHART_TABLE), with the markup of `layout.data_table`."""
    return html.Figure(
        [
            # The title as text, shown instead of the chart's own on a phone, where it wraps (assets/responsive.css);
            # screen readers have it as the figure's name.
            html.P(title, className="chart-title-narrow", **{"aria-hidden": "true"}),
            dcc.Graph(id=chart_id, figure=figure, config=graph_config(language, chart_id), className="chart"),
            html.Figcaption(summary, className="visually-hidden", id=f"{chart_id}-summary"),
            html.Details([html.Summary(text("show_table", language), id={"type": f"{CHART_TABLE}-summary",
                                                                         "chart": chart_id}),
                          html.Div(id={"type": f"{CHART_TABLE}-body", "chart": chart_id})],
                         className="chart-table"),
            dcc.Store(id={"type": f"{CHART_TABLE}-data", "chart": chart_id}, data=table),
        ],
        className="chart-figure",
        **{"aria-label": title},
    )


def empty_state(message: str, element_id: str | None = None) -> html.P:
    props = {"id": element_id} if element_id else {}
    return html.P(message, className="empty-state", role="status", **props)


def sparkline(own: Sequence[float | None], national: Sequence[float | None], description: str,
              width: int = 120, height: int = 32) -> html.Img:
    """A tiny trend line as an inline SVG image: own rate solid blue, national dashed black.

    An image (not a plotly graph) because an overview holds one per indicator: twenty small images render at
    once, twenty plotly graphs would not. `description` is the image's text alternative.
    """
    values = [value for value in (*own, *national) if value is not None]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    spread = (high - low) or max(abs(high), 1e-9)
    count = max(len(own), len(national), 2)
    pad = 3

    def path(series: Sequence[float | None]) -> str:
        commands, pen_down = [], False
        for index, value in enumerate(series):
            if value is None:
                pen_down = False
                continue
            x = pad + index * (width - 2 * pad) / (count - 1)
            y = height - pad - (value - low) / spread * (height - 2 * pad)
            commands.append(f"{'L' if pen_down else 'M'}{x:.1f},{y:.1f}")
            pen_down = True
        return " ".join(commands)

    shapes = []
    if any(value is not None for value in national):
        shapes.append(f'<path d="{path(national)}" fill="none" stroke="{NATIONAL_COLOUR}" stroke-width="1.2" '
                      f'stroke-dasharray="3 2"/>')
    if any(value is not None for value in own):
        shapes.append(f'<path d="{path(own)}" fill="none" stroke="{OWN_COLOUR}" stroke-width="2"/>')
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}">{"".join(shapes)}</svg>')
    return html.Img(src=f"data:image/svg+xml;charset=utf-8,{quote(svg)}", alt=description, width=width,
                    height=height, className="sparkline")


# ---- trend -------------------------------------------------------------------------------------------------

def trend_figure(series: list[dict], unit: str, title: str, own_label: str | None, language: str) -> dict:
    """Own series with its 95% band (filled) and the national line (dashed), per period of an engine trend; a
    provisional period (queries/provisional.py) has an open marker, explained by a legend entry of its own."""
    national = next(s for s in series if s["kind"] == "national")
    periods = [format_period(point["period"], language) for point in national["points"]]
    traces = []
    own = next((s for s in series if s["kind"] == "organisation"), None)
    if own is not None:
        # One filled band per run of periods with an interval: a fill between two traces would bridge a gap
        # (a suppressed period) as if there were an interval there.
        for index, run in enumerate(_runs([point["ci_high"] is not None and point["ci_low"] is not None
                                           for point in own["points"]])):
            x = [periods[i] for i in run]
            traces.append({"type": "scatter", "x": x, "y": [scaled(own["points"][i]["ci_high"], unit) for i in run],
                           "mode": "lines", "line": {"width": 0}, "hoverinfo": "skip", "showlegend": False,
                           "legendgroup": "band"})
            traces.append({"type": "scatter", "x": x, "y": [scaled(own["points"][i]["ci_low"], unit) for i in run],
                           "mode": "lines", "line": {"width": 0}, "fill": "tonexty", "fillcolor": BAND_FILL,
                           "hoverinfo": "skip", "name": text("band", language), "legendgroup": "band",
                           "showlegend": index == 0})
        traces.append(_rate_trace(periods, own["points"], unit, own_label or own["label"], language,
                                  {"color": OWN_COLOUR, "width": 2.5}, {"symbol": "circle", "size": 6}))
    traces.append(_rate_trace(periods, national["points"], unit, text("national", language), language,
                              {"color": NATIONAL_COLOUR, "width": 1.5, "dash": "dash"},
                              {"symbol": "square", "size": 5}))
    if any(is_provisional(point) for entry in series for point in entry["points"]):
        # A legend entry only: the key to the open markers, whatever series they are on.
        traces.append({"type": "scatter", "x": [None], "y": [None], "mode": "markers",
                       "name": text("provisional.legend", language), "hoverinfo": "skip",
                       "marker": {"symbol": "circle-open", "size": 8, "color": NATIONAL_COLOUR,
                                  "line": {"width": 2}}})
    layout = base_layout(title, text("period_axis", language), rate_axis_title(unit, language), language)
    # Periods in time order, whichever trace (a band that starts later) names them first.
    layout["xaxis"].update(type="category", categoryorder="array", categoryarray=periods)
    return {"data": traces, "layout": layout}


def _runs(present: Sequence[bool]) -> list[list[int]]:
    """The indexes of each run of consecutive True values, e.g. [T, T, F, T] -> [[0, 1], [3]]."""
    runs: list[list[int]] = []
    for index, value in enumerate(present):
        if not value:
            continue
        if runs and runs[-1][-1] == index - 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    return runs


def _rate_trace(periods: list[str], points: list[dict], unit: str, name: str, language: str, line: dict,
                marker: dict) -> dict:
    """One series' line with a marker per period: open (`<symbol>-open`, larger and with a thick outline so it
    stays visible) where the period is provisional, filled elsewhere; the legend shows the first point's marker."""
    symbol = marker["symbol"]
    provisional = [is_provisional(point) for point in points]
    if any(provisional):
        marker = {**marker, "symbol": [f"{symbol}-open" if flag else symbol for flag in provisional],
                  "size": [marker["size"] + 3 if flag else marker["size"] for flag in provisional],
                  "line": {"width": 2, "color": line["color"]}}
    return {
        "type": "scatter", "x": periods, "y": [scaled(point["rate"], unit) for point in points],
        "mode": "lines+markers", "name": _escape(name), "line": line, "marker": {**marker, "color": line["color"]},
        "connectgaps": False,
        "customdata": [[format_rate(point["rate"], unit, language), counts_text(point, language)]
                       for point in points],
        "hovertemplate": "%{x}: %{customdata[0]} (%{customdata[1]})<extra>" + _escape(name) + "</extra>",
    }


def _escape(label: str) -> str:
    """Plotly renders hover and legend text as a small HTML subset; data labels must stay plain text."""
    return label.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ---- funnel ------------------------------------------------------------------------------------------------

def funnel_figure(answer: dict, unit: str, title: str, own_code: str | None, language: str,
                  smallest_denominator: float) -> dict:
    """Every organisation's rate against its denominator (a peer at the middle of its size band, its hover text
    giving the band and the rounded rate, never counts), the national rate and the engine's control limits
    (95% dashed, 99.8% dotted); the own organisation as a large vermillion diamond."""
    traces = []
    per_woman = bool(answer.get("indicator", {}).get("woman_level"))
    shown = funnel_drawn(answer["rows"])
    # Limits below the smallest plotted denominator only stretch the axis towards 0 and 100%.
    limits = [point for point in answer.get("limits", []) if point["denominator"] >= smallest_denominator / 2]
    x = [point["denominator"] for point in limits]
    # No limits (beside fewer than five peers the engine gives none): no limit lines in the legend either.
    for level, dash, name in (("998", "dot", text("limits_998", language)),
                              ("95", "dash", text("limits_95", language))) if limits else ():
        for index, side in enumerate(("upper", "lower")):
            traces.append({
                "type": "scatter", "x": x, "y": [scaled(point[f"{side}_{level}"], unit) for point in limits],
                "mode": "lines", "name": name, "legendgroup": level, "showlegend": index == 0, "hoverinfo": "skip",
                "line": {"color": LIMIT_COLOUR, "width": 1.2, "dash": dash}})
    if answer.get("target") is not None and x:
        traces.append({"type": "scatter", "x": [min(x), max(x)], "y": [scaled(answer["target"], unit)] * 2,
                       "mode": "lines", "name": code_label("reference", answer.get("level", "vsv"), language),
                       "hoverinfo": "skip", "line": {"color": NATIONAL_COLOUR, "width": 1.5}})
    peers = [row for row in shown if not _is_subject(row, own_code)]
    subject = [row for row in shown if _is_subject(row, own_code)]
    for rows, name, marker in (
        (peers, text("other_organisations", language),
         {"color": PEER_COLOUR, "size": 8, "symbol": "circle", "opacity": 0.8}),
        (subject, subject[0]["label"] if subject else "",
         {"color": HIGHLIGHT_COLOUR, "size": 15, "symbol": "diamond", "line": {"color": "#000000", "width": 1}}),
    ):
        if not rows:
            continue
        traces.append({
            "type": "scatter", "x": [funnel_position(row) for row in rows],
            "y": [scaled(row["rate"], unit) for row in rows], "mode": "markers", "name": _escape(name),
            "marker": marker,
            "customdata": [[_escape(row["label"]), format_rate(row["rate"], unit, language),
                            _escape(counts_text(row, language, per_woman))] for row in rows],
            "hovertemplate": "%{customdata[0]}: %{customdata[1]} (%{customdata[2]})<extra></extra>"})
    layout = base_layout(title, text("funnel_x", language), rate_axis_title(unit, language), language, height=420)
    return {"data": traces, "layout": layout}


def _is_subject(row: dict, own_code: str | None) -> bool:
    return bool(row.get("own")) or (own_code is not None and row.get("org_code") == own_code)


# ---- breakdown ---------------------------------------------------------------------------------------------

def breakdown_figure(series: list[dict], labels: list[str], unit: str, title: str, x_title: str,
                     own_label: str | None, language: str) -> dict:
    """Own rate per value as bars with their 95% interval; national per value as black diamonds with theirs.
    `labels`: the name of each value, in the order of the series' values."""
    national = next(s for s in series if s["kind"] == "national")
    traces = []
    own = next((s for s in series if s["kind"] == "organisation"), None)
    if own is not None:
        traces.append({
            "type": "bar", "x": labels, "y": [scaled(value["rate"], unit) for value in own["values"]],
            "name": _escape(own_label or ""), "marker": {"color": OWN_COLOUR},
            "error_y": _error_bars(own["values"], unit), "offsetgroup": "own",
            "customdata": _hover_values(own["values"], unit, language),
            "hovertemplate": "%{x}: %{customdata[0]} (%{customdata[1]})<extra>" + _escape(own_label or "")
                             + "</extra>"})
    traces.append({
        "type": "scatter", "x": labels, "y": [scaled(value["rate"], unit) for value in national["values"]],
        "mode": "markers", "name": text("national", language), "offsetgroup": "national",
        "marker": {"color": NATIONAL_COLOUR, "symbol": "diamond", "size": 11,
                   "line": {"color": "#ffffff", "width": 1}},
        "error_y": {**_error_bars(national["values"], unit), "color": NATIONAL_COLOUR},
        "customdata": _hover_values(national["values"], unit, language),
        "hovertemplate": "%{x}: %{customdata[0]} (%{customdata[1]})<extra>" + text("national", language)
                         + "</extra>"})
    layout = base_layout(title, x_title, rate_axis_title(unit, language), language)
    layout["xaxis"]["type"] = "category"
    # Side by side, so the two intervals of a value never overlap.
    layout.update(barmode="group", scattermode="group", bargap=0.35)
    return {"data": traces, "layout": layout}


def _error_bars(values: list[dict], unit: str) -> dict:
    rates = [scaled(value["rate"], unit) for value in values]
    plus = [None if rate is None or value["ci_high"] is None else scaled(value["ci_high"], unit) - rate
            for rate, value in zip(rates, values, strict=True)]
    minus = [None if rate is None or value["ci_low"] is None else rate - scaled(value["ci_low"], unit)
             for rate, value in zip(rates, values, strict=True)]
    return {"type": "data", "symmetric": False, "array": plus, "arrayminus": minus, "thickness": 1.2, "width": 4}


def _hover_values(values: list[dict], unit: str, language: str) -> list[list[str]]:
    return [[format_rate(value["rate"], unit, language), counts_text(value, language)] for value in values]


# ---- control chart -----------------------------------------------------------------------------------------

# How each variation of queries.spc is drawn: the colours of the NHS variation icons (grey common cause, blue
# improvement, orange concern, purple neither) in the Okabe–Ito palette, and a symbol of its own for each, so a
# signal is never told by colour alone.
VARIATION_MARKERS = {
    "common_cause": {"color": PEER_COLOUR, "symbol": "circle", "size": 7},
    "improvement": {"color": OKABE_ITO["blue"], "symbol": "diamond", "size": 12},
    "concern": {"color": OKABE_ITO["vermillion"], "symbol": "square", "size": 11},
    "higher": {"color": OKABE_ITO["purple"], "symbol": "triangle-up", "size": 12},
    "lower": {"color": OKABE_ITO["purple"], "symbol": "triangle-down", "size": 12},
}
LIMIT_COLOUR = "#4a4a4a"


def rule_text(rule: str, language: str) -> str:
    """A control-chart rule in words for users, with its run lengths from queries.spc."""
    return code_label("spc_rule", rule, language, shift=SHIFT_POINTS, trend=TREND_POINTS)


def control_chart_figure(answer: ControlChartAnswer, unit: str, title: str, label: str, language: str,
                         disclosure: str = "exact") -> dict:
    """A p-chart of `queries.spc.control_chart`: the rate per period (a grey line), the centre line, the 3σ
    control limits (dashed, in steps: they change with each period's denominator), and every point marked by its
    variation in colour and symbol (VARIATION_MARKERS), with the rules it is part of in its hover text. With fewer
    points than the method needs, a note above the plot says so. `label` names the series (the organisation);
    `disclosure` is how the engine showed its counts (perturbed: marked "≈" in the hover text)."""
    points = answer["points"]
    periods = [format_period(point["period"], language) for point in points]
    traces: list[dict] = [{
        "type": "scatter", "x": periods, "y": [scaled(point["rate"], unit) for point in points], "mode": "lines",
        "name": _escape(label), "line": {"color": PEER_COLOUR, "width": 1.5}, "connectgaps": False,
        "hoverinfo": "skip", "showlegend": False}]
    limits_name = text("control_chart_limits", language, method=code_label("spc_method", answer["method"], language))
    for index, side in enumerate(("upper_3", "lower_3")):
        traces.append({
            "type": "scatter", "x": periods, "y": [scaled(point[side], unit) for point in points],
            "mode": "lines", "name": limits_name, "legendgroup": "limits", "showlegend": index == 0,
            "hoverinfo": "skip", "connectgaps": False, "line": {"color": LIMIT_COLOUR, "width": 1.2, "dash": "dash",
                                                                "shape": "hvh"}})
    if answer["centre"] is not None and periods:
        traces.append({"type": "scatter", "x": [periods[0], periods[-1]], "y": [scaled(answer["centre"], unit)] * 2,
                       "mode": "lines", "name": text("control_chart_centre", language), "hoverinfo": "skip",
                       "line": {"color": NATIONAL_COLOUR, "width": 1.5}})
    for variation, marker in VARIATION_MARKERS.items():
        shown = [index for index, point in enumerate(points)
                 if point["variation"] == variation and point["rate"] is not None]
        if not shown:
            continue
        name = code_label("spc_variation", variation, language)
        traces.append({
            "type": "scatter", "x": [periods[i] for i in shown], "y": [scaled(points[i]["rate"], unit) for i in shown],
            "mode": "markers", "name": name, "legendgroup": variation,
            "marker": {**marker, "line": {"color": "#ffffff", "width": 1}},
            "customdata": [_control_hover(periods[i], points[i], name, unit, language, disclosure) for i in shown],
            "hovertemplate": "%{customdata}<extra></extra>"})
    layout = base_layout(title, text("period_axis", language), rate_axis_title(unit, language), language)
    layout["xaxis"].update(type="category", categoryorder="array", categoryarray=periods)
    if not answer["enough_points"]:
        layout["annotations"] = [{
            "text": text("control_chart_too_few", language, count=answer["points_with_data"],
                         minimum=answer["minimum_points"]),
            "xref": "paper", "yref": "paper", "x": 0, "y": 1, "xanchor": "left", "yanchor": "bottom",
            "showarrow": False, "font": {"size": 12}}]
    return {"data": traces, "layout": layout}


def _control_hover(period: str, point: ControlChartPoint, variation_name: str, unit: str, language: str,
                   disclosure: str) -> str:
    """The hover text of a control chart point: period, rate and counts ("≈" when perturbed), its limits, its
    variation and one sentence for each rule it is part of."""
    counts = approximately(f"{format_number(point['numerator'], language)} / "
                           f"{format_number(point['denominator'], language)}", {"disclosure": disclosure}, language)
    lines = [f"{period}: {format_rate(point['rate'], unit, language)} ({counts})",
             text("control_chart_limits_hover", language,
                  interval=format_interval(point["lower_3"], point["upper_3"], unit, language)),
             variation_name]
    lines += [rule_text(rule, language) for rule in point["rules"]]
    return "<br>".join(_escape(line) for line in lines)
# ---- spine (every indicator of one organisation on one axis) ---------------------------------------------------

# The standardised positions of the funnel limits (±1.96 and ±3.09): the engine gives each position in these units,
# so the limits are the same vertical lines for every indicator.
SPINE_LIMITS = {"95": Z_95, "998": Z_998}
# Each verdict its own colour *and* marker shape, all with a black outline (≥ 3:1 against white, WCAG 1.4.11).
SPINE_MARKERS = {
    "worse": {"color": OKABE_ITO["vermillion"], "symbol": "square"},
    "better": {"color": OKABE_ITO["green"], "symbol": "diamond"},
    "higher": {"color": OKABE_ITO["sky"], "symbol": "triangle-right"},
    "lower": {"color": OKABE_ITO["sky"], "symbol": "triangle-left"},
    "within": {"color": "#d9dee3", "symbol": "circle"},
}
SPINE_BAND_95 = "rgba(0, 114, 178, 0.10)"
SPINE_BAND_998 = "rgba(0, 114, 178, 0.04)"


def spine_figure(rows: list[dict], title: str, x_title: str, language: str) -> dict:
    """The NMPA "slices of the funnel": every indicator of one organisation as one row (top first, in the order
    given), at its standardised position — the engine's distance from the comparator in units of the indicator's own
    limits — so the 95% limits (±1.96, dashed) and 99.8% limits (±3.09, dotted) are the same lines for all.

    `rows`: {"label": indicator name, "standardised": float, "verdict": verdict code, "hover": [text, ...]} (the
    hover lines as shown: rate, comparator, verdict); rows without a standardised position are not drawn."""
    # Plotly renders titles, tick labels and hover text as a small HTML subset: names from the data stay text.
    shown = [{**row, "label": _escape(row["label"])} for row in rows if row.get("standardised") is not None]
    labels = [row["label"] for row in shown]
    traces = []
    for verdict, marker in SPINE_MARKERS.items():
        chosen = [row for row in shown if row["verdict"] == verdict]
        if not chosen:
            continue
        traces.append({
            "type": "scatter", "mode": "markers", "x": [row["standardised"] for row in chosen],
            "y": [row["label"] for row in chosen], "name": code_label("verdict", verdict, language),
            "marker": {**marker, "size": 13, "line": {"color": "#000000", "width": 1}},
            "customdata": [[row["label"], *(_escape(line) for line in row["hover"])] for row in chosen],
            "hovertemplate": "<b>%{customdata[0]}</b>"
                             + "".join(f"<br>%{{customdata[{index + 1}]}}" for index in range(len(chosen[0]["hover"])))
                             + "<extra></extra>"})
    farthest = max([abs(row["standardised"]) for row in shown] + [SPINE_LIMITS["998"]])
    reach = farthest + 0.6
    shapes = [
        {"type": "rect", "xref": "x", "yref": "paper", "x0": -SPINE_LIMITS["998"], "x1": SPINE_LIMITS["998"],
         "y0": 0, "y1": 1, "fillcolor": SPINE_BAND_998, "line": {"width": 0}, "layer": "below"},
        {"type": "rect", "xref": "x", "yref": "paper", "x0": -SPINE_LIMITS["95"], "x1": SPINE_LIMITS["95"],
         "y0": 0, "y1": 1, "fillcolor": SPINE_BAND_95, "line": {"width": 0}, "layer": "below"},
        {"type": "line", "xref": "x", "yref": "paper", "x0": 0, "x1": 0, "y0": 0, "y1": 1,
         "line": {"color": NATIONAL_COLOUR, "width": 1.5}, "layer": "below"},
    ]
    annotations = []
    for level, dash, name in (("95", "dash", text("limits_95", language)),
                              ("998", "dot", text("limits_998", language))):
        for side in (-1, 1):
            shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": side * SPINE_LIMITS[level],
                           "x1": side * SPINE_LIMITS[level], "y0": 0, "y1": 1, "layer": "below",
                           "line": {"color": LIMIT_COLOUR, "width": 1.2, "dash": dash}})
        # The 95% lines' name over the left one, the 99.8% lines' over the right one: over neighbouring lines the
        # two names would overlap on a narrow page (a phone, A4).
        annotations.append({"xref": "x", "yref": "paper", "x": (-1 if level == "95" else 1) * SPINE_LIMITS[level],
                            "y": 1, "yanchor": "bottom", "text": name, "showarrow": False,
                            "font": {"size": 11, "color": LIMIT_COLOUR}})
    ticks = [-SPINE_LIMITS["998"], -SPINE_LIMITS["95"], 0, SPINE_LIMITS["95"], SPINE_LIMITS["998"]]
    layout = base_layout(_escape(title), x_title, "", language, height=max(260, 120 + 28 * len(shown)))
    layout["xaxis"].update(range=[-reach, reach], zeroline=False, tickvals=ticks,
                           ticktext=[format_number(tick, language, 2) for tick in ticks], showgrid=False)
    # Categories top to bottom in the order given (plotly draws the first category at the bottom).
    layout["yaxis"].update(type="category", categoryorder="array", categoryarray=labels, autorange="reversed",
                           rangemode="normal", showgrid=True, title={"text": ""})
    # The legend is the key to the markers' shapes, also when every indicator has the same verdict.
    layout.update(shapes=shapes, annotations=annotations, hovermode="closest", showlegend=True)
    layout["margin"] = {**layout["margin"], "t": 70 + TOOLBAR_STRIP}
    return {"data": traces, "layout": layout}
