"""How the generated data compares with the published Dutch figures: target against generated.

`measure_national_rates(out_dir)` reads what a generator run wrote — the delivery files and
`_truth/links.csv`, nothing of the generator's internals — and computes each calibration rate in plain
polars. Per child it takes the obstetrician's record when there is one (else the midwife's) for the
pregnancy and birth, and the paediatrician's for NICU admission and death; records of women who objected
are left out, as the loader does. `python -m synthetic.calibration DIR` prints the table that
`docs/synthetic-data.md` shows. Target ranges are from `/work/shared/reference/national-figures.md`.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from contracts.delivery_format import FIELD_BY_NAME, FILE_NAME_PATTERN
from synthetic.birthweight import PERCENTILES_FILE

TRUTH_DIR_NAME = "_truth"


@dataclass(frozen=True)
class Target:
    indicator: str
    description: str
    low: float  # the generated rate should land in [low, high] (as a fraction; ‰ targets too)
    high: float
    per_mille: bool = False


TARGETS: tuple[Target, ...] = (
    Target("age_lt25", "maternal age <25 (women)", 0.07, 0.10),
    Target("age_25_29", "maternal age 25-29 (women)", 0.27, 0.32),
    Target("age_30_34", "maternal age 30-34 (women)", 0.37, 0.43),
    Target("age_35_39", "maternal age 35-39 (women)", 0.17, 0.21),
    Target("age_ge40", "maternal age >=40 (women)", 0.03, 0.045),
    Target("nulliparous", "nulliparous (women)", 0.43, 0.46),
    Target("previous_caesarean", "previous caesarean (multiparous women)", 0.10, 0.12),
    Target("multiple", "multiple pregnancy (women)", 0.013, 0.017),
    Target("onset_spontaneous", "onset spontaneous (women)", 0.64, 0.70),
    Target("onset_induced", "onset induced (women)", 0.23, 0.27),
    Target("onset_prelabour_caesarean", "caesarean before labour (women)", 0.07, 0.09),
    Target("caesarean", "caesarean (births)", 0.15, 0.17),
    Target("robson1_share", "Robson group 1 (women)", 0.26, 0.295),
    Target("caesarean_robson1", "caesarean in Robson group 1", 0.085, 0.105),
    Target("robson5_share", "Robson group 5 (women)", 0.055, 0.065),
    Target("breech_term_singleton", "breech (singletons >=37 weeks)", 0.04, 0.05),
    Target("preterm", "preterm <37 weeks (births)", 0.065, 0.07),
    Target("very_preterm", "very preterm <32 weeks (births)", 0.008, 0.012),
    Target("sga", "SGA < Hoftiezer p10 (live singletons 24+0-42+0)", 0.09, 0.10),
    Target("stillbirth", "stillbirth from 24 weeks (per 1,000 births)", 0.0028, 0.0036, per_mille=True),
    Target("perinatal_mortality", "perinatal mortality from 24 weeks, <=7 days (per 1,000 births)", 0.004, 0.005,
           per_mille=True),
    Target("care_midwife_onset", "midwife-led at onset of labour (women)", 0.46, 0.51),
    Target("place_home", "home birth (births)", 0.13, 0.15),
    Target("place_birth_centre", "birth centre (births)", 0.02, 0.03),
    Target("place_hospital_midwife", "hospital, midwife-led (births)", 0.09, 0.11),
    Target("place_hospital_obstetrician", "hospital, obstetrician-led (births)", 0.67, 0.73),
    Target("place_unknown", "place unknown (births)", 0.02, 0.04),
    Target("referral_nulliparous", "referral during labour, nulliparous (midwife-led start)", 0.55, 0.68),
    Target("referral_multiparous", "referral during labour, multiparous (midwife-led start)", 0.20, 0.32),
    Target("epidural", "epidural (women who went into labour)", 0.19, 0.23),
    Target("episiotomy_obstetrician", "episiotomy, obstetrician-led vaginal births", 0.45, 0.55),
    Target("episiotomy_midwife_nulliparous", "episiotomy, midwife-led nulliparous vaginal births", 0.20, 0.30),
    Target("oasis", "3rd/4th-degree tear (vaginal births)", 0.025, 0.035),
    Target("pph", "blood loss >=1000 ml (women)", 0.05, 0.06),
    Target("instrumental", "vacuum or forceps (vaginal births)", 0.08, 0.10),
    Target("low_apgar", "Apgar <7 at 5 min (live singletons >=37 weeks)", 0.012, 0.014),
    Target("nicu", "NICU admission (live births)", 0.02, 0.03),
    Target("paediatric_record", "paediatrician record (births)", 0.08, 0.10),
    Target("breastfeeding", "breastfeeding at first feed (live births)", 0.77, 0.83),
    Target("smoking", "smoking in pregnancy (women)", 0.06, 0.08),
    Target("early_booking", "first visit <10 weeks (women with a midwife record)", 0.78, 0.84),
)


def read_deliveries(out_dir: Path) -> pl.DataFrame:
    """Every record of the readable first deliveries (no resends, no files broken as a whole), as text, with
    `discipline` and `sender` taken from the file name, joined to `child_id`/`birth_event_id` of links.csv."""
    truth = out_dir / TRUTH_DIR_NAME
    broken = set(pl.read_csv(truth / "planted_errors.csv", infer_schema=False)
                 .filter(pl.col("line_number") == "0")["file_name"].to_list())
    paths = sorted(p for p in out_dir.glob("[0-9]*-[0-9]*/*.csv")
                   if p.name not in broken and FILE_NAME_PATTERN.match(p.name) and "_resend" not in p.name)
    records = pl.scan_csv(paths, infer_schema=False, include_file_paths="path").collect()
    from_name = pl.col("path").str.extract(r"([^/\\]+)$").str.extract_groups(FILE_NAME_PATTERN.pattern)
    records = records.with_columns(
        discipline=from_name.struct.field("discipline"), sender=from_name.struct.field("org_code"))
    links = pl.read_csv(truth / "links.csv", schema_overrides={"dossier_id": pl.Utf8, "org_code": pl.Utf8})
    return records.join(links.rename({"org_code": "sender"}), on=["discipline", "sender", "dossier_id"],
                        how="left", validate="1:1")


def children_view(records: pl.DataFrame) -> pl.DataFrame:
    """One row per child: obstetrician record, else midwife record; NICU and death from the paediatrician."""
    kept = records.filter(pl.col("objection") == "0")
    clinical = kept.filter(pl.col("discipline") != "lnr").sort("child_id", "discipline", descending=[False, True])
    clinical = clinical.unique("child_id", keep="first", maintain_order=True)  # lvr2 sorts before lvr1 descending
    midwife = kept.filter(pl.col("discipline") == "lvr1").select(
        "child_id", midwife_booking=pl.col("booking_gestational_age_days").cast(pl.Int64, strict=False))
    paediatric = kept.filter(pl.col("discipline") == "lnr").select(
        "child_id", lnr_nicu=pl.col("nicu_admission") == "1", lnr_death=pl.col("death_date"))
    paediatric = paediatric.unique("child_id", keep="first", maintain_order=True)
    integer = ["plurality", "birth_order", "birth_weight_g", "gestational_age_days", "parity", "blood_loss_ml",
               "apgar_5min"]
    return (clinical.join(midwife, on="child_id", how="left").join(paediatric, on="child_id", how="left")
            .with_columns(*(_valid_integer(name) for name in integer),
                          pl.col("mother_birth_date", "child_birth_date", "lnr_death").str.to_date(strict=False),
                          has_midwife_record=pl.col("midwife_booking").is_not_null()
                          | pl.col("child_id").is_in(midwife["child_id"].implode()),
                          has_paediatric_record=pl.col("lnr_nicu").is_not_null()))


def _valid_integer(name: str) -> pl.Expr:
    """The field as an integer, empty when it is not a whole number inside the format's technical range."""
    spec = FIELD_BY_NAME[name]
    value = pl.col(name).cast(pl.Int64, strict=False)
    return pl.when(value.is_between(spec.low, spec.high)).then(value).alias(name)


