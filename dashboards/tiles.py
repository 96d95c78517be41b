"""How one figure of an engine answer is shown: rate, interval and counts side by side, suppressed figures as such,
and the verdict in colour *and* in words with a symbol (never colour alone, WCAG 1.4.1).

A cell is the engine's dict (numerator, denominator, rate, ci_low, ci_high, suppressed, suppression_reason,
verdict); `minimum` is the engine's configured minimum denominator, never a literal here.
"""

from __future__ import annotations

from dash import html

from texts import code_label, text
from texts.formatting import format_interval, format_number, format_rate

# Masked export counts (the engine's suppression reasons): shown as masked, never as a number.
MASKED_REASONS = ("count_masked", "count_masked_secondary", "complementary")


def indicator_name(indicator: dict, language: str) -> str:
    """The name of an indicator of an engine answer (`Indicator.as_dict()`)."""
    return code_label("indicator_name", indicator["id"], language)


def rate_text(cell: dict | None, unit: str, language: str, minimum: int) -> str:
    """The rate as shown: "15,8%", or why there is none ("noemer < 10", "gemaskeerd (1–4)")."""
    if not cell:
        return "—"
    if cell.get("suppression_reason") == "denominator_below_minimum":
        return text("below_minimum", language, minimum=minimum)
    if cell.get("suppression_reason") in MASKED_REASONS:
        return code_label("suppression", cell["suppression_reason"], language)
    return format_rate(cell.get("rate"), unit, language)


def interval_text(cell: dict | None, unit: str, language: str) -> str:
    if not cell or cell.get("suppressed"):
        return "—"
    return format_interval(cell.get("ci_low"), cell.get("ci_high"), unit, language)


def count_text(count: int | None, cell: dict | None, language: str) -> str:
    """A numerator or denominator; a masked count says so instead of looking like zero."""
    if cell and cell.get("suppression_reason") in MASKED_REASONS:
        return code_label("suppression", cell["suppression_reason"], language)
    return format_number(count, language)


def counts_text(cell: dict | None, language: str) -> str:
    """"123 / 4.567": numerator over denominator, as counted by the engine."""
    if not cell:
        return "—"
    if cell.get("suppression_reason") in MASKED_REASONS:
        return code_label("suppression", cell["suppression_reason"], language)
    return f"{format_number(cell.get('numerator'), language)} / {format_number(cell.get('denominator'), language)}"


def verdict_key(cell: dict | None) -> str:
    return (cell or {}).get("verdict") or "none"


def verdict_badge(cell: dict | None, language: str, badge_id: str | None = None) -> html.Span:
    """The funnel verdict: a coloured badge with a symbol and a word (better / within / worse, or higher /
    lower for indicators without a direction). The symbol comes from the stylesheet (`.verdict-*::before`,
    hidden from screen readers, which read the word): one component per badge keeps big tables quick to draw."""
    key = verdict_key(cell)
    props = {"id": badge_id} if badge_id else {}
    return html.Span(code_label("verdict", key, language), className=f"verdict verdict-{key}", **props)


def figure_text(cell: dict | None, unit: str, language: str, minimum: int) -> str:
    """Rate, its 95% interval and the counts on three lines (a suppressed rate: its reason and the counts)."""
    if not cell:
        return "—"
    lines = [rate_text(cell, unit, language, minimum)]
    if not cell.get("suppressed"):
        lines.append(f"{text('interval', language)} {interval_text(cell, unit, language)}")
    lines.append(counts_text(cell, language))
    return "\n".join(lines)


def figure_class(cell: dict | None) -> str:
    return "figure-cell suppressed" if cell and cell.get("suppressed") else "figure-cell"


def figure_cell(cell: dict | None, unit: str, language: str, minimum: int, cell_id: str | None = None) -> html.Div:
    """Rate, 95% interval and counts as one text node — counts are always next to rates. The stylesheet sets
    the first line large (`.figure-cell::first-line`); one node per figure keeps big tables quick to draw."""
    props = {"id": cell_id} if cell_id else {}
    return html.Div(figure_text(cell, unit, language, minimum), className=figure_class(cell), **props)


def comparator_text(level: str, rate: float | None, unit: str, language: str) -> str:
    """What a verdict is judged against, named with its rate: "t.o.v. alle ziekenhuizen: 25,9%"."""
    return text("comparator_rate", language, comparator=code_label("comparator_group", level, language),
                rate=format_rate(rate, unit, language))


def judged_against(cell: dict, unit: str, language: str) -> str:
    """"t.o.v. alle ziekenhuizen: 25,9%": the comparator of a judged cell (its `judgement`)."""
    judged_by = cell["judgement"]
    return comparator_text(judged_by["comparator"], judged_by["centre"], unit, language)


def verdict_text(cell: dict, language: str) -> str:
    """The verdict in words, with its flag (alert / alarm) when it has one."""
    words = code_label("verdict", verdict_key(cell), language)
    return f"{words} · {code_label('flag', cell['flag'], language)}" if cell.get("flag") else words
