"""The report's charts as SVG (vector graphics), drawn on the server by matplotlib from the engine's answers.

Text stays text (`svg.fonttype = "none"`): a PDF reader can select it, pdftotext and screen readers read it, and the
chart's words are the same texts as the pages'. Colours are the Okabe–Ito palette, and every series also differs in
marker shape or line style, so colour is never the only cue (as dashboards/charts.py draws the same charts on
screen). Nothing here computes a statistic: the charts draw the rates, intervals, limits and standardised positions
the engine gave.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from typing import Any

import matplotlib
import matplotlib.ticker
from matplotlib.figure import Figure

from queries.judgement import Z_95, Z_998
from reports.wording import VERDICT_COLOURS
from texts import code_label, text
from texts.formatting import UNIT_SCALE, format_number, format_period
from wording.figures import funnel_drawn, funnel_position
from wording.provisional import is_provisional

OWN_COLOUR = "#0072B2"
HIGHLIGHT_COLOUR = "#D55E00"
NATIONAL_COLOUR = "#000000"
PEER_COLOUR = "#5f6b76"
LIMIT_COLOUR = "#4a4a4a"
BAND_COLOUR = "#0072B2"
SPINE_MARKERS = {"worse": "s", "better": "D", "higher": ">", "lower": "<", "within": "o"}
STYLE: Any = {"svg.fonttype": "none", "font.family": "DejaVu Sans", "font.size": 8, "axes.spines.top": False,
         "axes.spines.right": False, "axes.edgecolor": "#6b6b6b", "axes.grid": True, "grid.color": "#e3e7eb",
         "svg.hashsalt": "perispiegel"}  # the same chart is the same SVG (a cached report is byte-stable)
# Figures without pyplot (no backend, no global figure list); the style is applied through matplotlib's rcParams,
# which are process-wide: one chart at a time.
_LOCK = threading.Lock()
WIDTH_INCHES = 6.6  # the A4 text width of the report's stylesheet (170 mm)


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]  # inline in HTML: without the XML declaration and doctype


def _number_formatter(language: str, decimals: int) -> matplotlib.ticker.FuncFormatter:
    return matplotlib.ticker.FuncFormatter(lambda value, _: format_number(value, language, decimals))


def _rate_axis(unit: str, language: str) -> str:
    return text("rate_axis_permille", language) if unit == "‰" else text("rate_axis_percent", language)


def _scaled(rate: float | None, unit: str) -> float:
    return float("nan") if rate is None else rate * UNIT_SCALE[unit]


def spine_svg(rows: Sequence[dict], title: str, language: str) -> str:
    """Every judged indicator of one organisation on one axis of standardised position (the engine's), the 95% and
    99.8% limits as dashed and dotted lines. `rows`: {"label", "standardised", "verdict"}, top first."""
    with _LOCK, matplotlib.rc_context(STYLE):
        height = 0.9 + 0.17 * len(rows)
        figure = Figure(figsize=(WIDTH_INCHES, height))
        axes = figure.subplots()
        labels = [row["label"] for row in rows]
        positions = list(range(len(rows)))[::-1]
        axes.axvspan(-Z_998, Z_998, color=BAND_COLOUR, alpha=0.04, lw=0)
        axes.axvspan(-Z_95, Z_95, color=BAND_COLOUR, alpha=0.10, lw=0)
        axes.axvline(0, color=NATIONAL_COLOUR, lw=1)
        for limit, style, name in ((Z_95, "--", text("limits_95", language)),
                                   (Z_998, ":", text("limits_998", language))):
            for side in (-1, 1):
                axes.axvline(side * limit, color=LIMIT_COLOUR, lw=0.9, ls=style, label=name if side > 0 else None)
        for verdict, marker in SPINE_MARKERS.items():
            chosen = [(row["standardised"], y) for row, y in zip(rows, positions, strict=True)
                      if row["verdict"] == verdict]
            if chosen:
                axes.scatter([x for x, _ in chosen], [y for _, y in chosen], marker=marker, s=46, zorder=3,
                             color=VERDICT_COLOURS[verdict], edgecolors="#000000", linewidths=0.7,
                             label=code_label("verdict", verdict, language))
        reach = max([abs(row["standardised"]) for row in rows] + [Z_998]) + 0.6
        axes.set_xlim(-reach, reach)
        axes.set_yticks(positions, labels)
        axes.set_ylim(-0.7, len(rows) - 0.3)
        ticks = [-Z_998, -Z_95, 0, Z_95, Z_998]
        axes.set_xticks(ticks, [format_number(tick, language, 2) for tick in ticks])
        axes.grid(axis="x", visible=False)
        axes.set_xlabel(text("spine_x", language))
        axes.set_title(title, loc="left", fontsize=9, fontweight="bold")
        axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.9 / height - 0.02), ncol=4, frameon=False,
                    fontsize=7)
        return _svg(figure)


def national_shown(trend: dict) -> bool:
    """Whether a trend answer has a national rate in any period (beside fewer than five other VSVs it has none)."""
    national = next(series for series in trend["series"] if series["kind"] == "national")["points"]
    return any(point.get("rate") is not None and not point.get("suppressed") for point in national)


def trend_svg(answer: dict, unit: str, own_label: str, language: str) -> str:
    """The organisation's rate per period with its 95% interval (filled), and the national rate (dashed); a
    provisional period (queries/provisional.py) has an open marker, as on the detail page, with a legend entry."""
    national = next(series for series in answer["series"] if series["kind"] == "national")["points"]
    own: list[dict] = next((series["points"] for series in answer["series"] if series["kind"] == "organisation"),
                           [])
    periods = [format_period(point["period"], language) for point in national]
    with _LOCK, matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(WIDTH_INCHES / 2 - 0.1, 2.3))
        axes = figure.subplots()
        x = list(range(len(periods)))
        if own:
            low = [_scaled(point["ci_low"], unit) for point in own]
            high = [_scaled(point["ci_high"], unit) for point in own]
            axes.fill_between(x, low, high, color=BAND_COLOUR, alpha=0.18, lw=0, label=text("band", language))
            axes.plot(x, [_scaled(point["rate"] if not point.get("suppressed") else None, unit) for point in own],
                      color=OWN_COLOUR, lw=1.8, marker="o", ms=3, label=own_label)
        national_rates = [_scaled(point["rate"] if not point.get("suppressed") else None, unit) for point in national]
        if national_shown(answer):  # withheld in every period (few VSVs): not drawn
            axes.plot(x, national_rates, color=NATIONAL_COLOUR, lw=1.1, ls="--", marker="s", ms=2.5,
                      label=text("national", language))
        legend = text("provisional.legend", language)
        for points, colour in ((own, OWN_COLOUR), (national if national_shown(answer) else [], NATIONAL_COLOUR)):
            marked = [index for index, point in enumerate(points) if is_provisional(point)]
            if marked:  # open markers over the line's own, one legend entry for both lines
                axes.plot([x[index] for index in marked],
                          [_scaled(points[index]["rate"] if not points[index].get("suppressed") else None, unit)
                           for index in marked], ls="none", marker="o", ms=6, mfc="white", mec=colour, mew=1.4,
                          label=legend)
                legend = "_nolegend_"
        step = max(1, len(periods) // 6)
        axes.set_xticks(x[::step], periods[::step], rotation=30, ha="right", fontsize=6.5)
        axes.set_ylim(bottom=0)
        axes.yaxis.set_major_formatter(_number_formatter(language, 1))
        axes.set_ylabel(_rate_axis(unit, language), fontsize=7)
        axes.legend(fontsize=6.5, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=3)
        axes.set_title(text("report.trend_title", language), loc="left", fontsize=8, fontweight="bold")
        return _svg(figure)


def _placed(rows: list[dict]) -> list[float]:
    """The x positions of rows that have one (`funnel_position`)."""
    return [position for row in rows if (position := funnel_position(row)) is not None]


def funnel_svg(answer: dict, unit: str, subject_code: str, subject_label: str, language: str) -> str:
    """Every organisation of the level at its rate against its denominator (a peer at the middle of its size band),
    the comparator's rate and the engine's control limits (95% dashed, 99.8% dotted); the subject a large diamond."""
    rows = funnel_drawn(answer["rows"])
    subject = [row for row in rows if row.get("org_code") == subject_code or
               (row.get("own") and subject_code == answer["viewer"].get("org_code"))]
    others = [row for row in rows if row not in subject]
    with _LOCK, matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(WIDTH_INCHES / 2 - 0.1, 2.3))
        axes = figure.subplots()
        smallest = min([funnel_position(row) or 1 for row in rows] or [1])
        limits = [point for point in answer.get("limits", []) if point["denominator"] >= smallest / 2]
        x = [point["denominator"] for point in limits]
        for level, style, name in (("95", "--", text("limits_95", language)),
                                   ("998", ":", text("limits_998", language))) if limits else ():
            for index, side in enumerate(("upper", "lower")):
                axes.plot(x, [_scaled(point[f"{side}_{level}"], unit) for point in limits], color=LIMIT_COLOUR,
                          lw=0.9, ls=style, label=name if index == 0 else None)
        if answer.get("target") is not None and x:
            axes.plot([min(x), max(x)], [_scaled(answer["target"], unit)] * 2, color=NATIONAL_COLOUR, lw=1.1,
                      label=code_label("reference", answer.get("level", "vsv"), language))
        if others:
            axes.scatter(_placed(others), [_scaled(row["rate"], unit) for row in others],
                         s=12, color=PEER_COLOUR, alpha=0.8, label=text("other_organisations", language))
        if subject:
            axes.scatter(_placed(subject), [_scaled(row["rate"], unit) for row in subject],
                         s=60, marker="D", color=HIGHLIGHT_COLOUR, edgecolors="#000000", linewidths=0.8, zorder=4,
                         label=subject_label)
        axes.margins(x=0.12, y=0.12)
        axes.set_ylim(bottom=0)
        axes.yaxis.set_major_formatter(_number_formatter(language, 1))
        axes.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(nbins=5, integer=True))
        axes.xaxis.set_major_formatter(_number_formatter(language, 0))
        axes.tick_params(labelsize=6.5)
        axes.set_xlabel(text("funnel_x", language), fontsize=7)
        axes.set_ylabel(_rate_axis(unit, language), fontsize=7)
        axes.legend(fontsize=6.5, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2)
        axes.set_title(text("report.funnel_title", language), loc="left", fontsize=8, fontweight="bold")
        return _svg(figure)

