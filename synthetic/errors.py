"""What goes wrong in real deliveries, planted on purpose so the loader's handling can be tested.

- Record-level technical errors in ~2% of records (more in a few sloppy organisations' records), of the
  kinds in `ERROR_KINDS`; each one makes the record invalid under `contracts/delivery_format.py`.
- Whole files broken (2-4 a year): empty, wrong header, not UTF-8, not CSV.
- Resends: a few files a year get a `_resend1` file with version 2 of dossiers that were sent with a
  technical error or a wrong (but valid-looking) value.
Every plant is listed in the truth files, so tests can check that the loader finds exactly these.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass

import numpy as np
import polars as pl

from contracts.delivery_format import Discipline

RECORD_ERROR_RATE = 0.019
ERROR_KINDS = {  # kind: share of planted record errors
    "wrong_code": 0.22, "impossible_date": 0.12, "missing_required": 0.22, "weight_in_kilograms": 0.14,
    "gestational_age_out_of_range": 0.1, "org_code_mismatch": 0.08, "non_integer": 0.12,
}
WRONG_CODES = {
    "child_sex": ("X", "V", "man"), "mode_of_birth": ("sectio", "kunstverlossing"),
    "onset_of_labour": ("spontaan", "inleiding"), "place_of_birth": ("thuis", "ziekenhuis"),
    "vital_status_birth": ("levend",), "presentation": ("stuit", "hoofd"),
}
MIDWIFE_OBSTETRICIAN_REQUIRED = ("mother_birth_date", "mother_postcode4", "child_sex", "gestational_age_days",
                                 "parity", "mode_of_birth", "onset_of_labour", "care_level_onset", "place_of_birth")
PAEDIATRICIAN_REQUIRED = ("mother_birth_date", "mother_postcode4", "child_sex", "gestational_age_days",
                          "nicu_admission")
BROKEN_FILE_KINDS = ("empty_file", "wrong_header", "not_utf8", "not_csv")
RESEND_FILES_PER_YEAR = (3, 6)  # at least, at most (exclusive)


@dataclass(frozen=True)
class PlantedErrors:
    records: pl.DataFrame  # the records with errors applied, plus `error_kind`/`error_field` (null = clean)
    clean: pl.DataFrame  # the same records before any plant (what a correction sends)


def plant_record_errors(records: pl.DataFrame, seed: int, year: int) -> PlantedErrors:
    """Put one technical error into ~2% of the (non-objected) records; `records` must be in file order."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, year, 2]))
    organisations = records["org_code"].unique().sort()
    sloppiness = dict(zip(organisations.to_list(), rng.lognormal(-0.18, 0.6, len(organisations)), strict=True))
    rate = RECORD_ERROR_RATE * records["org_code"].replace_strict(sloppiness, return_dtype=pl.Float64).to_numpy()
    chosen = np.flatnonzero((rng.random(records.height) < np.minimum(rate, 0.15))
                            & (records["objection"].to_numpy() == "0"))
    kinds = rng.choice(list(ERROR_KINDS), len(chosen), p=np.array(list(ERROR_KINDS.values())))

    error_kind = np.full(records.height, None, dtype=object)
    error_field = np.full(records.height, None, dtype=object)
    spoiled: dict[str, tuple[list[int], list[str | None]]] = {}
    org_codes = np.array(organisations.to_list())
    for row, kind in zip(chosen, kinds, strict=True):
        field, value = _error(kind, records.row(int(row), named=True), rng, org_codes)
        rows, values = spoiled.setdefault(field, ([], []))
        rows.append(int(row))
        values.append(value)
        error_kind[row], error_field[row] = kind, field
    columns = []
    for field, (rows, values) in spoiled.items():
        column = records[field].clone()
        column.scatter(rows, pl.Series(values, dtype=pl.Utf8))
        columns.append(column)
    planted = records.with_columns(
        *columns,
        pl.Series("error_kind", error_kind.tolist(), dtype=pl.Utf8),
        pl.Series("error_field", error_field.tolist(), dtype=pl.Utf8),
    )
    return PlantedErrors(records=planted, clean=records)


