"""How the report writes one figure of an engine answer: the same texts as the pages (`dashboards/tiles.py`, which
the layers keep out of reach of reports/), so a figure reads the same on paper as on screen.

Exact figures (the viewer's own) as they are, perturbed ones (others' named figures) marked "≈", peers by their size
band without counts, suppressed ones by their reason — as the engine decided (queries/disclosure.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from queries.disclosure import HIDDEN_COUNTS
from queries.filters import DIMENSIONS
from texts import NO_VALUE, code_label, text
from texts.formatting import format_interval, format_month, format_number, format_rate

#: The verdicts' colours (Okabe–Ito, safe for colour-blind readers) and symbols; the word is always beside them.
VERDICT_COLOURS = {"better": "#009E73", "worse": "#D55E00", "higher": "#56B4E9", "lower": "#56B4E9",
                   "within": "#d9dee3", "none": "#ffffff"}
VERDICT_SYMBOLS = {"better": "+", "worse": "−", "higher": "↑", "lower": "↓", "within": "=", "none": "·"}
VERDICTS = tuple(VERDICT_COLOURS)


def indicator_name(indicator: dict, language: str) -> str:
    return code_label("indicator_name", indicator["id"], language)


def rate_text(cell: dict | None, unit: str, language: str, minimum: int) -> str:
    """"15,8%", or why there is none ("noemer < 10", "gemaskeerd (1–4)")."""
    if not cell:
        return NO_VALUE
    if cell.get("suppression_reason") == "denominator_below_minimum":
        return text("below_minimum", language, minimum=minimum)
    if cell.get("suppression_reason") in HIDDEN_COUNTS:
        return code_label("suppression", cell["suppression_reason"], language)
    return format_rate(cell.get("rate"), unit, language)


def interval_text(cell: dict | None, unit: str, language: str) -> str:
    if not cell or cell.get("suppressed") or cell.get("ci_low") is None:
        return NO_VALUE
    return format_interval(cell.get("ci_low"), cell.get("ci_high"), unit, language)


def counts_text(cell: dict | None, language: str, per_woman: bool = False) -> str:
    """"123 / 4.567", "≈ 123 / 4.567" when perturbed, a peer's size band, or the reason counts are hidden."""
    if not cell:
        return NO_VALUE
    if cell.get("disclosure") == "peer":
        band = cell.get("size_band")
        if not band:
            return NO_VALUE
        low, high = format_number(band["low"], language), format_number(band["high"], language)
        size = low if low == high else f"{low}–{high}"
        return text("size_band_women", language, size=size) if per_woman else \
            text("size_band_births", language, size=size)
    if cell.get("suppression_reason") in HIDDEN_COUNTS:
        return code_label("suppression", cell["suppression_reason"], language)
    counts = f"{format_number(cell.get('numerator'), language)} / {format_number(cell.get('denominator'), language)}"
    return text("approximately", language, value=counts) if cell.get("disclosure") == "perturbed" else counts


def verdict_key(cell: dict | None) -> str:
    return (cell or {}).get("verdict") or "none"


def verdict_words(cell: dict | None, language: str) -> str:
    """The verdict in words, with its flag (alert / alarm) when it has one."""
    words = code_label("verdict", verdict_key(cell), language)
    flag = (cell or {}).get("flag")
    return f"{words} · {code_label('flag', flag, language)}" if flag else words


def judged_against(cell: dict, unit: str, language: str) -> str:
    """"t.o.v. alle ziekenhuizen: 25,9%", or that the comparator is withheld beside fewer than five peers."""
    judged_by = cell["judgement"]
    if judged_by.get("centre") is None:
        return text("comparator_few_peers", language,
                    comparator=code_label("comparator_group", judged_by["comparator"], language))
    return text("comparator_rate", language, comparator=code_label("comparator_group", judged_by["comparator"],
                                                                   language),
                rate=format_rate(judged_by["centre"], unit, language))


def disclosure_notes(cells: Sequence[dict | None], language: str) -> list[str]:
    """Why figures are marked "≈", banded or withheld: the pages' notes (`disclosure_note_*`) for what the report
    shows, and the reasons of the suppressed figures it shows."""
    notes = []
    if any(cell and cell.get("disclosure") == "peer" for cell in cells):
        notes.append(text("disclosure_note_peers", language))
    if any(cell and cell.get("disclosure") == "perturbed" for cell in cells):
        notes.append(text("disclosure_note_perturbed", language))
    reasons = sorted({cell["suppression_reason"] for cell in cells if cell and cell.get("suppression_reason")})
    for reason in reasons:
        if reason == "denominator_below_minimum":
            continue  # said by the note on the minimum denominator (`report.note_minimum`)
        notes.append(text("report.note_suppressed", language, shown=code_label("suppression", reason, language)))
    return notes


def target_group_text(filters: dict[str, str], period_from: str | None, period_to: str | None,
                      language: str) -> str:
    """The target group in words: "januari 2023 – december 2023; Pariteit: Nullipara", or all births."""
    parts = [f"{format_month(period_from, language)} – {format_month(period_to, language)}"]
    for name, values in filters.items():
        if name not in DIMENSIONS:
            continue
        dimension = DIMENSIONS[name]
        labels = dimension.value_labels(language)
        parts.append(f"{dimension.label(language)}: {' + '.join(labels.get(v, v) for v in values.split(','))}")
    if len(parts) == 1:
        parts.append(text("report.all_births", language))
    return "; ".join(parts)