def measure_national_rates(out_dir: Path) -> pl.DataFrame:
    """The calibration table: indicator, description, target range, generated rate, numerator, denominator."""
    children = children_view(read_deliveries(Path(out_dir)))
    p10 = pl.read_csv(PERCENTILES_FILE).select(
        child_sex=pl.when(pl.col("sex") == "male").then(pl.lit("M")).otherwise(pl.lit("F")),
        gestational_age_days=pl.col("ga_days"), p10="p10")
    children = children.join(p10, on=["child_sex", "gestational_age_days"], how="left")
    age = (pl.col("child_birth_date").dt.year() - pl.col("mother_birth_date").dt.year()
           - (pl.col("child_birth_date").dt.strftime("%m%d") < pl.col("mother_birth_date").dt.strftime("%m%d")))
    children = children.with_columns(maternal_age=age)
    women = children.filter(pl.col("birth_order") == 1)

    ga = pl.col("gestational_age_days")
    singleton = pl.col("plurality") == 1
    term, cephalic = ga >= 259, pl.col("presentation") == "cephalic"
    nulliparous, multiparous = pl.col("parity") == 0, pl.col("parity") > 0
    previous_cs = pl.col("previous_caesarean") == "1"
    caesarean = pl.col("mode_of_birth") == "caesarean"
    vaginal = pl.col("mode_of_birth").is_in(["spontaneous", "vacuum", "forceps"])
    live = pl.col("vital_status_birth") == "live"
    stillborn = pl.col("vital_status_birth").is_in(["antepartum_death", "intrapartum_death"])
    in_labour = pl.col("onset_of_labour").is_in(["spontaneous", "induced"])
    midwife_start = (pl.col("care_level_onset") == "midwife") & in_labour
    obstetrician_led = (pl.col("care_level_onset") == "obstetrician") | (pl.col("referral_during_labour") == "1")
    robson1 = nulliparous & singleton & cephalic & term & (pl.col("onset_of_labour") == "spontaneous")
    robson5 = multiparous & previous_cs & singleton & cephalic & term
    from_24_weeks = ga >= 168
    death_within_7_days = ((pl.col("lnr_death") - pl.col("child_birth_date")).dt.total_days() < 7).fill_null(False)

    def rate(frame: pl.DataFrame, numerator: pl.Expr, denominator: pl.Expr | None = None) -> tuple[int, int]:
        population = frame if denominator is None else frame.filter(denominator)
        counts = population.select(n=numerator.fill_null(False).sum(), d=pl.len())
        return int(counts["n"][0]), int(counts["d"][0])

    measured = {
        "age_lt25": rate(women, pl.col("maternal_age") < 25),
        "age_25_29": rate(women, pl.col("maternal_age").is_between(25, 29)),
        "age_30_34": rate(women, pl.col("maternal_age").is_between(30, 34)),
        "age_35_39": rate(women, pl.col("maternal_age").is_between(35, 39)),
        "age_ge40": rate(women, pl.col("maternal_age") >= 40),
        "nulliparous": rate(women, nulliparous, pl.col("parity").is_not_null()),
        "previous_caesarean": rate(women, previous_cs, multiparous),
        "multiple": rate(women, pl.col("plurality") > 1),
        "onset_spontaneous": rate(women, pl.col("onset_of_labour") == "spontaneous"),
        "onset_induced": rate(women, pl.col("onset_of_labour") == "induced"),
        "onset_prelabour_caesarean": rate(women, pl.col("onset_of_labour") == "prelabour_caesarean"),
        "caesarean": rate(children, caesarean),
        "robson1_share": rate(women, robson1),
        "caesarean_robson1": rate(women, caesarean, robson1),
        "robson5_share": rate(women, robson5),
        "breech_term_singleton": rate(children, pl.col("presentation") == "breech", singleton & term),
        "preterm": rate(children, ga < 259, ga.is_not_null()),
        "very_preterm": rate(children, ga < 224, ga.is_not_null()),
        "sga": rate(children, pl.col("birth_weight_g") < pl.col("p10"),
                    singleton & live & ga.is_between(168, 294) & pl.col("p10").is_not_null()
                    & pl.col("birth_weight_g").is_not_null()),
        "stillbirth": rate(children, stillborn, from_24_weeks),
        "perinatal_mortality": rate(children, stillborn | (live & death_within_7_days), from_24_weeks),
        "care_midwife_onset": rate(women, pl.col("care_level_onset") == "midwife"),
        "place_home": rate(children, pl.col("place_of_birth") == "home"),
        "place_birth_centre": rate(children, pl.col("place_of_birth") == "birth_centre"),
        "place_hospital_midwife": rate(children, pl.col("place_of_birth") == "hospital_midwife"),
        "place_hospital_obstetrician": rate(children, pl.col("place_of_birth") == "hospital_obstetrician"),
        "place_unknown": rate(children, pl.col("place_of_birth") == "unknown"),
        "referral_nulliparous": rate(women, pl.col("referral_during_labour") == "1", midwife_start & nulliparous),
        "referral_multiparous": rate(women, pl.col("referral_during_labour") == "1", midwife_start & multiparous),
        "epidural": rate(women, pl.col("epidural") == "1", in_labour & pl.col("epidural").is_not_null()),
        "episiotomy_obstetrician": rate(women, pl.col("episiotomy") == "1",
                                        vaginal & obstetrician_led & pl.col("episiotomy").is_not_null()),
        "episiotomy_midwife_nulliparous": rate(women, pl.col("episiotomy") == "1",
                                               vaginal & ~obstetrician_led & nulliparous
                                               & pl.col("episiotomy").is_not_null()),
        "oasis": rate(children, pl.col("perineal_tear").is_in(["3", "4"]),
                      vaginal & pl.col("perineal_tear").is_not_null()),
        "pph": rate(women, pl.col("blood_loss_ml") >= 1000, pl.col("blood_loss_ml").is_not_null()),
        "instrumental": rate(children, pl.col("mode_of_birth").is_in(["vacuum", "forceps"]), vaginal),
        "low_apgar": rate(children, pl.col("apgar_5min") < 7,
                          live & singleton & term & pl.col("apgar_5min").is_not_null()),
        "nicu": rate(children, pl.col("lnr_nicu"), live),
        "paediatric_record": rate(children, pl.col("has_paediatric_record")),
        "breastfeeding": rate(children, pl.col("first_feed") == "breast", live & pl.col("first_feed").is_not_null()),
        "smoking": rate(women, pl.col("smoking") == "1", pl.col("smoking").is_not_null()),
        "early_booking": rate(women, pl.col("midwife_booking") < 70,
                              pl.col("has_midwife_record") & pl.col("midwife_booking").is_not_null()),
    }
    rows = []
    for target in TARGETS:
        numerator, denominator = measured[target.indicator]
        rows.append({"indicator": target.indicator, "description": target.description, "low": target.low,
                     "high": target.high, "per_mille": target.per_mille, "numerator": numerator,
                     "denominator": denominator, "generated": numerator / denominator if denominator else math.nan})
    return pl.DataFrame(rows)


def markdown_table(rates: pl.DataFrame) -> str:
    """The calibration table as Markdown (percentages, or per mille where the target is per 1,000)."""
    lines = ["| indicator | target | generated | numerator / denominator |", "|---|---|---|---|"]
    for row in rates.iter_rows(named=True):
        factor, unit = (1000, "‰") if row["per_mille"] else (100, "%")
        lines.append(f"| {row['description']} | {row['low'] * factor:.1f}–{row['high'] * factor:.1f}{unit} "
                     f"| {row['generated'] * factor:.2f}{unit} | {row['numerator']:,} / {row['denominator']:,} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Compare generated deliveries with the national figures.")
    parser.add_argument("out_dir", type=Path, help="a folder written by generate_deliveries")
    print(markdown_table(measure_national_rates(parser.parse_args(argv).out_dir)))


if __name__ == "__main__":
    main()
