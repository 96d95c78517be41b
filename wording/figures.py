"""One figure of an engine answer in words: rate, interval and counts, suppressed figures as such, and the verdict in
words (pages and reports add a colour and a symbol, never colour alone, WCAG 1.4.1).

A cell is the engine's dict (numerator, denominator, rate, ci_low, ci_high, suppressed, suppression_reason, verdict,
flag, disclosure, judgement, and for a peer size_band); `minimum` is the engine's configured minimum denominator,
never a literal here. How precisely a cell may be shown is the engine's decision (queries/disclosure.py, its
`disclosure` field); this module only writes it out as decided:

- exact (the viewer's own): counts as they are;
- perturbed (named figures of others, such as national): counts marked "≈ 83 / 399", for they carry cell-key noise;
- peer (an organisation under a pseudonym): no counts at all, its size as a band ("200–210 geboorten") instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from queries.disclosure import HIDDEN_COUNTS
from texts import NO_VALUE, code_label, text
from texts.formatting import format_interval, format_number, format_rate

# The engine's suppression reasons whose cell shows no counts (counts of 1–4 masked; a provider's VSV withheld):
# shown as such, never as a number.
MASKED_REASONS = HIDDEN_COUNTS


def indicator_name(indicator: dict, language: str) -> str:
    """The name of an indicator of an engine answer (`Indicator.as_dict()`)."""
    return code_label("indicator_name", indicator["id"], language)


def rate_text(cell: dict | None, unit: str, language: str, minimum: int) -> str:
    """The rate as shown: "15,8%", or why there is none ("noemer < 10", "gemaskeerd (1–4)")."""
    if not cell:
        return NO_VALUE
    if cell.get("suppression_reason") == "denominator_below_minimum":
        return text("below_minimum", language, minimum=minimum)
    if cell.get("suppression_reason") in MASKED_REASONS:
        return code_label("suppression", cell["suppression_reason"], language)
    return format_rate(cell.get("rate"), unit, language)


def interval_text(cell: dict | None, unit: str, language: str) -> str:
    """The 95% interval, "14,2–17,5%"; nothing for a suppressed figure."""
    if not cell or cell.get("suppressed"):
        return NO_VALUE
    return format_interval(cell.get("ci_low"), cell.get("ci_high"), unit, language)


def is_peer(cell: dict | None) -> bool:
    """Whether the engine shows this cell as a peer's: a pseudonym, a size band and a rounded rate, no counts."""
    return cell is not None and cell.get("disclosure") == "peer"


def few_peers(cell: dict | None) -> bool:
    """Whether the engine withheld this cell because the answer has fewer than five peers (`few_peers`): a peer's
    band, or the comparator of all organisations of a type, would then point at those few organisations."""
    return cell is not None and cell.get("suppression_reason") == "few_peers"


def is_perturbed(cell: dict | None) -> bool:
    """Whether this cell's counts carry the engine's cell-key noise (a named figure that is not the viewer's)."""
    return cell is not None and cell.get("disclosure") == "perturbed"


def approximately(value: str, cell: dict | None, language: str) -> str:
    """`value` marked "≈ …" when the cell's counts are perturbed (and there is a number to mark)."""
    if is_perturbed(cell) and value != NO_VALUE:
        return text("approximately", language, value=value)
    return value


def size_text(band: dict | None, language: str, per_woman: bool = False) -> str:
    """A peer's size band as read: "200–210 geboorten" (or "vrouwen" for an indicator counted per woman)."""
    if not band:
        return NO_VALUE
    low, high = format_number(band["low"], language), format_number(band["high"], language)
    size = low if low == high else f"{low}–{high}"
    if per_woman:
        return text("size_band_women", language, size=size)
    return text("size_band_births", language, size=size)


def count_text(count: int | None, cell: dict | None, language: str) -> str:
    """A numerator or denominator; a masked count says so instead of looking like zero; a perturbed count is
    marked "≈"."""
    if cell and cell.get("suppression_reason") in MASKED_REASONS:
        return code_label("suppression", cell["suppression_reason"], language)
    return approximately(format_number(count, language), cell, language)


def counts_text(cell: dict | None, language: str, per_woman: bool = False) -> str:
    """"123 / 4.567": numerator over denominator, as counted by the engine ("≈ 123 / 4.567" when perturbed); a
    peer's size band instead ("200–210 geboorten"): the engine gives no counts of a peer."""
    if not cell:
        return NO_VALUE
    if is_peer(cell):
        return size_text(cell.get("size_band"), language, per_woman)
    if cell.get("suppression_reason") in MASKED_REASONS:
        return code_label("suppression", cell["suppression_reason"], language)
    counts = f"{format_number(cell.get('numerator'), language)} / {format_number(cell.get('denominator'), language)}"
    return approximately(counts, cell, language)


