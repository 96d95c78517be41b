"""Record linkage: the midwife (LVR-1), obstetrician (LVR-2) and paediatrician (LNR) records of one child.

The disciplines share no identifier, so records are linked on their content, the way Perined links its
sub-registries (deterministic, then probabilistic, twins kept apart):

1. **Deterministic pass** — exact agreement on every linkage field (`LINKAGE_FIELDS`, all present), and
   the combination unique within each of the two disciplines.
2. **Probabilistic pass** — Fellegi–Sunter scoring (Fellegi & Sunter 1969, "A theory for record
   linkage", JASA 64:1183–1210) of the remaining records. Candidate pairs come from four blocks
   (child's birth date + mother's birth date; child's birth date + mother's postcode; mother's birth
   date + postcode; child's birth date + time), always within the same `birth_order`, so twins are
   never compared crosswise. Each
   field contributes its agreement weight log2(m/u) for the level of agreement observed (`COMPARISONS`),
   0 when a value is missing; the pair's weight is the sum. Pairs at or above `MATCH_THRESHOLD` are
   matches, subject to a one-to-one constraint (a child has at most one record per discipline), solved
   by accepting mutually best pairs in rounds.

Order: midwife↔obstetrician first (the birth), then paediatrician↔obstetrician, then the paediatrician
records still unlinked ↔ midwife records whose child has no paediatrician record yet. Nothing forces a
link: a midwife-led birth legitimately has only a midwife record.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl
from polars.expr.whenthen import ChainedThen, Then

from contracts.delivery_format import Discipline

LINKAGE_FIELDS: tuple[str, ...] = (
    "mother_birth_date", "mother_postcode4", "child_birth_date", "child_birth_time", "child_sex",
    "plurality", "birth_order", "birth_weight_g",
)

#: A pair whose summed agreement weight (bits) reaches this is a match. True pairs with the realistic
#: disagreements (time off by minutes, weight ±30 g, a postcode digit, a swapped birth date, missing
#: time) score above 25; different children who share the block score below 10 unless several
#: independent coincidences line up.
MATCH_THRESHOLD = 15.0

METHOD_SINGLE = "single"
METHOD_DETERMINISTIC = "deterministic"
METHOD_PROBABILISTIC = "probabilistic"

# Columns used inside this module only; they never reach the output.
_RID = "_rid"
_MINUTE = "_minute_of_day"


@dataclass(frozen=True)
class AgreementLevel:
    """One level of agreement of a field, with its Fellegi–Sunter m- and u-probability.

    m: probability of this level for two records of the same child (error/disagreement rates of
    registration); u: probability for two records of different children that reached the same
    candidate block (chance agreement). The level's weight is log2(m/u) (Fellegi & Sunter 1969).
    """

    name: str
    m: float
    u: float

    @property
    def weight(self) -> float:
        return math.log2(self.m / self.u)


#: The comparison of each field: its levels in the order they are tested (the first that applies wins;
#: the last is "disagree"). The m-probabilities reflect realistic registration differences between
#: disciplines; the u-probabilities the chance that different children agree at that level
#: (e.g. 1 in ~7,000 mothers' birth dates, 1 in 1,440 minutes of the day, ±30 g ≈ 60 of ~1,800 grams).
COMPARISONS: dict[str, tuple[AgreementLevel, ...]] = {
    "mother_birth_date": (
        AgreementLevel("exact", 0.985, 1 / 7000),
        AgreementLevel("day_month_swapped", 0.003, 1 / 7300),
        AgreementLevel("disagree", 0.012, 1.0),
    ),
    "mother_postcode4": (
        AgreementLevel("exact", 0.985, 1 / 3000),
        AgreementLevel("one_digit", 0.010, 0.010),
        AgreementLevel("disagree", 0.005, 0.99),
    ),
    "child_birth_date": (
        AgreementLevel("exact", 0.995, 1 / 365),
        AgreementLevel("one_day", 0.004, 2 / 365),
        AgreementLevel("disagree", 0.001, 0.99),
    ),
    "child_birth_time": (
        AgreementLevel("exact", 0.930, 1 / 1440),
        AgreementLevel("within_15_minutes", 0.060, 30 / 1440),
        AgreementLevel("within_60_minutes", 0.005, 120 / 1440),
        AgreementLevel("disagree", 0.005, 0.90),
    ),
    "child_sex": (
        AgreementLevel("agree", 0.995, 0.5),
        AgreementLevel("disagree", 0.005, 0.5),
    ),
    "plurality": (
        AgreementLevel("agree", 0.998, 0.97),
        AgreementLevel("disagree", 0.002, 0.03),
    ),
    "birth_weight_g": (
        AgreementLevel("exact", 0.960, 1 / 1800),
        AgreementLevel("within_30_g", 0.035, 60 / 1800),
        AgreementLevel("within_100_g", 0.003, 200 / 1800),
        AgreementLevel("disagree", 0.002, 0.85),
    ),
    "gestational_age_days": (
        AgreementLevel("exact", 0.90, 0.03),
        AgreementLevel("within_7_days", 0.08, 0.25),
        AgreementLevel("disagree", 0.02, 0.72),
    ),
    # Evidence from the organisation register: a practice refers to the hospital(s) it works with; a
    # paediatrician's record comes from the hospital where the child was born.
    "organisation": (
        AgreementLevel("works_together", 0.97, 0.25),
        AgreementLevel("unrelated", 0.03, 0.75),
    ),
}


def _level_weight(field: str, tests: list[pl.Expr], missing: pl.Expr) -> pl.Expr:
    """The weight of the first level whose test holds (tests exclude the final "disagree" level)."""
    levels = COMPARISONS[field]
    expression: Then | ChainedThen = pl.when(missing).then(0.0)
    for level, test in zip(levels[:-1], tests, strict=True):
        expression = expression.when(test).then(level.weight)
    return expression.otherwise(levels[-1].weight).alias(f"w_{field}")


def _digits_differing(a: pl.Expr, b: pl.Expr, length: int = 4) -> pl.Expr:
    """Hamming distance of two equally long strings (a postcode digit keyed wrongly)."""
    return pl.sum_horizontal(
        [(a.str.slice(i, 1) != b.str.slice(i, 1)).cast(pl.Int8) for i in range(length)]
    ) + (a.str.len_chars() != b.str.len_chars()).cast(pl.Int8) * length


def agreement_weights() -> list[pl.Expr]:
    """Fellegi–Sunter agreement weights log2(m/u) per field for a frame of candidate pairs.

    Expects each compared column twice, suffixed `_a` and `_b`, plus `organisation_related` (Boolean,
    null when unknown). Tolerances follow realistic disagreements between disciplines' registrations:
    birth time off by minutes, weight within 30 g, one postcode digit, mother's birth day and month
    swapped; a missing value weighs 0 (Fellegi & Sunter 1969, section 3: missing = no information).
    """
    def pair(name: str) -> tuple[pl.Expr, pl.Expr]:
        return pl.col(f"{name}_a"), pl.col(f"{name}_b")

    mother_a, mother_b = pair("mother_birth_date")
    postcode_a, postcode_b = pair("mother_postcode4")
    child_a, child_b = pair("child_birth_date")
    minute_a, minute_b = pair(_MINUTE)
    sex_a, sex_b = pair("child_sex")
    plural_a, plural_b = pair("plurality")
    weight_a, weight_b = pair("birth_weight_g")
    ga_a, ga_b = pair("gestational_age_days")

    # Minutes between the two moments of birth (date and time), so 23:55 and 00:05 the next day are 10
    # minutes apart; on the clock alone (either way round midnight) when a date is missing.
    day_shift = (child_a - child_b).dt.total_days()
    clock_apart = (minute_a - minute_b).abs()
    minutes_apart = pl.when(day_shift.is_not_null()).then((day_shift * 1440 + minute_a - minute_b).abs()).otherwise(
        pl.min_horizontal(clock_apart, 1440 - clock_apart)
    )
    swapped = (
        (mother_a.dt.year() == mother_b.dt.year())
        & (mother_a.dt.month() == mother_b.dt.day())
        & (mother_a.dt.day() == mother_b.dt.month())
    )
    grams_apart = (weight_a - weight_b).abs()
    sex_known = sex_a.is_in(["M", "F"]) & sex_b.is_in(["M", "F"])
    return [
        _level_weight("mother_birth_date", [mother_a == mother_b, swapped],
                      mother_a.is_null() | mother_b.is_null()),
        _level_weight("mother_postcode4", [postcode_a == postcode_b, _digits_differing(postcode_a, postcode_b) == 1],
                      postcode_a.is_null() | postcode_b.is_null()),
        _level_weight("child_birth_date", [day_shift == 0, day_shift.abs() == 1],
                      child_a.is_null() | child_b.is_null()),
        _level_weight("child_birth_time", [minutes_apart == 0, minutes_apart <= 15, minutes_apart <= 60],
                      minute_a.is_null() | minute_b.is_null()),
        _level_weight("child_sex", [sex_a == sex_b], ~sex_known.fill_null(False)),
        _level_weight("plurality", [plural_a == plural_b], plural_a.is_null() | plural_b.is_null()),
        _level_weight("birth_weight_g", [grams_apart == 0, grams_apart <= 30, grams_apart <= 100],
                      weight_a.is_null() | weight_b.is_null()),
        _level_weight("gestational_age_days", [ga_a == ga_b, (ga_a - ga_b).abs() <= 7],
                      ga_a.is_null() | ga_b.is_null()),
        _level_weight("organisation", [pl.col("organisation_related")], pl.col("organisation_related").is_null()),
    ]


def minute_of_day(time: pl.Expr) -> pl.Expr:
    """"HH:MM" → minutes since midnight (null when absent or unreadable)."""
    hours = time.str.extract(r"^\s*(\d{1,2}):", 1).cast(pl.Int32, strict=False)
    minutes = time.str.extract(r":(\d{2})\s*$", 1).cast(pl.Int32, strict=False)
    return hours * 60 + minutes


_COMPARED = (
    "org_code", "mother_birth_date", "mother_postcode4", "child_birth_date", _MINUTE, "child_sex",
    "plurality", "birth_order", "birth_weight_g", "gestational_age_days",
)
_BLOCKS: tuple[tuple[str, ...], ...] = (
    ("child_birth_date", "mother_birth_date", "birth_order"),
    ("child_birth_date", "mother_postcode4", "birth_order"),
    ("mother_birth_date", "mother_postcode4", "birth_order"),
    # Catches the rare record whose mother's birth date and postcode both disagree.
    ("child_birth_date", _MINUTE, "birth_order"),
)


def _related_organisations(organisations: pl.DataFrame | None) -> pl.DataFrame:
    """Pairs (practice or hospital, hospital) that work together: a practice with each hospital in its
    `hospital_codes`, and every hospital with itself (its obstetrics and paediatrics)."""
    schema = {"org_a": pl.Utf8, "org_b": pl.Utf8}
    if organisations is None or organisations.is_empty():
        return pl.DataFrame(schema=schema)
    practices = (
        organisations.filter(pl.col("hospital_codes").is_not_null())
        .select(pl.col("org_code").alias("org_a"), pl.col("hospital_codes").str.split(";").alias("org_b"))
        .explode("org_b")
        .with_columns(pl.col("org_b").str.strip_chars())
    )
    hospitals = organisations.filter(pl.col("org_type") == "hospital").select(
        pl.col("org_code").alias("org_a"), pl.col("org_code").alias("org_b")
    )
    pairs = pl.concat([practices, hospitals])
    # Symmetric: either discipline may be on either side of a comparison.
    return pl.concat([pairs, pairs.select(org_a="org_b", org_b="org_a")]).unique()


def _deterministic_pairs(a: pl.DataFrame, b: pl.DataFrame) -> pl.DataFrame:
    """Pairs agreeing exactly on every linkage field, where that combination is unique on both sides."""

    # The birth time is compared as minutes of the day, so "7:05" and "07:05" agree.
    key = [_MINUTE if name == "child_birth_time" else name for name in LINKAGE_FIELDS]

    def unique_keys(frame: pl.DataFrame) -> pl.DataFrame:
        complete = frame.drop_nulls(key)
        return complete.filter(pl.len().over(key) == 1).select(_RID, *key)

    return (
        unique_keys(a).join(unique_keys(b), on=key, suffix="_b")
        .select(pl.col(_RID).alias("rid_a"), pl.col(f"{_RID}_b").alias("rid_b"))
    )


def _suffixed(frame: pl.DataFrame, suffix: str) -> pl.DataFrame:
    return frame.select(pl.col(_RID).alias(f"rid{suffix}"), *[pl.col(c).alias(f"{c}{suffix}") for c in _COMPARED])


def score_candidate_pairs(a: pl.DataFrame, b: pl.DataFrame, related: pl.DataFrame) -> pl.DataFrame:
    """Candidate pairs from the blocks, with the summed Fellegi–Sunter weight in `score`.

    `a` and `b` hold the records of two disciplines (`_rid` plus the compared fields); `related` the
    organisation pairs that work together. Blocking: see the module docstring.
    """
    left, right = _suffixed(a, "_a"), _suffixed(b, "_b")
    blocks = []
    for block in _BLOCKS:
        blocks.append(
            left.join(right, left_on=[f"{c}_a" for c in block], right_on=[f"{c}_b" for c in block],
                      how="inner", coalesce=False)
            .select("rid_a", "rid_b")
        )
    candidates = pl.concat(blocks).unique()
    if candidates.is_empty():
        return candidates.with_columns(score=pl.lit(0.0))
    related_flag = related.with_columns(organisation_related=pl.lit(True))
    pairs = (
        candidates.join(left, on="rid_a").join(right, on="rid_b")
        .join(related_flag, left_on=["org_code_a", "org_code_b"], right_on=["org_a", "org_b"], how="left")
        .with_columns(
            # Without a register there is no organisational evidence (weight 0), not evidence against.
            organisation_related=pl.col("organisation_related").fill_null(False) if not related.is_empty()
            else pl.lit(None, dtype=pl.Boolean)
        )
    )
    weights = agreement_weights()
    return pairs.with_columns(weights).select(
        "rid_a", "rid_b", score=pl.sum_horizontal([w.meta.output_name() for w in weights])
    )


def one_to_one(pairs: pl.DataFrame, threshold: float = MATCH_THRESHOLD) -> pl.DataFrame:
    """Keep pairs at or above `threshold` so that every record is in at most one pair.

    Mutually best pairs (each is the other's highest-scoring candidate; ties broken by record number)
    are accepted, their records removed, and the rest re-examined, until no pair is left — a greedy
    solution of the one-to-one assignment used in Fellegi–Sunter linkage (Jaro 1989, JASA 84:414).
    """
    remaining = pairs.filter(pl.col("score") >= threshold).select("rid_a", "rid_b", "score")
    accepted = []
    while not remaining.is_empty():
        ranked = remaining.with_columns(
            best_for_a=pl.struct(pl.col("score").neg(), "rid_b").rank("ordinal").over("rid_a") == 1,
            best_for_b=pl.struct(pl.col("score").neg(), "rid_a").rank("ordinal").over("rid_b") == 1,
        )
        mutual = ranked.filter(pl.col("best_for_a") & pl.col("best_for_b")).select("rid_a", "rid_b", "score")
        accepted.append(mutual)
        remaining = remaining.join(mutual.select("rid_a"), on="rid_a", how="anti").join(
            mutual.select("rid_b"), on="rid_b", how="anti"
        )
    if not accepted:
        return remaining
    return pl.concat(accepted)


def _link_two(a: pl.DataFrame, b: pl.DataFrame, related: pl.DataFrame) -> pl.DataFrame:
    """Deterministic then probabilistic one-to-one links between two disciplines' records.

    Returns `rid_a, rid_b, method`.
    """
    deterministic = _deterministic_pairs(a, b).with_columns(method=pl.lit(METHOD_DETERMINISTIC))
    rest_a = a.join(deterministic.select(pl.col("rid_a").alias(_RID)), on=_RID, how="anti")
    rest_b = b.join(deterministic.select(pl.col("rid_b").alias(_RID)), on=_RID, how="anti")
    probabilistic = one_to_one(score_candidate_pairs(rest_a, rest_b, related)).select(
        "rid_a", "rid_b", method=pl.lit(METHOD_PROBABILISTIC)
    )
    return pl.concat([deterministic, probabilistic]).with_columns(pl.col("rid_a", "rid_b").cast(pl.Int64))


def link_records(records: pl.DataFrame, organisations: pl.DataFrame | None = None) -> pl.DataFrame:
    """The accepted records with `child_key` (equal for the records of one child) and `link_method`.

    `records`: one row per accepted dossier with `org_code, discipline, dossier_id` and the delivery
    fields, typed. `organisations`: the register (optional), used as evidence that a practice and a
    hospital work together. `link_method` is the child's: `single` (one record), `deterministic` (every
    link exact) or `probabilistic` (at least one link scored). Rows keep their input order.
    """
    # Records are numbered in the order of their key, so that child keys and tie-breaks do not depend
    # on the order the rows arrive in. Only the compared columns are copied, not the whole record.
    comparable = (
        records.select("discipline", "dossier_id", *(c for c in _COMPARED if c != _MINUTE), "child_birth_time")
        .with_row_index("_input_row")
        .sort("discipline", "org_code", "dossier_id", "_input_row")
        .with_row_index(_RID)
        .with_columns(pl.col(_RID).cast(pl.Int64), minute_of_day(pl.col("child_birth_time")).alias(_MINUTE))
        .drop("child_birth_time", "dossier_id")
    )
    related = _related_organisations(organisations)

    def of(discipline: Discipline) -> pl.DataFrame:
        return comparable.filter(pl.col("discipline") == discipline.value)

    midwife, obstetrician, paediatrician = (
        of(Discipline.MIDWIFE), of(Discipline.OBSTETRICIAN), of(Discipline.PAEDIATRICIAN)
    )
    birth_links = _link_two(midwife, obstetrician, related)
    # The paediatrician's hospital is the hospital of birth: its own obstetrician record comes first.
    paediatric_to_obstetric = _link_two(paediatrician, obstetrician, related)
    children_with_paediatric = pl.concat([
        paediatric_to_obstetric.select(pl.col("rid_b").alias(_RID)),
        birth_links.join(paediatric_to_obstetric.select(pl.col("rid_b")), on="rid_b")
        .select(pl.col("rid_a").alias(_RID)),
    ])
    paediatric_to_midwife = _link_two(
        paediatrician.join(paediatric_to_obstetric.select(pl.col("rid_a").alias(_RID)), on=_RID, how="anti"),
        midwife.join(children_with_paediatric, on=_RID, how="anti"),
        related,
    )

    # Each child is rooted at its obstetrician record if any, else its midwife record, else its
    # paediatrician record; every link points from a record towards that root.
    midwife_root = birth_links.select(pl.col("rid_a").alias(_RID), pl.col("rid_b").alias("root"))
    paediatric_root = pl.concat([
        paediatric_to_obstetric.select(pl.col("rid_a").alias(_RID), pl.col("rid_b").alias("root")),
        paediatric_to_midwife.join(midwife_root.rename({_RID: "rid_b", "root": "midwife_root"}), on="rid_b",
                                   how="left")
        .select(pl.col("rid_a").alias(_RID), pl.coalesce("midwife_root", "rid_b").alias("root")),
    ])
    roots = pl.concat([midwife_root, paediatric_root])
    edges = pl.concat([birth_links, paediatric_to_obstetric, paediatric_to_midwife])
    probabilistic_roots = (
        edges.filter(pl.col("method") == METHOD_PROBABILISTIC)
        .join(roots, left_on="rid_a", right_on=_RID).select("root").unique()
        .with_columns(probabilistic=pl.lit(True))
    )
    clustered = (
        comparable.select(_RID, "_input_row")
        .join(roots, on=_RID, how="left")
        .with_columns(pl.col("root").fill_null(pl.col(_RID)))
        .join(probabilistic_roots, on="root", how="left")
        .with_columns(
            child_key=pl.col(_RID).min().over("root") + 1,
            size=pl.len().over("root"),
        )
        .with_columns(
            link_method=pl.when(pl.col("size") == 1).then(pl.lit(METHOD_SINGLE))
            .when(pl.col("probabilistic").fill_null(False)).then(pl.lit(METHOD_PROBABILISTIC))
            .otherwise(pl.lit(METHOD_DETERMINISTIC))
        )
    )
    keys = clustered.sort("_input_row")
    return records.with_columns(child_key=keys["child_key"].cast(pl.Int64), link_method=keys["link_method"])


def pairwise_quality(linked: pl.DataFrame, truth: pl.DataFrame) -> dict[str, float | int]:
    """Pairwise precision and recall of the linkage against the known truth.

    A "pair" is two records placed in the same child. Precision = true pairs found / pairs found;
    recall = true pairs found / true pairs (Christen 2012, "Data Matching", section 7.3). `truth` has
    `discipline, org_code, dossier_id, child_id`; only records present in `linked` count.
    """
    keys = ["discipline", "org_code", "dossier_id"]
    both = linked.select(*keys, "child_key").join(
        truth.select(*keys, pl.col("child_id").cast(pl.Int64)), on=keys, how="inner"
    )

    def pairs(cluster: str) -> int:
        sizes = both.group_by(cluster).len()["len"]
        return int((sizes * (sizes - 1) // 2).sum())

    found = pairs("child_key")
    true = pairs("child_id")
    correct = int(
        both.group_by("child_key", "child_id").len().select((pl.col("len") * (pl.col("len") - 1) // 2).sum()).item()
    )
    return {
        "records": both.height,
        "pairs_found": found,
        "true_pairs": true,
        "correct_pairs": correct,
        "precision": correct / found if found else 1.0,
        "recall": correct / true if true else 1.0,
    }
