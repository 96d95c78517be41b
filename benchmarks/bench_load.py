"""Benchmark: generate and load one year and ten years of synthetic national deliveries.

Usage:
    .venv/bin/python benchmarks/bench_load.py [--years 2024] [--ten-years] [--databases sqlite,postgres]
    .venv/bin/python benchmarks/bench_load.py --fhir [--scale 1.0] [--databases sqlite]
    .venv/bin/python benchmarks/bench_load.py --mixed [--scale 1.0]

Every step runs in a child process so its peak memory (ru_maxrss) is its own. Machines here are shared
and noisy, so next to the wall-clock seconds each load is also given as a ratio against a baseline
measured in the same run: reading the same delivery files with `polars.read_csv` and nothing else (the
least any loader has to do). Targets (issue 2): one year validated, linked and published in < 60 s;
ten years with peak memory < 4 GB.

`--fhir` (issue 16): the same year generated twice from the same seed, once as CSV and once with every organisation
sending FHIR (NDJSON of R4 Bundles, `generate_deliveries(fhir_share=1.0)`; the generator keeps the files it plants
errors in as CSV), and the same files loaded both ways in this run: records per second and peak memory of each, and
the FHIR load as a ratio to the CSV load (target: within 3×). `--mixed`: a year with half the organisations sending
FHIR, loaded beside the same year as CSV only: the same births published, and the linkage's precision and recall
against the generator's truth (target ≥ 99.5%).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = PROJECT_ROOT / "data" / "bench"
POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

CHILD_GENERATE = """
import sys, json
from pathlib import Path
from synthetic.deliveries import generate_deliveries
years = json.loads(sys.argv[1]); out = Path(sys.argv[2])
scale, share = float(sys.argv[3]), float(sys.argv[4])
print(json.dumps(generate_deliveries(years, 7, out, scale=scale, fhir_share=share), default=str))
"""

CHILD_BASELINE = """
import sys
from pathlib import Path
import polars as pl
rows = 0
for path in sorted(Path(sys.argv[1]).rglob("*.csv")):
    if any(part.startswith("_") for part in path.relative_to(sys.argv[1]).parts):
        continue
    try:
        rows += pl.read_csv(path, infer_schema=False).height
    except Exception:
        pass
print(rows)
"""

CHILD_LOAD = """
import sys, json, dataclasses
from pathlib import Path
from tables.database import make_engine
from loader.refresh import run_refresh
summary = run_refresh(Path(sys.argv[1]), make_engine(sys.argv[2]))
import resource
import loader.validate
for pool in loader.validate._POOLS.values():  # the reading processes, so that their peak memory is counted
    if pool is not None:
        pool.shutdown()
