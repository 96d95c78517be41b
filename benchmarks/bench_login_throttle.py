"""Benchmark: what the login throttle (auth/throttle.py) costs per attempt as the audit log grows, on SQLite and
PostgreSQL, as a ratio against the same check on an empty log in the same run (machines here are shared and noisy):

    .venv/bin/python benchmarks/bench_login_throttle.py [--rows 200000] [--rounds 200]

The log is filled with `--rows` entries spread over the last 30 days — logins (succeeded and failed) of 2,000 names
from 5,000 addresses, and exports — the way a busy installation writes them. Each round times `login_throttle` for
a name and address with a history (a known address) and for a new one; printed are the medians in milliseconds and
the ratio to the empty log. The password check itself (argon2id, ~0.1 s) is what a login costs; the throttle should
stay a small part of it.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from sqlalchemy import Engine, delete, insert  # noqa: E402

from auth.throttle import login_throttle  # noqa: E402
from tables.database import make_engine  # noqa: E402
from tables.schema import audit_log  # noqa: E402

POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/perispiegel_bench_throttle"
SQLITE_PATH = PROJECT_ROOT / "data" / "bench" / "throttle.db"


def fill(engine: Engine, rows: int, seed: int = 15) -> None:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(delete(audit_log))
        batch = []
        for _ in range(rows):
            action = rng.choices(["login_success", "login_failure", "export", "logout"], [4, 1, 6, 2])[0]
            address = f"10.{rng.randrange(20)}.{rng.randrange(250)}.1"
            batch.append({"at": now - timedelta(seconds=rng.uniform(0, 30 * 86400)), "action": action,
                          "actor": f"user{rng.randrange(2000)}", "address": address})
            if len(batch) == 10_000:
                connection.execute(insert(audit_log), batch)
                batch = []
        if batch:
            connection.execute(insert(audit_log), batch)


def timed(engine: Engine, rounds: int) -> tuple[float, float]:
    """Median milliseconds of one throttle check: a known name and address, and a new name and address."""
    known, new = [], []
    for number in range(rounds):
        started = time.perf_counter()
        login_throttle(engine, f"user{number % 2000}", f"10.{number % 20}.{number % 250}.1")
        known.append(time.perf_counter() - started)
        started = time.perf_counter()
        login_throttle(engine, f"nobody{number}", f"192.0.2.{number % 250}")
        new.append(time.perf_counter() - started)
    return statistics.median(known) * 1000, statistics.median(new) * 1000


def postgres_engine() -> Engine:
    from sqlalchemy import create_engine, text

    admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("DROP DATABASE IF EXISTS perispiegel_bench_throttle"))
        connection.execute(text("CREATE DATABASE perispiegel_bench_throttle"))
    admin.dispose()
    return make_engine(POSTGRES_URL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=200)
    arguments = parser.parse_args()
    SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    SQLITE_PATH.unlink(missing_ok=True)
    for name, engine in (("sqlite", make_engine(f"sqlite:///{SQLITE_PATH}")), ("postgres", postgres_engine())):
        fill(engine, 0)
        empty = timed(engine, arguments.rounds)
        fill(engine, arguments.rows)
        full = timed(engine, arguments.rounds)
        print(f"{name:9} empty log: known {empty[0]:.2f} ms, new {empty[1]:.2f} ms | {arguments.rows:,} entries: "
              f"known {full[0]:.2f} ms ({full[0] / empty[0]:.1f}x), new {full[1]:.2f} ms ({full[1] / empty[1]:.1f}x)")
        engine.dispose()


if __name__ == "__main__":
    main()
