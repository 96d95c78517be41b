"""Benchmark: loading a data version into the engine's store (`queries.store.BirthStore`), for comparing two checkouts
side by side (e.g. before and after a change), each in its own process on the same database:

    .venv/bin/python benchmarks/bench_store_load.py --prepare [--years 3]     # once: the databases
    git archive <commit> | tar -x -C /tmp/base && ln -s $PWD/.venv /tmp/base/.venv
    .venv/bin/python benchmarks/bench_store_load.py --compare /tmp/base . [--rounds 5]

Data: `--years` years (default 3, the demo's) of the direct synthetic births of `benchmarks/bench_queries.py`
(~168,000 a year), one data version, in PostgreSQL (`perispiegel_bench_store`) and in an SQLite file
(data/bench/store.db). Each round loads the current version once per checkout and database, alternating the
checkouts so that the machine's drift hits both alike; printed are each one's median seconds and new / old.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/perispiegel_bench_store"
SQLITE_PATH = PROJECT_ROOT / "data" / "bench" / "store.db"
DATABASES = {"postgres": POSTGRES_URL, "sqlite": f"sqlite:///{SQLITE_PATH}"}

CHILD_LOAD = """
import sys, time
sys.path.insert(0, sys.argv[1])
from queries.config import load_config
from queries.store import BirthStore
from tables.database import make_engine
store = BirthStore(make_engine(sys.argv[2]), load_config())
started = time.perf_counter()
snapshot = store._load()
print(time.perf_counter() - started, snapshot.frame.height)
"""


def prepare(years: int) -> None:
    sys.path.insert(0, str(PROJECT_ROOT))
    import polars as pl
    from sqlalchemy import text

    from benchmarks.bench_queries import YEARS, ensure_database, prepare_direct
    from loader.bulk import bulk_insert
    from tables.database import make_engine
    from tables.schema import births, data_version_current, data_versions, organisations

    chosen = YEARS[-years:]
    postgres = make_engine(ensure_database("perispiegel_bench_store"))
    prepare_direct(postgres, chosen, 7)
    SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    for leftover in SQLITE_PATH.parent.glob(SQLITE_PATH.name + "*"):
        leftover.unlink()
    sqlite = make_engine(DATABASES["sqlite"])
    with postgres.connect() as source, sqlite.begin() as target:
        for table in (organisations, data_versions, data_version_current):
            rows = [dict(row) for row in source.execute(table.select()).mappings()]
            target.execute(table.insert(), rows)
        frame = pl.read_database("SELECT * FROM births", source, infer_schema_length=None)
        bulk_insert(target, births, frame)
    with sqlite.begin() as connection:
        connection.execute(text("analyze"))
    print(f"prepared {frame.height} births in both databases", flush=True)


def load_seconds(root: Path, url: str) -> tuple[float, int]:
    output = subprocess.run([sys.executable, "-c", CHILD_LOAD, str(root.resolve()), url], check=True,
                            capture_output=True, text=True, cwd=root).stdout.split()
    return float(output[0]), int(output[1])


def compare(old: Path, new: Path, rounds: int) -> None:
    for name, url in DATABASES.items():
        times: dict[str, list[float]] = {"old": [], "new": []}
        heights = set()
        for _ in range(rounds):
            for label, root in (("old", old), ("new", new)):
                seconds, height = load_seconds(root, url)
                times[label].append(seconds)
                heights.add(height)
        old_median, new_median = statistics.median(times["old"]), statistics.median(times["new"])
        print(f"{name}: {sorted(heights)} births; old {old_median:.2f} s, new {new_median:.2f} s "
              f"(median of {rounds}); new / old = {new_median / old_median:.3f}; "
              f"old {[round(t, 2) for t in times['old']]}, new {[round(t, 2) for t in times['new']]}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prepare", action="store_true")
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("OLD", "NEW"))
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    if arguments.prepare:
        prepare(arguments.years)
    if arguments.compare:
        compare(*arguments.compare, arguments.rounds)


if __name__ == "__main__":
    main()
