"""Record linkage: the records of one child end up together, different children stay apart."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from contracts.delivery_format import COLUMNS, FIELDS, FILE_NAME_PATTERN
from loader.linkage import COMPARISONS, MATCH_THRESHOLD, link_records, pairwise_quality, score_candidate_pairs

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DTYPE_OF_KIND = {"int": pl.Int64, "date": pl.Date, "bool": pl.Boolean}
RECORD_SCHEMA = {
    "org_code": pl.Utf8, "discipline": pl.Utf8, "dossier_id": pl.Utf8,
    **{f.name: DTYPE_OF_KIND.get(f.kind, pl.Utf8) for f in FIELDS if f.name not in {"objection", "org_code",
                                                                                  "dossier_id"}},
}
ORGANISATIONS = pl.DataFrame({
    "org_code": ["H001", "H002", "P0001", "P0002"],
    "name": ["Ziekenhuis A", "Ziekenhuis B", "Praktijk A", "Praktijk B"],
    "org_type": ["hospital", "hospital", "practice", "practice"],
    "vsv_code": ["V001", "V002", "V001", "V002"],
    "region": ["Utrecht"] * 4,
    "hospital_codes": [None, None, "H001", "H002"],
})


def child(**overrides) -> dict:
    """The shared facts of one child (as every discipline records them), with overrides."""
    facts = {
        "mother_birth_date": dt.date(1993, 4, 17), "mother_postcode4": "3511",
        "child_birth_date": dt.date(2024, 3, 9), "child_birth_time": "14:32", "child_sex": "F",
        "plurality": 1, "birth_order": 1, "birth_weight_g": 3420, "gestational_age_days": 279,
    }
    return facts | overrides


def record(discipline: str, org_code: str, dossier_id: str, facts: dict, **overrides) -> dict:
    return {"discipline": discipline, "org_code": org_code, "dossier_id": dossier_id, "dossier_version": 1,
            **facts, **overrides}


def records_frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=RECORD_SCHEMA)


def key_of(linked: pl.DataFrame, discipline: str, dossier_id: str) -> int:
    return linked.filter((pl.col("discipline") == discipline) & (pl.col("dossier_id") == dossier_id))[
        "child_key"
    ].item()


def method_of(linked: pl.DataFrame, dossier_id: str) -> str:
    return linked.filter(pl.col("dossier_id") == dossier_id)["link_method"].item()


def test_exact_agreement_links_deterministically_and_a_lone_record_stays_single():
    facts = child()
    other = child(mother_birth_date=dt.date(1988, 1, 2), mother_postcode4="9711", child_birth_time="03:10",
                  birth_weight_g=2990, child_sex="M")
    linked = link_records(records_frame([
        record("lvr1", "P0001", "m1", facts), record("lvr2", "H001", "o1", facts),
        record("lvr1", "P0002", "m2", other),
    ]), ORGANISATIONS)
    assert key_of(linked, "lvr1", "m1") == key_of(linked, "lvr2", "o1")
    assert key_of(linked, "lvr1", "m2") != key_of(linked, "lvr1", "m1")
    assert method_of(linked, "m1") == method_of(linked, "o1") == "deterministic"
    assert method_of(linked, "m2") == "single"


def test_output_keeps_the_input_rows_order_and_columns():
    rows = [record("lvr2", "H001", "o1", child()), record("lvr1", "P0001", "m1", child()),
            record("lnr", "H002", "k1", child(child_sex="M", mother_postcode4="1234"))]
    frame = records_frame(rows)
    linked = link_records(frame)
    assert linked.columns == [*frame.columns, "child_key", "link_method"]
    assert linked["dossier_id"].to_list() == ["o1", "m1", "k1"]
    assert linked.schema["child_key"] == pl.Int64


@pytest.mark.parametrize(("midwife_says", "obstetrician_says"), [
    ({}, {"child_birth_time": "14:41"}),                                   # time off by 9 minutes
    ({}, {"birth_weight_g": 3445}),                                        # weight off by 25 g
    ({}, {"mother_postcode4": "3517"}),                                    # one postcode digit
    ({"mother_birth_date": dt.date(1993, 4, 7)}, {"mother_birth_date": dt.date(1993, 7, 4)}),  # day/month swapped
    ({}, {"child_birth_time": None}),                                      # time missing
    ({}, {"child_birth_time": "14:36", "birth_weight_g": 3400, "mother_postcode4": "3512"}),  # three at once
    ({"child_birth_time": "23:58"}, {"child_birth_date": dt.date(2024, 3, 10), "child_birth_time": "00:03"}),
], ids=["time", "weight", "postcode", "swapped_mother_date", "missing_time", "several", "across_midnight"])
def test_realistic_disagreements_still_link_probabilistically(midwife_says, obstetrician_says):
    midwife_facts = child(**midwife_says)
    obstetric_facts = midwife_facts | obstetrician_says
    # A different woman giving birth the same day in the same postcode area must not get in the way.
    neighbour = child(mother_birth_date=dt.date(1990, 11, 30), child_birth_time="09:05", birth_weight_g=3710,
                      child_sex="M", gestational_age_days=283)
    linked = link_records(records_frame([
        record("lvr1", "P0001", "m1", midwife_facts), record("lvr2", "H001", "o1", obstetric_facts),
        record("lvr1", "P0001", "m2", neighbour),
    ]), ORGANISATIONS)
    assert key_of(linked, "lvr1", "m1") == key_of(linked, "lvr2", "o1")
    assert method_of(linked, "o1") == "probabilistic"
    assert method_of(linked, "m2") == "single"


def test_twins_are_linked_to_their_own_records_not_swapped():
    first = child(plurality=2, birth_order=1, child_birth_time="10:02", birth_weight_g=2650, child_sex="M",
                  gestational_age_days=255)
    second = child(plurality=2, birth_order=2, child_birth_time="10:09", birth_weight_g=2480, child_sex="F",
                   gestational_age_days=255)
    # The obstetrician's times differ a few minutes from the midwife's, towards the other twin's time.
    obstetric_first = first | {"child_birth_time": "10:05"}
    obstetric_second = second | {"child_birth_time": "10:06", "birth_weight_g": 2500}
    linked = link_records(records_frame([
        record("lvr1", "P0001", "m1", first), record("lvr1", "P0001", "m2", second),
        record("lvr2", "H001", "o2", obstetric_second), record("lvr2", "H001", "o1", obstetric_first),
        record("lnr", "H001", "k2", second), record("lnr", "H001", "k1", first),
    ]), ORGANISATIONS)
    assert key_of(linked, "lvr1", "m1") == key_of(linked, "lvr2", "o1") == key_of(linked, "lnr", "k1")
    assert key_of(linked, "lvr1", "m2") == key_of(linked, "lvr2", "o2") == key_of(linked, "lnr", "k2")
    assert key_of(linked, "lvr1", "m1") != key_of(linked, "lvr1", "m2")


def test_a_midwife_led_birth_is_not_forced_onto_another_womans_obstetric_record():
    # Same day, same postcode, same birth date of the mother — but another child entirely.
    midwife_only = child(child_birth_time="02:15", birth_weight_g=3900, child_sex="M", gestational_age_days=288)
    hospital_birth = child(child_birth_time="17:50", birth_weight_g=3050, child_sex="F", gestational_age_days=266)
    linked = link_records(records_frame([
        record("lvr1", "P0001", "m1", midwife_only), record("lvr2", "H001", "o1", hospital_birth),
    ]), ORGANISATIONS)
    assert key_of(linked, "lvr1", "m1") != key_of(linked, "lvr2", "o1")
    assert set(linked["link_method"]) == {"single"}


def test_one_record_per_discipline_per_child_the_better_candidate_wins():
    facts = child()
    near = child(child_birth_time="14:40", birth_weight_g=3440)  # a second, slightly worse midwife candidate
    linked = link_records(records_frame([
        record("lvr1", "P0001", "m_near", near),
        record("lvr1", "P0001", "m_exact", facts | {"child_birth_time": "14:33"}),
        record("lvr2", "H001", "o1", facts),
    ]), ORGANISATIONS)
    assert key_of(linked, "lvr2", "o1") == key_of(linked, "lvr1", "m_exact")
    assert key_of(linked, "lvr1", "m_near") != key_of(linked, "lvr2", "o1")
    assert linked.group_by("child_key", "discipline").len()["len"].max() == 1


def test_paediatrician_record_joins_the_obstetric_record_or_else_the_midwife_record():
    referred = child()
    home_born = child(mother_birth_date=dt.date(1985, 6, 1), mother_postcode4="3572", child_birth_time="06:20",
                      birth_weight_g=2210, gestational_age_days=247)
    linked = link_records(records_frame([
        record("lvr1", "P0001", "m1", referred), record("lvr2", "H001", "o1", referred),
        record("lnr", "H001", "k1", referred | {"birth_weight_g": 3400}),
        record("lvr1", "P0001", "m2", home_born), record("lnr", "H001", "k2", home_born | {"child_birth_time": None}),
    ]), ORGANISATIONS)
    assert key_of(linked, "lnr", "k1") == key_of(linked, "lvr2", "o1") == key_of(linked, "lvr1", "m1")
    assert key_of(linked, "lnr", "k2") == key_of(linked, "lvr1", "m2")
    assert method_of(linked, "m1") == "probabilistic"  # one link of the child was scored, not exact


def test_agreement_weights_are_the_fellegi_sunter_log_ratios_of_the_levels():
    def weight(field: str, level: str) -> float:
        found = next(item for item in COMPARISONS[field] if item.name == level)
        return math.log2(found.m / found.u)

    facts = child()
    a = records_frame([record("lvr1", "P0001", "m1", facts)]).with_row_index("_rid").with_columns(
        pl.col("_rid").cast(pl.Int64), _minute_of_day=pl.lit(14 * 60 + 32))
    b = records_frame([record("lvr2", "H002", "o1", facts | {"birth_weight_g": 3440, "child_birth_time": "14:42"})]
                      ).with_row_index("_rid").with_columns(pl.col("_rid").cast(pl.Int64) + 1,
                                                             _minute_of_day=pl.lit(14 * 60 + 42))
    related = pl.DataFrame({"org_a": ["P0001"], "org_b": ["H001"]})
    scored = score_candidate_pairs(a, b, related)
    expected = (
        weight("mother_birth_date", "exact") + weight("mother_postcode4", "exact")
        + weight("child_birth_date", "exact") + weight("child_birth_time", "within_15_minutes")
        + weight("child_sex", "agree") + weight("plurality", "agree") + weight("birth_weight_g", "within_30_g")
        + weight("gestational_age_days", "exact") + weight("organisation", "unrelated")
    )
    assert scored["score"].item() == pytest.approx(expected)
    assert expected > MATCH_THRESHOLD


def test_child_key_does_not_depend_on_the_order_records_arrive_in():
    records, _ = simulated_population(600, seed=11)
    forward = link_records(records, ORGANISATIONS)
    backward = link_records(records.reverse(), ORGANISATIONS).reverse()
    assert forward["child_key"].to_list() == backward["child_key"].to_list()


# --- quality on a simulated population -----------------------------------------------------------------

def simulated_population(n_births: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Records of `n_births` births with the disagreements the registry sees between disciplines.

    Independent of the linkage code: midwife records for 88% of births, obstetrician records for the
    referred and the obstetrician-booked, paediatrician records for 9%; 1.5% twins; the obstetrician's
    and paediatrician's copies differ from the midwife's by time (5%), weight ≤ 30 g (3%), a postcode
    digit (1%), swapped day/month of the mother's birth date (0.3%), missing time (1%). Postcodes are
    drawn from only 400 values and mothers' birth dates from 8 years, to make blocks crowded.
    """
    rng = np.random.default_rng(seed)
    n = n_births
    twins = rng.random(n) < 0.015
    mothers = pl.DataFrame({
        "birth_event": np.arange(n),
        "mother_birth_date": np.datetime64("1988-01-01") + rng.integers(0, 8 * 365, n).astype("timedelta64[D]"),
        "mother_postcode4": rng.integers(3500, 3900, n).astype(str),
        "child_birth_date": np.datetime64("2024-01-01") + rng.integers(0, 30, n).astype("timedelta64[D]"),
        "minute": rng.integers(0, 1400, n),
        "plurality": np.where(twins, 2, 1),
        "hospital": rng.integers(1, 3, n),
        "midwife": rng.random(n) < 0.88,
    }).with_columns(
        obstetrician=~pl.col("midwife") | pl.Series(rng.random(n) < 0.5),
        paediatrician=pl.Series(rng.random(n) < 0.09),
        birth_order=pl.int_ranges(1, pl.col("plurality") + 1),
    ).explode("birth_order")
    m = mothers.height
    children = mothers.with_columns(
        child_id=pl.int_range(m),
        child_sex=pl.Series(rng.choice(["M", "F"], m)),
        birth_weight_g=pl.Series(rng.normal(3400, 500, m).round().astype(np.int64)),
        gestational_age_days=pl.Series(rng.integers(255, 295, m)),
        minute=pl.col("minute") + (pl.col("birth_order") - 1) * 6,
        mother_birth_date=pl.col("mother_birth_date").cast(pl.Date),
        child_birth_date=pl.col("child_birth_date").cast(pl.Date),
    )
    frames = []
    for discipline, has, org in (("lvr1", "midwife", "P"), ("lvr2", "obstetrician", "H"),
                                 ("lnr", "paediatrician", "H")):
        own = children.filter(pl.col(has))
        k = own.height
        if discipline != "lvr1":
            shift = np.where(rng.random(k) < 0.05, rng.integers(1, 16, k) * rng.choice([-1, 1], k), 0)
            grams = np.where(rng.random(k) < 0.03, rng.integers(1, 31, k) * rng.choice([-1, 1], k), 0)
            digit = rng.integers(1, 4, k)
            wrong_digit = rng.random(k) < 0.01
            swap = rng.random(k) < 0.003
            no_time = rng.random(k) < 0.01
        else:
            shift = grams = digit = np.zeros(k, dtype=np.int64)
            wrong_digit = swap = no_time = np.zeros(k, dtype=bool)
        postcode = pl.col("mother_postcode4")
        changed_digit = pl.Series(digit)
        mistyped = pl.concat_str(
            postcode.str.slice(0, changed_digit),
            ((postcode.str.slice(changed_digit, 1).cast(pl.Int64) + 1) % 10).cast(pl.Utf8),
            postcode.str.slice(changed_digit + 1),
        )
        mother = pl.col("mother_birth_date")
        swappable = mother.dt.day() <= 12
        minute = (pl.col("minute") + pl.Series(shift)).clip(0, 1439)
        frames.append(own.select(
            "child_id", "birth_event", "child_birth_date", "child_sex", "plurality", "birth_order",
            "gestational_age_days",
            discipline=pl.lit(discipline),
            org_code=pl.lit(org) + pl.col("hospital").cast(pl.Utf8).str.zfill(4 if org == "P" else 3),
            dossier_id=pl.lit(f"{discipline}-") + pl.int_range(k).cast(pl.Utf8),
            mother_postcode4=pl.when(pl.Series(wrong_digit)).then(mistyped).otherwise(postcode),
            mother_birth_date=pl.when(pl.Series(swap) & swappable)
            .then(pl.date(mother.dt.year(), mother.dt.day(), mother.dt.month())).otherwise(mother),
            child_birth_time=pl.when(pl.Series(no_time)).then(None).otherwise(
                pl.format("{}:{}", (minute // 60).cast(pl.Utf8).str.zfill(2), (minute % 60).cast(pl.Utf8).str.zfill(2))
            ),
            birth_weight_g=pl.col("birth_weight_g") + pl.Series(grams),
        ))
    records = pl.concat(frames)
    truth = records.select("discipline", "org_code", "dossier_id", "child_id", "birth_event")
    typed = records.select(
        [pl.col(name).cast(dtype) if name in records.columns else pl.lit(None, dtype=dtype).alias(name)
         for name, dtype in RECORD_SCHEMA.items()]
    )
    return typed.sample(fraction=1.0, shuffle=True, seed=seed), truth


def test_pairwise_precision_and_recall_on_a_crowded_simulated_population():
    records, truth = simulated_population(6000, seed=3)
    linked = link_records(records, ORGANISATIONS)
    quality = pairwise_quality(linked, truth)
    assert quality["true_pairs"] > 2500
    assert quality["precision"] >= 0.995
    assert quality["recall"] >= 0.995
    assert linked.group_by("child_key", "discipline").len()["len"].max() == 1


def test_pairwise_quality_counts_pairs_like_a_hand_count():
    truth = pl.DataFrame({"discipline": ["lvr1", "lvr2", "lnr", "lvr1"], "org_code": ["P", "H", "H", "P"],
                          "dossier_id": ["a", "b", "c", "d"], "child_id": [1, 1, 1, 2]})
    # Found: {a, b} and {c, d}: one true pair of the three (a-b, a-c, b-c), one false pair (c-d).
    linked = truth.select("discipline", "org_code", "dossier_id", child_key=pl.Series([7, 7, 9, 9]))
    quality = pairwise_quality(linked, truth)
    assert (quality["pairs_found"], quality["true_pairs"], quality["correct_pairs"]) == (2, 3, 1)
    assert quality["precision"] == pytest.approx(1 / 2)
    assert quality["recall"] == pytest.approx(1 / 3)


def read_generated_records(out: Path) -> pl.DataFrame:
    """The generator's delivery files as typed records, without the loader's validator.

    Objected records and unreadable files are left out and the latest version of a resent dossier is
    kept. Records with a planted technical error stay in (unparseable values become empty), which makes
    the linkage's job harder, not easier.
    """
    frames = []
    for path in sorted(out.glob("[0-9]*/*.csv")):
        match = FILE_NAME_PATTERN.match(path.name)
        try:
            frame = pl.read_csv(path, infer_schema=False)
        except (pl.exceptions.ComputeError, pl.exceptions.NoDataError, UnicodeDecodeError):
            continue
        if match and frame.columns == list(COLUMNS):
            # A record naming another organisation than its file is rejected by the loader: left out.
            frames.append(frame.filter(pl.col("org_code") == match["org_code"])
                          .with_columns(discipline=pl.lit(match["discipline"])))
    text = pl.concat(frames).filter(pl.col("objection") != "1")
    typed = text.select(
        pl.col(name).str.to_date(strict=False) if dtype == pl.Date
        else (pl.col(name) == "1") if dtype == pl.Boolean
        else pl.col(name).cast(dtype, strict=False)
        for name, dtype in RECORD_SCHEMA.items()
    )
    return (
        typed.drop_nulls(["mother_birth_date", "child_birth_date", "plurality", "birth_order"])
        .sort("dossier_version", descending=True)
        .unique(["discipline", "org_code", "dossier_id"], keep="first", maintain_order=True)
    )


def test_against_the_generators_truth_at_small_scale(tmp_path: Path):
    deliveries = pytest.importorskip("synthetic.deliveries", reason="the generator (synthetic/) is not there yet")
    out = tmp_path / "deliveries"
    deliveries.generate_deliveries([2024], seed=7, out_dir=out, scale=0.03)
    organisations = pl.read_csv(PROJECT_ROOT / "data" / "reference" / "organisations.csv", infer_schema=False)
    records = read_generated_records(out)
    truth = pl.read_csv(out / "_truth" / "links.csv", infer_schema=False)
    linked = link_records(records, organisations)
    quality = pairwise_quality(linked, truth)
    assert quality["records"] == records.height > 5000
    assert quality["true_pairs"] > 2000
    assert quality["precision"] >= 0.995, quality
    assert quality["recall"] >= 0.995, quality


def test_the_linkage_rate_is_never_above_one_on_a_generated_year(tmp_path: Path):
    """Loaded and published like real deliveries: every sender's rate, each discipline's national rate, and what
    the data-quality page shows per organisation, at most 100% — although obstetricians' records link more often
    than they are expected to (booked births next to the paediatrician's record), which made 294% before."""
    from sqlalchemy import select

    from loader.refresh import run_refresh
    from queries.delivery_feedback import linkage_of
    from synthetic.deliveries import generate_deliveries
    from tables.database import make_engine
    from tables.schema import linkage_summary

    out = tmp_path / "deliveries"
    generate_deliveries([2024], seed=11, out_dir=out, scale=0.02)
    engine = make_engine(f"sqlite:///{tmp_path / 'linkage.db'}")
    run_refresh(out, engine)
    with engine.connect() as connection:
        rows = [dict(row) for row in connection.execute(select(linkage_summary)).mappings()]
    assert len(rows) > 50
    assert all(row["linked_expected"] <= row["expected_links"] for row in rows)
    assert all(row["linkage_rate"] is None or 0 <= row["linkage_rate"] <= 1 for row in rows)
    national_obstetricians = next(row for row in rows if (row["org_code"], row["discipline"]) == ("*", "lvr2"))
    assert national_obstetricians["linked"] > national_obstetricians["expected_links"]  # the case that made 294%
    senders = {row["org_code"] for row in rows if row["org_code"] != "*"}
    for org_code in sorted(senders)[:40]:
        shown = linkage_of(engine, org_code)
        assert shown.height and all(0 <= rate <= 1 for rate in shown["linkage_rate"].drop_nulls()), org_code
        assert all(0 <= rate <= 1 for rate in shown["national_linkage_rate"].drop_nulls())
    engine.dispose()
