"""The synthetic national data: register, deliveries, truth files, calibration and coherence.

Everything here reads what the generator wrote (files and truth), with plain polars and an independent
check of each record against `contracts/delivery_format.py`, never the loader. National rates are judged
against the ranges of `national-figures.md` widened by three standard errors for the small test scale.
"""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path
from statistics import NormalDist

import numpy as np
import polars as pl
import pytest

from contracts.delivery_format import COLUMNS, FIELDS, FILE_NAME_PATTERN
from synthetic.birthweight import BirthWeightTable
from synthetic.calibration import TARGETS, children_view, measure_national_rates, read_deliveries
from synthetic.deliveries import generate_deliveries
from synthetic.organisations import ORGANISATIONS_FILE, POSTCODE_SES_FILE, PROVINCES, write_reference_files

YEAR = 2023
TEST_SCALE = 0.1  # ~16,500 births: enough for national rates, fast enough for every run


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out_dir = tmp_path_factory.mktemp("deliveries")
    calls: list[tuple[str, int, int]] = []
    summary = generate_deliveries([YEAR], seed=11, out_dir=out_dir, scale=TEST_SCALE,
                                  progress=lambda stage, done, total: calls.append((stage, done, total)))
    return {"out_dir": out_dir, "summary": summary, "progress": calls}


@pytest.fixture(scope="module")
def records(generated: dict) -> pl.DataFrame:
    """Every record of the readable first deliveries, with the file it came from and its line number."""
    frame = read_deliveries(generated["out_dir"])
    frame = frame.with_columns(file_name=pl.col("path").str.extract(r"([^/\\]+)$"))
    return frame.with_columns(line_number=pl.int_range(2, pl.len() + 2).over("file_name"))


@pytest.fixture(scope="module")
def planted(generated: dict) -> pl.DataFrame:
    return pl.read_csv(generated["out_dir"] / "_truth" / "planted_errors.csv", infer_schema=False)


def file_digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def invalid_record() -> pl.Expr:
    """True for a record that breaks the delivery format (an independent reading of `FIELDS`); needs the
    columns `discipline` and `file_org` (the organisation in the file name) beside the delivery columns."""
    problems = [pl.col("org_code") != pl.col("file_org"),
                pl.col("birth_order").cast(pl.Int64, strict=False) > pl.col("plurality").cast(pl.Int64, strict=False)]
    for spec in FIELDS:
        value, empty = pl.col(spec.name), pl.col(spec.name).is_null()
        problems.append(empty & pl.col("discipline").is_in([str(d) for d in spec.required_for]))
        if spec.kind == "int":
            number = value.cast(pl.Int64, strict=False)
            low, high = spec.low if spec.low is not None else -(10**9), spec.high if spec.high is not None else 10**9
            problems.append(~empty & (number.is_null() | ~number.is_between(low, high)))
        elif spec.kind == "date":
            problems.append(~empty & (~value.str.contains(r"^\d{4}-\d{2}-\d{2}$")
                                      | value.str.to_date("%Y-%m-%d", strict=False).is_null()))
        elif spec.kind == "time":
            problems.append(~empty & ~value.str.contains(r"^([01]\d|2[0-3]):[0-5]\d$"))
        elif spec.kind == "bool":
            problems.append(~empty & ~value.is_in(["0", "1"]))
        elif spec.kind == "code":
            problems.append(~empty & ~value.is_in(list(spec.codes)))
    return pl.any_horizontal([p.fill_null(False) for p in problems])


# --- the register ---------------------------------------------------------------------------------------------

