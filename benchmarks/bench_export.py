"""Benchmark of the largest export (issue 12): all indicators × all practices × every month of ten years, as a
researcher (every practice a peer: size bands per month, pseudonyms), in each format — time, rows, bytes, and the
memory it takes beyond the loaded data.

    .venv/bin/python benchmarks/bench_export.py                          # perispiegel_bench (bench_queries.py)
    .venv/bin/python benchmarks/bench_export.py --database URL --formats csv,parquet --level hospital

Each format runs in a child process of its own, so that one format's memory high-water mark is not another's: the
child loads the data version (the store's snapshot, as a server holds it), samples its resident memory every 10 ms
from /proc while it writes the export to a file, and reports the peak above what it held before the export. Memory
freed after loading can be reused by the export without the resident size growing, so the child also reports its
whole life's high-water mark (ru_maxrss), and a child that only loads gives the same mark without an export: the
difference is what the export adds to the process's peak.

Ratios against baselines in the same run (machines here are shared and noisy):
- time: the export (engine question + disclosure + writer) against writing the very same rows, already in memory
  as one polars frame, with polars' own writer (CSV, Parquet) or XlsxWriter (xlsx) — what any export of that table
  costs at least;
- memory: the export's peak above its start against the size of the whole table held at once (the one copy a
  non-streaming export would hold on top of the data).
Targets (issue 12): under 10 s and under 1 GB extra for each format; the memory ratio below 1 (streamed).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

import polars as pl  # noqa: E402

import exports  # noqa: E402
from queries.config import load_config  # noqa: E402
from queries.engine import IndicatorEngine  # noqa: E402
from queries.scope import Viewer  # noqa: E402
from tables.database import make_engine  # noqa: E402

BENCH_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/perispiegel_bench"
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_SIZE


class PeakSampler:
    """The highest resident memory of this process while it runs, sampled every `interval` seconds."""

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.peak = resident_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, resident_bytes())
            time.sleep(self.interval)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, resident_bytes())


def xlsx_baseline(whole: pl.DataFrame, path: Path) -> None:
    """The same rows written with XlsxWriter (constant memory, a sheet per 1,048,575 rows) and nothing else: no
    formats, no notes (polars' own `write_excel` refuses more rows than one sheet holds)."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    limit = 1_048_575
    sheet = None
    for index, row in enumerate(whole.iter_rows()):
        if index % limit == 0:
            sheet = workbook.add_worksheet()
            sheet.write_row(0, 0, whole.columns)
        sheet.write_row(index % limit + 1, 0, row)
    workbook.close()


def high_water_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3  # kilobytes on Linux


def load_only(url: str) -> dict:
    engine = IndicatorEngine(make_engine(url), load_config())
    engine.data_version()
    return {"format": "load only", "high_water_mb": round(high_water_mb(), 1)}


def one_format(url: str, file_format: str, level: str, grain: str, baseline: bool) -> dict:
    """In this (child) process: load, export once, and (with `baseline`) write the same rows from memory."""
    engine = IndicatorEngine(make_engine(url), load_config())
    started = time.perf_counter()
    snapshot_info = engine.data_version()
    load_seconds = time.perf_counter() - started
    viewer = Viewer("researcher")
    context = exports.ExportContext(exported_at=datetime.now(UTC), exported_by="benchmark",
                                    request=f"/api/v1/export?level={level}&grain={grain}&format={file_format}",
                                    language="nl")
    result: dict = {"format": file_format, "level": level, "grain": grain, "load_seconds": round(load_seconds, 2),
                    "data_version": snapshot_info}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"export.{file_format}"
        before = resident_bytes()
        with PeakSampler() as sampler:
            started = time.perf_counter()
            table = engine.export(viewer, {}, level=level, grain=grain)
            with path.open("wb") as target:
                rows = exports.write(table, file_format, target, context)
            seconds = time.perf_counter() - started
        result.update(rows=rows, bytes=path.stat().st_size, seconds=round(seconds, 2),
                      extra_memory_mb=round((sampler.peak - before) / 1e6, 1), high_water_mb=round(high_water_mb(), 1))
        if baseline:
            whole = pl.concat(list(engine.export(viewer, {}, level=level, grain=grain).chunks()))
            result["table_memory_mb"] = round(whole.estimated_size() / 1e6, 1)
            started = time.perf_counter()
            baseline_path = Path(folder) / f"baseline.{file_format}"
            if file_format == "csv":
                whole.write_csv(baseline_path)
            elif file_format == "parquet":
                whole.write_parquet(baseline_path)
            else:
                xlsx_baseline(whole, baseline_path)
            result["baseline_seconds"] = round(time.perf_counter() - started, 2)
            result["time_ratio"] = round(seconds / max(result["baseline_seconds"], 1e-9), 2)
            result["memory_ratio"] = round(result["extra_memory_mb"] / max(result["table_memory_mb"], 1e-9), 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default=BENCH_DATABASE)
    parser.add_argument("--formats", default=",".join(exports.FORMATS))
    parser.add_argument("--level", default="practice")
    parser.add_argument("--grain", default="month")
    parser.add_argument("--no-baseline", action="store_true", help="skip the in-memory baselines")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child == "load":
        print(json.dumps(load_only(arguments.database)))
        return
    if arguments.child:
        print(json.dumps(one_format(arguments.database, arguments.child, arguments.level, arguments.grain,
                                    not arguments.no_baseline)))
        return
    def child(name: str) -> dict:
        command = [sys.executable, __file__, "--database", arguments.database, "--level", arguments.level,
                   "--grain", arguments.grain, "--child", name]
        if arguments.no_baseline:
            command.append("--no-baseline")
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        return json.loads(output.strip().splitlines()[-1])

    loaded = child("load")
    print(f"load only: high-water mark {loaded['high_water_mb']:.0f} MB", flush=True)
    results = [loaded]
    for file_format in arguments.formats.split(","):
        result = child(file_format)
        result["above_load_only_mb"] = round(result["high_water_mb"] - loaded["high_water_mb"], 1)
        results.append(result)
        print(f"{file_format:8} {result['rows']:>10,} rows {result['bytes'] / 1e6:8.1f} MB  "
              f"{result['seconds']:6.2f} s  +{result['extra_memory_mb']:7.1f} MB while writing, high-water mark "
              f"+{result['above_load_only_mb']:.0f} MB above loading alone"
              + (f"  | baseline (in memory → {file_format}) {result['baseline_seconds']:.2f} s, ratio "
                 f"{result['time_ratio']:.2f}×; whole table {result['table_memory_mb']:.0f} MB, memory ratio "
                 f"{result['memory_ratio']:.2f}" if "baseline_seconds" in result else ""), flush=True)
    if arguments.json:
        arguments.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
