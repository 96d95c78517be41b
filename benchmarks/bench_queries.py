"""Benchmark of the indicator engine at national scale (ten years, ~1.7 million births).

    .venv/bin/python benchmarks/bench_queries.py                       # prepare once (or reuse), then measure
    .venv/bin/python benchmarks/bench_queries.py --source direct       # without the generator + loader

Data: ten years in the PostgreSQL database `perispiegel_bench` (created if absent). When it already holds a
published version with at least `--min-births` births, that version is reused. Otherwise it is prepared in a
child process (so the measured process holds only the engine): `--source loader` (default) runs the real
pipeline — `synthetic.deliveries.generate_deliveries` writes delivery files and `loader.refresh.run_refresh`
validates, links, derives and publishes them; `--source direct` writes a synthetic `births` table of the
right shape directly (independent draws per column with plausible national rates; no linkage; only for
when the pipeline is unavailable). Use a separate `--database` per source: a prepared database is reused
whatever produced it.

Measured, each `--repeat` times, with the answer cache cleared before every run (cold) and without (warm):
the overview (all indicators, one hospital + its VSV + national, filter parity = nulliparous), one funnel
(all hospitals, caesarean), one trend (120 months, one hospital + national), one adjusted result (all
hospitals), and the overview's aggregation as one SQL query in PostgreSQL on the same rows (the baseline a
BI tool would run). Prints p50/p95, the PostgreSQL/engine ratio, the store's load time and process memory.
Targets (issue 3): overview p95 ≤ 150 ms cold and ≥ 5× faster than PostgreSQL; funnel and trend p95
≤ 100 ms; memory with ten years loaded ≤ 1.5 GB.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
from sqlalchemy import Engine, create_engine, delete, insert, text

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from queries.catalogue import INDICATORS, Condition, Range  # noqa: E402
from queries.config import EngineConfig  # noqa: E402
from queries.engine import IndicatorEngine  # noqa: E402
from queries.scope import Viewer  # noqa: E402
from tables.database import current_data_version, make_engine  # noqa: E402
from tables.schema import births, data_version_current, data_versions, organisations  # noqa: E402

SERVER_URL = "postgresql+psycopg://postgres@127.0.0.1:5432"
BENCH_DATABASE = "perispiegel_bench"
YEARS = list(range(2015, 2025))
OVERVIEW_FILTER = {"parity": "nulliparous"}


# ---- data -------------------------------------------------------------------------------------------

def ensure_database(name: str) -> str:
    admin = create_engine(f"{SERVER_URL}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(text("select 1 from pg_database where datname = :n"), {"n": name}).scalar()
        if not exists:
            connection.execute(text(f'create database "{name}"'))
    admin.dispose()
    return f"{SERVER_URL}/{name}"


def prepare_with_loader(engine: Engine, years: list[int], scale: float, seed: int) -> None:
    from loader.refresh import run_refresh
    from synthetic.deliveries import generate_deliveries

    with tempfile.TemporaryDirectory(prefix="perispiegel-bench-") as folder:
        started = time.perf_counter()
        generate_deliveries(years, seed, Path(folder), scale)
        print(f"generated deliveries for {years[0]}–{years[-1]} in {time.perf_counter() - started:.0f} s", flush=True)
        started = time.perf_counter()
        summary = run_refresh(Path(folder), engine)
        print(f"loaded: {summary.births} births, version {summary.data_version}, "
              f"{time.perf_counter() - started:.0f} s", flush=True)


def direct_births_frame(years: list[int], per_year: int, seed: int, hospitals: list[str], practices: list[str],
                        vsv_of: dict[str, str]) -> pl.DataFrame:
    """A synthetic births table of the right shape, drawn column by column (documented as such above)."""
    rng = np.random.default_rng(seed)
    n = per_year * len(years)

    def flag(p: float) -> np.ndarray:
        return rng.random(n) < p

    year = np.repeat(np.array(years), per_year)
    month = rng.integers(1, 13, n)
    hospital = np.array(hospitals)[rng.integers(0, len(hospitals), n)]
    practice = np.array(practices)[rng.integers(0, len(practices), n)]
    nulliparous = flag(0.445)
    ga_days = np.clip(rng.normal(278, 12, n).astype(int), 154, 305)
    very_early = flag(0.01)
    ga_days[very_early] = rng.integers(170, 224, int(very_early.sum()))
    caesarean = flag(0.16)
    instrumental = ~caesarean & flag(0.09)
    onset = np.where(caesarean & flag(0.5), "prelabour_caesarean", np.where(flag(0.27), "induced", "spontaneous"))
    midwife = flag(0.48) & (onset != "prelabour_caesarean")
    stillbirth = flag(0.003)
    early_neonatal_death = ~stillbirth & flag(0.0013)
    neonatal_death = early_neonatal_death | (~stillbirth & flag(0.0004))
    place = np.where(midwife & flag(0.3), "home", np.where(midwife, "hospital_midwife", "hospital_obstetrician"))
    age_band = np.array(["<25", "25-29", "30-34", "35-39", ">=40"])[
        rng.choice(5, n, p=[0.084, 0.294, 0.398, 0.188, 0.036])]
    multiple = flag(0.03)
    first_child = ~(multiple & flag(0.5))
    robson = np.where(nulliparous & (onset == "spontaneous"), "1",
                      np.where(nulliparous, "2a", np.where(onset == "spontaneous", "3", "4a")))
    robson = np.where(multiple, "8", robson)
    return pl.DataFrame({
        "birth_date": [datetime(int(y), int(m), 15).date() for y, m in zip(year, month, strict=True)],
        "birth_month": [f"{y}-{m:02d}" for y, m in zip(year, month, strict=True)],
        "birth_year": year, "practice_code": practice, "hospital_code": hospital,
        "vsv_code": [vsv_of[h] for h in hospital],
        "has_midwife_record": midwife, "has_obstetrician_record": ~midwife, "has_paediatrician_record": flag(0.09),
        "link_method": np.where(midwife, "single", "deterministic"), "maternal_age": rng.integers(18, 45, n),
        "maternal_age_band": age_band, "parity": np.where(nulliparous, 0, 1),
        "parity_group": np.where(nulliparous, "nulliparous", "multiparous"), "previous_caesarean": flag(0.05),
        "smoking": flag(0.07), "ses_quintile": rng.integers(1, 6, n), "booking_ga_days": rng.integers(40, 120, n),
        "started_care_with_midwife": flag(0.88), "early_booking": flag(0.81),
        "is_first_child_of_birth": first_child, "plurality": np.where(multiple, 2, 1),
        "plurality_group": np.where(multiple, "multiple", "singleton"), "birth_order": np.where(first_child, 1, 2),
        "ga_days": ga_days, "ga_weeks": ga_days // 7,
        "ga_band": np.select([ga_days < 224, ga_days < 259, ga_days < 294], ["<32", "32-36", "37-41"], ">=42"),
        "presentation": np.where(flag(0.05), "breech", "cephalic"), "onset_of_labour": onset,
        "labour_started": onset != "prelabour_caesarean",
        "care_level_onset": np.where(midwife, "midwife", "obstetrician"), "midwife_led_at_onset": midwife,
        "referral_during_labour": flag(0.4), "robson_group": robson,
        "ntsv": nulliparous & ~multiple & (ga_days >= 259),
        "mode_of_birth": np.where(caesarean, "caesarean", np.where(instrumental, "vacuum", "spontaneous")),
        "caesarean": caesarean, "vaginal_birth": ~caesarean, "spontaneous_vaginal": ~caesarean & ~instrumental,
        "instrumental": instrumental, "place_of_birth": place, "home_birth": place == "home",
        "epidural": flag(0.21), "episiotomy": ~caesarean & flag(0.3), "oasis": ~caesarean & flag(0.03),
        "blood_loss_ml": rng.integers(100, 1500, n), "pph": flag(0.05), "child_sex": np.where(flag(0.5), "M", "F"),
        "birth_weight_g": rng.integers(1500, 4500, n), "sga": flag(0.095), "preterm": ga_days < 259,
        "very_preterm": ga_days < 224, "live_birth": ~stillbirth, "stillbirth": stillbirth,
        "early_neonatal_death": early_neonatal_death, "neonatal_death": neonatal_death,
        "perinatal_death": stillbirth | early_neonatal_death,
        "perinatal_death_22w_7d": stillbirth | early_neonatal_death,
        "perinatal_death_24w_28d": stillbirth | neonatal_death,
        "apgar_5min": rng.integers(5, 11, n), "low_apgar": flag(0.013), "nicu_admission": flag(0.025),
        "breastfeeding": flag(0.8),
    }, strict=False).with_columns(
        # Missing where the pipeline leaves them empty: no practice record, home births, not midwife-led.
        pl.when(pl.Series(midwife | flag(0.7))).then(pl.col("practice_code")).alias("practice_code"),
        pl.when(pl.col("place_of_birth") != "home").then(pl.col("hospital_code")).alias("hospital_code"),
        pl.when(pl.col("midwife_led_at_onset")).then(pl.col("referral_during_labour")).alias("referral_during_labour"),
    )


def prepare_direct(engine: Engine, years: list[int], seed: int) -> None:
    register = pl.read_csv(PROJECT_ROOT / "data" / "reference" / "organisations.csv", infer_schema_length=0)
    hospitals = register.filter(pl.col("org_type") == "hospital")
    vsv_of = dict(zip(hospitals["org_code"], hospitals["vsv_code"], strict=True))
    practices = register.filter(pl.col("org_type") == "practice")["org_code"].to_list()
    frame = direct_births_frame(years, 168_000, seed, hospitals["org_code"].to_list(), practices, vsv_of)
    version = 1
    frame = frame.with_columns(pl.lit(version).alias("data_version"),
                               pl.int_range(1, frame.height + 1).alias("birth_id"))
    with engine.begin() as connection:
        connection.execute(delete(data_version_current))
        connection.execute(delete(births))
        connection.execute(delete(data_versions))
        connection.execute(delete(organisations))
        connection.execute(insert(organisations), register.select(
            [c.name for c in organisations.columns]).to_dicts())
        connection.execute(insert(data_versions), [{
            "data_version": version, "refresh_id": 0, "published_at": datetime.now(UTC), "label": "bench direct",
            "births": frame.height, "period_from": f"{years[0]}-01", "period_to": f"{years[-1]}-12"}])
        columns = [c.name for c in births.columns]
        driver = connection.connection.driver_connection
        with driver.cursor() as cursor, cursor.copy(
                f"COPY births ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)") as copy:
            for chunk in frame.select(columns).iter_slices(200_000):
                copy.write(chunk.write_csv(include_header=False))
        connection.execute(insert(data_version_current), [{"id": 1, "data_version": version}])
    print(f"wrote {frame.height} direct synthetic births", flush=True)


def prepare(url: str, source: str, scale: float, seed: int) -> None:
    engine = make_engine(url)
    if source == "loader":
        prepare_with_loader(engine, YEARS, scale, seed)
    else:
        prepare_direct(engine, YEARS, seed)
    with engine.begin() as connection:
        connection.execute(text("analyze births"))


# ---- the PostgreSQL baseline ------------------------------------------------------------------------

def condition_sql(condition: Condition) -> str:
    """A catalogue condition as SQL (the same semantics as queries.catalogue.condition_expression)."""
    parts = []
    for column, requirement in condition.items():
        if requirement is None:
            parts.append(f"{column} is null")
        elif isinstance(requirement, Range):
            if requirement.low is not None:
                parts.append(f"{column} >= {requirement.low}")
            if requirement.high is not None:
                parts.append(f"{column} <= {requirement.high}")
        elif isinstance(requirement, bool):
            parts.append(f"{column} is {'true' if requirement else 'false'}")
        elif isinstance(requirement, tuple | list):
            parts.append(f"{column} in ({', '.join(repr(str(v)) for v in requirement)})")
        else:
            parts.append(f"{column} = '{requirement}'")
    return " and ".join(parts) or "true"


def overview_sql(hospital: str, vsv: str, data_version: int) -> str:
    """All indicators for one hospital, its VSV and national, nulliparous women, in one scan."""
    aggregates = []
    for definition in INDICATORS:
        population = [condition_sql(definition.denominator)]
        population += [f"not ({condition_sql(exclusion)})" for exclusion in definition.exclusions]
        if definition.woman_level:
            population.append("is_first_child_of_birth")
        population_sql = " and ".join(f"({part})" for part in population)
        numerator_sql = f"{population_sql} and ({condition_sql(definition.numerator)})"
        for scope, extra in (("national", "true"), ("org", f"hospital_code = '{hospital}'"),
                             ("vsv", f"vsv_code = '{vsv}'")):
            aggregates.append(f"count(*) filter (where {population_sql} and {extra}) as d_{definition.id}_{scope}")
            aggregates.append(f"count(*) filter (where {numerator_sql} and {extra}) as n_{definition.id}_{scope}")
    return (f"select {', '.join(aggregates)} from births "
            f"where data_version = {data_version} and parity_group = 'nulliparous'")


# ---- measuring --------------------------------------------------------------------------------------

def rss_mb() -> tuple[float, float]:
    """Current and peak resident memory of this process, MB."""
    current = 0.0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            current = int(line.split()[1]) / 1024
    return current, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(function, repeat: int, before=None) -> np.ndarray:
    times = []
    for index in range(repeat):
        if before:
            before()
        started = time.perf_counter()
        function(index)
        times.append((time.perf_counter() - started) * 1000)
    return np.array(times)


def summary(name: str, times: np.ndarray, target: float | None = None) -> str:
    p50, p95 = np.percentile(times, 50), np.percentile(times, 95)
    verdict = "" if target is None else ("  ok" if p95 <= target else f"  ABOVE TARGET {target:.0f} ms")
    return f"{name:<34} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms{verdict}"


def measure(url: str, repeat: int) -> None:
    database = make_engine(url)
    info = current_data_version(database)
    indicators = IndicatorEngine(database, EngineConfig())
    rss_before, _ = rss_mb()
    started = time.perf_counter()
    snapshot = indicators.store.snapshot()
    load_seconds = time.perf_counter() - started
    rss_loaded, rss_peak = rss_mb()
    frame = snapshot.frame
    print(f"data version {info['data_version']} ({info['label']}): {frame.height:,} births, "
          f"{frame['month_index'].n_unique()} months; store loaded in {load_seconds:.1f} s; "
          f"frame {frame.estimated_size() / 2**20:.0f} MB")
    print(f"process memory: {rss_before:.0f} MB before load, {rss_loaded:.0f} MB loaded, "
          f"peak {rss_peak:.0f} MB (target ≤ 1536 MB)")

    hospitals = [code for code, org in snapshot.organisations.items() if org["org_type"] == "hospital"]
    hospitals = [code for code in hospitals if code in set(frame["hospital_code"].cast(pl.String).unique())]
    viewers = [Viewer("provider", org_code=code) for code in hospitals]

    overview_name = f"overview ({len(INDICATORS)} ind., org+VSV+NL)"
    questions = {
        overview_name: (lambda i: indicators.overview(viewers[i % len(viewers)], OVERVIEW_FILTER), 150),
        "funnel (all hospitals)": (lambda i: indicators.funnel("caesarean", "hospital", viewers[i % len(viewers)]),
                                   100),
        "trend (120 months, org+NL)": (lambda i: indicators.trend("caesarean", viewers[i % len(viewers)]), 100),
        "adjusted (all hospitals)": (lambda i: indicators.adjusted("caesarean", "hospital", Viewer("researcher")),
                                     None),
    }
    for function, _ in questions.values():
        function(0)  # first touch (imports, thread pool) is not what a user waits for
    results = {}
    print("\ncold cache (answer cache cleared before each run):")
    for name, (function, target) in questions.items():
        results[name] = timed(function, repeat, indicators.cache.clear)
        print(summary(name, results[name], target))
    print("\nwarm cache (the same questions again, each answered once before):")
    for name, (function, _) in questions.items():
        for index in range(repeat):
            function(index)
        print(summary(name, timed(function, repeat)))

    print("\nPostgreSQL baseline (the overview's aggregation as one SQL query):")
    with database.connect() as connection:
        def run_sql(i: int) -> None:
            hospital = hospitals[i % len(hospitals)]
            vsv = snapshot.organisations[hospital]["vsv_code"]
            connection.execute(text(overview_sql(hospital, vsv, info["data_version"]))).all()
        run_sql(0)
        postgres = timed(run_sql, max(5, repeat // 4))
    print(summary("overview in PostgreSQL", postgres))
    overview = results[overview_name]
    ratio = np.percentile(postgres, 95) / np.percentile(overview, 95)
    print(f"PostgreSQL p95 / engine cold p95 = {ratio:.1f}× (target ≥ 5×); "
          f"p50 ratio {np.percentile(postgres, 50) / np.percentile(overview, 50):.1f}×")
    print(f"process memory after the runs: {rss_mb()[0]:.0f} MB, peak {rss_mb()[1]:.0f} MB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default=BENCH_DATABASE, help="PostgreSQL database to use (created if absent)")
    parser.add_argument("--source", choices=("loader", "direct"), default="loader")
    parser.add_argument("--scale", type=float, default=1.0, help="generator scale (1.0 ≈ 165,000 births a year)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--min-births", type=int, default=1_500_000, help="reuse the database from this size")
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--prepare-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    url = ensure_database(args.database)
    if args.prepare_only:
        prepare(url, args.source, args.scale, args.seed)
        return 0
    info = current_data_version(make_engine(url))
    if info is None or info["births"] < args.min_births:
        print(f"preparing ten years in {args.database} via {args.source} (once; later runs reuse it)", flush=True)
        # A child process, so that the generator's and loader's memory is not counted as the engine's.
        subprocess.run([sys.executable, __file__, "--prepare-only", "--database", args.database, "--source",
                        args.source, "--scale", str(args.scale), "--seed", str(args.seed)], check=True)
    measure(url, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