def test_register_has_the_national_counts_and_every_member_belongs_to_a_vsv() -> None:
    register = pl.read_csv(ORGANISATIONS_FILE, infer_schema=False)
    assert register.columns == ["org_code", "name", "org_type", "vsv_code", "region", "hospital_codes"]
    counts = dict(register.group_by("org_type").len().iter_rows())
    assert counts == {"vsv": 71, "hospital": 74, "practice": 585}
    assert register["org_code"].n_unique() == register.height
    assert register["name"].n_unique() == register.height, "organisation names must be unique"
    vsvs = register.filter(pl.col("org_type") == "vsv")
    assert vsvs["org_code"].to_list() == [f"V{i:03d}" for i in range(1, 72)]
    assert (vsvs["vsv_code"] == vsvs["org_code"]).all()
    hospitals = register.filter(pl.col("org_type") == "hospital")
    practices = register.filter(pl.col("org_type") == "practice")
    assert hospitals["org_code"].to_list() == [f"H{i:03d}" for i in range(1, 75)]
    assert practices["org_code"].to_list() == [f"P{i:04d}" for i in range(1, 586)]
    assert hospitals["vsv_code"].is_in(vsvs["org_code"].implode()).all()
    assert practices["vsv_code"].is_in(vsvs["org_code"].implode()).all()
    assert set(vsvs["org_code"]) == set(hospitals["vsv_code"]), "every VSV has a hospital"
    assert hospitals.group_by("vsv_code").len()["len"].max() == 2
    worked_with = practices["hospital_codes"].str.split(";")
    assert worked_with.explode().is_in(hospitals["org_code"].implode()).all()
    two = (worked_with.list.len() == 2).mean()
    assert 0.02 <= two <= 0.04, f"{two:.1%} of practices work with two hospitals"
    # Every practice works with a hospital of its own VSV (and at most one neighbouring one).
    own = practices.select("vsv_code", first=worked_with.list.first()).join(
        hospitals.select(first="org_code", hospital_vsv="vsv_code"), on="first")
    assert (own["vsv_code"] == own["hospital_vsv"]).all()
    assert set(register["region"]) == {p.name for p in PROVINCES}
    per_region = dict(vsvs.group_by("region").len().iter_rows())
    assert per_region["Zuid-Holland"] == max(per_region.values()) and per_region["Zeeland"] <= 3
    assert (register["name"].str.contains("Verloskund|Vroedvrouw") == (register["org_type"] == "practice")).all()


def test_reference_files_are_what_the_module_writes(tmp_path: Path) -> None:
    organisations, postcodes = write_reference_files(tmp_path)
    assert organisations.read_bytes() == ORGANISATIONS_FILE.read_bytes()
    assert postcodes.read_bytes() == POSTCODE_SES_FILE.read_bytes()


def test_postcode_reference_has_equal_national_quintiles_that_differ_by_region() -> None:
    postcodes = pl.read_csv(POSTCODE_SES_FILE)
    register = pl.read_csv(ORGANISATIONS_FILE, infer_schema=False)
    assert postcodes.columns == ["postcode4", "vsv_code", "ses_quintile"]
    assert 2000 <= postcodes.height <= 5000
    assert postcodes["postcode4"].is_unique().all() and postcodes["postcode4"].is_between(1000, 9999).all()
    assert postcodes["vsv_code"].is_in(register.filter(pl.col("org_type") == "vsv")["org_code"].implode()).all()
    assert postcodes["vsv_code"].n_unique() == 71
    shares = postcodes.group_by("ses_quintile").len().with_columns(share=pl.col("len") / postcodes.height)
    assert sorted(shares["ses_quintile"]) == [1, 2, 3, 4, 5]
    assert shares["share"].is_between(0.18, 0.22).all()
    lowest_by_vsv = postcodes.group_by("vsv_code").agg((pl.col("ses_quintile") == 1).mean())["ses_quintile"]
    assert lowest_by_vsv.max() - lowest_by_vsv.min() > 0.3, "SES should differ between regions"


