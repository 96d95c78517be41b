"""The indicator catalogue: every indicator as a definition, and the one engine that evaluates definitions.

An indicator is data, not code: a numerator and a denominator written as conditions on the columns of
the processed `births` table (tables/schema.py), plus exclusions, a unit and a direction. A condition is
a mapping `column → requirement`, all requirements must hold:

- `True` / `False` / a string: the column equals it;
- a tuple of values: the column is one of them;
- `Range(low, high)`: low ≤ column ≤ high (either side open when None);
- `None` (only useful in exclusions): the column is missing.

A missing value never satisfies a requirement, so a row whose value is unknown does not count as "yes";
exclusions say explicitly which unknown outcomes leave the denominator. Woman-level indicators count a
woman once (only the row of the first child of a birth, `is_first_child_of_birth`). Adding an indicator
is adding a definition to `INDICATORS`, and its name and definition in words to every language file of the
text catalogue (texts/: `code.indicator_name.<id>`, `code.indicator_definition.<id>`).

Each definition also says which organisation levels' overview shows it (`applies_to`; `indicators_for`): a
practice is not judged on epidurals it cannot give, nor a hospital on early booking it never sees. The national
(researcher) view has every indicator.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import polars as pl

from texts import code_label
from texts.formatting import UNIT_SCALE


@dataclass(frozen=True)
class Range:
    """An inclusive range requirement: low ≤ value ≤ high; None leaves that side open."""

    low: int | None = None
    high: int | None = None


# What a condition asks of one column (see the module docstring).
Requirement = bool | str | int | Range | tuple[object, ...] | list[object] | frozenset[object] | set[object] | None
Condition = Mapping[str, Requirement]


class Direction(StrEnum):
    HIGHER_IS_BETTER = "higher_is_better"
    HIGHER_IS_WORSE = "higher_is_worse"
    NEUTRAL = "neutral"


# Registry population from 24+0 weeks = 168 days (Perined); term from 37+0 = 259 days. Perined's and CBS's
# extended population from 22+0 weeks = 154 days.
FROM_24_WEEKS = Range(168, None)
FROM_22_WEEKS = Range(154, None)

# The organisation levels (queries.store.LEVEL_COLUMNS, queries.engine.LEVELS: a test keeps them in step).
PRACTICE, HOSPITAL, VSV = "practice", "hospital", "vsv"
ORGANISATION_LEVELS: tuple[str, ...] = (PRACTICE, HOSPITAL, VSV)
ALL_LEVELS: frozenset[str] = frozenset(ORGANISATION_LEVELS)
# Care given in hospital (obstetrician-led): the hospital and its VSV, not the midwifery practice.
IN_HOSPITAL: frozenset[str] = frozenset({HOSPITAL, VSV})
# Midwife-led (primary) care: the practice and its VSV, not the hospital.
IN_PRIMARY_CARE: frozenset[str] = frozenset({PRACTICE, VSV})


@dataclass(frozen=True)
class Indicator:
    """One indicator definition. `rate = count(numerator ∧ population) / count(population)`, where the
    population is the denominator condition without the exclusions (and, for woman-level indicators,
    only the first child of each birth)."""

    id: str
    numerator: Condition
    denominator: Condition
    unit: str
    direction: Direction
    source: str
    topic: str  # the part of care it is about (mode_of_birth, labour, child, ...): for grouping, in the API's answer
    exclusions: tuple[Condition, ...] = ()
    woman_level: bool = False
    # The levels whose overview shows the indicator (docs/indicators.md says why, per indicator).
    applies_to: frozenset[str] = ALL_LEVELS
    # False where a case-mix stratum defines the outcome (gestational age for preterm birth): every stratum's rate
    # would be 0 or 1 and O/E always exactly 1, so there is no case-mix adjusted figure.
    case_mix_adjusted: bool = True

    def __post_init__(self) -> None:
        if not self.applies_to or not self.applies_to <= ALL_LEVELS:
            raise ValueError(f"{self.id}: applies_to must be a non-empty subset of {sorted(ALL_LEVELS)}, "
                             f"not {sorted(self.applies_to)}")

    def applies_to_level(self, level: str | None) -> bool:
        """Whether the overview of an organisation of `level` shows this indicator (None: national, always)."""
        return level is None or level in self.applies_to

    @property
    def unit_scale(self) -> int:
        return UNIT_SCALE[self.unit]

    def name(self, language: str) -> str:
        """The indicator's name, e.g. "Sectio caesarea" / "Caesarean section"."""
        return code_label("indicator_name", self.id, language)

    def definition(self, language: str) -> str:
        """What the indicator counts, in words."""
        return code_label("indicator_definition", self.id, language)

    def population_expression(self) -> pl.Expr:
        """Rows in the denominator: the population condition, minus exclusions, one row per woman if so."""
        expression = condition_expression(self.denominator)
        if self.woman_level:
            expression &= pl.col("is_first_child_of_birth").fill_null(False)
        for exclusion in self.exclusions:
            expression &= ~condition_expression(exclusion)
        return expression

    def numerator_expression(self) -> pl.Expr:
        """Rows in the numerator: in the population and meeting the numerator condition."""
        return self.population_expression() & condition_expression(self.numerator)

    def columns(self) -> set[str]:
        """The births columns this definition reads."""
        names = set(self.numerator) | set(self.denominator) | {c for e in self.exclusions for c in e}
        return names | ({"is_first_child_of_birth"} if self.woman_level else set())

    def as_dict(self) -> dict:
        """The definition as JSON-ready data (API, definitions page)."""
        return {
            "id": self.id, "name_nl": self.name("nl"), "name_en": self.name("en"), "unit": self.unit,
            "unit_scale": self.unit_scale, "direction": str(self.direction), "topic": self.topic,
            "woman_level": self.woman_level, "case_mix_adjusted": self.case_mix_adjusted,
            "definition_nl": self.definition("nl"),
            "definition_en": self.definition("en"), "source": self.source,
            "numerator": describe_condition(self.numerator), "denominator": describe_condition(self.denominator),
            "exclusions": [describe_condition(e) for e in self.exclusions],
            "applies_to": sorted(self.applies_to),
        }


