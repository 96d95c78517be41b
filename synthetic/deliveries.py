"""Synthetic national deliveries: the files care organisations would send, plus the truth behind them.

`generate_deliveries` writes, per year, one CSV per organisation per month per discipline in the format of
`contracts/delivery_format.py` into `out_dir/YYYY-MM/`, and the truth into `out_dir/_truth/` (a folder the
loader skips): which record belongs to which child (`links.csv`), every planted error
(`planted_errors.csv`), the resends (`resends.csv`), the true outliers (`outliers.csv`) and the true births
(`births-YYYY.parquet`). `docs/synthetic-data.md` describes it all.

A share of the organisations (`fhir_share`, chosen by the seed, the same ones every year) sends FHIR instead:
their files are NDJSON files of FHIR R4 Bundles (`synthetic.fhir`), the same records. Files the generator breaks,
plants errors in or resends stay CSV, so that the truth about them (which line, which error) holds as written.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import polars as pl

from contracts.delivery_format import COLUMNS, Discipline
from synthetic.births import simulate_year, women_for_year
from synthetic.birthweight import BirthWeightTable
from synthetic.errors import choose_broken_files, choose_resends, plant_record_errors
from synthetic.fhir import ndjson_of
from synthetic.organisations import load_organisations, load_postcode_ses
from synthetic.population import draw_organisation_effects, register_arrays
from synthetic.records import discipline_records, mark_objections

TRUTH_DIR_NAME = "_truth"
WRONG_HEADER_RENAME = ("birth_weight_g", "geboortegewicht")
PROGRESS_EVERY_FILES = 500

Progress = Callable[[str, int, int], None]


def sends_fhir(org_code: str, seed: int, fhir_share: float) -> bool:
    """Whether an organisation sends FHIR: a share `fhir_share` of them, the same ones for a seed every year."""
    return zlib.crc32(f"{seed}:{org_code}".encode()) % 10_000 < fhir_share * 10_000


def generate_deliveries(years: list[int], seed: int, out_dir: Path, scale: float = 1.0,
                        progress: Progress | None = None, fhir_share: float = 0.0) -> dict:
    """Write synthetic deliveries for `years` into `out_dir` and return a summary of what was written.

    Deterministic: the same years, seed and scale give byte-identical files. Each year is generated on its
    own (bounded memory) from (seed, year), with organisation habits drawn from the seed alone. `fhir_share`: the
    share of organisations that send FHIR (see the module's docstring); 0 for CSV only, 1 for FHIR wherever it can.
    """
    if not 0 <= fhir_share <= 1:
        raise ValueError(f"fhir_share must lie in 0-1, got {fhir_share}")
    if not all(2000 <= year <= 2099 for year in years):  # child ids are built from (year - 2000)
        raise ValueError(f"years must lie in 2000-2099, got {years}")
    report = progress or (lambda _stage, _done, _total: None)
    out_dir = Path(out_dir)
    truth_dir = out_dir / TRUTH_DIR_NAME
    truth_dir.mkdir(parents=True, exist_ok=True)
    register = register_arrays(load_organisations(), load_postcode_ses())
    effects = draw_organisation_effects(register, seed)
    effects.outliers.write_csv(truth_dir / "outliers.csv")
    weights = BirthWeightTable()

    summary: dict = {"years": sorted(years), "seed": seed, "scale": scale, "women": 0, "births": 0,
                     "records": {str(d): 0 for d in Discipline}, "files": 0, "broken_files": 0,
                     "planted_errors": 0, "objections": 0, "objected_records": 0, "resends": 0,
                     "resent_records": 0, "fhir_files": 0}
    truth_files = {name: truth_dir / f"{name}.csv" for name in ("links", "planted_errors", "resends")}
    for path in truth_files.values():
        path.unlink(missing_ok=True)
    for year_number, year in enumerate(sorted(years)):
        report(f"{year}: births", year_number, len(years))
        children = mark_objections(simulate_year(year, women_for_year(scale), register, effects, weights, seed),
                                   seed, year)
        children.write_parquet(truth_dir / f"births-{year}.parquet")
        truth, counts = _write_year(discipline_records(children, seed, year), out_dir, seed, year, report,
                                    fhir_share)
        first = year_number == 0
        for name, frame in truth.items():
            with truth_files[name].open("w" if first else "a", encoding="utf-8", newline="") as handle:
                frame.write_csv(handle, include_header=first)

        summary["women"] += children.filter(pl.col("birth_order") == 1).height
        summary["births"] += children.height
        summary["objections"] += children.filter(pl.col("objection") & (pl.col("birth_order") == 1)).height
        for discipline, count in truth["links"].group_by("discipline").len().iter_rows():
            summary["records"][discipline] += count
        errors = truth["planted_errors"]
        summary["planted_errors"] += errors.filter(pl.col("line_number") > 0).height
        summary["broken_files"] += errors.filter(pl.col("line_number") == 0).height
        summary["resends"] += truth["resends"]["file_name"].n_unique()
        summary["resent_records"] += truth["resends"].height
        summary["objected_records"] += counts["objected_records"]
        summary["files"] += counts["files"]
        summary["fhir_files"] += counts["fhir_files"]
    report("done", len(years), len(years))
    return summary


def _write_year(records: pl.DataFrame, out_dir: Path, seed: int, year: int, report: Progress,
                fhir_share: float = 0.0) -> tuple[dict[str, pl.DataFrame], dict[str, int]]:
    """Plant errors, write the year's delivery files; returns its truth frames and counts."""
    records = records.with_columns(
        file_name=pl.format("{}_{}_{}.csv", "discipline", "org_code", "month"), sender=pl.col("org_code"),
    ).sort("file_name", "child_birth_date", "sort_minute", "dossier_id")
    # Line 1 is the header, so the first record of a file is on line 2.
    records = records.with_columns(line_number=pl.int_range(2, pl.len() + 2).over("file_name"))
    unsafe = records.select(pl.any_horizontal(pl.col(COLUMNS).str.contains(r'[,"\r\n]')).any()).item()
    if unsafe:  # the lines below are joined without CSV quoting, so no value may need it
        raise ValueError("a generated value contains a comma, quote or line break")
    planted = plant_record_errors(records, seed, year)
    files_with_errors = set(planted.records.filter(pl.col("error_kind").is_not_null())["file_name"].to_list())
    file_names = records["file_name"].unique().sort().to_list()
    broken = choose_broken_files(file_names, files_with_errors, seed, year)
    records, resend_rows = choose_resends(planted, broken, seed, year)

    resend_rows = resend_rows.with_columns(original_file=pl.col("file_name"),
                                           file_name=pl.col("file_name").str.replace(r"\.csv$", "_resend1.csv"))
    # One text line per record, built column-wise; files are then just their lines joined.
    as_lines = [pl.concat_str([pl.col(c).fill_null("") for c in COLUMNS], separator=",").alias("line")]
    files = pl.concat([
        records.select("file_name", "month", *as_lines), resend_rows.select("file_name", "month", *as_lines),
    ]).group_by("file_name", maintain_order=True).agg(pl.col("month").first(), pl.col("line").str.join("\n"))
    resent = set(resend_rows["original_file"].to_list())
    fhir_files = {name for name in file_names if name not in files_with_errors and name not in broken
                  and name not in resent and sends_fhir(name.split("_")[1], seed, fhir_share)}
    by_file = records.filter(pl.col("file_name").is_in(list(fhir_files))).partition_by("file_name", as_dict=True)
    stage = f"{year}: files"
    for done, (file_name, month, body) in enumerate(files.iter_rows()):
        folder = out_dir / month
        folder.mkdir(parents=True, exist_ok=True)
        if file_name in fhir_files:
            fhir_text = ndjson_of(by_file[(file_name,)])
            (folder / file_name.removesuffix(".csv")).with_suffix(".ndjson").write_bytes(fhir_text.encode("utf-8"))
        else:
            _write_file(folder / file_name, body, broken.get(file_name))
        if done % PROGRESS_EVERY_FILES == 0:
            report(stage, done, files.height)
    report(stage, files.height, files.height)

    empty_files = [name for name, kind in broken.items() if kind == "empty_file"]
    written_records = records.filter(~pl.col("file_name").is_in(empty_files))
    links = written_records.select("discipline", org_code="sender", dossier_id="dossier_id", child_id="child_id",
                                   birth_event_id="birth_event_id").sort("discipline", "org_code", "dossier_id")
    record_errors = records.filter(pl.col("error_kind").is_not_null()).select(
        "file_name", "line_number", "dossier_id", "error_kind", field="error_field")
    file_errors = pl.DataFrame(
        {"file_name": list(broken), "line_number": [0] * len(broken), "dossier_id": [None] * len(broken),
         "error_kind": list(broken.values()),
         "field": [WRONG_HEADER_RENAME[0] if kind == "wrong_header" else None for kind in broken.values()]},
        schema={"file_name": pl.Utf8, "line_number": pl.Int64, "dossier_id": pl.Utf8, "error_kind": pl.Utf8,
                "field": pl.Utf8})
    planted_errors = pl.concat([record_errors.with_columns(pl.col("line_number").cast(pl.Int64)), file_errors])
    truth = {
        "links": links,
        "planted_errors": planted_errors.sort("file_name", "line_number"),
        "resends": resend_rows.select("file_name", "original_file", "dossier_id", reason="resend_reason",
                                      field="resend_field").sort("file_name", "dossier_id"),
    }
    counts = {"objected_records": int((written_records["objection"] == "1").sum()), "files": files.height,
              "fhir_files": len(fhir_files)}
    return truth, counts


def _write_file(path: Path, body: str, broken_kind: str | None) -> None:
    """One delivery file from its data lines: a normal UTF-8 CSV, or broken in the way `broken_kind` says."""
    header = ",".join(COLUMNS)
    if broken_kind == "wrong_header":
        header = header.replace(WRONG_HEADER_RENAME[0], WRONG_HEADER_RENAME[1])
    text = f"{header}\n{body}\n"
    if broken_kind in (None, "wrong_header"):
        path.write_bytes(text.encode("utf-8"))
    elif broken_kind == "empty_file":
        path.write_bytes(b"")
    elif broken_kind == "not_utf8":
        path.write_bytes(text.encode("utf-16"))
    elif broken_kind == "not_csv":
        # The CSV zipped by mistake; a fixed timestamp keeps the bytes reproducible.
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(zipfile.ZipInfo(path.name, date_time=(2020, 1, 1, 0, 0, 0)), text)
        path.write_bytes(buffer.getvalue())
    else:
        raise ValueError(f"unknown broken-file kind {broken_kind!r}")