def test_birth_weights_follow_the_hoftiezer_table_at_its_published_points() -> None:
    """Perined's curves at 40+0 weeks: girls p10 2968 g, p50 3463 g; boys p10 3086 g, p50 3608 g."""
    table = BirthWeightTable()
    day_280 = np.array([280, 280, 280, 280])
    male = np.array([False, False, True, True])
    z = np.array([NormalDist().inv_cdf(0.10), 0.0, NormalDist().inv_cdf(0.10), 0.0])
    assert np.round(table.weight(male, day_280, z)).tolist() == [2968, 3463, 3086, 3608]
    assert table.p10(male[:1], day_280[:1]).tolist() == [2968]
    # Heavier with a higher score, with gestational age, and still plausible in the far tails and at 22 weeks.
    scores = np.linspace(-4, 4, 81)
    grams = table.weight(np.zeros(81, dtype=bool), np.full(81, 280), scores)
    assert (np.diff(grams) > 0).all() and grams[0] > 1500 and grams[-1] < 5500
    by_day = table.weight(np.zeros(3, dtype=bool), np.array([154, 161, 294]), np.zeros(3))
    assert 350 < by_day[0] < by_day[1] < by_day[2]


# --- determinism -----------------------------------------------------------------------------------------------

def test_same_seed_gives_identical_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    first, again, other = tmp_path / "first", tmp_path / "again", tmp_path / "other"
    generate_deliveries([YEAR], seed=5, out_dir=first, scale=0.02)
    generate_deliveries([YEAR], seed=5, out_dir=again, scale=0.02)
    generate_deliveries([YEAR], seed=6, out_dir=other, scale=0.02)
    digests = file_digests(first)
    assert len(digests) > 1000
    assert file_digests(again) == digests
    other_digests = file_digests(other)
    shared = set(digests) & set(other_digests)
    assert sum(digests[name] != other_digests[name] for name in shared) > 0.9 * len(shared)


# --- the files -------------------------------------------------------------------------------------------------

def test_every_readable_file_has_the_format_columns_and_belongs_to_its_month(
        generated: dict, planted: pl.DataFrame, records: pl.DataFrame) -> None:
    out_dir = generated["out_dir"]
    broken = set(planted.filter(pl.col("line_number") == "0")["file_name"])
    files = sorted(p for p in out_dir.rglob("*.csv") if "_truth" not in p.parts)
    assert len(files) == generated["summary"]["files"]
    lines: dict[str, int] = {}
    for path in files:
        match = FILE_NAME_PATTERN.match(path.name)
        assert match, path.name
        assert path.parent.name == match["month"]
        if path.name in broken:
            continue
        content = path.read_bytes()
        assert content.startswith((",".join(COLUMNS) + "\n").encode()), path.name
        lines[path.name] = content.count(b"\n") - 1
    # Every line of every readable first delivery was parsed into a record with all the columns ...
    per_file = records.group_by("file_name").len()
    assert dict(per_file.iter_rows()) == {name: n for name, n in lines.items() if "_resend" not in name}
    assert set(COLUMNS) <= set(records.columns)
    # ... and a file holds the births of its own month.
    month = records["file_name"].str.extract(FILE_NAME_PATTERN.pattern, group_index=4)
    assert records["child_birth_date"].str.starts_with(month).all()


def test_broken_files_are_broken_the_way_the_truth_says(generated: dict, planted: pl.DataFrame) -> None:
    whole_files = planted.filter(pl.col("line_number") == "0")
    assert 2 <= whole_files.height <= 4
    for file_name, kind in whole_files.select("file_name", "error_kind").iter_rows():
        content = next(generated["out_dir"].rglob(file_name)).read_bytes()
        if kind == "empty_file":
            assert content == b""
        elif kind == "wrong_header":
            assert content.decode().splitlines()[0] != ",".join(COLUMNS)
        elif kind == "not_utf8":
            with pytest.raises(UnicodeDecodeError):
                content.decode("utf-8")
        else:
            assert kind == "not_csv" and content.startswith(b"PK\x03\x04"), kind