def _requirement_expression(column: str, requirement: Requirement) -> pl.Expr:
    value = pl.col(column)
    if requirement is None:
        return value.is_null()
    if isinstance(requirement, Range):
        expression = pl.lit(True)
        if requirement.low is not None:
            expression &= value >= requirement.low
        if requirement.high is not None:
            expression &= value <= requirement.high
        return expression.fill_null(False)
    if isinstance(requirement, tuple | list | frozenset | set):
        return value.is_in(list(requirement)).fill_null(False)
    return (value == requirement).fill_null(False)


def condition_expression(condition: Condition) -> pl.Expr:
    """A condition (see the module docstring) as one polars boolean expression, never null."""
    expression = pl.lit(True)
    for column, requirement in condition.items():
        expression &= _requirement_expression(column, requirement)
    return expression


def describe_condition(condition: Condition) -> str:
    """A condition in plain text, e.g. `ntsv = true and caesarean is missing`; empty = all rows."""
    parts = []
    for column, requirement in condition.items():
        if requirement is None:
            parts.append(f"{column} is missing")
        elif isinstance(requirement, Range):
            bounds = ([f"{column} >= {requirement.low}"] if requirement.low is not None else []) + (
                [f"{column} <= {requirement.high}"] if requirement.high is not None else [])
            parts.append(" and ".join(bounds))
        elif isinstance(requirement, bool):
            parts.append(f"{column} = {str(requirement).lower()}")
        elif isinstance(requirement, tuple | list | frozenset | set):
            parts.append(f"{column} in ({', '.join(map(str, requirement))})")
        else:
            parts.append(f"{column} = {requirement}")
    return " and ".join(parts) or "all births"


def _unknown(column: str) -> Condition:
    return {column: None}


PERINED = "Perined, indicatoren spiegelinformatie"
ROBSON = "Robson 2001; WHO Robson classification implementation manual (2017)"

INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        "caesarean",
        numerator={"caesarean": True}, denominator={}, exclusions=(_unknown("caesarean"),),
        unit="%", direction=Direction.NEUTRAL, topic="mode_of_birth", source=PERINED),
    Indicator(
        "caesarean_robson1",
        numerator={"caesarean": True}, denominator={"robson_group": "1"}, exclusions=(_unknown("caesarean"),),
        unit="%", direction=Direction.HIGHER_IS_WORSE, topic="mode_of_birth", source=ROBSON, applies_to=IN_HOSPITAL),
    Indicator(
        "caesarean_ntsv",
        numerator={"caesarean": True}, denominator={"ntsv": True}, exclusions=(_unknown("caesarean"),),
        unit="%", direction=Direction.HIGHER_IS_WORSE,
        topic="mode_of_birth", source="The Joint Commission PC-02 (NTSV cesarean birth); Robson groups 1 and 2",
        applies_to=IN_HOSPITAL),
    Indicator(
        "spontaneous_ntsv",
        numerator={"spontaneous_vaginal": True}, denominator={"ntsv": True},
        exclusions=(_unknown("spontaneous_vaginal"),),
        unit="%", direction=Direction.HIGHER_IS_BETTER,
        topic="mode_of_birth", source="IGJ Basisset medisch specialistische zorg, indicator 16.1"),
    Indicator(
        "induction",
        numerator={"onset_of_labour": "induced"},
        denominator={"plurality_group": "singleton", "ga_days": Range(259, None)},
        exclusions=(_unknown("onset_of_labour"),),
        unit="%", direction=Direction.NEUTRAL, topic="labour", source=PERINED, applies_to=IN_HOSPITAL),
    Indicator(
        "instrumental",
        numerator={"instrumental": True}, denominator={"vaginal_birth": True},
        exclusions=(_unknown("instrumental"),),
        unit="%", direction=Direction.NEUTRAL, topic="mode_of_birth", source=PERINED, applies_to=IN_HOSPITAL),
    Indicator(
        "episiotomy",
        numerator={"episiotomy": True}, denominator={"vaginal_birth": True}, exclusions=(_unknown("episiotomy"),),
        woman_level=True, unit="%", direction=Direction.HIGHER_IS_WORSE, topic="perineum", source=PERINED),
    Indicator(
        "oasis",
        numerator={"oasis": True}, denominator={"vaginal_birth": True}, exclusions=(_unknown("oasis"),),
        woman_level=True, unit="%", direction=Direction.HIGHER_IS_WORSE,
        topic="perineum", source=PERINED + "; RCOG Green-top Guideline 29 (tear classification)",
        applies_to=IN_HOSPITAL),
    Indicator(
        "pph",
        numerator={"pph": True}, denominator={}, exclusions=(_unknown("pph"),),
        woman_level=True, unit="%", direction=Direction.HIGHER_IS_WORSE,
        topic="mother", source=PERINED + "; NVOG-richtlijn Hemorrhagia postpartum", applies_to=IN_HOSPITAL),
    Indicator(
        "epidural",
        numerator={"epidural": True}, denominator={"labour_started": True}, exclusions=(_unknown("epidural"),),
        woman_level=True, unit="%", direction=Direction.NEUTRAL, topic="labour", source=PERINED,
        applies_to=IN_HOSPITAL),
    Indicator(
        "referral_labour",
        numerator={"referral_during_labour": True}, denominator={"midwife_led_at_onset": True},
        exclusions=(_unknown("referral_during_labour"),),
        woman_level=True, unit="%", direction=Direction.NEUTRAL, topic="care_pathway", source=PERINED,
        applies_to=IN_PRIMARY_CARE),
    Indicator(
        "home_birth",
        numerator={"home_birth": True}, denominator={}, exclusions=(_unknown("home_birth"),),
        unit="%", direction=Direction.NEUTRAL, topic="care_pathway", source=PERINED, applies_to=IN_PRIMARY_CARE),
    Indicator(
        "preterm",
        numerator={"preterm": True}, denominator={"ga_days": FROM_24_WEEKS}, exclusions=(_unknown("preterm"),),
        unit="%", direction=Direction.HIGHER_IS_WORSE, topic="child", source=PERINED + "; WHO definition",
        case_mix_adjusted=False),
    Indicator(
        "very_preterm",
        numerator={"very_preterm": True}, denominator={"ga_days": FROM_24_WEEKS},
        exclusions=(_unknown("very_preterm"),),
        unit="%", direction=Direction.HIGHER_IS_WORSE, topic="child", source=PERINED + "; WHO definition",
        case_mix_adjusted=False),
    Indicator(
        "sga",
        numerator={"sga": True},
        denominator={"plurality_group": "singleton", "live_birth": True, "ga_days": Range(168, 294)},
        exclusions=(_unknown("sga"),),
        unit="%", direction=Direction.HIGHER_IS_WORSE,
        topic="child", source="Hoftiezer et al., Am J Obstet Gynecol 2019 (Dutch birth-weight percentiles)"),
    Indicator(
        "low_apgar",
        numerator={"low_apgar": True},
        denominator={"live_birth": True, "plurality_group": "singleton", "ga_days": Range(259, None)},
        exclusions=(_unknown("low_apgar"),),
        unit="%", direction=Direction.HIGHER_IS_WORSE, topic="child", source=PERINED, applies_to=IN_HOSPITAL),
    Indicator(
        "perinatal_mortality",
        numerator={"perinatal_death": True}, denominator={"ga_days": FROM_24_WEEKS},
        exclusions=(_unknown("perinatal_death"),),
        unit="‰", direction=Direction.HIGHER_IS_WORSE, topic="mortality", source=PERINED + "; WHO definition"),
    Indicator(
        "perinatal_mortality_22w_7d",
        numerator={"perinatal_death_22w_7d": True}, denominator={"ga_days": FROM_22_WEEKS},
        exclusions=(_unknown("perinatal_death_22w_7d"),),
        unit="‰", direction=Direction.HIGHER_IS_WORSE, topic="mortality",
        source=PERINED + " (perinatale sterfte vanaf 22 weken, tot 7 dagen); CBS StatLine 80213NED; WHO ICD-10"),
    Indicator(
        "perinatal_mortality_24w_28d",
        numerator={"perinatal_death_24w_28d": True}, denominator={"ga_days": FROM_24_WEEKS},
        exclusions=(_unknown("perinatal_death_24w_28d"),),
        unit="‰", direction=Direction.HIGHER_IS_WORSE, topic="mortality",
        source=PERINED + " (perinatale sterfte vanaf 24 weken, tot 28 dagen); WHO ICD-10 (neonatal period)"),
    Indicator(
        "stillbirth",
        numerator={"stillbirth": True}, denominator={"ga_days": FROM_24_WEEKS},
        unit="‰", direction=Direction.HIGHER_IS_WORSE, topic="mortality", source=PERINED + "; WHO definition"),
    Indicator(
        "nicu",
        numerator={"nicu_admission": True}, denominator={"live_birth": True},
        unit="%", direction=Direction.NEUTRAL, topic="child", source=PERINED + " (LNR, neonatologie)",
        applies_to=IN_HOSPITAL),
    Indicator(
        "breastfeeding",
        numerator={"breastfeeding": True}, denominator={"live_birth": True}, exclusions=(_unknown("breastfeeding"),),
        unit="%", direction=Direction.HIGHER_IS_BETTER, topic="child", source=PERINED),
    Indicator(
        "smoking",
        numerator={"smoking": True}, denominator={}, exclusions=(_unknown("smoking"),),
        woman_level=True, unit="%", direction=Direction.HIGHER_IS_WORSE, topic="mother", source=PERINED),
    Indicator(
        "early_booking",
        numerator={"early_booking": True}, denominator={"started_care_with_midwife": True},
        exclusions=(_unknown("early_booking"),),
        woman_level=True, unit="%", direction=Direction.HIGHER_IS_BETTER,
        topic="pregnancy", source=PERINED + "; KNOV-standaard prenatale verloskundige begeleiding",
        applies_to=IN_PRIMARY_CARE),
)

