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
is adding a definition to `INDICATORS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import polars as pl


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


UNIT_SCALE = {"%": 100, "‰": 1000}

# Registry population from 24+0 weeks = 168 days (Perined); term from 37+0 = 259 days.
FROM_24_WEEKS = Range(168, None)


@dataclass(frozen=True)
class Indicator:
    """One indicator definition. `rate = count(numerator ∧ population) / count(population)`, where the
    population is the denominator condition without the exclusions (and, for woman-level indicators,
    only the first child of each birth)."""

    id: str
    name_nl: str
    name_en: str
    numerator: Condition
    denominator: Condition
    unit: str
    direction: Direction
    definition_nl: str
    definition_en: str
    source: str
    exclusions: tuple[Condition, ...] = ()
    woman_level: bool = False
    topic: str = field(default="birth")

    @property
    def unit_scale(self) -> int:
        return UNIT_SCALE[self.unit]

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
            "id": self.id, "name_nl": self.name_nl, "name_en": self.name_en, "unit": self.unit,
            "unit_scale": self.unit_scale, "direction": str(self.direction), "topic": self.topic,
            "woman_level": self.woman_level, "definition_nl": self.definition_nl,
            "definition_en": self.definition_en, "source": self.source,
            "numerator": describe_condition(self.numerator), "denominator": describe_condition(self.denominator),
            "exclusions": [describe_condition(e) for e in self.exclusions],
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
        "caesarean", "Sectio caesarea", "Caesarean section",
        numerator={"caesarean": True}, denominator={}, exclusions=(_unknown("caesarean"),),
        unit="%", direction=Direction.NEUTRAL, topic="mode_of_birth", source=PERINED,
        definition_nl="Percentage kinderen geboren met een keizersnede, van alle geboren kinderen.",
        definition_en="Share of all children born by caesarean section."),
    Indicator(
        "caesarean_robson1", "Sectio caesarea, Robson 1", "Caesarean section, Robson group 1",
        numerator={"caesarean": True}, denominator={"robson_group": "1"}, exclusions=(_unknown("caesarean"),),
        unit="%", direction=Direction.HIGHER_IS_WORSE, topic="mode_of_birth", source=ROBSON,
        definition_nl="Keizersneden bij nulliparae met een à terme eenling in hoofdligging en spontane start van "
                      "de baring (Robson-groep 1).",
        definition_en="Caesareans among nulliparous women with a single cephalic term pregnancy in spontaneous "
                      "labour (Robson group 1)."),
    Indicator(
        "caesarean_ntsv", "Sectio caesarea, NTSV", "Caesarean section, NTSV",
        numerator={"caesarean": True}, denominator={"ntsv": True}, exclusions=(_unknown("caesarean"),),
        unit="%", direction=Direction.HIGHER_IS_WORSE, topic="mode_of_birth",
        source="The Joint Commission PC-02 (NTSV cesarean birth); Robson groups 1 and 2",
        definition_nl="Keizersneden bij nulliparae met een à terme (≥37 weken) eenling in hoofdligging (NTSV).",
        definition_en="Caesareans among nulliparous women with a term (≥37 weeks) singleton in vertex "
                      "presentation (NTSV)."),
    Indicator(
        "spontaneous_ntsv", "Spontane bevalling, NTSV", "Spontaneous birth, NTSV",
        numerator={"spontaneous_vaginal": True}, denominator={"ntsv": True},
        exclusions=(_unknown("spontaneous_vaginal"),),
        unit="%", direction=Direction.HIGHER_IS_BETTER, topic="mode_of_birth",
        source="IGJ Basisset medisch specialistische zorg, indicator 16.1",
        definition_nl="Spontane vaginale geboorten (zonder kunstverlossing of keizersnede) in de NTSV-groep.",
        definition_en="Spontaneous vaginal births (no instrumental delivery, no caesarean) in the NTSV group."),
    Indicator(
        "induction", "Inleiding van de baring", "Induction of labour",
        numerator={"onset_of_labour": "induced"},
        denominator={"plurality_group": "singleton", "ga_days": Range(259, None)},
        exclusions=(_unknown("onset_of_labour"),),
        unit="%", direction=Direction.NEUTRAL, topic="labour", source=PERINED,
        definition_nl="Ingeleide bevallingen bij eenlingen vanaf 37+0 weken.",
        definition_en="Induced labours among singleton births from 37+0 weeks."),
    Indicator(
        "instrumental", "Vaginale kunstverlossing", "Instrumental vaginal birth",
        numerator={"instrumental": True}, denominator={"vaginal_birth": True},
        exclusions=(_unknown("instrumental"),),
        unit="%", direction=Direction.NEUTRAL, topic="mode_of_birth", source=PERINED,
        definition_nl="Vacuümextracties en forcipale extracties, van alle vaginale geboorten.",
        definition_en="Vacuum or forceps deliveries among all vaginal births."),
    Indicator(
        "episiotomy", "Episiotomie", "Episiotomy",
        numerator={"episiotomy": True}, denominator={"vaginal_birth": True}, exclusions=(_unknown("episiotomy"),),
        woman_level=True, unit="%", direction=Direction.HIGHER_IS_WORSE, topic="perineum", source=PERINED,
        definition_nl="Vrouwen met een episiotomie, van de vrouwen die vaginaal bevielen (per vrouw geteld).",
        definition_en="Women with an episiotomy among women who gave birth vaginally (each woman counted once)."),
    Indicator(
        "oasis", "Totaalruptuur (OASIS)", "Third- or fourth-degree tear (OASIS)",
        numerator={"oasis": True}, denominator={"vaginal_birth": True}, exclusions=(_unknown("oasis"),),
        woman_level=True, unit="%", direction=Direction.HIGHER_IS_WORSE, topic="perineum",
        source=PERINED + "; RCOG Green-top Guideline 29 (tear classification)",
        definition_nl="Vrouwen met een derde- of vierdegraads ruptuur, van de vrouwen die vaginaal bevielen.",
        definition_en="Women with a third- or fourth-degree perineal tear among women who gave birth vaginally."),
    Indicator(
        "pph", "Fluxus postpartum ≥1000 ml", "Postpartum haemorrhage ≥1000 ml",
        numerator={"pph": True}, denominator={}, exclusions=(_unknown("pph"),),
        woman_level=True, unit="%", direction=Direction.HIGHER_IS_WORSE, topic="mother",
        source=PERINED + "; NVOG-richtlijn Hemorrhagia postpartum",
        definition_nl="Vrouwen met ten minste 1000 ml bloedverlies binnen 24 uur na de geboorte, van alle "
                      "bevallen vrouwen.",
        definition_en="Women with blood loss of at least 1000 ml within 24 hours of birth, among all women "
                      "who gave birth."),
    Indicator(
        "epidural", "Epidurale analgesie", "Epidural analgesia",
        numerator={"epidural": True}, denominator={"labour_started": True}, exclusions=(_unknown("epidural"),),
        woman_level=True, unit="%", direction=Direction.NEUTRAL, topic="labour", source=PERINED,
        definition_nl="Vrouwen met epidurale analgesie, van de vrouwen bij wie de baring begon (spontaan of "
                      "ingeleid).",
        definition_en="Women with epidural analgesia among women who went into labour (spontaneous or induced)."),
    Indicator(
        "referral_labour", "Verwijzing durante partu", "Referral during labour",
        numerator={"referral_during_labour": True}, denominator={"midwife_led_at_onset": True},
        exclusions=(_unknown("referral_during_labour"),),
        woman_level=True, unit="%", direction=Direction.NEUTRAL, topic="care_pathway", source=PERINED,
        definition_nl="Vrouwen die tijdens de baring naar de tweede lijn werden verwezen, van de vrouwen die "
                      "de baring in de eerste lijn begonnen.",
        definition_en="Women referred to obstetrician-led care during labour, among women who started labour "
                      "in midwife-led care."),
    Indicator(
        "home_birth", "Thuisbevalling", "Home birth",
        numerator={"home_birth": True}, denominator={}, exclusions=(_unknown("home_birth"),),
        unit="%", direction=Direction.NEUTRAL, topic="care_pathway", source=PERINED,
        definition_nl="Kinderen die thuis geboren zijn, van alle geboren kinderen.",
        definition_en="Children born at home, among all children born."),
    Indicator(
        "preterm", "Vroeggeboorte <37 weken", "Preterm birth <37 weeks",
        numerator={"preterm": True}, denominator={"ga_days": FROM_24_WEEKS}, exclusions=(_unknown("preterm"),),
        unit="%", direction=Direction.HIGHER_IS_WORSE, topic="child", source=PERINED + "; WHO definition",
        definition_nl="Kinderen geboren vóór 37+0 weken, van alle kinderen geboren vanaf 24+0 weken.",
        definition_en="Children born before 37+0 weeks, among all children born from 24+0 weeks."),
    Indicator(
        "very_preterm", "Zeer vroeggeboorte <32 weken", "Very preterm birth <32 weeks",
        numerator={"very_preterm": True}, denominator={"ga_days": FROM_24_WEEKS},
        exclusions=(_unknown("very_preterm"),),
        unit="%", direction=Direction.HIGHER_IS_WORSE, topic="child", source=PERINED + "; WHO definition",
        definition_nl="Kinderen geboren vóór 32+0 weken, van alle kinderen geboren vanaf 24+0 weken.",
        definition_en="Children born before 32+0 weeks, among all children born from 24+0 weeks."),
    Indicator(
        "sga", "Small for gestational age (<p10)", "Small for gestational age (<p10)",
        numerator={"sga": True},
        denominator={"plurality_group": "singleton", "live_birth": True, "ga_days": Range(168, 294)},
        exclusions=(_unknown("sga"),),
        unit="%", direction=Direction.HIGHER_IS_WORSE, topic="child",
        source="Hoftiezer et al., Am J Obstet Gynecol 2019 (Dutch birth-weight percentiles)",
        definition_nl="Levendgeboren eenlingen (24+0 tot en met 42+0 weken) met een geboortegewicht onder de "
                      "10e percentiel van Hoftiezer voor geslacht en zwangerschapsduur in dagen.",
        definition_en="Live-born singletons (24+0 to 42+0 weeks) with a birth weight below the Hoftiezer 10th "
                      "percentile for sex and gestational age in days."),
    Indicator(
        "low_apgar", "Apgar <7 na 5 minuten", "Apgar score <7 at 5 minutes",
        numerator={"low_apgar": True},
        denominator={"live_birth": True, "plurality_group": "singleton", "ga_days": Range(259, None)},
        exclusions=(_unknown("low_apgar"),),
        unit="%", direction=Direction.HIGHER_IS_WORSE, topic="child", source=PERINED,
        definition_nl="Levendgeboren à terme eenlingen (≥37 weken) met een Apgarscore onder 7 na 5 minuten.",
        definition_en="Live-born term singletons (≥37 weeks) with an Apgar score below 7 at 5 minutes."),
    Indicator(
        "perinatal_mortality", "Perinatale sterfte", "Perinatal mortality",
        numerator={"perinatal_death": True}, denominator={"ga_days": FROM_24_WEEKS},
        exclusions=(_unknown("perinatal_death"),),
        unit="‰", direction=Direction.HIGHER_IS_WORSE, topic="mortality", source=PERINED + "; WHO definition",
        definition_nl="Doodgeboorten plus sterfte in de eerste 7 levensdagen, per 1000 kinderen geboren vanaf "
                      "24+0 weken.",
        definition_en="Stillbirths plus deaths within the first 7 days, per 1,000 children born from 24+0 weeks."),
    Indicator(
        "stillbirth", "Doodgeboorte", "Stillbirth",
        numerator={"stillbirth": True}, denominator={"ga_days": FROM_24_WEEKS},
        unit="‰", direction=Direction.HIGHER_IS_WORSE, topic="mortality", source=PERINED + "; WHO definition",
        definition_nl="Doodgeboren kinderen per 1000 kinderen geboren vanaf 24+0 weken.",
        definition_en="Stillborn children per 1,000 children born from 24+0 weeks."),
    Indicator(
        "nicu", "Opname NICU", "NICU admission",
        numerator={"nicu_admission": True}, denominator={"live_birth": True},
        unit="%", direction=Direction.NEUTRAL, topic="child", source=PERINED + " (LNR, neonatologie)",
        definition_nl="Levendgeborenen die op een neonatale intensive care werden opgenomen.",
        definition_en="Live-born children admitted to neonatal intensive care."),
    Indicator(
        "breastfeeding", "Borstvoeding eerste voeding", "Breastfeeding at first feed",
        numerator={"breastfeeding": True}, denominator={"live_birth": True}, exclusions=(_unknown("breastfeeding"),),
        unit="%", direction=Direction.HIGHER_IS_BETTER, topic="child", source=PERINED,
        definition_nl="Levendgeborenen van wie de eerste voeding borstvoeding was.",
        definition_en="Live-born children whose first feed was breastfeeding."),
    Indicator(
        "smoking", "Roken tijdens de zwangerschap", "Smoking in pregnancy",
        numerator={"smoking": True}, denominator={}, exclusions=(_unknown("smoking"),),
        woman_level=True, unit="%", direction=Direction.HIGHER_IS_WORSE, topic="mother", source=PERINED,
        definition_nl="Vrouwen die tijdens de zwangerschap rookten, van alle bevallen vrouwen met bekende "
                      "rookstatus.",
        definition_en="Women who smoked during pregnancy, among all women who gave birth with known smoking status."),
    Indicator(
        "early_booking", "Eerste controle <10 weken", "First antenatal visit <10 weeks",
        numerator={"early_booking": True}, denominator={"started_care_with_midwife": True},
        exclusions=(_unknown("early_booking"),),
        woman_level=True, unit="%", direction=Direction.HIGHER_IS_BETTER, topic="pregnancy",
        source=PERINED + "; KNOV-standaard prenatale verloskundige begeleiding",
        definition_nl="Vrouwen met een eerste controle vóór 10+0 weken, van de vrouwen die de zorg bij een "
                      "verloskundige begonnen.",
        definition_en="Women whose first antenatal visit was before 10+0 weeks, among women who started care "
                      "with a midwife."),
)

CATALOGUE: dict[str, Indicator] = {indicator.id: indicator for indicator in INDICATORS}


def indicator(indicator_id: str) -> Indicator:
    """The definition with this id; `KeyError` when unknown (the API turns it into a 400)."""
    return CATALOGUE[indicator_id]


def catalogue_columns() -> set[str]:
    """Every births column that some definition reads."""
    return set().union(*(definition.columns() for definition in INDICATORS))


def catalogue_markdown() -> str:
    """The catalogue as a Markdown table for docs/indicators.md (kept in step by a test)."""
    lines = ["| id | naam | name | unit | direction | numerator | population (denominator) | exclusions "
             "| counted per | source |", "|---|---|---|---|---|---|---|---|---|---|"]
    for definition in INDICATORS:
        data = definition.as_dict()
        lines.append(
            f"| `{definition.id}` | {definition.name_nl} | {definition.name_en} | {definition.unit} "
            f"| {definition.direction} | `{data['numerator']}` | `{data['denominator']}` "
            f"| {'; '.join(f'`{e}`' for e in data['exclusions']) or '—'} "
            f"| {'woman' if definition.woman_level else 'child'} | {definition.source} |")
    return "\n".join(lines)
