"""A provisional month in words: which month, which deliveries it awaits, and when it is final — the notice the
pages and the meeting report show above provisional figures (queries/provisional.py; docs/indicators.md,
"Voorlopige maanden").

A note names disciplines only where the engine gave them (the figure of one organisation the viewer may name);
for a VSV, a comparator or the nation it says how many deliveries are awaited, never whose.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from babel.lists import format_list

from queries.answers import ProvisionalNote
from texts import code_label, language_of, text
from texts.formatting import format_date, format_month, format_number


def provisional_line(note: ProvisionalNote, language: str) -> str:
    """"Voorlopig: oktober 2026 — de levering van de verloskundigen (LVR-1) ontbreekt nog; definitief na
    28-02-2027", or "… — 3 leveringen ontbreken nog; …" for a figure of many organisations."""
    month = format_month(note["month"], language)
    closes = format_date(date.fromisoformat(note["closes"]), language)
    disciplines = note["disciplines"]
    if disciplines:
        named = format_list([code_label("discipline_plural", discipline, language) for discipline in disciplines],
                            locale=language_of(language))
        if len(disciplines) == 1:
            return text("provisional.disciplines_one", language, month=month, disciplines=named, closes=closes)
        return text("provisional.disciplines_many", language, month=month, disciplines=named, closes=closes)
    count = format_number(note["missing"], language)
    if note["missing"] == 1:
        return text("provisional.count_one", language, month=month, count=count, closes=closes)
    return text("provisional.count_many", language, month=month, count=count, closes=closes)


#: The suppression reasons of a figure that is not shown at all: its notice would be about nothing on the page.
WITHHELD_REASONS = ("few_peers", "complementary")


def provisional_lines(figures: Sequence[tuple[str, dict | None]], language: str) -> list[str]:
    """One line per provisional month of each labelled figure ("De Linde: Voorlopig: …"), each once, in the order
    given; nothing for a figure without marks (final, absent, or a peer's, whose `provisional` is None) or withheld
    whole (WITHHELD_REASONS)."""
    lines: list[str] = []
    for label, cell in figures:
        if not cell or cell.get("suppression_reason") in WITHHELD_REASONS:
            continue
        for note in cell.get("provisional") or []:
            line = text("provisional.of_figure", language, figure=label, line=provisional_line(note, language))
            if line not in lines:
                lines.append(line)
    return lines


def is_provisional(cell: dict | None) -> bool:
    """Whether a figure (a cell or a trend point of an answer) has a provisional month."""
    return bool((cell or {}).get("provisional"))
