"""Benchmark: the first overview after the server starts, with and without warm start (issue 13).

    .venv/bin/python benchmarks/bench_first_request.py [--years 3] [--arrival 15] [--database perispiegel_bench_first]

Data: a PostgreSQL database of `--years` years of the direct synthetic births table of `benchmarks/bench_queries.py`
(~168,000 births a year), prepared once and reused.

Each run starts the app in its own process (`create_app(url, warm_start=...)`, werkzeug, threaded) on a free
loopback port, waits until it answers (the login page, which asks the engine nothing), then waits `arrival` seconds
(0: the first user comes the moment the server listens; later: as a user would, some seconds after a restart) and
times `GET /api/v1/overview` of the first hospital as its provider (a personal API token): the first answer, and a
second one for another target group (`parity=nulliparous`, not cached: the usual time of a question once the data
are loaded). The first request's time against the second's is the ratio reported; the server is stopped after each
run. Four runs: without and with warm start, each with arrival 0 and `--arrival`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from benchmarks.bench_browser import free_port  # noqa: E402
from benchmarks.bench_queries import ensure_database, prepare_direct  # noqa: E402
from queries.status import organisation_register  # noqa: E402
from tables.database import current_data_version, make_engine  # noqa: E402

TIMEOUT_SECONDS = 120
BENCH_USER = "bench-first-request"
SERVE = """
import sys
from app import create_app
create_app(sys.argv[1], warm_start=sys.argv[3] == "warm").run(host="127.0.0.1", port=int(sys.argv[2]), threaded=True)
"""


def ensure_data(database: str, years: int) -> str:
    url = ensure_database(database)
    engine = make_engine(url)
    info = current_data_version(engine)
    wanted = list(range(2024 - years + 1, 2025))
    if info is None or info["period_from"] != f"{wanted[0]}-01":
        print(f"preparing {years} years in {database} (direct synthetic births; later runs reuse them)", flush=True)
        prepare_direct(engine, wanted, seed=7)
        info = current_data_version(engine)
    print(f"data: {database}, {info['births']:,} births, {info['period_from']}–{info['period_to']}", flush=True)
    return url


def bench_token(url: str) -> tuple[str, str]:
    """A provider of the first hospital with a fresh API token; the hospital's code and the token."""
    from auth.tokens import create_token
    from auth.users import add_user, get_user

    engine = make_engine(url)
    register = organisation_register(engine)
    hospital = register.filter(register["org_type"] == "hospital")["org_code"][0]
    user = get_user(engine, username=BENCH_USER)
    if user is None:
        user, _ = add_user(engine, BENCH_USER, "provider", org_code=hospital, actor="bench")
    return hospital, create_token(engine, user, "bench first request")


def timed_get(address: str, token: str) -> float:
    request = urllib.request.Request(address, headers={"Authorization": f"Bearer {token}"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
        response.read()
        if response.status != 200:
            raise SystemExit(f"{address} answered {response.status}")
    return time.perf_counter() - started


def run(url: str, mode: str, arrival: float, hospital: str, token: str) -> tuple[float, float]:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVE, url, str(port), mode], cwd=PROJECT_ROOT,
                              env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("the app did not start") from None
                time.sleep(0.05)
        time.sleep(arrival)
        base = f"http://127.0.0.1:{port}/api/v1/overview?org={hospital}"
        first = timed_get(base, token)
        second = timed_get(f"{base}&parity=nulliparous", token)
        return first, second
    finally:
        server.terminate()
        server.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default="perispiegel_bench_first")
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--arrival", type=float, default=15.0, help="seconds between listening and the first user")
    args = parser.parse_args(argv)
    url = ensure_data(args.database, args.years)
    hospital, token = bench_token(url)
    print("| warm start | first user arrives | first overview | second (other target group) | ratio |")
    print("|---|---|---|---|---|")
    for mode in ("cold", "warm"):
        for arrival in (0.0, args.arrival):
            first, second = run(url, mode, arrival, hospital, token)
            print(f"| {'yes' if mode == 'warm' else 'no'} | {arrival:.0f} s after listening | {first * 1000:,.0f} ms "
                  f"| {second * 1000:,.0f} ms | {first / second:.1f}× |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
