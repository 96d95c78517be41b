"""The price of disclosure control (issue 11): how far the figures a researcher sees are from the exact ones.

    .venv/bin/python benchmarks/bench_disclosure.py                        # the embedded demo database
    .venv/bin/python benchmarks/bench_disclosure.py --database URL --json price.json
    .venv/bin/python benchmarks/bench_disclosure.py --indicators caesarean,perinatal_mortality --levels hospital

The same question is asked as an admin (exact figures) and as a researcher (the published figures: the national
and the level's `reference` cell perturbed, every organisation a peer: a rounded rate and a size band), for every
indicator at every level whose overview shows it (practice, hospital, vsv) and nationally, for two target groups:
the last full year of the published version and all data. The VSV figure as a provider sees it (perturbed, or
withheld by the structural rule) is asked of one hospital and one practice per VSV. docs/privacy.md says what the
rules are; docs/benchmarks.md ("Disclosure (issue 11)") how to run this and what it measured.

Reported per target group, indicator and level, in the indicator's unit (percentage points or per mille):
- peers: median and maximum |shown rate − exact rate|; the share of peers with an exact rate whose rate is not
  shown (masked); the median relative width of their size bands ((high − low) / middle) and how many bands do not
  hold the exact denominator;
- perturbed cells (national, the level's reference, the provider's VSV): median and maximum |shown count − exact
  count| over numerators and denominators, the largest |Δ rate|, and how many were masked or withheld;
- verdicts: funnel positions of the same organisation that change because of the rules, i.e. the position judged
  against limits from the exact counts of every unit (as before issue 11, computed here with queries.judgement)
  against the position published; "withheld" counts positions an exact figure has and the published one lacks;
  and the number of answers whose limits method (exact / additive / multiplicative) changed.
Checks: own figures of a provider that differ from the admin's (must be 0), published positions that differ
between admin and researcher (the design gives every viewer the same verdict: must be 0).

Peers carry per-answer pseudonyms that nobody can match to an organisation — which is the point — so this script,
holding the pseudonym key, matches them through one function, `peer_codes`, which recomputes them; anything left
over is assigned on the shown values (reported as "approximate" matching).
"""

from __future__ import annotations

import argparse
import json
import statistics as stats
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from queries import judgement  # noqa: E402
from queries.catalogue import CATALOGUE, indicators_for  # noqa: E402
from queries.engine import LEVELS, IndicatorEngine  # noqa: E402
from queries.filters import parse_filters  # noqa: E402
from queries.scope import Scope, Viewer  # noqa: E402
from tables.database import database_url, make_engine  # noqa: E402

ADMIN = Viewer("admin")
RESEARCHER = Viewer("researcher")
INFINITE_COST = 1e12


# ---- the one place that matches peers to organisations ---------------------------------------------------------

def peer_codes(engine: IndicatorEngine, answer: dict, level: str, codes: Iterable[str]) -> dict[str, str]:
    """label → organisation code for the peers of one answer: the per-answer pseudonym the engine gave them
    (`Scope.identity` with the answer's identity, `IndicatorEngine._answer`), recomputed with the installation's
    key — which only a benchmark on the server has. Labels that match nothing are left to `match_rows`' fallback."""
    snapshot = engine.store.snapshot()
    question = "adjusted" if answer["question"] == "adjusted" else "units"
    about = engine._answer(snapshot, question, parse_filters(answer["filters"]), indicator=answer["indicator"]["id"],
                           level=level)
    scope = Scope(RESEARCHER, snapshot.organisations, engine.config.pseudonym_key)
    return {scope.identity(code, level, about)["label"]: code for code in codes}