def funnel_position(row: dict) -> float | None:
    """Where an organisation stands on a funnel's x axis, on a page and in a report: its denominator, or for a peer
    (no counts) the middle of its size band (the engine's `size_band.middle`); None when it has neither."""
    if is_peer(row):
        band = row.get("size_band")
        return band["middle"] if band else None
    return row.get("denominator")


def funnel_drawn(rows: list[dict]) -> list[dict]:
    """The rows a funnel draws: those with a rate and a place on the x axis (a masked peer has neither rate nor
    counts, only its band: it is listed in the chart's table, not drawn)."""
    return [row for row in rows if row.get("rate") is not None and funnel_position(row) is not None]


def figure_text(cell: dict | None, unit: str, language: str, minimum: int) -> str:
    """Rate, its 95% interval and the counts on three lines (a suppressed rate: its reason and the counts); counts
    as `counts_text` writes them (marked "≈" when perturbed)."""
    if not cell:
        return NO_VALUE
    lines = [rate_text(cell, unit, language, minimum)]
    if not cell.get("suppressed"):
        lines.append(f"{text('interval', language)} {interval_text(cell, unit, language)}")
    lines.append(counts_text(cell, language))
    return "\n".join(lines)


def disclosure_text(cell: dict | None, language: str) -> str:
    """How precisely the engine shows this cell, in words ("exact", "licht verstoord (≈)", "zonder naam, …")."""
    return code_label("disclosure", (cell or {}).get("disclosure"), language)


def disclosure_note_texts(cells: Sequence[dict | None], language: str) -> list[tuple[str, str]]:
    """The legend of a table or chart that shows others' figures, as (kind, text): why peers show a size band and
    a rounded rate ("peers", when there are peers), why "≈" marks counts ("perturbed", when there are perturbed
    ones); nothing for exact figures only."""
    notes = []
    if any(is_peer(cell) for cell in cells):
        notes.append(("peers", text("disclosure_note_peers", language)))
    if any(is_perturbed(cell) for cell in cells):
        notes.append(("perturbed", text("disclosure_note_perturbed", language)))
    return notes


def verdict_key(cell: dict | None) -> str:
    """The verdict's code, "none" for a cell without one (the key of its colour and symbol)."""
    return (cell or {}).get("verdict") or "none"


def verdict_text(cell: dict | None, language: str) -> str:
    """The verdict in words, with its flag (alert / alarm) when it has one."""
    words = code_label("verdict", verdict_key(cell), language)
    flag = (cell or {}).get("flag")
    return f"{words} · {code_label('flag', flag, language)}" if flag else words


def comparator_text(level: str, rate: float | None, unit: str, language: str) -> str:
    """What a verdict is judged against, named with its rate: "t.o.v. alle ziekenhuizen: 25,9%"."""
    return text("comparator_rate", language, comparator=code_label("comparator_group", level, language),
                rate=format_rate(rate, unit, language))


def judged_against(cell: dict, unit: str, language: str) -> str:
    """"t.o.v. alle ziekenhuizen: 25,9%": the comparator of a judged cell (its `judgement`). A judged cell without
    a centre is one beside fewer than five peers (the engine withholds the comparator then, `few_peers`): that is
    said instead of a rate."""
    judged_by = cell["judgement"]
    if judged_by.get("centre") is None:
        return text("comparator_few_peers", language,
                    comparator=code_label("comparator_group", judged_by["comparator"], language))
    return comparator_text(judged_by["comparator"], judged_by["centre"], unit, language)


def method_line(alerts: dict, level: str, overdispersion: str, language: str) -> str:
    """How an overview's verdicts were made: against which organisations, by which method, how many limits widened
    (the engine's `alerts` of an overview)."""
    return text("method_line", language, organisations=code_label("comparator_group", level, language),
                method=code_label("overdispersion", overdispersion, language),
                widened=format_number(alerts["widened"], language), judged=format_number(alerts["judged"], language))


def alerts_line(alerts: dict, language: str) -> str:
    """How many of an overview's indicators are outside the limits, against how many chance alone would give."""
    return text("alerts_line", language, alerts=format_number(alerts["alerts"], language),
                judged=format_number(alerts["judged"], language), alarms=format_number(alerts["alarms"], language),
                expected_alerts=format_number(alerts["expected_alerts"], language, 1),
                expected_alarms=format_number(alerts["expected_alarms"], language, 2))