def test_planted_errors_are_exactly_the_records_that_break_the_format(records: pl.DataFrame,
                                                                      planted: pl.DataFrame) -> None:
    found = records.rename({"sender": "file_org"}).filter(invalid_record()).select(
        "file_name", pl.col("line_number").cast(pl.Utf8), "dossier_id")
    listed = planted.filter(pl.col("line_number") != "0").select("file_name", "line_number", "dossier_id")
    assert found.sort(pl.all()).rows() == listed.sort(pl.all()).rows()
    rate = listed.height / records.height
    assert 0.01 <= rate <= 0.03, f"technical error rate {rate:.2%}"
    kinds = set(planted["error_kind"])
    assert {"wrong_code", "impossible_date", "missing_required", "weight_in_kilograms",
            "gestational_age_out_of_range", "org_code_mismatch", "non_integer"} <= kinds
    kilograms = records.join(planted.filter(pl.col("error_kind") == "weight_in_kilograms")
                             .with_columns(pl.col("line_number").cast(pl.Int64)), on=["file_name", "line_number"])
    assert kilograms["birth_weight_g"].str.contains(r"^\d\.\d{2}$").all()


def test_resends_correct_earlier_dossiers_with_version_2(generated: dict, records: pl.DataFrame) -> None:
    out_dir = generated["out_dir"]
    resends = pl.read_csv(out_dir / "_truth" / "resends.csv", infer_schema=False)
    assert 3 <= resends["file_name"].n_unique() <= 5
    assert set(resends["reason"]) == {"technical_error", "wrong_value"}
    for (file_name,), group in resends.group_by("file_name", maintain_order=True):
        path = next(out_dir.rglob(file_name))
        assert re.fullmatch(r".+_resend1\.csv", file_name) and FILE_NAME_PATTERN.match(file_name)
        resent = pl.read_csv(path, infer_schema=False)
        assert resent.columns == list(COLUMNS)
        assert (resent["dossier_version"] == "2").all()
        assert sorted(resent["dossier_id"]) == sorted(group["dossier_id"])
        discipline, org = file_name.split("_")[:2]
        resent_from = resent.with_columns(discipline=pl.lit(discipline), file_org=pl.lit(org))
        assert resent_from.filter(invalid_record()).height == 0
        original = records.filter(pl.col("file_name") == group["original_file"][0])
        before = original.filter(pl.col("dossier_id").is_in(resent["dossier_id"].implode())).sort("dossier_id")
        after = resent.sort("dossier_id")
        assert before.height == after.height
        wrong = group.filter(pl.col("reason") == "wrong_value")["dossier_id"]
        changed = before.filter(pl.col("dossier_id").is_in(wrong.implode()))["birth_weight_g"]
        assert (changed != after.filter(pl.col("dossier_id").is_in(wrong.implode()))["birth_weight_g"]).all()


def test_links_cover_every_written_record_once(generated: dict, records: pl.DataFrame) -> None:
    links = pl.read_csv(generated["out_dir"] / "_truth" / "links.csv", infer_schema=False)
    assert links.columns == ["discipline", "org_code", "dossier_id", "child_id", "birth_event_id"]
    assert links.select(pl.struct("discipline", "org_code", "dossier_id").is_unique().all()).item()
    assert records["child_id"].null_count() == 0
    summary = generated["summary"]
    assert links.height == sum(summary["records"].values())
    # The readable files hold every linked record except those of files broken as a whole.
    assert records.height <= links.height < records.height * 1.01
    # No dossier number is shared between disciplines: the schemes differ.
    prefixes = links.group_by("discipline").agg(pl.col("dossier_id").str.slice(0, 2).unique())
    assert sum(len(p) for p in prefixes["dossier_id"]) == prefixes["dossier_id"].explode().n_unique()


