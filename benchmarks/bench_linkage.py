"""Benchmark: linkage quality, speed and memory on the synthetic national deliveries.

Usage:
    .venv/bin/python benchmarks/bench_linkage.py [--years 2024] [--scale 1.0] [--seed 7]
    .venv/bin/python benchmarks/bench_linkage.py --years 2015-2024      # ten years

Steps: generate the deliveries once (`synthetic.deliveries.generate_deliveries`, cached under
`data/bench/`), validate them with the loader's validator and keep the latest version of each dossier
(what a refresh stores), then in a fresh child process — so its peak memory is its own — run
`link_records`, `derive_births` and `linkage_summary`. Prints seconds, peak RSS, records per second, the
ratio to a baseline measured in the same run (sorting the same records on the linkage fields: the least
any linkage has to do), and the pairwise precision and recall against the generator's
`_truth/links.csv` (target: both ≥ 99.5%).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = PROJECT_ROOT / "data" / "bench"
REFERENCE_DIR = PROJECT_ROOT / "data" / "reference"
sys.path.insert(0, str(PROJECT_ROOT))  # run as a script: the project's packages are imported lazily below

CHILD_LINK = """
import json, sys, time
from pathlib import Path
import polars as pl
from loader.derive import derive_births, linkage_summary
from loader.linkage import LINKAGE_FIELDS, link_records, pairwise_quality

records_file, truth_file, reference = sys.argv[1], sys.argv[2], sys.argv[3]
records = pl.read_parquet(records_file)
organisations = pl.read_csv(f"{reference}/organisations.csv", infer_schema=False)
postcode_ses = pl.read_csv(f"{reference}/postcode_ses.csv", infer_schema=False)
percentiles = pl.read_csv(f"{reference}/birthweight-percentiles-hoftiezer.csv")

def peak_mb():
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork and exec.
    line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmHWM"))
    return int(line.split()[1]) / 1024


def current_mb():
    line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmRSS"))
    return int(line.split()[1]) / 1024


rss_before = current_mb()

start = time.perf_counter()
records.sort(list(LINKAGE_FIELDS))  # baseline; its memory is freed before the peak matters
baseline = time.perf_counter() - start

start = time.perf_counter()
linked = link_records(records, organisations)
link_seconds = time.perf_counter() - start
start = time.perf_counter()
births = derive_births(linked, organisations, postcode_ses, percentiles)
derive_seconds = time.perf_counter() - start
start = time.perf_counter()
summary = linkage_summary(linked)
summary_seconds = time.perf_counter() - start
peak = peak_mb()

quality = pairwise_quality(linked, pl.read_csv(truth_file, infer_schema=False))
national = summary.filter(pl.col("org_code") == "*").sort("discipline")
print(json.dumps({
    "records": records.height, "children": births.height,
    "link_seconds": round(link_seconds, 2), "derive_seconds": round(derive_seconds, 2),
    "summary_seconds": round(summary_seconds, 2), "baseline_sort_seconds": round(baseline, 3),
    "link_ratio_to_sort": round(link_seconds / baseline, 1),
    "records_per_second_link": round(records.height / link_seconds),
    "rss_after_reading_mb": round(rss_before), "peak_rss_mb": round(peak),
    "peak_increase_for_link_and_derive_mb": round(peak - rss_before),
    "link_methods": dict(linked.group_by("link_method").len().iter_rows()),
    "linkage_rate": {d: r for d, r in national.select("discipline", "linkage_rate").iter_rows()},
    **{f"truth_{key}" if key == "records" else key: (round(value, 5) if isinstance(value, float) else value)
       for key, value in quality.items()},
}))
"""


def parse_years(text: str) -> list[int]:
    if "-" in text:
        first, last = (int(part) for part in text.split("-"))
        return list(range(first, last + 1))
    return [int(year) for year in text.split(",")]


def generate(years: list[int], seed: int, scale: float) -> Path:
    """The delivery folder for these years (generated once, then reused)."""
    out = BENCH_DIR / f"linkage-{years[0]}-{years[-1]}-seed{seed}-scale{scale}"
    if not (out / "_truth" / "links.csv").exists():
        from synthetic.deliveries import generate_deliveries

        start = time.perf_counter()
        generate_deliveries(years, seed, out, scale=scale)
        print(f"generated {out.name} in {time.perf_counter() - start:.1f} s", flush=True)
    return out


def stored_records(deliveries: Path) -> Path:
    """Validate the deliveries and keep the latest version per dossier, as a refresh stores them."""
    target = deliveries.with_name(deliveries.name + "-records.parquet")
    if target.exists():
        return target
    import polars as pl

    from loader.finding import find_delivery_files, read_delivery_file
    from loader.validate import validate_deliveries

    paths = find_delivery_files(deliveries)
    organisations = pl.read_csv(REFERENCE_DIR / "organisations.csv", infer_schema=False)
    start = time.perf_counter()
    accepted = validate_deliveries([read_delivery_file(path) for path in paths], organisations).accepted.drop(
        "file_index", "line_number")
    records = (
        accepted.sort("dossier_version", descending=True)
        .unique(["org_code", "discipline", "dossier_id"], keep="first")
        .sort("org_code", "discipline", "dossier_id")
    )
    records.write_parquet(target)
    print(f"read {len(paths)} files, {records.height} records kept, in {time.perf_counter() - start:.1f} s",
          flush=True)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--years", default="2024", help="e.g. 2024, 2022-2024 or 2015-2024")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scale", type=float, default=1.0)
    arguments = parser.parse_args()
    years = parse_years(arguments.years)
    deliveries = generate(years, arguments.seed, arguments.scale)
    records = stored_records(deliveries)
    completed = subprocess.run(
        [sys.executable, "-c", CHILD_LINK, str(records), str(deliveries / "_truth" / "links.csv"), str(REFERENCE_DIR)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    if completed.returncode != 0:
        raise SystemExit(f"linkage run failed:\n{completed.stderr[-3000:]}")
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    print(json.dumps({"years": arguments.years, "scale": arguments.scale, **result}, indent=2))
    if min(result["precision"], result["recall"]) < 0.995:
        print("BELOW TARGET: precision and recall must both be >= 0.995", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
