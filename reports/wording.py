"""What only the report adds to the words of a figure (wording/figures.py, the same as on the pages): the verdicts'
colours and symbols on paper, where the pages' stylesheet does not reach, and the notes on what its figures hide.

Exact figures (the viewer's own) as they are, perturbed ones (others' named figures) marked "≈", peers by their size
band without counts, suppressed ones by their reason — as the engine decided (queries/disclosure.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from texts import code_label, text
from wording.figures import disclosure_note_texts

#: The verdicts' colours (Okabe–Ito, safe for colour-blind readers) and symbols; the word is always beside them.
VERDICT_COLOURS = {"better": "#009E73", "worse": "#D55E00", "higher": "#56B4E9", "lower": "#56B4E9",
                   "within": "#d9dee3", "none": "#ffffff"}
VERDICT_SYMBOLS = {"better": "+", "worse": "−", "higher": "↑", "lower": "↓", "within": "=", "none": "·"}
VERDICTS = tuple(VERDICT_COLOURS)


def disclosure_notes(cells: Sequence[dict | None], language: str) -> list[str]:
    """Why figures are marked "≈", banded or withheld: the pages' notes for what the report shows
    (`disclosure_note_texts`), and the reasons of the suppressed figures it shows."""
    notes = [note for _, note in disclosure_note_texts(cells, language)]
    reasons = sorted({cell["suppression_reason"] for cell in cells if cell and cell.get("suppression_reason")})
    for reason in reasons:
        if reason == "denominator_below_minimum":
            continue  # said by the note on the minimum denominator (`report.note_minimum`)
        notes.append(text("report.note_suppressed", language, shown=code_label("suppression", reason, language)))
    return notes