def test_objections_cover_every_record_of_a_birth(generated: dict, records: pl.DataFrame) -> None:
    by_birth = records.group_by("birth_event_id").agg(pl.col("objection").n_unique().alias("values"),
                                                     (pl.col("objection") == "1").any().alias("objected"))
    assert (by_birth["values"] == 1).all(), "an objection holds for every record of the birth"
    share = by_birth["objected"].mean()
    assert 0.003 <= share <= 0.007, f"{share:.2%} of women objected"
    assert generated["summary"]["objections"] > 0


def test_progress_is_reported_up_to_the_total(generated: dict) -> None:
    calls = generated["progress"]
    assert len(calls) >= 3
    assert all(0 <= done <= total for _stage, done, total in calls)
    assert calls[-1][1] == calls[-1][2]


# --- realism -----------------------------------------------------------------------------------------------------

def test_national_rates_land_in_the_published_ranges(generated: dict) -> None:
    rates = measure_national_rates(generated["out_dir"])
    assert rates.height == len(TARGETS)
    outside = []
    for row in rates.iter_rows(named=True):
        p, n = row["generated"], row["denominator"]
        margin = 3 * math.sqrt(max(p * (1 - p), 1e-9) / n)  # sampling noise at the test scale
        if not row["low"] - margin <= p <= row["high"] + margin:
            outside.append(f"{row['description']}: {p:.4f} not in [{row['low']}, {row['high']}] ± {margin:.4f}")
    assert not outside, "\n".join(outside)
    assert generated["summary"]["births"] == pytest.approx(165_000 * TEST_SCALE, rel=0.02)


def test_measurement_counts_a_hand_made_delivery_correctly(tmp_path: Path) -> None:
    """The rate code itself, on four children whose rates are worked out by hand."""
    base = {c: None for c in COLUMNS} | {
        "dossier_version": "1", "objection": "0", "mother_birth_date": "1990-06-15", "mother_postcode4": "1234",
        "child_birth_date": "2023-03-10", "child_sex": "F", "plurality": "1", "birth_order": "1",
        "gestational_age_days": "280", "parity": "0", "previous_caesarean": "0", "care_level_onset": "midwife",
        "onset_of_labour": "spontaneous", "presentation": "cephalic", "mode_of_birth": "spontaneous",
        "place_of_birth": "home", "vital_status_birth": "live", "referral_during_labour": "0"}
    midwife = [
        base | {"dossier_id": "m1", "org_code": "P0001", "birth_weight_g": "2967"},  # girl 40+0 below p10 2968
        base | {"dossier_id": "m2", "org_code": "P0001", "birth_weight_g": "2968", "referral_during_labour": "1",
                "mode_of_birth": "spontaneous", "place_of_birth": "hospital_obstetrician"},
        base | {"dossier_id": "m3", "org_code": "P0001", "birth_weight_g": "3500", "objection": "1"},
    ]
    obstetrician = [  # the obstetrician's record of child 2 wins: it says caesarean
        base | {"dossier_id": "o2", "org_code": "H001", "birth_weight_g": "2968", "care_level_onset": "midwife",
                "referral_during_labour": "1", "mode_of_birth": "caesarean", "place_of_birth": "hospital_obstetrician"},
        base | {"dossier_id": "o4", "org_code": "H001", "birth_weight_g": "3100", "care_level_onset": "obstetrician",
                "onset_of_labour": "induced", "vital_status_birth": "antepartum_death", "mode_of_birth": "spontaneous",
                "place_of_birth": "hospital_obstetrician", "referral_during_labour": None},
    ]
    (tmp_path / "2023-03").mkdir()
    (tmp_path / "_truth").mkdir()
    as_text = dict.fromkeys(COLUMNS, pl.Utf8)
    pl.DataFrame(midwife, schema=as_text).write_csv(tmp_path / "2023-03" / "lvr1_P0001_2023-03.csv")
    pl.DataFrame(obstetrician, schema=as_text).write_csv(tmp_path / "2023-03" / "lvr2_H001_2023-03.csv")
    pl.DataFrame({"discipline": ["lvr1", "lvr1", "lvr1", "lvr2", "lvr2"],
                  "org_code": ["P0001", "P0001", "P0001", "H001", "H001"],
                  "dossier_id": ["m1", "m2", "m3", "o2", "o4"], "child_id": [1, 2, 3, 2, 4],
                  "birth_event_id": [1, 2, 3, 2, 4]}).write_csv(tmp_path / "_truth" / "links.csv")
    pl.DataFrame(schema={"file_name": pl.Utf8, "line_number": pl.Int64, "dossier_id": pl.Utf8,
                         "error_kind": pl.Utf8, "field": pl.Utf8}).write_csv(tmp_path / "_truth" / "planted_errors.csv")

    children = children_view(read_deliveries(tmp_path))
    assert sorted(children["child_id"]) == [1, 2, 4], "the objected child is left out"
    rates = {row["indicator"]: (row["numerator"], row["denominator"])
             for row in measure_national_rates(tmp_path).iter_rows(named=True)}
    assert rates["caesarean"] == (1, 3)
    assert rates["sga"] == (1, 2)  # 2967 g is below p10, 2968 g is not; the stillbirth is no live birth
    assert rates["stillbirth"] == (1, 3)
    assert rates["place_home"] == (1, 3)
    assert rates["referral_nulliparous"] == (1, 2)
    assert rates["onset_induced"] == (1, 3)
    assert rates["age_30_34"] == (3, 3)  # born 1990-06-15, gave birth 2023-03-10: 32 years


