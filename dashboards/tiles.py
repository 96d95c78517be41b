"""How one figure of an engine answer is shown on a page: the words of wording/figures.py (the same on paper,
reports/) in the page's components — a figure as one text node, the verdict as a badge in colour *and* in words
with a symbol (never colour alone, WCAG 1.4.1), the disclosure notes under a table or chart.
"""

from __future__ import annotations

from collections.abc import Sequence

from dash import html

from texts import code_label
from wording.figures import disclosure_note_texts, figure_text, verdict_key


def disclosure_notes(cells: Sequence[dict | None], language: str, note_id: str) -> list[html.P]:
    """`disclosure_note_texts` as paragraphs under a table or chart, with ids `<note_id>-peers` and
    `<note_id>-perturbed`."""
    return [html.P(note, id=f"{note_id}-{kind}", className="chart-note disclosure-note")
            for kind, note in disclosure_note_texts(cells, language)]


def verdict_badge(cell: dict | None, language: str, badge_id: str | None = None) -> html.Span:
    """The funnel verdict: a coloured badge with a symbol and a word (better / within / worse, or higher /
    lower for indicators without a direction). The symbol comes from the stylesheet (`.verdict-*::before`,
    hidden from screen readers, which read the word): one component per badge keeps big tables quick to draw."""
    key = verdict_key(cell)
    props = {"id": badge_id} if badge_id else {}
    return html.Span(code_label("verdict", key, language), className=f"verdict verdict-{key}", **props)


def figure_class(cell: dict | None) -> str:
    return "figure-cell suppressed" if cell and cell.get("suppressed") else "figure-cell"


def figure_cell(cell: dict | None, unit: str, language: str, minimum: int, cell_id: str | None = None) -> html.Div:
    """Rate, 95% interval and counts as one text node — counts are always next to rates. The stylesheet sets
    the first line large (`.figure-cell::first-line`); one node per figure keeps big tables quick to draw."""
    props = {"id": cell_id} if cell_id else {}
    return html.Div(figure_text(cell, unit, language, minimum), className=figure_class(cell), **props)