def _assignment(peers: list[dict], units: list[dict]) -> list[tuple[dict, dict]]:
    """Peers matched to the exact rows left over by an assignment on what the peer shows (band, rate, counts,
    position): what an admin who knows every exact figure can do; only a fallback for this benchmark."""
    from scipy.optimize import linear_sum_assignment

    if not peers or not units:
        return []
    cost = np.zeros((len(peers), len(units)))
    for i, peer in enumerate(peers):
        band = peer.get("size_band")
        for j, unit in enumerate(units):
            d = unit["denominator"]
            c = 0.0
            if band and not (band["low"] - 3 <= d <= band["high"] + 3):
                c = INFINITE_COST
            if peer.get("denominator") is not None:
                c += abs(peer["denominator"] - d)
            if peer.get("numerator") is not None:
                c += abs(peer["numerator"] - unit["numerator"])
            if peer.get("rate") is not None and unit.get("rate") is not None:
                c += abs(peer["rate"] - unit["rate"]) * d
            if peer.get("position") != unit.get("position"):
                c += 0.5
            cost[i, j] = c
    rows, columns = linear_sum_assignment(cost)
    return [(units[j], peers[i]) for i, j in zip(rows, columns, strict=True) if cost[i, j] < INFINITE_COST]


def match_rows(engine: IndicatorEngine, admin: dict, published: dict, level: str,
               methods: dict[str, int]) -> list[tuple[dict, dict]]:
    """(exact row, published row) of the same organisation: named rows by code, peers by `peer_codes`, the rest by
    `_assignment`. `methods` counts how each pair was matched."""
    exact = {row["org_code"]: row for row in admin["rows"]}
    pairs, peers = [], []
    for row in published["rows"]:
        if row.get("org_code") in exact:
            pairs.append((exact.pop(row["org_code"]), row))
            methods["by code"] += 1
        else:
            peers.append(row)
    labels = peer_codes(engine, published, level, exact)
    unmatched = []
    for row in peers:
        code = labels.get(row["label"])
        if code in exact:
            pairs.append((exact.pop(code), row))
            methods["by label"] += 1
        else:
            unmatched.append(row)
    guessed = _assignment(unmatched, list(exact.values()))
    methods["approximate (assignment)"] += len(guessed)
    methods["unmatched"] += len(unmatched) - len(guessed)
    return pairs + guessed


# ---- measuring ---------------------------------------------------------------------------------------------------

def treatment(cell: dict) -> str:
    """How a published cell was treated: its `disclosure` field (issue 11), else named → exact, anonymous → peer."""
    return cell.get("disclosure") or ("exact" if cell.get("named", True) else "peer")


def exact_positions(rows: list[dict], choice: str, minimum: int) -> tuple[dict[str, str | None], str | None, float]:
    """Positions judged against limits from the EXACT counts of every unit (the policy without disclosure rules,
    as the engine judged before issue 11): {code: position}, the limits method, the centre."""
    units = [row for row in rows if row["denominator"]]
    if any(row["numerator"] is None for row in units):
        raise SystemExit("the admin's answer has a masked count: the exact family cannot be computed")
    if not units:
        return {}, None, float("nan")
    numerators = np.array([row["numerator"] for row in units], dtype=float)
    denominators = np.array([row["denominator"] for row in units], dtype=float)
    family = judgement.judge_rates(numerators, denominators, choice, denominators >= minimum)
    if family is None:
        return {}, None, float("nan")
    positions = {row["org_code"]: (str(family.positions[i]) or None) if row["denominator"] >= minimum else None
                 for i, row in enumerate(units)}
    return positions, family.judgement.method, family.centre


