"""The processed national table: one row per child, merged from the linked records, with derived variables.

Merging (which discipline's value counts when the linked records disagree or one is empty), per field
group — the first non-empty value in this order wins:

* facts of the birth and the child (`BIRTH_FACTS`): obstetrician (LVR-2) → midwife (LVR-1) →
  paediatrician (LNR). The obstetrician was responsible at the birth whenever an LVR-2 record exists.
* the mother and the course of care (`MOTHER_AND_CARE`): midwife → obstetrician → paediatrician. The
  midwife books the woman, records her history, and knows who was responsible at the onset of labour
  and whether she referred during labour.
* the neonatal course (`NEONATAL`): paediatrician → obstetrician → midwife.

Derivations are small polars expressions below, each citing its definition; `derive_births` applies them.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from polars.datatypes import DataTypeClass
from polars.expr.whenthen import ChainedThen, Then
from sqlalchemy import Boolean, Date, Float, Integer, SmallInteger, String
from sqlalchemy.types import TypeEngine

from contracts.delivery_format import Discipline
from loader.linkage import minute_of_day
from tables.schema import births as births_table

BIRTH_FACTS: tuple[str, ...] = (
    "child_birth_date", "child_birth_time", "child_sex", "plurality", "birth_order", "birth_weight_g",
    "gestational_age_days", "onset_of_labour", "presentation", "mode_of_birth", "place_of_birth", "epidural",
    "episiotomy", "perineal_tear", "blood_loss_ml", "vital_status_birth", "apgar_5min", "first_feed",
)
MOTHER_AND_CARE: tuple[str, ...] = (
    "mother_birth_date", "mother_postcode4", "parity", "previous_caesarean", "smoking",
    "booking_gestational_age_days", "care_level_onset", "referral_during_labour",
)
NEONATAL: tuple[str, ...] = ("nicu_admission", "death_date")

MIDWIFE = Discipline.MIDWIFE.value
OBSTETRICIAN = Discipline.OBSTETRICIAN.value
PAEDIATRICIAN = Discipline.PAEDIATRICIAN.value
PRECEDENCE: dict[tuple[str, ...], tuple[str, ...]] = {
    BIRTH_FACTS: (OBSTETRICIAN, MIDWIFE, PAEDIATRICIAN),
    MOTHER_AND_CARE: (MIDWIFE, OBSTETRICIAN, PAEDIATRICIAN),
    NEONATAL: (PAEDIATRICIAN, OBSTETRICIAN, MIDWIFE),
}

TERM_DAYS = 259  # 37+0 weeks
VERY_PRETERM_DAYS = 224  # 32+0 weeks
POST_TERM_DAYS = 294  # 42+0 weeks
PERINATAL_FROM_DAYS = 168  # 24+0 weeks
PERINATAL_EXTENDED_FROM_DAYS = 154  # 22+0 weeks: Perined's and CBS's extended population
EARLY_BOOKING_DAYS = 70  # 10+0 weeks
PPH_ML = 1000
LOW_APGAR_BELOW = 7
EARLY_NEONATAL_DAYS = 7  # days 0-6
NEONATAL_DAYS = 28  # days 0-27
UNCLASSIFIABLE = "unclassifiable"

_SQL_TO_POLARS = ((SmallInteger, pl.Int16), (Integer, pl.Int32), (Float, pl.Float64), (String, pl.Utf8),
                  (Boolean, pl.Boolean), (Date, pl.Date))


def _polars_dtype(sql_type: TypeEngine[Any]) -> pl.DataType | DataTypeClass:
    for sql_class, dtype in _SQL_TO_POLARS:  # SmallInteger before Integer: it is a subclass
        if isinstance(sql_type, sql_class):
            return dtype
    raise TypeError(f"no polars type for {sql_type!r}")


#: The columns of `tables.schema.births` (without data_version) and the dtype each is written with.
BIRTHS_SCHEMA: dict[str, pl.DataType | DataTypeClass] = {
    column.name: _polars_dtype(column.type) for column in births_table.columns if column.name != "data_version"
}


# --- derivations -------------------------------------------------------------------------------------

def maternal_age(mother_birth_date: pl.Expr, birth_date: pl.Expr) -> pl.Expr:
    """Mother's age in completed years on the child's birth date (Perined "leeftijd moeder").

    Years between the two dates, minus one when her birthday had not yet come that year (a mother born
    on 29 February is a year older from 1 March in common years).
    """
    before_birthday = (birth_date.dt.month() < mother_birth_date.dt.month()) | (
        (birth_date.dt.month() == mother_birth_date.dt.month()) & (birth_date.dt.day() < mother_birth_date.dt.day())
    )
    return birth_date.dt.year() - mother_birth_date.dt.year() - before_birthday.cast(pl.Int32)


def maternal_age_band(age: pl.Expr) -> pl.Expr:
    """Perined maternal age classes: <25, 25-29, 30-34, 35-39, >=40 years."""
    return (
        pl.when(age < 25).then(pl.lit("<25")).when(age < 30).then(pl.lit("25-29")).when(age < 35)
        .then(pl.lit("30-34")).when(age < 40).then(pl.lit("35-39")).when(age >= 40).then(pl.lit(">=40"))
    )


def ga_weeks(ga_days: pl.Expr) -> pl.Expr:
    """Completed weeks of gestation: 280 days = 40+0 weeks (WHO ICD-10 convention)."""
    return ga_days // 7


def ga_band(ga_days: pl.Expr) -> pl.Expr:
    """Gestational-age bands of the dashboard: <32, 32-36, 37-41, >=42 completed weeks."""
    return (
        pl.when(ga_days < VERY_PRETERM_DAYS).then(pl.lit("<32")).when(ga_days < TERM_DAYS).then(pl.lit("32-36"))
        .when(ga_days < POST_TERM_DAYS).then(pl.lit("37-41")).when(ga_days >= POST_TERM_DAYS).then(pl.lit(">=42"))
    )


def parity_group(parity: pl.Expr) -> pl.Expr:
    """Nulliparous: no previous birth from 22+0 weeks (parity 0); multiparous: parity >= 1 (Perined)."""
    return pl.when(parity == 0).then(pl.lit("nulliparous")).when(parity >= 1).then(pl.lit("multiparous"))


def plurality_group(plurality: pl.Expr) -> pl.Expr:
    """Singleton (one fetus) or multiple (two or more) pregnancy."""
    return pl.when(plurality > 1).then(pl.lit("multiple")).otherwise(pl.lit("singleton"))


def labour_started(onset: pl.Expr) -> pl.Expr:
    """Labour started: onset spontaneous or induced (not a caesarean before labour); empty when unknown."""
    return onset.is_in(["spontaneous", "induced"])


def midwife_led_at_onset(care_level_onset: pl.Expr, started: pl.Expr) -> pl.Expr:
    """Started labour in midwife-led (primary) care: care level at onset "midwife" and labour started.

    The denominator of referral during labour (Perined "verwijzing durante partu"); Kleene logic, so
    "obstetrician" at onset is False even when the onset itself is unknown.
    """
    return pl.when(care_level_onset.is_null()).then(None).otherwise(care_level_onset == "midwife") & started


def robson_group(
    parity: pl.Expr, previous_caesarean: pl.Expr, onset: pl.Expr, plurality: pl.Expr, ga_days: pl.Expr,
    presentation: pl.Expr,
) -> pl.Expr:
    """Robson ten-group classification (Robson 2001, Fetal Matern Med Rev 12:23; WHO 2017 "Robson
    Classification: Implementation Manual"), with 2a/2b and 4a/4b (induced / caesarean before labour).

    1  nulliparous, singleton cephalic, >=37 weeks, spontaneous labour
    2  nulliparous, singleton cephalic, >=37 weeks, induced (2a) or caesarean before labour (2b)
    3  multiparous without previous caesarean, singleton cephalic, >=37 weeks, spontaneous labour
    4  as 3 but induced (4a) or caesarean before labour (4b)
    5  multiparous with at least one previous caesarean, singleton cephalic, >=37 weeks
    6  nulliparous, singleton breech          7  multiparous, singleton breech (incl. previous caesarean)
    8  multiple pregnancy (incl. previous caesarean)
    9  singleton transverse or oblique lie (incl. previous caesarean)
    10 singleton cephalic <37 weeks (incl. previous caesarean)

    A field needed for the decision that is missing (presentation "unknown" counts as missing) gives
    "unclassifiable" — never a guess. A field that is not needed (e.g. onset for group 5) may be missing.
    """
    term = ga_days >= TERM_DAYS
    nulliparous = parity == 0
    by_onset = {"spontaneous": ("1", "3"), "induced": ("2a", "4a"), "prelabour_caesarean": ("2b", "4b")}

    def labour_group(nulliparous_side: bool) -> pl.Expr:
        expression: Then | ChainedThen = pl.when(onset.is_null()).then(pl.lit(UNCLASSIFIABLE))
        for code, (nulliparous_group, multiparous_group) in by_onset.items():
            expression = expression.when(onset == code).then(
                pl.lit(nulliparous_group if nulliparous_side else multiparous_group)
            )
        return expression.otherwise(pl.lit(UNCLASSIFIABLE))

    return (
        pl.when(plurality.is_null()).then(pl.lit(UNCLASSIFIABLE))
        .when(plurality > 1).then(pl.lit("8"))
        .when(presentation.is_null() | (presentation == "unknown")).then(pl.lit(UNCLASSIFIABLE))
        .when(presentation == "transverse").then(pl.lit("9"))
        .when(presentation == "breech").then(
            pl.when(parity.is_null()).then(pl.lit(UNCLASSIFIABLE)).when(nulliparous).then(pl.lit("6"))
            .otherwise(pl.lit("7"))
        )
        .when(presentation != "cephalic").then(pl.lit(UNCLASSIFIABLE))
        .when(ga_days.is_null()).then(pl.lit(UNCLASSIFIABLE))
        .when(~term).then(pl.lit("10"))
        .when(parity.is_null()).then(pl.lit(UNCLASSIFIABLE))
        .when(nulliparous).then(labour_group(nulliparous_side=True))
        .when(previous_caesarean.is_null()).then(pl.lit(UNCLASSIFIABLE))
        .when(previous_caesarean).then(pl.lit("5"))
        .otherwise(labour_group(nulliparous_side=False))
    )


def ntsv(parity: pl.Expr, plurality: pl.Expr, ga_days: pl.Expr, presentation: pl.Expr) -> pl.Expr:
    """Nulliparous, term (>=37+0 weeks), singleton, vertex: the women of Robson groups 1 and 2
    (ACOG / IGJ basisset indicator 16.1 population). Kleene logic: False as soon as one part is False,
    empty when it depends on a missing value."""
    vertex = pl.when(presentation.is_null() | (presentation == "unknown")).then(None).otherwise(
        presentation == "cephalic"
    )
    return (parity == 0) & (plurality == 1) & (ga_days >= TERM_DAYS) & vertex


def attach_hoftiezer_p10(frame: pl.LazyFrame, percentiles: pl.DataFrame) -> pl.LazyFrame:
    """Add `hoftiezer_p10`: the 10th birth-weight percentile for the child's sex and GA in days.

    Hoftiezer L et al., "From population reference to national standard: new and improved birthweight
    charts", AJOG 2019;220:383.e1–17 (Perined's curves), sex-specific, 23+0 to 42+0 weeks. Empty when the
    table has no row: sex U or missing, GA outside 161..294 days or missing.
    """
    table = percentiles.lazy().select(
        pl.col("sex").replace_strict({"female": "F", "male": "M"}, default=None).alias("child_sex"),
        pl.col("ga_days").cast(pl.Int64).alias("gestational_age_days"),
        pl.col("p10").cast(pl.Int64).alias("hoftiezer_p10"),
    )
    return frame.join(table, on=["child_sex", "gestational_age_days"], how="left")


def sga(birth_weight_g: pl.Expr, p10: pl.Expr) -> pl.Expr:
    """Small for gestational age: birth weight strictly below the Hoftiezer p10 (Perined definition);
    empty when the weight or the reference is missing."""
    return birth_weight_g < p10


def _died_within(live_birth: pl.Expr, birth_date: pl.Expr, death_date: pl.Expr, days: int) -> pl.Expr:
    """Live born and died within the first `days` days of life, i.e. on day 0 .. days − 1 (the day of birth is
    day 0). False when no death date is known: the registry knows a death only by its date."""
    days_lived = (death_date - birth_date).dt.total_days()
    return (live_birth & days_lived.is_between(0, days - 1)).fill_null(False)


def early_neonatal_death(live_birth: pl.Expr, birth_date: pl.Expr, death_date: pl.Expr) -> pl.Expr:
    """Live born and died within the first 7 days, i.e. on day 0–6 of life (WHO ICD-10 definition of
    early neonatal death). False when no death date is known."""
    return _died_within(live_birth, birth_date, death_date, EARLY_NEONATAL_DAYS)


def neonatal_death(live_birth: pl.Expr, birth_date: pl.Expr, death_date: pl.Expr) -> pl.Expr:
    """Live born and died within the first 28 days, i.e. on day 0–27 of life (WHO ICD-10: the neonatal period
    ends 28 completed days after birth; Perined/CBS "neonatale sterfte"). Includes the early neonatal deaths.
    False when no death date is known."""
    return _died_within(live_birth, birth_date, death_date, NEONATAL_DAYS)


def perinatal_death(ga_days: pl.Expr, stillbirth: pl.Expr, died_after_birth: pl.Expr,
                    from_days: int = PERINATAL_FROM_DAYS) -> pl.Expr:
    """Perinatal death from `from_days` (24+0 weeks unless said otherwise): stillbirth, or death after a live birth
    as `died_after_birth` says — `early_neonatal_death` for the first 7 days of life (days 0–6; Perined "tot 7
    dagen", the WHO early-neonatal period), `neonatal_death` for the first 28 days (days 0–27; "tot 28 dagen").
    Empty below `from_days` or when the gestational age is unknown (outside the denominator)."""
    return pl.when(ga_days >= from_days).then(stillbirth | died_after_birth)


# --- merging -----------------------------------------------------------------------------------------

def _records_per_discipline(linked: pl.LazyFrame, discipline: str, fields: list[str]) -> pl.LazyFrame:
    """One row per child for one discipline, its columns suffixed with the discipline."""
    return linked.filter(pl.col("discipline") == discipline).select(
        "child_key",
        pl.col("org_code").alias(f"org_code__{discipline}"),
        pl.lit(True).alias(f"has__{discipline}"),
        *[pl.col(c).alias(f"{c}__{discipline}") for c in fields],
    )


def merge_children(linked: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """One row per child_key with each field taken by `PRECEDENCE`, plus the senders and which records exist."""
    duplicated = linked.lazy().select(pl.struct("child_key", "discipline").is_duplicated().any()).collect().item()
    if duplicated:
        raise ValueError("linked records hold two records of one discipline for one child; link_records never does")
    linked = linked.lazy()
    present = set(linked.collect_schema().names())
    fields = [c for group in PRECEDENCE for c in group if c in present]
    children = linked.group_by("child_key").agg(pl.col("link_method").first())
    for discipline in (MIDWIFE, OBSTETRICIAN, PAEDIATRICIAN):
        children = children.join(_records_per_discipline(linked, discipline, fields), on="child_key", how="left")
    merged = []
    for group, order in PRECEDENCE.items():
        merged += [pl.coalesce([f"{c}__{d}" for d in order]).alias(c) for c in group if c in present]
    return children.select(
        "child_key",
        "link_method",
        *merged,
        pl.col(f"org_code__{MIDWIFE}").alias("practice_code"),
        pl.coalesce(f"org_code__{OBSTETRICIAN}", f"org_code__{PAEDIATRICIAN}").alias("hospital_code"),
        *[pl.col(f"has__{d}").fill_null(False).alias(name) for d, name in (
            (MIDWIFE, "has_midwife_record"), (OBSTETRICIAN, "has_obstetrician_record"),
            (PAEDIATRICIAN, "has_paediatrician_record"))],
    )


def _vsv_of(organisations: pl.DataFrame, code_column: str) -> pl.DataFrame:
    return organisations.select(
        pl.col("org_code").alias(code_column), pl.col("vsv_code").alias(f"vsv_of_{code_column}")
    )


def derive_births(
    linked: pl.DataFrame, organisations: pl.DataFrame, postcode_ses: pl.DataFrame, percentiles: pl.DataFrame
) -> pl.DataFrame:
    """The `births` rows (every column of `tables.schema.births` except data_version), one per child.

    `linked`: the output of `loader.linkage.link_records`; `organisations`: the register (for the VSV of
    the hospital, else of the practice); `postcode_ses`: `postcode4, vsv_code, ses_quintile`;
    `percentiles`: the Hoftiezer table (`sex, ga_days, p10`, ...). `birth_id` numbers the children 1..n
    in order of birth date and time (then sender and mother, so the numbering is reproducible).
    """
    children = merge_children(linked)
    postcodes = postcode_ses.lazy().select(
        pl.col("postcode4").cast(pl.Utf8).str.zfill(4).alias("mother_postcode4"),
        pl.col("vsv_code").alias("vsv_of_postcode"),
        pl.col("ses_quintile").cast(pl.Int16),
    ).unique("mother_postcode4", keep="first")
    children = (
        children.join(_vsv_of(organisations, "hospital_code").lazy(), on="hospital_code", how="left")
        .join(_vsv_of(organisations, "practice_code").lazy(), on="practice_code", how="left")
        .join(postcodes, on="mother_postcode4", how="left")
    )
    children = attach_hoftiezer_p10(children, percentiles)

    c = pl.col
    birth_date = c("child_birth_date")
    mode = c("mode_of_birth")
    vital = c("vital_status_birth")
    place = c("place_of_birth")
    derived = children.with_columns(
        birth_date=birth_date,
        birth_month=birth_date.dt.strftime("%Y-%m"),
        birth_year=birth_date.dt.year(),
        # Register first; the mother's postcode area only if a sender is missing from the register.
        vsv_code=pl.coalesce("vsv_of_hospital_code", "vsv_of_practice_code", "vsv_of_postcode"),
        maternal_age=maternal_age(c("mother_birth_date"), birth_date),
        parity_group=parity_group(c("parity")),
        booking_ga_days=c("booking_gestational_age_days"),
        started_care_with_midwife=c("has_midwife_record"),
        early_booking=c("booking_gestational_age_days") < EARLY_BOOKING_DAYS,
        is_first_child_of_birth=(c("birth_order") == 1).fill_null(True),
        plurality_group=plurality_group(c("plurality")),
        ga_days=c("gestational_age_days"),
        ga_weeks=ga_weeks(c("gestational_age_days")),
        ga_band=ga_band(c("gestational_age_days")),
        labour_started=labour_started(c("onset_of_labour")),
        robson_group=robson_group(c("parity"), c("previous_caesarean"), c("onset_of_labour"), c("plurality"),
                                  c("gestational_age_days"), c("presentation")),
        ntsv=ntsv(c("parity"), c("plurality"), c("gestational_age_days"), c("presentation")),
        caesarean=mode == "caesarean",
        vaginal_birth=mode.is_in(["spontaneous", "vacuum", "forceps"]),
        spontaneous_vaginal=mode == "spontaneous",
        instrumental=mode.is_in(["vacuum", "forceps"]),
        home_birth=pl.when(place == "unknown").then(None).otherwise(place == "home"),
        oasis=c("perineal_tear").is_in(["3", "4"]),
        pph=c("blood_loss_ml") >= PPH_ML,
        sga=sga(c("birth_weight_g"), c("hoftiezer_p10")),
        preterm=c("gestational_age_days") < TERM_DAYS,
        very_preterm=c("gestational_age_days") < VERY_PRETERM_DAYS,
        live_birth=(vital == "live").fill_null(False),
        stillbirth=vital.is_in(["antepartum_death", "intrapartum_death"]).fill_null(False),
        low_apgar=c("apgar_5min") < LOW_APGAR_BELOW,
        # No paediatrician record and no NICU mention elsewhere: the child was not admitted.
        nicu_admission=c("nicu_admission").fill_null(False),
        breastfeeding=c("first_feed") == "breast",
    ).with_columns(
        maternal_age_band=maternal_age_band(c("maternal_age")),
        midwife_led_at_onset=midwife_led_at_onset(c("care_level_onset"), c("labour_started")),
        early_neonatal_death=early_neonatal_death(c("live_birth"), birth_date, c("death_date")),
        neonatal_death=neonatal_death(c("live_birth"), birth_date, c("death_date")),
    ).with_columns(
        # Referral during labour only exists for women who started labour in midwife-led care.
        referral_during_labour=pl.when(c("midwife_led_at_onset").not_()).then(None)
        .otherwise(c("referral_during_labour")),
        perinatal_death=perinatal_death(c("gestational_age_days"), c("stillbirth"), c("early_neonatal_death")),
        perinatal_death_22w_7d=perinatal_death(c("gestational_age_days"), c("stillbirth"), c("early_neonatal_death"),
                                               from_days=PERINATAL_EXTENDED_FROM_DAYS),
        perinatal_death_24w_28d=perinatal_death(c("gestational_age_days"), c("stillbirth"), c("neonatal_death")),
    )
    ordered = derived.sort(
        "birth_date", minute_of_day(c("child_birth_time")), "hospital_code", "practice_code",
        "mother_birth_date", "mother_postcode4", "birth_order", "child_key", nulls_last=True,
    ).with_columns(birth_id=pl.int_range(1, pl.len() + 1))
    return ordered.select([pl.col(name).cast(dtype) for name, dtype in BIRTHS_SCHEMA.items()]).collect()


# --- linkage summary ---------------------------------------------------------------------------------

def expected_partner(discipline: pl.Expr) -> pl.Expr:
    """Whether a record, by its own content, should be linked to a record of another discipline.

    * midwife record (LVR-1): the obstetrician was involved — care level at onset "obstetrician",
      referral during labour, an instrumental or caesarean birth, or birth in obstetrician-led hospital care;
    * obstetrician record (LVR-2): the woman started labour in midwife-led care (care level at onset
      "midwife") or was referred during labour;
    * paediatrician record (LNR): always — every admitted child was born, so has a birth record.
    """
    c = pl.col
    midwife_expects = (
        (c("care_level_onset") == "obstetrician").fill_null(False)
        | c("referral_during_labour").fill_null(False)
        | c("mode_of_birth").is_in(["vacuum", "forceps", "caesarean"]).fill_null(False)
        | (c("place_of_birth") == "hospital_obstetrician").fill_null(False)
    )
    obstetrician_expects = (c("care_level_onset") == "midwife").fill_null(False) | c(
        "referral_during_labour"
    ).fill_null(False)
    return (
        pl.when(discipline == MIDWIFE).then(midwife_expects)
        .when(discipline == OBSTETRICIAN).then(obstetrician_expects)
        .otherwise(discipline == PAEDIATRICIAN)
    )


def linkage_summary(linked: pl.DataFrame) -> pl.DataFrame:
    """Linkage per sending organisation and discipline, plus national rows (`org_code` "*").

    records: accepted records; linked: records placed with a record of another discipline;
    expected_links: records that by their own content should have a partner (`expected_partner`);
    linked_expected: of those, the ones that were linked; linkage_rate = linked_expected / expected_links (empty
    when none is expected), never above 1. (`linked` also counts records linked without being expected — e.g.
    an obstetrician's record of a booked birth next to its paediatrician's record — so linked / expected_links
    is not a rate: it came to 294% for obstetricians.)
    National rows: one per discipline, and one over all disciplines (`discipline` "*").
    """
    flagged = linked.select(
        "org_code", "discipline",
        linked_=pl.col("discipline").n_unique().over("child_key") > 1,
        expected_=expected_partner(pl.col("discipline")),
    )

    def summarise(frame: pl.DataFrame, by: list[str]) -> pl.DataFrame:
        return frame.group_by(by).agg(
            records=pl.len(),
            linked=pl.col("linked_").sum(),
            expected_links=pl.col("expected_").sum(),
            linked_expected=(pl.col("linked_") & pl.col("expected_")).sum(),
        )

    per_org = summarise(flagged, ["org_code", "discipline"])
    national = summarise(flagged, ["discipline"]).with_columns(org_code=pl.lit("*"))
    overall = summarise(flagged.with_columns(discipline=pl.lit("*")), ["discipline"]).with_columns(org_code=pl.lit("*"))
    columns = ["org_code", "discipline", "records", "linked", "expected_links", "linked_expected"]
    combined = pl.concat([frame.select(columns) for frame in (per_org, national, overall)])
    return combined.select(
        "org_code", "discipline",
        pl.col("records", "linked", "expected_links", "linked_expected").cast(pl.Int64),
        linkage_rate=pl.when(pl.col("expected_links") > 0)
        .then(pl.col("linked_expected") / pl.col("expected_links")),
    ).sort(pl.col("org_code") == "*", "org_code", "discipline")