# --- coherence ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def valid_records(generated: dict, records: pl.DataFrame, planted: pl.DataFrame) -> pl.DataFrame:
    """The records without a planted technical error and without a wrong value that a resend corrects."""
    errors = planted.filter(pl.col("line_number") != "0").select(
        "file_name", pl.col("line_number").cast(pl.Int64), error=pl.lit(True))
    corrected = pl.read_csv(generated["out_dir"] / "_truth" / "resends.csv", infer_schema=False).select(
        file_name="original_file", dossier_id="dossier_id", resent=pl.lit(True))
    return (records.join(errors, on=["file_name", "line_number"], how="left")
            .join(corrected, on=["file_name", "dossier_id"], how="left")
            .filter(pl.col("error").is_null() & pl.col("resent").is_null()))


def test_birth_facts_are_coherent(valid_records: pl.DataFrame) -> None:
    clinical = valid_records.filter(pl.col("discipline") != "lnr")
    caesareans = clinical.filter(pl.col("mode_of_birth") == "caesarean")
    assert caesareans.height > 0
    assert (caesareans["episiotomy"].fill_null("0") == "0").all()
    assert caesareans["perineal_tear"].fill_null("none").eq("none").all()
    planned = clinical.filter(pl.col("onset_of_labour") == "prelabour_caesarean")
    assert (planned["mode_of_birth"] == "caesarean").all()
    assert (planned["epidural"].fill_null("0") == "0").all()
    assert (planned["care_level_onset"] == "obstetrician").all()
    stillborn = valid_records.filter(pl.col("vital_status_birth") != "live")
    assert stillborn.height > 0
    assert stillborn["apgar_5min"].is_null().all()
    assert (stillborn.filter(pl.col("discipline") != "lnr")["first_feed"].fill_null("none") == "none").all()
    assert (stillborn["discipline"] != "lnr").all(), "a stillborn child is not admitted"
    started_midwife_led = (pl.col("care_level_onset") == "midwife") & pl.col("onset_of_labour").is_in(
        ["spontaneous", "induced"])
    assert clinical.filter(~started_midwife_led)["referral_during_labour"].is_null().all()
    # (referral is an important field, not a required one: a few are left empty on purpose)
    assert clinical.filter(started_midwife_led)["referral_during_labour"].is_not_null().mean() > 0.95
    # Only the paediatrician records NICU admission and death.
    assert clinical["nicu_admission"].is_null().all() and clinical["death_date"].is_null().all()
    paediatric = valid_records.filter(pl.col("discipline") == "lnr")
    assert paediatric["nicu_admission"].is_in(["0", "1"]).all()
    assert paediatric["mode_of_birth"].is_null().all()