@dataclass
class Measure:
    """What one (target group, level, indicator) collected."""

    target_group: str
    level: str
    indicator: str
    unit: str
    peers: int = 0
    peer_rate_differences: list[float] = field(default_factory=list)
    peers_with_rate: int = 0
    peers_masked: int = 0
    band_widths: list[float] = field(default_factory=list)
    bands_missing_exact: int = 0
    count_differences: list[float] = field(default_factory=list)
    cell_rate_differences: list[float] = field(default_factory=list)
    cells: int = 0
    cells_masked: int = 0
    cells_withheld: int = 0
    judged: int = 0
    verdicts_changed: int = 0
    verdicts_withheld: int = 0
    method_changed: int = 0
    centre_difference: float | None = None
    viewer_mismatch: int = 0

    def add_perturbed(self, exact: dict, shown: dict, scale: int) -> None:
        """One named, non-own cell (national, reference, a provider's VSV): perturbed counts against exact."""
        self.cells += 1
        if shown.get("suppression_reason") == "complementary":
            self.cells_withheld += 1
            return
        if shown.get("numerator") is None or shown.get("denominator") is None:
            if exact.get("rate") is not None or exact.get("denominator"):
                self.cells_masked += 1
            return
        self.count_differences += [abs(shown["numerator"] - exact["numerator"]),
                                   abs(shown["denominator"] - exact["denominator"])]
        if shown.get("rate") is not None and exact.get("rate") is not None:
            self.cell_rate_differences.append(abs(shown["rate"] - exact["rate"]) * scale)

    def row(self) -> dict:
        def median(values: list[float]) -> float | None:
            return stats.median(values) if values else None

        def largest(values: list[float]) -> float | None:
            return max(values) if values else None

        return {
            "target_group": self.target_group, "level": self.level, "indicator": self.indicator, "unit": self.unit,
            "peers": self.peers, "peer_rate_diff_p50": median(self.peer_rate_differences),
            "peer_rate_diff_max": largest(self.peer_rate_differences),
            "peers_masked_share": self.peers_masked / self.peers_with_rate if self.peers_with_rate else None,
            "band_width_p50": median(self.band_widths), "bands_missing_exact": self.bands_missing_exact,
            "cells": self.cells, "count_diff_p50": median(self.count_differences),
            "count_diff_max": largest(self.count_differences),
            "cell_rate_diff_max": largest(self.cell_rate_differences),
            "cells_masked": self.cells_masked, "cells_withheld": self.cells_withheld,
            "judged": self.judged, "verdicts_changed": self.verdicts_changed,
            "verdicts_withheld": self.verdicts_withheld, "method_changed": self.method_changed,
            "centre_diff": self.centre_difference, "viewer_mismatch": self.viewer_mismatch,
        }


def measure_level(engine: IndicatorEngine, group: str, filters: dict, level: str, indicator_id: str,
                  choice: str, methods: dict[str, int]) -> tuple[Measure, dict]:
    """One indicator at one level: admin against researcher. Returns the measure and the admin's answer."""
    definition = CATALOGUE[indicator_id]
    scale = definition.unit_scale
    admin = engine.results(indicator_id, level, ADMIN, filters, overdispersion=choice)
    published = engine.results(indicator_id, level, RESEARCHER, filters, overdispersion=choice)
    result = Measure(group, level, indicator_id, definition.unit)
    result.add_perturbed(admin["reference"], published["reference"], scale)

    minimum = engine.config.min_denominator
    positions, method, centre = exact_positions(admin["rows"], choice, minimum)
    if method is not None and published["judgement"] and published["judgement"].get("method") != method:
        result.method_changed = 1
    if published.get("target") is not None and centre == centre:  # not NaN
        result.centre_difference = abs(published["target"] - centre) * scale
    admin_positions = {row["org_code"]: row.get("position") for row in admin["rows"]}

    for exact, shown in match_rows(engine, admin, published, level, methods):
        code = exact["org_code"]
        if treatment(shown) == "peer":
            result.peers += 1
            if exact.get("rate") is not None:
                result.peers_with_rate += 1
                if shown.get("rate") is None:
                    result.peers_masked += 1
                else:
                    result.peer_rate_differences.append(abs(shown["rate"] - exact["rate"]) * scale)
            band = shown.get("size_band")
            if band and band.get("middle"):
                result.band_widths.append((band["high"] - band["low"]) / band["middle"])
                if not band["low"] <= exact["denominator"] <= band["high"]:
                    result.bands_missing_exact += 1
        before = positions.get(code)
        if before is not None:
            result.judged += 1
            if shown.get("position") is None:
                result.verdicts_withheld += 1
            elif shown["position"] != before:
                result.verdicts_changed += 1
        if shown.get("position") is not None and shown["position"] != admin_positions.get(code):
            result.viewer_mismatch += 1
    return result, admin