def _error(kind: str, record: dict, rng: np.random.Generator, org_codes: np.ndarray) -> tuple[str, str | None]:
    """The field to spoil and its spoiled text for one record."""
    paediatric = record["discipline"] == Discipline.PAEDIATRICIAN
    if kind == "weight_in_kilograms" and record["birth_weight_g"] is None:
        kind = "missing_required"
    if kind == "non_integer" and paediatric:
        return "plurality", "een"
    if kind == "wrong_code":
        options = ["child_sex", "vital_status_birth"] if paediatric else list(WRONG_CODES)
        field = str(rng.choice(options))
        return field, str(rng.choice(WRONG_CODES[field]))
    if kind == "impossible_date":
        field = str(rng.choice(["mother_birth_date", "child_birth_date"]))
        year, month = int(record[field][:4]), int(record[field][5:7])
        # A day just past the end of the record's own month: the date is impossible, the month is unchanged.
        return field, f"{year:04d}-{month:02d}-{calendar.monthrange(year, month)[1] + 1:02d}"
    if kind == "missing_required":
        return str(rng.choice(PAEDIATRICIAN_REQUIRED if paediatric else MIDWIFE_OBSTETRICIAN_REQUIRED)), None
    if kind == "weight_in_kilograms":
        return "birth_weight_g", f"{int(record['birth_weight_g']) / 1000:.2f}"
    if kind == "gestational_age_out_of_range":
        return "gestational_age_days", str(int(record["gestational_age_days"]) // 7)  # weeks sent as days
    if kind == "org_code_mismatch":
        same_type = org_codes[np.char.startswith(org_codes, record["org_code"][0]) & (org_codes != record["org_code"])]
        return "org_code", str(rng.choice(same_type)) if len(same_type) else record["org_code"] + "X"
    # non_integer in a midwife or obstetrician record: a word or a unit where a whole number belongs
    options = ["parity"] + [name for name in ("blood_loss_ml", "apgar_5min") if record[name] is not None]
    field = str(rng.choice(options))
    if field == "parity":
        return field, ("geen", "een", "twee", "drie")[min(int(record["parity"]), 3)]
    if field == "blood_loss_ml":
        return field, f"{record['blood_loss_ml']} ml"
    return field, f"{record['apgar_5min']}/10"


def choose_broken_files(file_names: list[str], files_with_errors: set[str], seed: int, year: int) -> dict[str, str]:
    """2-4 files of the year that will be broken as a whole: file name -> kind."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, year, 3]))
    candidates = [name for name in file_names if name not in files_with_errors]
    count = min(int(rng.integers(2, 5)), len(candidates))
    chosen = rng.choice(len(candidates), count, replace=False)
    kinds = rng.permutation(BROKEN_FILE_KINDS)
    return {candidates[i]: str(kinds[k % len(kinds)]) for k, i in enumerate(sorted(chosen))}


def choose_resends(planted: PlantedErrors, broken: dict[str, str], seed: int,
                   year: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Pick a few files with errors to be corrected by a resend, and plant "wrong values" in some of their
    valid records that the resend also corrects.

    Returns (records with the wrong values applied, resend rows): the resend rows are the clean versions with
    dossier_version 2, plus `resend_reason` (technical_error / wrong_value) and `resend_field`."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, year, 4]))
    records = planted.records
    with_errors = records.filter(pl.col("error_kind").is_not_null() & ~pl.col("file_name").is_in(list(broken)))
    files = with_errors["file_name"].unique().sort().to_list()
    # Hospitals resend as well as practices, although practices send most of the (small) files.
    hospital_files = [name for name in files if not name.startswith(f"{Discipline.MIDWIFE}_")]
    practice_files = [name for name in files if name.startswith(f"{Discipline.MIDWIFE}_")]
    count = int(rng.integers(*RESEND_FILES_PER_YEAR))
    from_hospitals = min(count // 2, len(hospital_files))
    from_practices = min(count - from_hospitals, len(practice_files))
    resend_files = sorted([*rng.choice(hospital_files, from_hospitals, replace=False).tolist(),
                           *rng.choice(practice_files, from_practices, replace=False).tolist()])

    row = np.arange(records.height)
    in_resend_file = records["file_name"].is_in(resend_files).to_numpy()
    clean_rows = in_resend_file & records["error_kind"].is_null().to_numpy() & (records["objection"] == "0").to_numpy()
    wrong_value = clean_rows & (rng.random(records.height) < 0.15) & records["birth_weight_g"].is_not_null().to_numpy()
    corrected = in_resend_file & records["error_kind"].is_not_null().to_numpy()

    # A typed-in weight with two digits swapped: still a valid number of grams, just wrong.
    weights = records["birth_weight_g"].to_list()
    for r in row[wrong_value]:
        digits = list(weights[r])
        digits[1], digits[2] = digits[2], digits[1]
        weights[r] = "".join(digits)
    wrong_value &= (pl.Series(weights, dtype=pl.Utf8) != records["birth_weight_g"]).fill_null(False).to_numpy()
    records = records.with_columns(pl.Series("birth_weight_g", weights, dtype=pl.Utf8))

    reason = np.where(corrected, "technical_error", "wrong_value")
    field = np.where(corrected, np.array(records["error_field"].fill_null("").to_list()), "birth_weight_g")
    resend_rows = planted.clean.with_columns(
        dossier_version=pl.lit("2"), resend_reason=pl.Series(reason), resend_field=pl.Series(field),
    ).filter(pl.Series(corrected | wrong_value))
    return records, resend_rows
