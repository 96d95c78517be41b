"""Benchmark: from a filter change in Chromium to every chart of the overview and the indicator detail page updated,
with ten years of national data.

    .venv/bin/python benchmarks/bench_browser.py [--changes 20] [--database perispiegel_bench]

Data: the ten-year PostgreSQL database of `benchmarks/bench_queries.py` (`perispiegel_bench`, ~1.7 million births),
reused when it holds a published version of at least `--min-births` births, else prepared by that script
(`--source direct` by default here: a synthetic births table of the right shape; `loader` runs the generator and the
loader, which takes much longer).

The app runs in its own process (werkzeug, threaded) on a free loopback port; headless Chromium logs in through the
login form as a provider of the first hospital (account `bench-zorgverlener`, new password each run). A filter
change is: choose one target-group value in the filter panel and press "Toepassen". It counts as done when the page
has no Dash request in flight and no loading state left, every part of the page is there, each plotly chart has
drawn, and the shown figures differ from those before the change. Every change uses a different target group, so
the engine answers from a cold cache (the realistic case for a user exploring). Besides the total, the time until
the last callback answer arrived is reported: the rest is the browser drawing.

Baselines in the same run (the machine is shared and noisy, so ratios travel better than seconds): loading the same
page afresh with a warm answer cache, and loading the static home page. Target (issue 4): p95 < 1 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from benchmarks.bench_queries import BENCH_DATABASE, ensure_database  # noqa: E402
from queries.filters import DIMENSIONS  # noqa: E402
from queries.status import organisation_register  # noqa: E402
from tables.database import current_data_version, make_engine  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
TIMEOUT_SECONDS = 60
POLL_SECONDS = 0.01

SERVE = """
import sys
from app import create_app
create_app(sys.argv[1]).run(host="127.0.0.1", port=int(sys.argv[2]), threaded=True)
"""

# Counts Dash's callback requests in flight, so "done" means the server has answered everything.
FETCH_COUNTER = """
window.__benchInflight = 0;
const benchFetch = window.fetch;
window.fetch = function (...args) {
    const url = String(args[0] && args[0].url || args[0]);
    if (!url.includes('_dash-update-component')) { return benchFetch.apply(this, args); }
    window.__benchInflight += 1;
    return benchFetch.apply(this, args).finally(() => {
        window.__benchLastAnswer = performance.now();
        setTimeout(() => { window.__benchInflight -= 1; }, 0);
    });
};
"""

# Whether the page is settled: nothing in flight, no loading state, every part present, every chart drawn.
SETTLED = """
const parts = arguments[0];
if (window.__benchInflight !== 0) { return null; }
if (document.querySelector('[data-dash-is-loading="true"]')) { return null; }
for (const part of parts) { if (!document.querySelector(part)) { return null; } }
for (const graph of document.querySelectorAll('.js-plotly-plot')) {
    if (!graph._fullLayout || !graph.querySelector('.main-svg')) { return null; }
}
return parts.map(part => document.querySelector(part).textContent).join('|');
"""

PAGES = {
    # path, the parts that must be there (a chart or its empty state)
    "overview": ("/mijn-organisatie", ["#overview-table"]),
    "detail": ("/indicator/caesarean", [
        "#detail-summary-table", "#detail-trend-body :is(.js-plotly-plot, .empty-state)",
        "#detail-funnel-body :is(.js-plotly-plot, .empty-state)",
        "#detail-breakdown-body :is(.js-plotly-plot, .empty-state)",
        "#detail-adjusted-body :is(#detail-adjusted-facts, .empty-state)"]),
}


BENCH_USER = "bench-zorgverlener"


def bench_account(url: str, hospital: str) -> tuple[str, str]:
    """A provider account of `hospital` in the bench database, with a fresh password for this run."""
    from auth.users import add_user, get_user, reset_password

    engine = make_engine(url)
    if get_user(engine, username=BENCH_USER) is None:
        _, password = add_user(engine, BENCH_USER, "provider", org_code=hospital, actor="bench")
    else:
        password = reset_password(engine, BENCH_USER, one_time=False, actor="bench")
    engine.dispose()
    return BENCH_USER, password


def log_in(driver, base: str, username: str, password: str) -> None:
    """Through the login form, as a person does."""
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/login")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "login-submit").click()
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while "/login" in driver.current_url and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
    if "/login" in driver.current_url:
        raise SystemExit("could not log in to the app")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ensure_data(database: str, source: str, min_births: int) -> str:
    url = ensure_database(database)
    info = current_data_version(make_engine(url))
    if info is None or info["births"] < min_births:
        print(f"preparing ten years in {database} via {source} (bench_queries.py; later runs reuse it)", flush=True)
        subprocess.run([sys.executable, str(PROJECT_ROOT / "benchmarks" / "bench_queries.py"), "--prepare-only",
                        "--database", database, "--source", source], check=True, cwd=PROJECT_ROOT)
        info = current_data_version(make_engine(url))
    print(f"data: {database}, version {info['label']}, {info['births']:,} births, "
          f"{info['period_from']}–{info['period_to']}", flush=True)
    return url


def start_server(url: str, port: int) -> subprocess.Popen:
    server = subprocess.Popen([sys.executable, "-c", SERVE, url, str(port)], cwd=PROJECT_ROOT,
                              env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5):
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the app did not start")


def start_browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="perispiegel-bench-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--no-first-run", f"--user-data-dir={profile}",
                     "--window-size=1280,1000", "--lang=nl-NL"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(TIMEOUT_SECONDS)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": FETCH_COUNTER})
    return driver, profile


def wait_settled(driver, parts: list[str], previous: str | None = None) -> str:
    """Poll until the page is settled (see SETTLED) and, when `previous` is given, shows other figures."""
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        shown = driver.execute_script(SETTLED, parts)
        if shown is not None and shown != previous:
            return shown
        time.sleep(POLL_SECONDS)
    raise TimeoutError(f"page did not settle: {driver.current_url}")


def timed_load(driver, address: str, parts: list[str]) -> float:
    started = time.perf_counter()
    driver.get(address)
    wait_settled(driver, parts)
    return time.perf_counter() - started


def filter_choices(count: int) -> list[tuple[str, str]]:
    """`count` different single-value target groups, taken round the dimensions so consecutive ones differ."""
    per_dimension = [[(name, value) for value in dimension.values] for name, dimension in DIMENSIONS.items()
                     if name not in {"robson", "presentation", "place"}]  # keep the groups large enough to show
    choices = []
    for depth in range(max(len(values) for values in per_dimension)):
        choices += [values[depth] for values in per_dimension if depth < len(values)]
    return choices[:count]


def change_filter(driver, choice: tuple[str, str], previous_choice: tuple[str, str] | None, parts: list[str],
                  shown_before: str) -> tuple[float, float, str]:
    """Seconds until settled, seconds until the last callback answer arrived (the rest is the browser drawing),
    and what the page shows."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    if previous_choice and previous_choice[0] != choice[0]:
        Select(driver.find_element(By.ID, f"filter-{previous_choice[0]}")).select_by_value("all")
    Select(driver.find_element(By.ID, f"filter-{choice[0]}")).select_by_value(choice[1])
    button = driver.find_element(By.ID, "filter-apply")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});", button)
    driver.execute_script("window.__benchClickedAt = performance.now();")
    started = time.perf_counter()
    button.click()
    shown = wait_settled(driver, parts, previous=shown_before)
    elapsed = time.perf_counter() - started
    server_share = driver.execute_script("return (window.__benchLastAnswer - window.__benchClickedAt) / 1000;")
    return elapsed, min(max(server_share, 0.0), elapsed), shown