def measure_national(engine: IndicatorEngine, group: str, filters: dict, ids: list[str]) -> list[Measure]:
    """The national cell of every indicator: the researcher's (perturbed) against the admin's."""
    admin = {row["indicator"]["id"]: row for row in engine.overview(ADMIN, filters)["rows"]}
    published = {row["indicator"]["id"]: row for row in engine.overview(RESEARCHER, filters)["rows"]}
    measures = []
    for indicator_id in ids:
        definition = CATALOGUE[indicator_id]
        result = Measure(group, "national", indicator_id, definition.unit)
        result.add_perturbed(admin[indicator_id]["national"], published[indicator_id]["national"],
                             definition.unit_scale)
        measures.append(result)
    return measures


def providers(engine: IndicatorEngine, per_vsv: int) -> list[tuple[str, str]]:
    """(org_code, level) of `per_vsv` hospitals and practices of every VSV with births (first codes first)."""
    snapshot = engine.store.snapshot()
    assert snapshot is not None
    chosen: dict[tuple[str, str], list[str]] = defaultdict(list)
    for code, info in sorted(snapshot.organisations.items()):
        if info["org_type"] in ("hospital", "practice") and info.get("vsv_code"):
            members = chosen[(info["vsv_code"], info["org_type"])]
            if len(members) < per_vsv:
                members.append(code)
    return [(code, level) for (_, level), codes in sorted(chosen.items()) for code in codes]


def measure_providers(engine: IndicatorEngine, group: str, filters: dict, choice: str, per_vsv: int,
                      exact_rows: dict[tuple[str, str], dict[str, dict]]) -> tuple[list[Measure], int]:
    """The VSV figure as a provider sees it, against the VSV's exact figure; and the provider's own figures,
    which must be the admin's exactly. Returns the measures ("vsv·hospital", "vsv·practice") and the number of
    own cells that differ."""
    measures: dict[tuple[str, str], Measure] = {}
    own_changed = 0
    for code, level in providers(engine, per_vsv):
        answer = engine.overview(Viewer("provider", org_code=code), filters, overdispersion=choice)
        for row in answer["rows"]:
            indicator_id = row["indicator"]["id"]
            definition = CATALOGUE[indicator_id]
            own, vsv = row.get("organisation"), row.get("vsv")
            exact_own = exact_rows.get((level, indicator_id), {}).get(code)
            if own is not None and exact_own is not None and any(
                    own.get(name) != exact_own.get(name) for name in ("numerator", "denominator", "rate")):
                own_changed += 1
            exact_vsv = exact_rows.get(("vsv", indicator_id), {}).get(answer_vsv_code(engine, code))
            if vsv is None or exact_vsv is None:
                continue
            key = (level, indicator_id)
            if key not in measures:
                measures[key] = Measure(group, f"vsv·{level}", indicator_id, definition.unit)
            measures[key].add_perturbed(exact_vsv, vsv, definition.unit_scale)
    return list(measures.values()), own_changed


def answer_vsv_code(engine: IndicatorEngine, org_code: str) -> str | None:
    snapshot = engine.store.snapshot()
    assert snapshot is not None
    return snapshot.organisations.get(org_code, {}).get("vsv_code")


def last_full_year(version: dict) -> str | None:
    """The last calendar year the published version covers from January to December."""
    first, last = version["period_from"], version["period_to"]
    year = int(last[:4]) if last.endswith("-12") else int(last[:4]) - 1
    return str(year) if f"{year}-01" >= first else None


# ---- output ------------------------------------------------------------------------------------------------------

