"""Improvement hints on accepted records (`missing_important`, `implausible`): they never reject."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from contracts.delivery_format import FIELDS, Field
from loader.messages import VALUE, _both, _disciplines, _range_text, _row_message, label
from texts import text

# ----------------------------------------------------------------------------------------------------------
# Improvement hints
# ----------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Hint:
    code: str
    field_name: str
    condition: pl.Expr
    message_nl: pl.Expr
    message_en: pl.Expr


def _not_expected_empty(name: str) -> pl.Expr:
    """Where an empty important field is a real gap (not a field that does not apply to this birth)."""
    live = pl.col("vital_status_birth") == "live"
    caesarean = pl.col("mode_of_birth") == "caesarean"
    exemptions = {
        "apgar_5min": live, "first_feed": live,
        "referral_during_labour": (pl.col("care_level_onset") == "midwife")
        & (pl.col("onset_of_labour") != "prelabour_caesarean"),
        "episiotomy": ~caesarean, "perineal_tear": ~caesarean,
        "epidural": pl.col("onset_of_labour") != "prelabour_caesarean",
    }
    return exemptions.get(name, pl.lit(True)).fill_null(True)


def field_hints(spec: Field) -> list[Hint]:
    name, value = spec.name, pl.col(spec.name)
    hints: list[Hint] = []
    if spec.important_for:
        hints.append(Hint(
            "missing_important", name,
            value.is_null() & pl.col("discipline").is_in(_disciplines(spec.important_for)) & _not_expected_empty(name),
            *_both(lambda language: pl.lit(text("loader.missing_important", language, field=label(name, language)))),
        ))
    if spec.plausible_low is not None or spec.plausible_high is not None:
        low = spec.plausible_low if spec.plausible_low is not None else spec.low
        high = spec.plausible_high if spec.plausible_high is not None else spec.high
        condition = pl.lit(False)
        if spec.plausible_low is not None:
            condition = condition | (value < spec.plausible_low)
        if spec.plausible_high is not None:
            condition = condition | (value > spec.plausible_high)
        hints.append(Hint(
            "implausible", name, condition.fill_null(False),
            *_both(lambda language: _row_message(
                text("loader.implausible", language, field=label(name, language), value=VALUE,
                     usual=_range_text(spec, low, high, language)),
                value=value.cast(pl.Utf8))),
        ))
    return hints


def _combination_hint(name: str, condition: pl.Expr, message: Callable[[str], str]) -> Hint:
    return Hint("implausible", name, condition.fill_null(False), *_both(lambda language: pl.lit(message(language))))


def _cross_field_hints() -> list[Hint]:
    caesarean = pl.col("mode_of_birth") == "caesarean"
    stillborn = pl.col("vital_status_birth").is_in(["antepartum_death", "intrapartum_death"])
    prelabour = pl.col("onset_of_labour") == "prelabour_caesarean"
    mother_age = (pl.col("child_birth_date") - pl.col("mother_birth_date")).dt.total_days() / 365.25
    return [
        _combination_hint("episiotomy", caesarean & pl.col("episiotomy"),
                          lambda language: text("loader.episiotomy_with_caesarean", language)),
        _combination_hint("perineal_tear", caesarean & pl.col("perineal_tear").is_in(["1", "2", "3", "4"]),
                          lambda language: text("loader.tear_with_caesarean", language)),
        _combination_hint("apgar_5min", stillborn & (pl.col("apgar_5min") > 0),
                          lambda language: text("loader.apgar_of_stillborn", language)),
        _combination_hint("death_date", stillborn & pl.col("death_date").is_not_null(),
                          lambda language: text("loader.death_date_of_stillborn", language)),
        _combination_hint("epidural", prelabour & pl.col("epidural"),
                          lambda language: text("loader.epidural_without_labour", language)),
        _combination_hint("mode_of_birth", prelabour & ~caesarean,
                          lambda language: text("loader.prelabour_caesarean_not_caesarean", language)),
        _combination_hint("referral_during_labour",
                          (pl.col("care_level_onset") == "obstetrician") & pl.col("referral_during_labour"),
                          lambda language: text("loader.referral_obstetrician_led", language)),
        _combination_hint("booking_gestational_age_days",
                          pl.col("booking_gestational_age_days") > pl.col("gestational_age_days"),
                          lambda language: text("loader.booking_after_birth", language)),
        _combination_hint("mother_birth_date", (mother_age < 13) | (mother_age > 55),
                          lambda language: text("loader.mother_age_unusual", language)),
    ]


RECORD_HINTS: tuple[Hint, ...] = (*(hint for spec in FIELDS for hint in field_hints(spec)), *_cross_field_hints())
