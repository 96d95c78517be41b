"""Cold answers of one checkout of the engine, for comparing two versions side by side (e.g. before and after a
change), each in its own process on the same database:

    git worktree add /tmp/base <commit>
    farm-bench -n 4 --warmup 0 --timeout 850 \\
        --vs "sh -c 'exec .venv/bin/python benchmarks/bench_versions.py /tmp/base >>/tmp/base.txt 2>&1'" \\
        -- sh -c 'exec .venv/bin/python benchmarks/bench_versions.py . >>/tmp/new.txt 2>&1'

Prints, for the checkout at ROOT, the p50 and p95 in ms of 12 cold overview, funnel, trend and adjusted answers
(answer cache cleared before each) for the first hospital as provider, on `--database` (default: the ten-year
`perispiegel_bench` of benchmarks/bench_queries.py). farm-bench alternates the two so that the machine's drift hits
both alike; compare the figures pair by pair (docs/benchmarks.md, "Speed and memory with disclosure control").
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

BENCH_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/perispiegel_bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", type=Path, help="the checkout whose engine is measured")
    parser.add_argument("--database", default=BENCH_URL)
    parser.add_argument("--repeat", type=int, default=12)
    arguments = parser.parse_args()
    sys.path.insert(0, str(arguments.root.resolve()))
    from flask_caching.backends import SimpleCache

    from queries.config import load_config
    from queries.engine import IndicatorEngine
    from queries.scope import Viewer
    from tables.database import make_engine

    engine = IndicatorEngine(make_engine(arguments.database), load_config(), SimpleCache())
    organisations = engine.store.snapshot().organisations
    hospital = sorted(code for code, row in organisations.items() if row["org_type"] == "hospital")[0]
    viewer = Viewer("provider", org_code=hospital)
    questions = {"overview": lambda: engine.overview(viewer, {"parity": "nulliparous"}),
                 "funnel": lambda: engine.funnel("caesarean", "hospital", viewer),
                 "trend": lambda: engine.trend("caesarean", viewer),
                 "adjusted": lambda: engine.adjusted("caesarean", "hospital", viewer)}
    figures = {}
    for name, ask in questions.items():
        times = []
        for _ in range(arguments.repeat):
            engine.cache.clear()
            started = time.perf_counter()
            ask()
            times.append((time.perf_counter() - started) * 1000)
        figures[name] = (round(float(np.median(times)), 1), round(float(np.percentile(times, 95)), 1))
    print(arguments.root, figures, flush=True)


if __name__ == "__main__":
    main()
