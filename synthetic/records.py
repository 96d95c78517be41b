"""From true births to the records each discipline sends, as the text that goes into a delivery file.

Who sends a record (the coherence rules of `docs/synthetic-data.md`):
- the midwife (lvr1, from her practice) for every woman who booked with a midwife (~88%);
- the obstetrician (lvr2, from the hospital) when an obstetrician was responsible at some point of labour or
  birth: obstetrician-led at onset (incl. every induction and pre-labour caesarean) or referred during labour;
- the paediatrician (lnr, from the same hospital's paediatrics) for every child admitted after birth.

Each discipline numbers its dossiers its own way, so no identifier is shared. Records about the same birth
agree on shared facts except for realistic small slips, drawn per record at half the pairwise rate (so two
records of one birth disagree at about the stated rate): a birth time off by 1-15 minutes (5%), a weight
off by at most 30 g (3%), one postcode digit wrong (1%), the mother's birth date with day and month swapped
(0.3%); the birth time is left empty in 1% of records.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from contracts.delivery_format import COLUMNS, Discipline

PAIRWISE_SLIP_RATES = {"time_shift": 0.05, "weight": 0.03, "postcode_digit": 0.01, "date_swap": 0.003}
TIME_MISSING_RATE = 0.01
OBJECTION_RATE = 0.005
# Empty important fields: no rejection, but the loader turns them into improvement hints.
MISSING_IMPORTANT_RATES = {
    "birth_weight_g": 0.003, "apgar_5min": 0.01, "blood_loss_ml": 0.02, "presentation": 0.005, "smoking": 0.02,
    "booking_gestational_age_days": 0.02, "episiotomy": 0.005, "perineal_tear": 0.005, "first_feed": 0.01,
    "previous_caesarean": 0.005, "epidural": 0.01,
}
LNR_FIELDS = ("dossier_id", "dossier_version", "org_code", "objection", "mother_birth_date", "mother_postcode4",
              "child_birth_date", "child_birth_time", "child_sex", "plurality", "birth_order", "birth_weight_g",
              "gestational_age_days", "vital_status_birth", "apgar_5min", "nicu_admission", "death_date")
PAEDIATRIC_ONLY = ("nicu_admission", "death_date")
MIDWIFE_ONLY = ("booking_gestational_age_days",)


def flag(column: str) -> pl.Expr:
    """A boolean as the delivery writes it: 1, 0, or empty."""
    return pl.col(column).cast(pl.Int8).cast(pl.Utf8)


def mark_objections(children: pl.DataFrame, seed: int, year: int) -> pl.DataFrame:
    """Add `objection`: ~0.5% of women object, and it holds for every child and record of her birth."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, year, 5]))
    events = children["birth_event_id"].unique().sort()
    objecting = events.filter(pl.Series(rng.random(len(events)) < OBJECTION_RATE))
    return children.with_columns(objection=pl.col("birth_event_id").is_in(objecting.implode()))


def discipline_records(children: pl.DataFrame, seed: int, year: int) -> pl.DataFrame:
    """Every record of the year (`children` marked by `mark_objections`), all disciplines stacked: the delivery
    columns as text (null = empty), plus `discipline`, `child_id`, `birth_event_id`, `month` and `sort_minute`
    (the true minute, which orders a file)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, year, 1]))
    who = {
        Discipline.MIDWIFE: (pl.col("booked_with") == "midwife", "practice_code"),
        Discipline.OBSTETRICIAN: (pl.col("obstetrician_responsible"), "hospital_code"),
        Discipline.PAEDIATRICIAN: (pl.col("admitted_paediatrics"), "hospital_code"),
    }
    frames = []
    for discipline, (condition, org_column) in who.items():
        subset = children.filter(condition).with_columns(org_code=pl.col(org_column),
                                                         discipline=pl.lit(str(discipline)))
        # The children of one birth stay together, so numbering per woman cannot interleave with another birth.
        subset = subset.with_columns(first_minute=pl.col("child_birth_minute").min().over("birth_event_id")).sort(
            "org_code", "child_birth_date", "first_minute", "birth_event_id", "birth_order")
        frames.append(_as_text(_with_slips(_with_dossier_ids(subset, discipline, year), rng), discipline, rng))
    return pl.concat(frames, how="vertical")


def _with_dossier_ids(records: pl.DataFrame, discipline: Discipline, year: int) -> pl.DataFrame:
    """Each discipline's own numbering: per organisation, in order of birth."""
    yy = f"{year % 100:02d}"
    woman_number = (pl.col("birth_order") == 1).cast(pl.Int64).cum_sum().over("org_code")
    child_number = pl.int_range(1, pl.len() + 1).over("org_code")
    if discipline == Discipline.MIDWIFE:
        dossier = pl.format("VK{}-{}-{}", pl.lit(yy), woman_number.cast(pl.Utf8).str.zfill(5), pl.col("birth_order"))
    elif discipline == Discipline.OBSTETRICIAN:
        dossier = pl.format("{}{}{}", pl.lit(yy), woman_number.cast(pl.Utf8).str.zfill(6), pl.col("birth_order"))
    else:
        dossier = pl.format("NEO-{}-{}", pl.lit(str(year)), child_number.cast(pl.Utf8).str.zfill(5))
    return records.with_columns(dossier_id=dossier)