def _number(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _share(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


DETAIL_HEADER = ("| indicator | level | unit | peers | Δ rate p50 | Δ rate max | masked | band width p50 | "
                 "band ∌ exact | verdicts changed / judged | withheld | perturbed cells | Δ count p50 | Δ count max | "
                 "Δ rate max (cells) | masked / withheld (cells) | method changed |")


def detail_table(rows: list[dict]) -> list[str]:
    lines = [DETAIL_HEADER, "|" + "---|" * (DETAIL_HEADER.count("|") - 1)]
    for row in rows:
        lines.append(
            f"| {row['indicator']} | {row['level']} | {row['unit']} | {row['peers'] or '—'} | "
            f"{_number(row['peer_rate_diff_p50'])} | {_number(row['peer_rate_diff_max'])} | "
            f"{_share(row['peers_masked_share'])} | {_share(row['band_width_p50'])} | "
            f"{row['bands_missing_exact'] if row['peers'] else '—'} | "
            f"{row['verdicts_changed']} / {row['judged']} | {row['verdicts_withheld']} | {row['cells'] or '—'} | "
            f"{_number(row['count_diff_p50'], 1)} | {_number(row['count_diff_max'], 0)} | "
            f"{_number(row['cell_rate_diff_max'], 3)} | {row['cells_masked']} / {row['cells_withheld']} | "
            f"{row['method_changed']} |")
    return lines


def summary_rows(rows: list[dict]) -> list[dict]:
    """Per target group, level and unit: medians of the indicators' medians, maxima of their maxima, totals."""
    groups: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for row in rows:
        groups[(row["target_group"], row["level"], row["unit"])].append(row)
    summary = []
    for (group, level, unit), members in groups.items():
        def values(name: str, members: list[dict] = members) -> list[float]:
            return [row[name] for row in members if row[name] is not None]

        masked = values("peers_masked_share")
        summary.append({
            "target_group": group, "level": level, "unit": unit, "indicators": len(members),
            "peers": sum(row["peers"] for row in members),
            "peer_rate_diff_p50": stats.median(values("peer_rate_diff_p50")) if values("peer_rate_diff_p50") else None,
            "peer_rate_diff_max": max(values("peer_rate_diff_max"), default=None),
            "peers_masked_share": stats.median(masked) if masked else None,
            "band_width_p50": stats.median(values("band_width_p50")) if values("band_width_p50") else None,
            "count_diff_p50": stats.median(values("count_diff_p50")) if values("count_diff_p50") else None,
            "count_diff_max": max(values("count_diff_max"), default=None),
            "cells": sum(row["cells"] for row in members),
            "cells_withheld": sum(row["cells_withheld"] for row in members),
            "cells_masked": sum(row["cells_masked"] for row in members),
            "judged": sum(row["judged"] for row in members),
            "verdicts_changed": sum(row["verdicts_changed"] for row in members),
            "verdicts_withheld": sum(row["verdicts_withheld"] for row in members),
            "method_changed": sum(row["method_changed"] for row in members),
        })
    return summary


SUMMARY_HEADER = ("| level | unit | indicators | peers | Δ rate p50 | Δ rate max | masked (median share) | "
                  "band width p50 | Δ count p50 | Δ count max | cells masked / withheld | "
                  "verdicts changed / judged | withheld | method changed |")


def summary_table(summary: list[dict]) -> list[str]:
    lines = [SUMMARY_HEADER, "|" + "---|" * (SUMMARY_HEADER.count("|") - 1)]
    for row in summary:
        lines.append(
            f"| {row['level']} | {row['unit']} | {row['indicators']} | {row['peers'] or '—'} | "
            f"{_number(row['peer_rate_diff_p50'])} | {_number(row['peer_rate_diff_max'])} | "
            f"{_share(row['peers_masked_share'])} | {_share(row['band_width_p50'])} | "
            f"{_number(row['count_diff_p50'], 1)} | {_number(row['count_diff_max'], 0)} | "
            f"{row['cells_masked']} / {row['cells_withheld']} of {row['cells']} | "
            f"{row['verdicts_changed']} / {row['judged']} | {row['verdicts_withheld']} | {row['method_changed']} |")
    return lines


# ---- running -----------------------------------------------------------------------------------------------------

def run(url: str, indicator_ids: list[str] | None, levels: list[str], choice: str, per_vsv: int,
        all_data: bool) -> dict:
    engine = IndicatorEngine(make_engine(url))
    started = time.perf_counter()
    version = engine.data_version()
    if version is None:
        raise SystemExit(f"no published data version in {url} (run `perispiegel demo-data`)")
    groups: list[tuple[str, dict]] = []
    year = last_full_year(version)
    if year:
        groups.append((f"period={year}", {"period": year}))
    if all_data:
        groups.append(("all data", {}))
    methods: dict[str, int] = defaultdict(int)
    rows: list[dict] = []
    checks = {"own_changed": 0, "viewer_mismatch": 0}
    for group, filters in groups:
        exact_rows: dict[tuple[str, str], dict[str, dict]] = {}
        measures: list[Measure] = []
        for level in levels:
            for definition in indicators_for(level):
                if indicator_ids and definition.id not in indicator_ids:
                    continue
                result, admin = measure_level(engine, group, filters, level, definition.id, choice, methods)
                measures.append(result)
                exact_rows[(level, definition.id)] = {row["org_code"]: row for row in admin["rows"]}
        ids = [d.id for d in indicators_for(None) if not indicator_ids or d.id in indicator_ids]
        measures += measure_national(engine, group, filters, ids)
        if per_vsv and "vsv" in levels:
            provider_measures, own_changed = measure_providers(engine, group, filters, choice, per_vsv, exact_rows)
            measures += [m for m in provider_measures if not indicator_ids or m.indicator in indicator_ids]
            checks["own_changed"] += own_changed
        for result in measures:
            checks["viewer_mismatch"] += result.viewer_mismatch
            rows.append(result.row())
        print(f"{group}: {len(measures)} rows, {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return {"database": url, "data_version": version, "overdispersion": choice,
            "target_groups": [{"name": name, "filters": filters} for name, filters in groups],
            "matching": dict(methods), "checks": checks, "summary": summary_rows(rows), "rows": rows,
            "seconds": round(time.perf_counter() - started, 1)}


def markdown(report: dict) -> str:
    version = report["data_version"]
    lines = [f"Data version {version['number']} ({version['label']}, {version['period_from']}–{version['period_to']}), "
             f"overdispersion `{report['overdispersion']}`; peers matched: "
             + ", ".join(f"{name} {count}" for name, count in report["matching"].items())
             + f"; own figures changed: {report['checks']['own_changed']}; "
             f"positions differing between admin and researcher: {report['checks']['viewer_mismatch']}.", ""]
    for group in report["target_groups"]:
        name = group["name"]
        lines += [f"### {name}", "", "Summary per level (medians of the indicators' medians, maxima of maxima):", ""]
        lines += summary_table([row for row in report["summary"] if row["target_group"] == name])
        lines += ["", "Per indicator:", ""]
        lines += detail_table([row for row in report["rows"] if row["target_group"] == name])
        lines.append("")
    if report["matching"].get("approximate (assignment)") or report["matching"].get("unmatched"):
        lines.append("Some peers were matched approximately (by their shown values) or not at all: adapt "
                     "`peer_codes` to the disclosure module's label function for exact figures.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default=None, help="database URL (default: PERISPIEGEL_DATABASE_URL or the "
                                                         "embedded demo database under data/)")
    parser.add_argument("--indicators", default=None, help="comma-separated indicator ids (default: all)")
    parser.add_argument("--levels", default=",".join(LEVELS), help="comma-separated levels (default: all)")
    parser.add_argument("--overdispersion", default=judgement.DEFAULT_OVERDISPERSION,
                        choices=judgement.OVERDISPERSION_CHOICES)
    parser.add_argument("--providers-per-vsv", type=int, default=1,
                        help="hospitals and practices per VSV asked for their VSV figure (0: none)")
    parser.add_argument("--no-all-data", action="store_true", help="only the last full year")
    parser.add_argument("--json", type=Path, default=None, help="also write the full report as JSON here")
    args = parser.parse_args(argv)
    levels = [level for level in args.levels.split(",") if level]
    for level in levels:
        if level not in LEVELS:
            parser.error(f"unknown level {level!r}; levels: {', '.join(LEVELS)}")
    indicator_ids = [i for i in args.indicators.split(",") if i] if args.indicators else None
    for indicator_id in indicator_ids or []:
        if indicator_id not in CATALOGUE:
            parser.error(f"unknown indicator {indicator_id!r}")
    report = run(args.database or database_url(), indicator_ids, levels, args.overdispersion,
                 args.providers_per_vsv, not args.no_all_data)
    print(markdown(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False))
        print(f"\nwrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
