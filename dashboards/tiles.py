"""How one figure of an engine answer is shown on a page: the words of wording/figures.py (the same on paper,
reports/) in the page's components — a figure as one text node, the verdict as a badge in colour *and* in words
with a symbol (never colour alone, WCAG 1.4.1), the disclosure notes under a table or chart, and the notice above
provisional figures (wording/provisional.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from dash import html

from texts import code_label, text
from wording.figures import disclosure_note_texts, figure_text, verdict_key
from wording.provisional import provisional_lines


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


def provisional_notice(figures: Sequence[tuple[str, dict | None]], language: str, notice_id: str) -> list[html.Div]:
    """The notice above provisional figures: a heading, what provisional means, and one line per provisional month
    of each labelled figure (`provisional_lines`); nothing when every figure is final. A note for assistive
    technology (`role="note"`), not a live region: it is part of the answer drawn, not a change announced."""
    lines = provisional_lines(figures, language)
    if not lines:
        return []
    return [html.Div([html.P(html.Strong(text("provisional.heading", language))),
                      html.P(text("provisional.intro", language)),
                      html.Ul([html.Li(line) for line in lines])],
                     id=notice_id, className="provisional-notice", role="note")]
