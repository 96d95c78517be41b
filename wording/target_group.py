"""A target group in words: each chosen characteristic with its values ("Pariteit: Nullipara + Multipara"), from the
same table of dimensions the engine and the API validate against (`queries.filters.DIMENSIONS`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from queries.filters import DIMENSIONS


def selection_texts(selections: Iterable[tuple[str, Sequence[str]]], language: str) -> list[str]:
    """Each selection of a target group (`Filters.selections`) as "Dimension: value + value"."""
    parts = []
    for name, values in selections:
        dimension = DIMENSIONS[name]
        labels = dimension.value_labels(language)
        parts.append(f"{dimension.label(language)}: {' + '.join(labels[value] for value in values)}")
    return parts