def percentiles(seconds: list[float]) -> str:
    values = np.array(seconds) * 1000
    return (f"p50 {np.percentile(values, 50):6.0f} ms   p95 {np.percentile(values, 95):6.0f} ms   "
            f"max {values.max():6.0f} ms   (n={len(values)})")


def repeat(measure: Callable[[], float], times: int) -> list[float]:
    return [measure() for _ in range(times)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default=BENCH_DATABASE)
    parser.add_argument("--source", choices=("direct", "loader"), default="direct")
    parser.add_argument("--min-births", type=int, default=1_500_000)
    parser.add_argument("--changes", type=int, default=20)
    args = parser.parse_args(argv)

    url = ensure_data(args.database, args.source, args.min_births)
    register = organisation_register(make_engine(url))
    hospital = register.filter(register["org_type"] == "hospital")["org_code"][0]
    username, password = bench_account(url, hospital)
    port = free_port()
    server = start_server(url, port)
    driver, profile = start_browser()
    base = f"http://127.0.0.1:{port}"
    results: dict[str, list[float]] = {}
    try:
        log_in(driver, base, username, password)
        started = time.perf_counter()
        driver.get(f"{base}/mijn-organisatie?org={hospital}")
        wait_settled(driver, PAGES["overview"][1])
        print(f"first page with the engine loading ten years: {time.perf_counter() - started:.1f} s", flush=True)
        for page, (path, parts) in PAGES.items():
            address = f"{base}{path}?org={hospital}"
            timed_load(driver, address, parts)  # answers for the unfiltered view are now cached
            results[f"{page}: page load, same view (baseline)"] = repeat(lambda a=address, p=parts: timed_load(
                driver, a, p), 5)
            shown = wait_settled(driver, parts)
            changes, answered, previous = [], [], None
            for choice in filter_choices(args.changes):
                seconds, until_answer, shown = change_filter(driver, choice, previous, parts, shown)
                changes.append(seconds)
                answered.append(until_answer)
                previous = choice
            results[f"{page}: filter change → all charts updated"] = changes
            results[f"{page}:   of which until the last answer"] = answered
        results["home page load (static baseline)"] = repeat(lambda: timed_load(driver, f"{base}/", ["#counts"]), 5)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
        server.terminate()
        server.wait(timeout=20)

    print(f"\nhospital {hospital}; {args.changes} different target groups per page; Chromium headless, "
          f"{os.cpu_count()} cores")
    for name, seconds in results.items():
        print(f"{name:52s} {percentiles(seconds)}")
    for page in PAGES:
        change = np.percentile(results[f"{page}: filter change → all charts updated"], 95)
        baseline = np.percentile(results[f"{page}: page load, same view (baseline)"], 50)
        verdict = "meets" if change < 1.0 else "MISSES"
        print(f"{page}: filter change p95 {change * 1000:.0f} ms = {change / baseline:.2f}× a warm page load "
              f"(p50 {baseline * 1000:.0f} ms); {verdict} the target p95 < 1 s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