CATALOGUE: dict[str, Indicator] = {indicator.id: indicator for indicator in INDICATORS}


def indicators_for(level: str | None) -> tuple[Indicator, ...]:
    """The indicators the overview of an organisation of `level` shows, in catalogue order; None (the national,
    researcher view) gives every indicator. An unknown level is an error, not an empty list."""
    if level is not None and level not in ALL_LEVELS:
        raise ValueError(f"unknown organisation level {level!r}; levels: {', '.join(ORGANISATION_LEVELS)}")
    return tuple(definition for definition in INDICATORS if definition.applies_to_level(level))


def catalogue_columns() -> set[str]:
    """Every births column that some definition reads."""
    return set().union(*(definition.columns() for definition in INDICATORS))


def catalogue_markdown() -> str:
    """The catalogue as a Markdown table for docs/indicators.md (kept in step by a test)."""
    lines = ["| id | naam | name | unit | direction | numerator | population (denominator) | exclusions "
             "| counted per | shown for | source |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for definition in INDICATORS:
        data = definition.as_dict()
        lines.append(
            f"| `{definition.id}` | {definition.name('nl')} | {definition.name('en')} | {definition.unit} "
            f"| {definition.direction} | `{data['numerator']}` | `{data['denominator']}` "
            f"| {'; '.join(f'`{e}`' for e in data['exclusions']) or '—'} "
            f"| {'woman' if definition.woman_level else 'child'} "
            f"| {', '.join(level for level in ORGANISATION_LEVELS if level in definition.applies_to)} "
            f"| {definition.source} |")
    return "\n".join(lines)