def _with_slips(records: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """The small disagreements between records of one birth (see module docstring)."""
    n = records.height
    minute = records["child_birth_minute"].to_numpy().copy()
    shift = rng.integers(1, 16, n) * rng.choice([-1, 1], n)
    shift = np.where((minute + shift < 0) | (minute + shift > 1439), -shift, shift)  # stay on the same day
    minute = np.where(rng.random(n) < PAIRWISE_SLIP_RATES["time_shift"] / 2, minute + shift, minute)

    grams = records["birth_weight_g"].to_numpy().copy()
    weight_slip = rng.integers(1, 31, n) * rng.choice([-1, 1], n)
    grams = np.where(rng.random(n) < PAIRWISE_SLIP_RATES["weight"] / 2, grams + weight_slip, grams)

    postcode = records["mother_postcode4"].to_numpy().copy()
    position = rng.integers(0, 4, n)
    place = 10 ** (3 - position)
    digit = (postcode // place) % 10
    # Another digit in that position; the first digit of a Dutch postcode is never 0.
    new_digit = np.where(position == 0, 1 + (digit - 1 + rng.integers(1, 9, n)) % 9,
                         (digit + rng.integers(1, 10, n)) % 10)
    wrong_postcode = postcode + (new_digit - digit) * place
    postcode = np.where(rng.random(n) < PAIRWISE_SLIP_RATES["postcode_digit"] / 2, wrong_postcode, postcode)

    swap = rng.random(n) < PAIRWISE_SLIP_RATES["date_swap"] / 2
    time_missing = rng.random(n) < TIME_MISSING_RATE
    mother = pl.col("mother_birth_date")
    swappable = (mother.dt.day() <= 12) & (mother.dt.day() != mother.dt.month())
    swapped = pl.date(mother.dt.year(), mother.dt.day(), mother.dt.month())
    return records.with_columns(
        record_minute=pl.when(pl.lit(pl.Series(time_missing))).then(None).otherwise(pl.lit(pl.Series(minute))),
        birth_weight_g=pl.Series(grams), mother_postcode4=pl.Series(postcode),
        mother_birth_date=pl.when(pl.lit(pl.Series(swap)) & swappable).then(swapped).otherwise(mother),
    ).with_columns(
        # The woman is typed in once per dossier: her children's records of one discipline carry the same slips
        # (what the first child's record got), as one FHIR Bundle has one woman.
        pl.col("mother_postcode4", "mother_birth_date").first().over("birth_event_id"),
    )


def _as_text(records: pl.DataFrame, discipline: Discipline, rng: np.random.Generator) -> pl.DataFrame:
    """The delivery columns as text, with the fields this discipline does not record left empty."""
    minute = pl.col("record_minute")
    text = records.select(
        "discipline", "child_id", "birth_event_id",
        month=pl.col("child_birth_date").dt.strftime("%Y-%m"), sort_minute=pl.col("child_birth_minute"),
        dossier_id=pl.col("dossier_id"), dossier_version=pl.lit("1"), org_code=pl.col("org_code"),
        objection=flag("objection"),
        mother_birth_date=pl.col("mother_birth_date").dt.strftime("%Y-%m-%d"),
        mother_postcode4=pl.col("mother_postcode4").cast(pl.Utf8),
        child_birth_date=pl.col("child_birth_date").dt.strftime("%Y-%m-%d"),
        child_birth_time=pl.format("{}:{}", (minute // 60).cast(pl.Utf8).str.zfill(2),
                                   (minute % 60).cast(pl.Utf8).str.zfill(2)),
        child_sex=pl.col("child_sex"), plurality=pl.col("plurality").cast(pl.Utf8),
        birth_order=pl.col("birth_order").cast(pl.Utf8), birth_weight_g=pl.col("birth_weight_g").cast(pl.Utf8),
        gestational_age_days=pl.col("gestational_age_days").cast(pl.Utf8), parity=pl.col("parity").cast(pl.Utf8),
        previous_caesarean=flag("previous_caesarean"), smoking=flag("smoking"),
        booking_gestational_age_days=pl.col("booking_gestational_age_days").cast(pl.Utf8),
        care_level_onset=pl.col("care_level_onset"), referral_during_labour=flag("referral_during_labour"),
        onset_of_labour=pl.col("onset_of_labour"), presentation=pl.col("presentation"),
        mode_of_birth=pl.col("mode_of_birth"), place_of_birth=pl.col("place_of_birth"),
        epidural=flag("epidural"), episiotomy=flag("episiotomy"), perineal_tear=pl.col("perineal_tear"),
        blood_loss_ml=pl.col("blood_loss_ml").cast(pl.Utf8), vital_status_birth=pl.col("vital_status_birth"),
        apgar_5min=pl.col("apgar_5min").cast(pl.Utf8), first_feed=pl.col("first_feed"),
        nicu_admission=flag("nicu_admission"), death_date=pl.col("death_date").dt.strftime("%Y-%m-%d"),
    )
    if discipline == Discipline.PAEDIATRICIAN:
        blank = [c for c in COLUMNS if c not in LNR_FIELDS]
    else:
        blank = list(PAEDIATRIC_ONLY) + ([] if discipline == Discipline.MIDWIFE else list(MIDWIFE_ONLY))
    text = text.with_columns(pl.lit(None, dtype=pl.Utf8).alias(c) for c in blank)
    n = text.height
    text = text.with_columns(
        pl.when(pl.lit(pl.Series(rng.random(n) < rate))).then(None).otherwise(pl.col(column)).alias(column)
        for column, rate in MISSING_IMPORTANT_RATES.items()
        if column not in blank
    )
    return text