def test_who_sends_a_record_follows_the_course_of_care(generated: dict, records: pl.DataFrame) -> None:
    births = pl.read_parquet(generated["out_dir"] / "_truth" / f"births-{YEAR}.parquet")
    links = pl.read_csv(generated["out_dir"] / "_truth" / "links.csv", infer_schema=False).with_columns(
        pl.col("child_id").cast(pl.Int64))
    has = links.group_by("child_id").agg(
        *(pl.col("discipline").is_in([d]).any().alias(d) for d in ("lvr1", "lvr2", "lnr")))
    truth = births.join(has, on="child_id", how="left").with_columns(pl.col("lvr1", "lvr2", "lnr").fill_null(False))
    booked_obstetrician = truth.filter(pl.col("booked_with") == "obstetrician")
    assert 0.10 <= booked_obstetrician.height / truth.height <= 0.14
    assert not booked_obstetrician["lvr1"].any(), "women who booked with an obstetrician have no midwife record"
    stayed_with_midwife = truth.filter((pl.col("care_level_onset") == "midwife") & ~pl.col("referral_during_labour"))
    assert not stayed_with_midwife["lvr2"].any(), "births that stayed midwife-led have only a midwife record"
    obstetrician = truth.filter((pl.col("care_level_onset") == "obstetrician") | pl.col("referral_during_labour"))
    assert obstetrician["lvr2"].mean() > 0.99  # all but those in files broken as a whole
    admitted = truth.filter(pl.col("nicu_admission") | (pl.col("gestational_age_days") < 224))
    assert admitted.filter(pl.col("vital_status_birth") == "live")["lnr"].mean() > 0.99
    assert 0.08 <= truth["lnr"].mean() <= 0.10
    # The paediatric record comes from the same hospital as the obstetric record.
    both = links.filter(pl.col("discipline").is_in(["lvr2", "lnr"])).group_by("child_id").agg(
        pl.col("org_code").n_unique().alias("hospitals"), pl.len().alias("records"))
    assert (both.filter(pl.col("records") == 2)["hospitals"] == 1).all()


def test_death_risk_follows_gestational_age(generated: dict) -> None:
    births = pl.read_parquet(generated["out_dir"] / "_truth" / f"births-{YEAR}.parquet").with_columns(
        dead=(pl.col("vital_status_birth") != "live")
        | ((pl.col("death_date") - pl.col("child_birth_date")).dt.total_days() < 7).fill_null(False),
        band=pl.when(pl.col("gestational_age_days") < 168).then(pl.lit("22-23"))
        .when(pl.col("gestational_age_days") < 224).then(pl.lit("24-31"))
        .when(pl.col("gestational_age_days") < 259).then(pl.lit("32-36")).otherwise(pl.lit(">=37")))
    by_band = dict(births.group_by("band").agg(pl.col("dead").mean()).iter_rows())
    assert by_band["22-23"] > 0.8 > by_band["24-31"] > by_band["32-36"] > by_band[">=37"]
    assert by_band[">=37"] < 0.004
    assert (births["gestational_age_days"] < 168).any(), "some births at 22-23 weeks"