workers_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({**dataclasses.asdict(summary), "reading_processes_peak_mb": round(workers_mb)}, default=str))
"""


PEAK_SUFFIX = "\nimport resource\nprint(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"


def run_child(code: str, *arguments: str) -> tuple[float, float, str]:
    """Run `code` in a fresh interpreter; return (seconds, its own peak RSS in MB, its result line)."""
    start = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", code + PEAK_SUFFIX, *arguments], cwd=PROJECT_ROOT, capture_output=True,
        text=True, env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    seconds = time.perf_counter() - start
    if completed.returncode != 0:
        raise SystemExit(f"child failed:\n{completed.stderr[-3000:]}")
    *_, result_line, peak_kb = completed.stdout.strip().splitlines()
    return seconds, int(peak_kb) / 1024, result_line


def database_urls(kinds: list[str], workdir: Path) -> dict[str, str]:
    urls: dict[str, str] = {}
    for kind in kinds:
        if kind == "sqlite":
            urls[kind] = f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:6]}.db'}"
        elif kind == "postgres":
            from sqlalchemy import create_engine, text

            name = f"perispiegel_bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'create database "{name}"'))
            urls[kind] = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    return urls


def drop_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'drop database if exists "{url.rsplit("/", 1)[1]}" with (force)'))


def load_each(folder: Path, kinds: list[str], workdir: Path) -> Iterator[tuple[str, float, float, dict]]:
    """Load `folder` into a fresh database of each kind, each in a child process: (kind, seconds, peak MB, the
    refresh's summary)."""
    for kind, url in database_urls(kinds, workdir).items():
        try:
            seconds, peak, line = run_child(CHILD_LOAD, str(folder), url)
        finally:
            if kind == "postgres":
                drop_postgres(url)
        yield kind, seconds, peak, json.loads(line)


def bench(label: str, years: list[int], kinds: list[str], scale: float = 1.0, fhir_share: float = 0.0) -> list[dict]:
    suffix = ("" if scale == 1.0 else f"-scale{scale}") + (f"-fhir{fhir_share}" if fhir_share else "")
    deliveries = BENCH_DIR / f"deliveries-{years[0]}-{years[-1]}{suffix}"
    results: list[dict] = []
    if not (deliveries / "_truth").exists():
        seconds, peak, line = run_child(CHILD_GENERATE, json.dumps(years), str(deliveries), str(scale),
                                        str(fhir_share))
        generated = json.loads(line)
        results.append({"step": f"generate {label}", "seconds": seconds, "peak_mb": peak, "detail": generated})
        print(f"generate {label}: {seconds:.1f} s, peak {peak:.0f} MB, {generated}", flush=True)
    baseline_seconds, _, rows = run_child(CHILD_BASELINE, str(deliveries))
    print(f"baseline read_csv {label}: {baseline_seconds:.1f} s for {rows} records", flush=True)
    with tempfile.TemporaryDirectory() as workdir:
        for kind, seconds, peak, summary in load_each(deliveries, kinds, Path(workdir)):
            records = summary.get("records_read", 0)
            row = {
                "step": f"load {label} {kind}", "seconds": round(seconds, 1), "peak_mb": round(peak),
                "records": records, "records_per_second": round(records / seconds),
                "ratio_to_read_csv": round(seconds / baseline_seconds, 1),
                "births": summary.get("births"), "linkage_rate": summary.get("linkage_rate"),
            }
            results.append(row)
            print(json.dumps(row), flush=True)
    return results


def compare_fhir(year: int, kinds: list[str], scale: float) -> None:
    """The same delivery files loaded as CSV and as FHIR in this run: records per second and peak memory of each, and
    the FHIR load's time as a ratio to the CSV load's.

    The generator keeps as CSV the files it plants errors in (`synthetic.deliveries`), so "the same files" are those
    it wrote as FHIR: from the CSV year those files are loaded, from the FHIR year the same files as NDJSON."""
    suffix = "" if scale == 1.0 else f"-scale{scale}"
    csv_year = BENCH_DIR / f"deliveries-{year}-{year}{suffix}"
    fhir_year = BENCH_DIR / f"deliveries-{year}-{year}-fhir{suffix}"
    for folder, share in ((csv_year, 0.0), (fhir_year, 1.0)):
        if not (folder / "_truth").exists():
            seconds, peak, _ = run_child(CHILD_GENERATE, json.dumps([year]), str(folder), str(scale), str(share))
            print(f"generate {folder.name}: {seconds:.1f} s, peak {peak:.0f} MB", flush=True)
    fhir_files = sorted(fhir_year.glob("*/*.ndjson"))
    with tempfile.TemporaryDirectory() as workdir:
        same_csv, same_fhir = Path(workdir) / "csv", Path(workdir) / "fhir"
        for path in fhir_files:
            for source, target, name in ((csv_year, same_csv, path.with_suffix(".csv").name),
                                         (fhir_year, same_fhir, path.name)):
                (target / path.parent.name).mkdir(parents=True, exist_ok=True)
                os.link(source / path.parent.name / name, target / path.parent.name / name)
        rows = {}
        for label, folder in (("CSV", same_csv), ("FHIR", same_fhir)):
            for kind, seconds, peak, summary in load_each(folder, kinds, Path(workdir)):
                rows[(label, kind)] = {"step": f"load {len(fhir_files):,} files as {label}", "database": kind,
                                       "seconds": round(seconds, 1), "peak_mb": round(peak),
                                       "worker_peak_mb": summary.get("reading_processes_peak_mb"),
                                       "records": summary["records_read"],
                                       "records_per_second": round(summary["records_read"] / seconds),
                                       "births": summary["births"], "linkage_rate": summary["linkage_rate"]}
                print(json.dumps(rows[(label, kind)]), flush=True)
    print("\nsummary (the same files as CSV and as FHIR, this run)")
    for kind in kinds:
        csv_row, fhir_row = rows[("CSV", kind)], rows[("FHIR", kind)]
        print(json.dumps({"database": kind, "fhir_to_csv_seconds": round(fhir_row["seconds"] / csv_row["seconds"], 1),
                          "fhir_records_per_second": fhir_row["records_per_second"],
                          "csv_records_per_second": csv_row["records_per_second"],
                          "fhir_peak_mb": fhir_row["peak_mb"], "fhir_worker_peak_mb": fhir_row["worker_peak_mb"],
                          "csv_peak_mb": csv_row["peak_mb"],
                          "same_births": fhir_row["births"] == csv_row["births"]}))


CHILD_MIXED_CHECK = """
import sys, json
from pathlib import Path
import polars as pl
from sqlalchemy import create_engine
from loader.bulk import read_records
from loader.linkage import link_records, pairwise_quality
out, url, csv_url = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
with create_engine(url).connect() as connection:
    births = pl.read_database("SELECT * FROM births", connection).drop("data_version")
    stored = read_records(connection)
with create_engine(csv_url).connect() as connection:
    csv_births = pl.read_database("SELECT * FROM births", connection).drop("data_version")
organisations = pl.read_csv("data/reference/organisations.csv", infer_schema=False)
truth = pl.read_csv(out / "_truth" / "links.csv", infer_schema=False)
quality = pairwise_quality(link_records(stored, organisations), truth)
columns = births.columns
print(json.dumps({"births": births.height, "csv_births": csv_births.height,
                  "same_births": births.sort(columns).equals(csv_births.sort(columns)),
                  "precision": round(quality["precision"], 5), "recall": round(quality["recall"], 5)}))
"""


def mixed_year(year: int, scale: float, share: float = 0.5) -> None:
    """A national year with a share of the organisations sending FHIR, against the same year as CSV only: the
    published births compared row by row, and the linkage's precision and recall against the generator's truth."""
    suffix = "" if scale == 1.0 else f"-scale{scale}"
    csv_year = BENCH_DIR / f"deliveries-{year}-{year}{suffix}"
    mixed = BENCH_DIR / f"deliveries-{year}-{year}-mixed{share}{suffix}"
    for folder, fhir_share in ((csv_year, 0.0), (mixed, share)):
        if not (folder / "_truth").exists():
            seconds, peak, line = run_child(CHILD_GENERATE, json.dumps([year]), str(folder), str(scale),
                                            str(fhir_share))
            print(f"generate {folder.name}: {seconds:.1f} s, {json.loads(line)['fhir_files']} FHIR files", flush=True)
    with tempfile.TemporaryDirectory() as workdir:
        urls = {name: f"sqlite:///{Path(workdir) / f'{name}.db'}" for name in ("csv", "mixed")}
        for name, folder in (("csv", csv_year), ("mixed", mixed)):
            seconds, peak, line = run_child(CHILD_LOAD, str(folder), urls[name])
            summary = json.loads(line)
            print(json.dumps({"load": name, "seconds": round(seconds, 1), "peak_mb": round(peak),
                              "records": summary["records_read"], "births": summary["births"],
                              "linkage_rate": summary["linkage_rate"]}), flush=True)
        _, _, line = run_child(CHILD_MIXED_CHECK, str(mixed), urls["mixed"], urls["csv"])
        print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--year", type=int, default=2024)
    parser.add_argument("--ten-years", action="store_true", help="also 2015-2024 (takes several minutes)")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--fhir", action="store_true", help="one year as CSV and as FHIR, the FHIR load against CSV")
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 ≈ 165,000 births a year")
    parser.add_argument("--mixed", action="store_true",
                        help="half the organisations send FHIR: the same births as CSV only, and the linkage quality")
    arguments = parser.parse_args()
    kinds = [kind for kind in arguments.databases.split(",") if kind]
    if arguments.fhir:
        compare_fhir(arguments.year, kinds, arguments.scale)
        return
    if arguments.mixed:
        mixed_year(arguments.year, arguments.scale)
        return
    results = bench("1 year", [arguments.year], kinds)
    if arguments.ten_years:
        results += bench("10 years", list(range(arguments.year - 9, arguments.year + 1)), kinds)
    print("\nsummary")
    for row in results:
        print(json.dumps(row, default=str))


if __name__ == "__main__":
    main()