def test_multiples_have_one_record_per_child_with_the_same_mother(valid_records: pl.DataFrame) -> None:
    multiples = valid_records.filter(pl.col("plurality").cast(pl.Int64) > 1)
    assert multiples.height > 0
    per_birth = multiples.group_by("discipline", "birth_event_id").agg(
        pl.col("birth_order").cast(pl.Int64).sort().alias("orders"), pl.col("plurality").first().cast(pl.Int64),
        pl.col("child_birth_time").str.to_time("%H:%M", strict=False).alias("times"))
    complete = per_birth.filter(pl.col("orders").list.len() == pl.col("plurality"))
    assert complete.height > 0.9 * per_birth.height
    assert all(orders == list(range(1, n + 1)) for orders, n in complete.select("orders", "plurality").iter_rows())
    spread = complete.with_columns(minutes=(pl.col("times").list.max() - pl.col("times").list.min())
                                   .dt.total_minutes()).drop_nulls("minutes")
    assert spread["minutes"].max() <= 120 and spread["minutes"].median() > 0


def test_records_of_one_birth_agree_apart_from_small_slips(valid_records: pl.DataFrame) -> None:
    shared = ["child_id", "mother_birth_date", "mother_postcode4", "child_birth_time", "birth_weight_g"]
    pairs = valid_records.filter(pl.col("discipline") == "lvr1").select(shared).join(
        valid_records.filter(pl.col("discipline") == "lvr2").select(shared), on="child_id", suffix="_ob")
    assert pairs.height > 3000
    time = pairs.drop_nulls(["child_birth_time", "child_birth_time_ob"]).select(
        minutes=(pl.col("child_birth_time").str.to_time("%H:%M") - pl.col("child_birth_time_ob").str.to_time("%H:%M"))
        .dt.total_minutes().abs())
    assert 0.03 <= (time["minutes"] > 0).mean() <= 0.07 and time["minutes"].max() <= 15
    weight = pairs.drop_nulls(["birth_weight_g", "birth_weight_g_ob"]).select(
        grams=(pl.col("birth_weight_g").cast(pl.Int64) - pl.col("birth_weight_g_ob").cast(pl.Int64)).abs())
    assert 0.015 <= (weight["grams"] > 0).mean() <= 0.045 and weight["grams"].max() <= 30
    postcode = pairs.filter(pl.col("mother_postcode4") != pl.col("mother_postcode4_ob"))
    assert 0.003 <= postcode.height / pairs.height <= 0.02
    differing_digits = [sum(a != b for a, b in zip(x, y, strict=True))
                        for x, y in postcode.select("mother_postcode4", "mother_postcode4_ob").iter_rows()]
    # One digit wrong in one record; very rarely both records have a slip.
    assert max(differing_digits) <= 2 and differing_digits.count(1) >= 0.8 * len(differing_digits)
    swapped = pairs.filter(pl.col("mother_birth_date") != pl.col("mother_birth_date_ob"))
    assert swapped.height / pairs.height < 0.01
    for mine, theirs in swapped.select("mother_birth_date", "mother_birth_date_ob").iter_rows():
        assert mine[:4] == theirs[:4] and mine[5:7] == theirs[8:10] and mine[8:10] == theirs[5:7]
    missing_time = valid_records["child_birth_time"].is_null().mean()
    assert 0.005 <= missing_time <= 0.02


def test_true_outlier_hospitals_stand_out_on_their_indicator(generated: dict) -> None:
    outliers = pl.read_csv(generated["out_dir"] / "_truth" / "outliers.csv", infer_schema=False)
    assert outliers.columns == ["org_code", "indicator", "direction"]
    assert {"caesarean", "referral_labour"} <= set(outliers["indicator"])
    births = pl.read_parquet(generated["out_dir"] / "_truth" / f"births-{YEAR}.parquet").filter(
        pl.col("birth_order") == 1)
    caesarean = pl.col("mode_of_birth") == "caesarean"
    national = births.select(caesarean.mean()).item()
    caesarean_outliers = outliers.filter(pl.col("indicator") == "caesarean").select("org_code", "direction")
    for org, direction in caesarean_outliers.iter_rows():
        own = births.filter(pl.col("hospital_code") == org).select(caesarean.mean()).item()
        assert (own > national * 1.3) if direction == "higher" else (own < national * 0.75), (org, own, national)
