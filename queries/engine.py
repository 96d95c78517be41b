"""The indicator engine: every question the dashboards, the API and the exports ask about indicators.

Each public method takes the viewer (queries.scope.Viewer) and a filter (queries.filters.Filters, or a
mapping of URL parameters) and returns a JSON-ready dict that always carries `data_version`. The engine
aggregates the in-memory copy of the published version (queries.store), caches the unscoped answer per
data version + question (queries.cache), then applies the viewer's scope and the small-number rules
(queries.config) on the way out, so no caller can forget either. See docs/indicators.md for the shapes.
"""

from __future__ import annotations

import math
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl
from flask_caching.backends import BaseCache
from sqlalchemy import Engine

from queries import judgement, spc, statistics
from queries.answers import Alerts, CountsCell, JudgedFields, MethodVerdicts, OrganisationCell, Sensitivity
from queries.cache import answer_key, answers_fingerprint, make_answer_cache
from queries.catalogue import CATALOGUE, INDICATORS, Indicator, indicators_for
from queries.config import EngineConfig, load_config
from queries.filters import DIMENSIONS, Filters, InvalidParameterError, month_label, parse_filters
from queries.judgement import (
    DEFAULT_OVERDISPERSION,
    OVERDISPERSION_CHOICES,
    JudgedFamily,
    OverdispersionChoice,
)
from queries.scope import Scope, Viewer
from queries.store import (
    CASE_MIX_COLUMNS,
    LEVEL_COLUMNS,
    STRATUM_COLUMN,
    BirthStore,
    Snapshot,
    numerator_column,
    population_column,
)
from tables.database import database_url, make_engine

LEVELS = tuple(LEVEL_COLUMNS)
GRAINS = ("month", "quarter", "year")
FUNNEL_CURVE_POINTS = 120
# Suppression reason of a VSV figure that, minus the provider's own, would be one other organisation's
# (and of the figures hidden with it so that totals do not give it back): see `_complementary`.
COMPLEMENTARY = "complementary"
# A provider's VSV figure is shown only when at least this many other organisations of its level are behind it.
COMPLEMENTARY_MIN_OTHERS = 2

# Turns a group-by key into the key of a cell (a period label, a dimension value). The key is whatever Python
# value polars hands back for the key expression: an int period index, a str dimension value.
KeyLabel = Callable[[Any], str]


class NoDataError(RuntimeError):
    """No data version has been published yet (run `perispiegel load`)."""


def _number(value: float) -> float | None:
    """A float for JSON: NaN and infinities become None."""
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value


def _sum_expressions(indicator_ids: Sequence[str]) -> list[pl.Expr]:
    expressions = []
    for indicator_id in indicator_ids:
        expressions.append(pl.col(numerator_column(indicator_id)).sum().cast(pl.Int64).alias(f"n:{indicator_id}"))
        expressions.append(pl.col(population_column(indicator_id)).sum().cast(pl.Int64).alias(f"d:{indicator_id}"))
    return expressions


def _rate_cells(numerators: np.ndarray, denominators: np.ndarray) -> dict[str, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(denominators > 0, numerators / np.maximum(denominators, 1), np.nan)
    low, high = statistics.wilson_interval(numerators, denominators)
    return {"rate": rate, "ci_low": low, "ci_high": high}


class IndicatorEngine:
    """Answers indicator questions for one database (see the module docstring and docs/indicators.md)."""

    def __init__(self, db_engine: Engine, config: EngineConfig | None = None, cache: BaseCache | None = None) -> None:
        self.config = config or load_config()
        self.store = BirthStore(db_engine, self.config)
        self.cache = cache if cache is not None else make_answer_cache(self.config)
        # The pseudonym key is no input of a cached (unscoped) answer; it stays out of the fingerprint.
        settings = (self.config.min_denominator, CASE_MIX_COLUMNS, FUNNEL_CURVE_POINTS,
                    judgement.OVERDISPERSION_TEST_LEVEL, judgement.ALERT_LEVEL, judgement.ALARM_LEVEL,
                    statistics.DEFAULT_WINSORISING_FRACTION)
        computing = (sys.modules[__name__], judgement, statistics, spc, sys.modules[Indicator.__module__],
                     sys.modules[BirthStore.__module__], sys.modules[Filters.__module__])
        self.fingerprint = answers_fingerprint(INDICATORS, settings, computing)

    # ---- plumbing -------------------------------------------------------------------------------

    def _snapshot(self) -> Snapshot:
        snapshot = self.store.snapshot()
        if snapshot is None:
            raise NoDataError("no data version has been published yet — run `perispiegel load`")
        return snapshot

    def _cached(self, snapshot: Snapshot, question: str, arguments: dict, compute: Callable[[], dict]) -> dict:
        key = answer_key(question, snapshot.data_version, arguments, self.fingerprint)
        answer = self.cache.get(key)
        if not isinstance(answer, dict):  # None: not cached (yet, or any more)
            answer = compute()
            self.cache.set(key, answer)
        return answer

    @staticmethod
    def _filters(filters: Filters | Mapping | None) -> Filters:
        return filters if isinstance(filters, Filters) else parse_filters(filters)

    @staticmethod
    def _indicator(indicator_id: str) -> Indicator:
        if indicator_id not in CATALOGUE:
            raise InvalidParameterError("indicator", indicator_id, list(CATALOGUE))
        return CATALOGUE[indicator_id]

    @staticmethod
    def _overdispersion(value: str) -> OverdispersionChoice:
        for choice in OVERDISPERSION_CHOICES:
            if value == choice:
                return choice
        raise InvalidParameterError("overdispersion", value, OVERDISPERSION_CHOICES)

    @staticmethod
    def _choice(parameter: str, value: str, allowed: Sequence[str]) -> str:
        if value not in allowed:
            raise InvalidParameterError(parameter, value, allowed)
        return value

    def _scope(self, snapshot: Snapshot, viewer: Viewer) -> Scope:
        return Scope(viewer, snapshot.organisations, self.config.pseudonym_key)

    def _subject(self, snapshot: Snapshot, scope: Scope, org_code: str | None) -> tuple[str, str] | None:
        """(org_code, level) of the organisation a per-organisation question is about, checked against
        the viewer's scope; None means national only."""
        code = org_code or scope.viewer.org_code or scope.viewer.vsv_code
        if not code:
            return None
        register = snapshot.organisations.get(code)
        if register is None or register["org_type"] not in LEVEL_COLUMNS:
            raise InvalidParameterError("org", code, "an organisation code from the register")
        level = register["org_type"]
        scope.require_named(code, level)
        return code, level

    def _present(self, cell: dict, identity: dict | None, export: bool) -> dict:
        """Apply the small-number rules to one unscoped cell (counts + statistics) and add identity."""
        presented = dict(identity or {})
        presented.update(cell)
        numerator, denominator = cell["numerator"], cell["denominator"]
        reason = None
        if denominator < self.config.min_denominator:
            reason = "denominator_below_minimum"
        masked = export and any(self.config.mask_counts_from <= count <= self.config.mask_counts_to
                                for count in (numerator, denominator))
        if masked:
            reason = "count_masked"
        return _suppress(presented, reason, hide_counts=masked)

    def _envelope(self, snapshot: Snapshot, question: str, viewer: Viewer, filters: Filters,
                  **extra: object) -> dict:
        return {"question": question, "data_version": snapshot.version_info(), "viewer": viewer.as_dict(),
                "filters": filters.as_params(), **extra}

    def _scoped_rows(self, scope: Scope, level: str, cells: list[dict], export: bool,
                     contributors: dict[str, dict] | None = None) -> list[dict]:
        """The rows of a level as the viewer may see them. `contributors` (level vsv, for a viewer with a
        complementary basis): VSV code → {None: codes of the viewer's level with births in the denominator}."""
        rows = [self._present({k: v for k, v in cell.items() if k != "code"}, scope.identity(cell["code"], level),
                              export) for cell in cells]
        if export and sum(row["suppression_reason"] == "count_masked" for row in rows) == 1:
            # Secondary suppression: with one masked row, the national total minus the other rows gives it back.
            shown = [row for row in rows if not row["suppressed"]]
            if shown:
                smallest = min(shown, key=lambda row: (row["denominator"], row["numerator"]))
                _suppress(smallest, "count_masked_secondary", hide_counts=True)
        basis = scope.complementary_basis()
        if contributors is not None and basis is not None and level == "vsv":
            # The provider's own VSV among all VSVs: the rows add up to the `reference` cell, so hiding the
            # own VSV alone would not do; `_complementary` hides another VSV with it.
            own_vsv, own, _ = basis
            others = [set(contributors.get(cell["code"], {}).get(None, ())) - {own} for cell in cells]
            _complementary(rows, others, [cell["code"] == own_vsv for cell in cells], self.config.min_denominator)
        # Own first, then named, then pseudonyms: sorting by label never orders peers by their code.
        return sorted(rows, key=lambda row: (not row["own"], not row["named"], row["label"]))

    # ---- simple lookups ------------------------------------------------------------------------------

    def data_version(self) -> dict | None:
        """The published data version (number, label, published_at, period) or None when none is."""
        snapshot = self.store.snapshot()
        return snapshot.version_info() if snapshot else None

    def catalogue(self) -> list[dict]:
        """Every indicator definition as data (id, names, unit, direction, definitions, source, ...)."""
        return [definition.as_dict() for definition in INDICATORS]

    def organisations(self, viewer: Viewer, level: str) -> list[dict]:
        """Organisations of a level the viewer may see by name (for pickers): code, name, vsv_code."""
        self._choice("level", level, LEVELS)
        snapshot = self._snapshot()
        scope = self._scope(snapshot, viewer)
        return sorted(({"org_code": code, "name": info["name"], "vsv_code": info["vsv_code"]}
                       for code, info in snapshot.organisations.items()
                       if info["org_type"] == level and scope.may_name(code, level)), key=lambda row: row["name"])

    # ---- computations (unscoped, cached) ----------------------------------------------------------

    def _level(self, snapshot: Snapshot, level: str, filters: Filters, indicator_ids: Sequence[str] | None = None, *,
               expected: bool = False) -> dict:
        """Counts of indicators (default: all) per organisation of `level` (births with an organisation of the
        level); with `expected`, also the expected counts of indirect standardisation against those organisations.
        Cached per level + filter + indicators, shared by the funnel, the results, the adjusted results and the
        overview (see `_compute_level`)."""
        ids = list(indicator_ids) if indicator_ids is not None else [definition.id for definition in INDICATORS]
        return self._cached(snapshot, "level", {"level": level, "filters": filters.as_params(), "indicators": ids,
                                                "expected": expected},
                            lambda: _compute_level(snapshot.frame, level, filters, ids, expected))

    def _overview_levels(self, snapshot: Snapshot, level: str, filters: Filters) -> dict:
        """For an overview of an organisation of `level`: its level with expected counts and the VSVs' counts, from
        one pass over the births (`_compute_overview_levels`); cached per level + filter."""
        return self._cached(snapshot, "overview_levels", {"level": level, "filters": filters.as_params()},
                            lambda: _compute_overview_levels(snapshot.frame, level, filters,
                                                             [definition.id for definition in INDICATORS]))

    def _judged_cells(self, definition: Indicator, level_data: dict, choice: OverdispersionChoice,
                      measure: judgement.Measure = "crude", judged: np.ndarray | None = None
                      ) -> tuple[JudgedFamily | None, np.ndarray]:
        """One indicator of a level judged: (the family, the indexes of the units judged). Only units with births
        in the denominator are judged; the overdispersion is estimated from those with a rate to show."""
        counts = level_data["indicators"][definition.id]
        numerators, denominators = counts["numerators"], counts["denominators"]
        present = np.flatnonzero(denominators > 0)
        units = present if judged is None else np.intersect1d(present, judged)
        estimable = denominators >= self.config.min_denominator
        if measure == "crude":
            family = judgement.judge_rates(numerators[present], denominators[present], choice,
                                           estimable[present], np.searchsorted(present, units))
        else:
            family = judgement.judge_ratios(numerators[present], counts["expected"][present], choice,
                                            estimable[present], np.searchsorted(present, units))
        return family, units

    def _compute_units(self, snapshot: Snapshot, indicator_id: str, level: str, filters: Filters,
                       overdispersion: OverdispersionChoice, with_curve: bool) -> dict:
        definition = CATALOGUE[indicator_id]
        level_data = self._level(snapshot, level, filters, [indicator_id])
        counts = level_data["indicators"][indicator_id]
        # The funnel's target is the pooled rate of the organisations compared (Spiegelhalter 2005, section 2):
        # a hospital's births exclude home births, so comparing hospitals with all births would flag them all.
        reference = _counts_cell(counts["numerators"].sum(), counts["denominators"].sum())
        family, units = self._judged_cells(definition, level_data, overdispersion)
        numerators, denominators = counts["numerators"][units], counts["denominators"][units]
        rates = _rate_cells(numerators, denominators)
        cells = [{"code": level_data["codes"][unit], "numerator": int(numerators[i]),
                  "denominator": int(denominators[i]), "rate": _number(rates["rate"][i]),
                  "ci_low": _number(rates["ci_low"][i]), "ci_high": _number(rates["ci_high"][i]),
                  **_judged(family, i, definition)} for i, unit in enumerate(units)]
        answer: dict[str, Any] = {
            "target": _number(family.centre) if family else None,
            "national": _counts_cell(*level_data["national"][indicator_id]),
            "reference": reference,
            "judgement": _judgement_answer(family.judgement if family else None, family.centre if family else None,
                                           overdispersion, "crude", level),
            "cells": cells,
        }
        if with_curve and family is not None:
            largest = max(float(denominators.max()) if len(denominators) else 0.0, 100.0)
            grid = np.unique(np.round(np.geomspace(1, largest * 1.1, FUNNEL_CURVE_POINTS))).astype(float)
            limits = judgement.rate_limits(family.centre, grid, family.judgement.method,
                                           family.judgement.dispersion)
            answer["limits"] = [{"denominator": int(n), "lower_95": _number(limits["lower_95"][i]),
                                 "upper_95": _number(limits["upper_95"][i]),
                                 "lower_998": _number(limits["lower_998"][i]),
                                 "upper_998": _number(limits["upper_998"][i])} for i, n in enumerate(grid)]
        return answer

    def _scoped_units(self, question: str, indicator_id: str, level: str, viewer: Viewer,
                      filters: Filters | Mapping | None, overdispersion: str, export: bool) -> dict:
        definition = self._indicator(indicator_id)
        self._choice("level", level, LEVELS)
        choice = self._overdispersion(overdispersion)
        filters = self._filters(filters)
        snapshot = self._snapshot()
        with_curve = question == "funnel"
        answer = self._cached(
            snapshot, "units", {"indicator": indicator_id, "level": level, "filters": filters.as_params(),
                                "overdispersion": choice, "curve": with_curve},
            lambda: self._compute_units(snapshot, indicator_id, level, filters, choice, with_curve))
        scope = self._scope(snapshot, viewer)
        own_vsv = None
        if scope.own_vsv_code and level != "vsv":
            own_vsv = self._vsv_cell(snapshot, scope, indicator_id, filters, choice, export)
        contributors = None
        basis = scope.complementary_basis()
        if basis is not None and level == "vsv":
            contributors = self._contributors(snapshot, basis[2], [indicator_id], filters)[indicator_id]
        result = self._envelope(
            snapshot, question, viewer, filters, indicator=definition.as_dict(), level=level,
            target=answer["target"], judgement=answer["judgement"],
            national=self._present(answer["national"], NATIONAL_IDENTITY, export),
            reference=self._present(answer["reference"], _reference_identity(level), export),
            own_vsv=own_vsv, rows=self._scoped_rows(scope, level, answer["cells"], export, contributors))
        if with_curve:
            result["limits"] = answer.get("limits", [])
        return result

    def _vsv_cell(self, snapshot: Snapshot, scope: Scope, indicator_id: str, filters: Filters,
                  overdispersion: OverdispersionChoice, export: bool) -> dict | None:
        answer = self._cached(
            snapshot, "units", {"indicator": indicator_id, "level": "vsv", "filters": filters.as_params(),
                                "overdispersion": overdispersion, "curve": False},
            lambda: self._compute_units(snapshot, indicator_id, "vsv", filters, overdispersion, False))
        for cell in answer["cells"]:
            if cell["code"] == scope.own_vsv_code:
                presented = self._present({k: v for k, v in cell.items() if k != "code"},
                                          scope.identity(cell["code"], "vsv"), export)
                presented["judgement"] = answer["judgement"]  # the VSV is judged against all VSVs
                remainder = self._remainder(snapshot, scope, [indicator_id], filters)
                if remainder is not None:
                    _complement_cell(presented, remainder[indicator_id].get(None, set()))
                return presented
        return None

    # ---- complementary suppression (a provider's VSV minus its own figures) ----------------------------

    def _contributors(self, snapshot: Snapshot, level: str, indicator_ids: Sequence[str], filters: Filters, *,
                      vsv_code: str | None = None, by: str | None = None, key: pl.Expr | None = None,
                      label: KeyLabel | None = None) -> dict:
        """{indicator: {VSV code: {key: [codes]}}}: the organisations of `level` with births in each indicator's
        denominator, per VSV (only `vsv_code` when given) and per key (`by` names the grouping, `key` computes
        it, `label` turns it into the cell's key; key None when ungrouped). Cached like every computation."""
        return self._cached(
            snapshot, "contributors", {"level": level, "indicators": list(indicator_ids),
                                       "filters": filters.as_params(), "vsv": vsv_code, "by": by},
            lambda: _compute_contributors(snapshot.frame, level, indicator_ids, filters, vsv_code, key, label))

    def _remainder(self, snapshot: Snapshot, scope: Scope, indicator_ids: Sequence[str], filters: Filters, *,
                   by: str | None = None, key: pl.Expr | None = None,
                   label: KeyLabel | None = None) -> dict[str, dict] | None:
        """For a viewer with a complementary basis (a provider): {indicator: {key: the organisations of the
        provider's level, other than its own, with births in the denominator within its VSV}}: what the VSV's
        figure minus the provider's own is made of. None when the rule does not apply to the viewer."""
        basis = scope.complementary_basis()
        if basis is None:
            return None
        vsv_code, own, level = basis
        contributors = self._contributors(snapshot, level, indicator_ids, filters, vsv_code=vsv_code, by=by,
                                          key=key, label=label)
        return {indicator_id: {k: set(codes) - {own} for k, codes in contributors[indicator_id].get(vsv_code,
                                                                                                   {}).items()}
                for indicator_id in indicator_ids}

    def _complement_series(self, snapshot: Snapshot, scope: Scope, subject: tuple[str, str] | None,
                           indicator_ids: Sequence[str], filters: Filters, by: str, key: pl.Expr,
                           label: KeyLabel) -> Callable[[str, list[dict], str], None] | None:
        """For a provider whose question is about its own VSV (trend, trends, breakdown with the VSV as
        organisation): a function (indicator, presented points, key field) that applies complementary
        suppression to the VSV's series in place. None when nothing is to be done."""
        if not subject or subject[1] != "vsv":
            return None
        remainder = self._remainder(snapshot, scope, indicator_ids, filters, by=by, key=key, label=label)
        if remainder is None:
            return None

        def apply(indicator_id: str, points: list[dict], field: str) -> None:
            others = [remainder[indicator_id].get(point[field], set()) for point in points]
            # Every point is the VSV's; together they add up to its figure for the whole selection.
            _complementary(points, others, [True] * len(points), self.config.min_denominator)

        return apply

    # ---- questions --------------------------------------------------------------------------------

    def results(self, indicator_id: str, level: str, viewer: Viewer, filters: Filters | Mapping | None = None, *,
                overdispersion: str = DEFAULT_OVERDISPERSION, export: bool = False) -> dict:
        """Per organisation of `level` and national: counts, rate, 95% Wilson interval, funnel position
        and verdict, suppression flags; plus the viewer's own VSV row. Rows the viewer may not name carry
        only a pseudonym."""
        return self._scoped_units("results", indicator_id, level, viewer, filters, overdispersion, export)

    def funnel(self, indicator_id: str, level: str, viewer: Viewer, filters: Filters | Mapping | None = None, *,
               overdispersion: str = DEFAULT_OVERDISPERSION, export: bool = False) -> dict:
        """`results` plus the control-limit curves (`limits`: denominator → lower/upper at 95% and 99.8%):
        exact binomial (Spiegelhalter 2005) or widened for overdispersion (multiplicative / additive)."""
        return self._scoped_units("funnel", indicator_id, level, viewer, filters, overdispersion, export)

    def overview(self, viewer: Viewer, filters: Filters | Mapping | None = None, *, org_code: str | None = None,
                 overdispersion: str = DEFAULT_OVERDISPERSION, export: bool = False) -> dict:
        """The indicators that fit the organisation's type (`indicators_for`; all in the national view) for one
        organisation (default: the viewer's own; admin may pick any), its VSV and national. The organisation is
        judged against the pooled figure of all organisations of its type (its `reference`, the named comparator),
        its VSV against all VSVs, by the policy of queries.judgement; each judged cell says how (`judgement`) and
        how the verdict reads under the other methods (`sensitivity`); the answer counts alerts and alarms
        against what chance alone would give (`alerts`)."""
        choice = self._overdispersion(overdispersion)
        filters = self._filters(filters)
        snapshot = self._snapshot()
        scope = self._scope(snapshot, viewer)
        subject = self._subject(snapshot, scope, org_code)
        answer = self._cached(snapshot, "overview", {"filters": filters.as_params(), "subject": subject,
                                                     "overdispersion": choice},
                              lambda: self._compute_overview(snapshot, filters, subject, choice))
        remainder = (self._remainder(snapshot, scope, [definition.id for definition in INDICATORS], filters)
                     if subject else None)
        rows = []
        # Each type's overview shows the indicators that fit it (the catalogue's `applies_to`).
        for definition in indicators_for(subject[1] if subject else None):
            computed = answer[definition.id]
            row: dict[str, dict | None] = {"indicator": definition.as_dict(),
                                           "national": self._present(computed["national"], NATIONAL_IDENTITY, export)}
            for part, code, level in (("organisation", *(subject or (None, None))),
                                      ("vsv", computed.get("vsv_code"), "vsv")):
                presented = (self._present(computed[part], scope.identity(code, level), export)
                             if computed.get(part) is not None else None)
                row[part] = presented
                if remainder is not None and presented is not None and level == "vsv":
                    # The provider's VSV (beside its own organisation, or asked about itself).
                    _complement_cell(presented, remainder[definition.id].get(None, set()))
            # Only an answer about an organisation has its level's `reference` (the comparator).
            if subject and computed.get("reference") is not None:
                row["reference"] = self._present(computed["reference"], _reference_identity(subject[1]), export)
            rows.append(row)
        judged = [cell for cell in (row.get("organisation") for row in rows) if cell and cell["verdict"]]
        expected_alerts, expected_alarms = judgement.expected_by_chance(len(judged))
        alerts: Alerts | None = {"judged": len(judged), "alerts": sum(cell["flag"] is not None for cell in judged),
                  "alarms": sum(cell["flag"] == "alarm" for cell in judged),
                  "expected_alerts": expected_alerts, "expected_alarms": expected_alarms,
                  "widened": sum(cell["judgement"]["method"] != "exact" for cell in judged),
                  "depends_on_method": sum(bool(cell["depends_on_method"]) for cell in judged)} if subject else None
        return self._envelope(snapshot, "overview", viewer, filters, overdispersion=choice,
                              organisation=scope.identity(subject[0], subject[1]) if subject else None,
                              alerts=alerts, rows=rows)

    def _compute_overview(self, snapshot: Snapshot, filters: Filters, subject: tuple[str, str] | None,
                          choice: OverdispersionChoice) -> dict:
        ids = [definition.id for definition in INDICATORS]
        if not subject:
            national = snapshot.frame.lazy().filter(filters.expression()).select(_sum_expressions(ids)).collect()
            return {i: {"national": _counts_cell(national[f"n:{i}"][0] or 0, national[f"d:{i}"][0] or 0)}
                    for i in ids}
        code, level = subject
        # The subject's level with expected counts (the sensitivity table judges O/E too), and the VSVs.
        levels = self._overview_levels(snapshot, level, filters)
        level_data = levels["level"]
        vsv_code = code if level == "vsv" else snapshot.organisations[code].get("vsv_code")
        vsv_data = levels["vsv"] if vsv_code else None
        vsv_code = vsv_code or ""
        organisation = self._subject_cells(level_data, code, choice, sensitivity=True)
        vsv = self._subject_cells(vsv_data, vsv_code, choice, sensitivity=False) if vsv_data is not None else None
        answer = {}
        for definition in INDICATORS:
            counts = level_data["indicators"][definition.id]
            entry: dict[str, Any] = {
                "vsv_code": vsv_code if vsv_data is not None else None,
                "national": _counts_cell(*level_data["national"][definition.id]),
                "reference": _counts_cell(counts["numerators"].sum(), counts["denominators"].sum()),
                "organisation": organisation[definition.id],
            }
            if vsv is not None:
                entry["vsv"] = vsv[definition.id]
            answer[definition.id] = entry
        return answer

    def _subject_cells(self, level_data: dict, code: str, choice: OverdispersionChoice, *,
                       sensitivity: bool) -> dict[str, OrganisationCell]:
        """One organisation's cell of every indicator, each judged against its level by `choice`; with
        `sensitivity`, also the verdict under crude / case-mix adjusted × exact / widened limits. Each family's
        judgement comes from all units of the level; the organisation's limits are computed for all indicators at
        once (`judgement.limits_each`): one vectorised computation instead of one per indicator and method."""
        index = level_data["index"].get(code)
        minimum = self.config.min_denominator
        measures: tuple[judgement.Measure, ...] = judgement.MEASURES if sensitivity else ("crude",)
        # Per measure and indicator: the family's comparator and judgement by `choice`, the organisation's value
        # and size (denominator, or E); None / NaN where the organisation has no births in the denominator.
        families: dict[str, list[tuple[float, judgement.Judgement] | None]] = {measure: [] for measure in measures}
        values: dict[str, list[float]] = {measure: [] for measure in measures}
        sizes: dict[str, list[float]] = {measure: [] for measure in measures}
        for definition in INDICATORS:
            counts = level_data["indicators"][definition.id]
            numerators, denominators = counts["numerators"], counts["denominators"]
            present = denominators > 0
            estimable = (denominators >= minimum)[present]
            own = index is not None and bool(denominators[index] > 0)
            for measure in measures:
                # No births of the organisation in the denominator, or no adjusted figure for this indicator
                # (Indicator.case_mix_adjusted): nothing to judge.
                if not own or (measure == "adjusted" and not definition.case_mix_adjusted):
                    families[measure].append(None)
                    values[measure].append(np.nan)
                    sizes[measure].append(0.0)
                elif measure == "crude":
                    families[measure].append(judgement.rate_judgement(numerators[present], denominators[present],
                                                                      choice, estimable))
                    values[measure].append(numerators[index] / denominators[index])
                    sizes[measure].append(denominators[index])
                else:
                    expected = counts["expected"]
                    families[measure].append((1.0, judgement.ratio_judgement(numerators[present], expected[present],
                                                                             choice, estimable)))
                    values[measure].append(numerators[index] / expected[index] if expected[index] > 0 else np.nan)
                    sizes[measure].append(expected[index])

        def judged(measure: judgement.Measure, method_choice: OverdispersionChoice) -> tuple[np.ndarray, np.ndarray]:
            centres = np.array([family[0] if family else np.nan for family in families[measure]])
            dispersions = [family[1].dispersion if family else None for family in families[measure]]
            methods = [judgement.choose_method(method_choice, dispersion) for dispersion in dispersions]
            _, found, standardised = judgement.judge_each(measure, values[measure], centres, sizes[measure], methods,
                                                          dispersions)
            return found, standardised

        widened = judgement.widened_choice(choice)
        columns: tuple[tuple[str, OverdispersionChoice], ...] = (("exact", "none"), ("widened", widened))
        table = {(measure, column): judged(measure, method) for measure in measures
                 for column, method in columns} if sensitivity else {}
        if sensitivity:
            # The headline method is exact or the widened one (`judgement.widened_choice`): take it from the table.
            headline_exact = np.array([judgement.choose_method(choice, family[1].dispersion if family else None)
                                       == "exact" for family in families["crude"]])
            headline_positions = np.where(headline_exact, table["crude", "exact"][0], table["crude", "widened"][0])
            headline_standardised = np.where(headline_exact, table["crude", "exact"][1], table["crude", "widened"][1])
        else:
            headline_positions, headline_standardised = judged("crude", choice)
        cells: dict[str, OrganisationCell] = {}
        for k, definition in enumerate(INDICATORS):
            counts = level_data["indicators"][definition.id]
            counted = _counts_cell(*((counts["numerators"][index], counts["denominators"][index])
                                     if index is not None else (0, 0)))
            position = headline_positions[k] if families["crude"][k] else ""
            family = families["crude"][k]
            cell: OrganisationCell = {
                "numerator": counted["numerator"], "denominator": counted["denominator"], "rate": counted["rate"],
                "ci_low": counted["ci_low"], "ci_high": counted["ci_high"], "position": position or None,
                "verdict": judgement.verdict(position, definition.direction), "flag": judgement.flag(position),
                "standardised": _number(headline_standardised[k]) if position else None,
                "judgement": _judgement_answer(family[1] if family else None, family[0] if family else None, choice,
                                               "crude", level_data["level"])}
            if sensitivity:
                def verdict_of(measure: judgement.Measure, column: str, k: int = k,
                               definition: Indicator = definition) -> judgement.Verdict | None:
                    return judgement.verdict(table[measure, column][0][k] if families[measure][k] else "",
                                             definition.direction)

                by_method: Sensitivity = {
                    "widened_method": widened,
                    "crude": MethodVerdicts(exact=verdict_of("crude", "exact"), widened=verdict_of("crude", "widened")),
                    "adjusted": MethodVerdicts(exact=verdict_of("adjusted", "exact"),
                                               widened=verdict_of("adjusted", "widened"))}
                cell["sensitivity"] = by_method
                cell["depends_on_method"] = judgement.method_dependent(
                    verdicts[column] for verdicts in (by_method["crude"], by_method["adjusted"])
                    for column in ("exact", "widened"))
            cells[definition.id] = cell
        return cells

    def trend(self, indicator_id: str, viewer: Viewer, filters: Filters | Mapping | None = None, *,
              grain: str = "month", org_code: str | None = None, export: bool = False) -> dict:
        """Counts, rate and 95% Wilson interval per month, quarter or year: a national series and, for an
        organisation the viewer may see by name (default: the viewer's own), that organisation's series."""
        definition = self._indicator(indicator_id)
        self._choice("grain", grain, GRAINS)
        filters = self._filters(filters)
        snapshot = self._snapshot()
        scope = self._scope(snapshot, viewer)
        subject = self._subject(snapshot, scope, org_code)
        answer = self._cached(
            snapshot, "trend", {"indicator": indicator_id, "grain": grain, "filters": filters.as_params(),
                                "subject": subject},
            lambda: self._compute_grouped(snapshot, indicator_id, filters, subject, _period_key(grain),
                                          lambda key: _period_label(key, grain)))
        complement = self._complement_series(snapshot, scope, subject, [indicator_id], filters, f"period:{grain}",
                                             _period_key(grain), lambda key: _period_label(key, grain))

        def points(cells: list[dict]) -> list[dict]:
            return [{"period": cell["key"], **self._present(_without_key(cell), None, export)} for cell in cells]

        series = [{"kind": "national", "label": "national", "named": True, "org_code": None,
                   "points": points(answer["national"])}]
        if subject:
            own = points(answer["organisation"])
            if complement:
                complement(indicator_id, own, "period")
            series.append({"kind": "organisation", **scope.identity(*subject), "points": own})
        return self._envelope(snapshot, "trend", viewer, filters, indicator=definition.as_dict(), grain=grain,
                              series=series)

    def control_chart(self, indicator_id: str, viewer: Viewer, filters: Filters | Mapping | None = None, *,
                      org_code: str | None = None, export: bool = False) -> dict:
        """A monthly p-chart with Laney's p′ limits and the NHS rule signals (queries.spc) of the organisation's
        series (default: the viewer's own), or the national series when there is none. It is made from the
        `trend` points exactly as the viewer sees them: a month whose rate is not shown (suppressed, or below the
        minimum denominator) is a month without data in the chart, so the chart never reveals more than the trend."""
        definition = self._indicator(indicator_id)
        trend = self.trend(indicator_id, viewer, filters, grain="month", org_code=org_code, export=export)
        series = next((s for s in trend["series"] if s["kind"] == "organisation"), trend["series"][0])
        envelope = {**{key: trend[key] for key in ("data_version", "viewer", "filters")}, "question": "control_chart",
                    "indicator": definition.as_dict(),
                    "series": {key: value for key, value in series.items() if key != "points"}}
        points = series["points"]
        # Counts of 1–4 are masked (exports, the API) on their outcome: the months left would be chosen by their
        # own numbers and give a biased centre and false signals, so there is no chart then.
        if any(point["suppression_reason"] in ("count_masked", "count_masked_secondary") for point in points):
            return {**envelope, "chart": None, "withheld": "count_masked"}
        shown = [point["rate"] is not None and not point["suppressed"] for point in points]
        kept = list(zip(points, shown, strict=True))
        chart = spc.control_chart([point["period"] for point in points],
                                  [point["numerator"] if keep else 0 for point, keep in kept],
                                  [point["denominator"] if keep else 0 for point, keep in kept],
                                  str(definition.direction))
        for point, keep in zip(chart["points"], shown, strict=True):
            if not keep:  # a month the trend does not show: no counts either (0/0 would read as "no births")
                point["numerator"] = point["denominator"] = None
        return {**envelope, "chart": chart, "withheld": None}

    def trends(self, viewer: Viewer, filters: Filters | Mapping | None = None, *, grain: str = "month",
               org_code: str | None = None, export: bool = False) -> dict:
        """`trend` for every catalogue indicator at once, aggregated in one pass over the data (the overview's
        sparklines): `indicators` is a list of {indicator, series} with the same series and points as `trend`."""
        self._choice("grain", grain, GRAINS)
        filters = self._filters(filters)
        snapshot = self._snapshot()
        scope = self._scope(snapshot, viewer)
        subject = self._subject(snapshot, scope, org_code)
        ids = [definition.id for definition in INDICATORS]
        answer = self._cached(
            snapshot, "trends", {"grain": grain, "filters": filters.as_params(), "subject": subject},
            lambda: self._compute_grouped_many(snapshot, ids, filters, subject, _period_key(grain),
                                               lambda key: _period_label(key, grain)))

        complement = self._complement_series(snapshot, scope, subject, ids, filters, f"period:{grain}",
                                             _period_key(grain), lambda key: _period_label(key, grain))

        def points(cells: list[dict]) -> list[dict]:
            return [{"period": cell["key"], **self._present(_without_key(cell), None, export)} for cell in cells]

        indicators = []
        for definition in INDICATORS:
            computed = answer[definition.id]
            series = [{"kind": "national", "label": "national", "named": True, "org_code": None,
                       "points": points(computed["national"])}]
            if subject:
                own = points(computed["organisation"])
                if complement:
                    complement(definition.id, own, "period")
                series.append({"kind": "organisation", **scope.identity(*subject), "points": own})
            indicators.append({"indicator": definition.as_dict(), "series": series})
        return self._envelope(snapshot, "trends", viewer, filters, grain=grain, indicators=indicators)

    def _compute_grouped_many(self, snapshot: Snapshot, indicator_ids: Sequence[str], filters: Filters,
                              subject: tuple[str, str] | None, key: pl.Expr,
                              label: KeyLabel) -> dict:
        """`_compute_grouped` for several indicators with one group-by per series: {indicator_id: answer}."""
        lazy = snapshot.frame.lazy().filter(filters.expression())
        queries = [lazy.group_by(key.alias("key")).agg(_sum_expressions(indicator_ids))]
        if subject:
            queries.append(lazy.filter(pl.col(LEVEL_COLUMNS[subject[1]]) == subject[0])
                           .group_by(key.alias("key")).agg(_sum_expressions(indicator_ids)))
        tables = pl.collect_all(queries)
        keys = pl.DataFrame({"key": sorted(tables[0]["key"].to_list())}, schema={"key": tables[0].schema["key"]})
        labels = [label(k) for k in keys["key"].to_list()]
        aligned = [keys.join(table, on="key", how="left").fill_null(0) for table in tables]

        def cells(table: pl.DataFrame, indicator_id: str) -> list[dict]:
            numerators = table[f"n:{indicator_id}"].to_numpy().astype(float)
            denominators = table[f"d:{indicator_id}"].to_numpy().astype(float)
            rates = _rate_cells(numerators, denominators)
            return [{"key": labels[i], "numerator": int(numerators[i]), "denominator": int(denominators[i]),
                     **{n: _number(v[i]) for n, v in rates.items()}} for i in range(len(labels))]

        answers = {}
        for indicator_id in indicator_ids:
            answers[indicator_id] = {"national": cells(aligned[0], indicator_id)}
            if subject:
                answers[indicator_id]["organisation"] = cells(aligned[1], indicator_id)
        return answers

    def breakdown(self, indicator_id: str, dimension: str, viewer: Viewer, filters: Filters | Mapping | None = None,
                  *, org_code: str | None = None, export: bool = False) -> dict:
        """The indicator per value of a target-group dimension (national, and the organisation when given
        or the viewer's own), with each value's Dutch and English label; missing values as `null`.

        A restriction of the target group on `dimension` itself is lifted (every value is shown, the rest of the
        target group applies): restricted, all other values would be empty. `filters` in the answer is what was
        applied, `lifted` the restriction that was not."""
        definition = self._indicator(indicator_id)
        self._choice("dimension", dimension, list(DIMENSIONS))
        requested = self._filters(filters)
        filters = requested.without(dimension)
        lifted = {name: list(values) for name, values in requested.selections if name == dimension}
        snapshot = self._snapshot()
        scope = self._scope(snapshot, viewer)
        subject = self._subject(snapshot, scope, org_code)
        spec = DIMENSIONS[dimension]
        answer = self._cached(
            snapshot, "breakdown", {"indicator": indicator_id, "dimension": dimension,
                                    "filters": filters.as_params(), "subject": subject},
            lambda: self._compute_grouped(snapshot, indicator_id, filters, subject,
                                          pl.col(spec.column).cast(pl.String), lambda key: key,
                                          all_keys=list(spec.values)))

        complement = self._complement_series(snapshot, scope, subject, [indicator_id], filters,
                                             f"dimension:{dimension}", pl.col(spec.column).cast(pl.String),
                                             lambda key: key)

        def values(cells: list[dict]) -> list[dict]:
            return [{"value": cell["key"], "label_nl": spec.label_of(cell["key"], "nl"),
                     "label_en": spec.label_of(cell["key"], "en"),
                     **self._present(_without_key(cell), None, export)} for cell in cells]

        series = [{"kind": "national", "label": "national", "named": True, "org_code": None,
                   "values": values(answer["national"])}]
        if subject:
            own = values(answer["organisation"])
            if complement:
                complement(indicator_id, own, "value")
            series.append({"kind": "organisation", **scope.identity(*subject), "values": own})
        return self._envelope(snapshot, "breakdown", viewer, filters, indicator=definition.as_dict(),
                              dimension={"name": dimension, "name_nl": spec.label("nl"), "name_en": spec.label("en")},
                              lifted=lifted, series=series)

    def _compute_grouped(self, snapshot: Snapshot, indicator_id: str, filters: Filters,
                         subject: tuple[str, str] | None, key: pl.Expr, label: KeyLabel,
                         all_keys: list | None = None) -> dict:
        """Counts per key (a period or a dimension value), national and for the subject organisation."""
        frame = snapshot.frame
        lazy = frame.lazy().filter(filters.expression())
        queries = [lazy.group_by(key.alias("key")).agg(_sum_expressions([indicator_id]))]
        if subject:
            queries.append(lazy.filter(pl.col(LEVEL_COLUMNS[subject[1]]) == subject[0])
                           .group_by(key.alias("key")).agg(_sum_expressions([indicator_id])))
        tables = pl.collect_all(queries)
        national = tables[0]
        keys = list(all_keys) if all_keys is not None else sorted(national["key"].to_list())
        if all_keys is not None and national["key"].is_null().any():
            keys.append(None)

        def cells(table: pl.DataFrame) -> list[dict]:
            counts = {row["key"]: (row[f"n:{indicator_id}"], row[f"d:{indicator_id}"])
                      for row in table.iter_rows(named=True)}
            numerators = np.array([counts.get(k, (0, 0))[0] for k in keys], dtype=float)
            denominators = np.array([counts.get(k, (0, 0))[1] for k in keys], dtype=float)
            rates = _rate_cells(numerators, denominators)
            return [{"key": label(k) if k is not None else None, "numerator": int(numerators[i]),
                     "denominator": int(denominators[i]), **{n: _number(v[i]) for n, v in rates.items()}}
                    for i, k in enumerate(keys)]

        answer = {"national": cells(national)}
        if subject:
            answer["organisation"] = cells(tables[1])
        return answer

    def adjusted(self, indicator_id: str, level: str, viewer: Viewer, filters: Filters | Mapping | None = None, *,
                 overdispersion: str = DEFAULT_OVERDISPERSION, export: bool = False) -> dict:
        """Case-mix adjusted results by indirect standardisation over parity × maternal age band ×
        gestational-age band × plurality against the organisations of the level (so Σ O = Σ E over them):
        observed, expected, O/E with exact Poisson 95% interval, the adjusted rate (O/E × the level's pooled
        rate, `reference`) and the verdict of O/E in an O/E funnel around 1 by the policy of queries.judgement."""
        definition = self._indicator(indicator_id)
        self._choice("level", level, LEVELS)
        choice = self._overdispersion(overdispersion)
        filters = self._filters(filters)
        snapshot = self._snapshot()
        if not definition.case_mix_adjusted:
            return self._envelope(snapshot, "adjusted", viewer, filters, indicator=definition.as_dict(), level=level,
                                  case_mix=[], not_adjusted="outcome_is_case_mix", judgement=None, national=None,
                                  reference=None, rows=[])
        answer = self._cached(snapshot, "adjusted", {"indicator": indicator_id, "level": level,
                                                     "filters": filters.as_params(), "overdispersion": choice},
                              lambda: self._compute_adjusted(snapshot, definition, level, filters, choice))
        scope = self._scope(snapshot, viewer)
        contributors = None
        basis = scope.complementary_basis()
        if basis is not None and level == "vsv":
            contributors = self._contributors(snapshot, basis[2], [indicator_id], filters)[indicator_id]
        return self._envelope(snapshot, "adjusted", viewer, filters, indicator=definition.as_dict(), level=level,
                              case_mix=list(CASE_MIX_COLUMNS), judgement=answer["judgement"],
                              national=self._present(answer["national"], NATIONAL_IDENTITY, export),
                              reference=self._present(answer["reference"], _reference_identity(level), export),
                              rows=self._scoped_rows(scope, level, answer["cells"], export, contributors))

    def _compute_adjusted(self, snapshot: Snapshot, definition: Indicator, level: str, filters: Filters,
                          choice: OverdispersionChoice) -> dict:
        """Indirect standardisation (Breslow & Day 1987): reference = the stratum rates of the level's
        organisations in the filter; E = Σ_s n_s · p_s per organisation (`_compute_level`)."""
        level_data = self._level(snapshot, level, filters, [definition.id], expected=True)
        counts = level_data["indicators"][definition.id]
        family, units = self._judged_cells(definition, level_data, choice, "adjusted")
        observed, population = counts["numerators"][units], counts["denominators"][units]
        expected = counts["expected"][units]
        reference_rate = counts["numerators"].sum() / max(counts["denominators"].sum(), 1)
        ratio, low, high = statistics.observed_expected_ratio(observed, expected, 0.95)
        rates = _rate_cells(observed, population)
        cells = [
            {"code": level_data["codes"][unit], "numerator": int(observed[i]), "denominator": int(population[i]),
             "rate": _number(rates["rate"][i]), "ci_low": _number(rates["ci_low"][i]),
             "ci_high": _number(rates["ci_high"][i]), "expected": _number(expected[i]),
             "ratio": _number(ratio[i]), "ratio_low": _number(low[i]), "ratio_high": _number(high[i]),
             "adjusted_rate": _number(ratio[i] * reference_rate), "adjusted_low": _number(low[i] * reference_rate),
             "adjusted_high": _number(high[i] * reference_rate), **_judged(family, i, definition)}
            for i, unit in enumerate(units)
        ]
        return {"national": _counts_cell(*level_data["national"][definition.id]),
                "reference": _counts_cell(counts["numerators"].sum(), counts["denominators"].sum()),
                "judgement": _judgement_answer(family.judgement if family else None, 1.0, choice, "adjusted", level),
                "cells": cells}


NATIONAL_IDENTITY = {"org_code": None, "label": "national", "named": True, "own": False}


def _reference_identity(level: str) -> dict:
    """The comparator of a level's organisations: all of them together (label `all_<level>`)."""
    return {"org_code": None, "label": f"all_{level}", "named": True, "own": False}


def _counts_cell(numerator: float, denominator: float) -> CountsCell:
    """Counts with their rate and 95% Wilson interval."""
    rates = _rate_cells(np.array([float(numerator)]), np.array([float(denominator)]))
    return {"numerator": int(numerator), "denominator": int(denominator), "rate": _number(rates["rate"][0]),
            "ci_low": _number(rates["ci_low"][0]), "ci_high": _number(rates["ci_high"][0])}


def _judged(family: JudgedFamily | None, index: int, definition: Indicator) -> JudgedFields:
    """The judgement of unit `index` of a family as cell fields: position, verdict, flag, standardised."""
    position = family.positions[index] if family is not None else ""
    return {"position": position or None, "verdict": judgement.verdict(position, definition.direction),
            "flag": judgement.flag(position),
            "standardised": _number(family.standardised[index]) if family is not None else None}


def _judgement_answer(judged_by: judgement.Judgement | None, centre: float | None, choice: OverdispersionChoice,
                      measure: judgement.Measure, level: str) -> judgement.JudgementAnswer:
    """How the verdicts of an answer were produced, against all organisations of `level` (a family without a
    comparator rate: exact, no dispersion)."""
    if judged_by is not None:
        return judged_by.as_dict(level, _number(centre) if centre is not None else None)
    return judgement.Judgement(measure, choice, "exact", None).as_dict(level, None)


def _with_expected(per_stratum: pl.LazyFrame, column: str, ids: Sequence[str]) -> pl.LazyFrame:
    """Per organisation of `column`: observed (n), population (d) and expected (e) counts, from counts per
    organisation and case-mix stratum: E_u = Σ_s n_us · (Σ_u O_us / Σ_u n_us) over the organisations u, so that
    the expected counts of the level add up to its observed counts (indirect standardisation)."""
    return (per_stratum
            .with_columns([(pl.col(f"d:{i}") * pl.col(f"n:{i}").sum().over(STRATUM_COLUMN)
                            / pl.col(f"d:{i}").sum().over(STRATUM_COLUMN)).fill_nan(0.0).fill_null(0.0).alias(f"e:{i}")
                           for i in ids])
            .group_by(column).agg([pl.col(f"{kind}:{i}").sum() for i in ids for kind in ("n", "d", "e")]))


def _resummed(counts: pl.LazyFrame, keys: Sequence[str], ids: Sequence[str]) -> pl.LazyFrame:
    """Counts already summed per finer cells, summed again per `keys` (all cells when empty)."""
    sums = [pl.col(f"{kind}:{i}").sum() for i in ids for kind in ("n", "d")]
    return counts.group_by(list(keys)).agg(sums) if keys else counts.select(sums)


def _level_data(level: str, per_unit: pl.DataFrame, national: pl.DataFrame, ids: Sequence[str]) -> dict:
    """The shape `IndicatorEngine._level` hands out: codes, their index, national counts, per-unit arrays."""
    column = LEVEL_COLUMNS[level]
    per_unit = per_unit.with_columns(pl.col(column).cast(pl.String)).sort(column)
    codes = per_unit[column].to_list()
    return {
        "level": level, "codes": codes, "index": {code: i for i, code in enumerate(codes)},
        "national": {i: (int(national[f"n:{i}"][0] or 0), int(national[f"d:{i}"][0] or 0)) for i in ids},
        "indicators": {i: {name: per_unit[f"{kind}:{i}"].to_numpy().astype(float)
                           for kind, name in (("n", "numerators"), ("d", "denominators"), ("e", "expected"))
                           if f"{kind}:{i}" in per_unit.columns} for i in ids},
    }


def _compute_level(frame: pl.DataFrame, level: str, filters: Filters, ids: Sequence[str], expected: bool) -> dict:
    """See `IndicatorEngine._level`: one group-by over the organisations of `level` (with `expected`, also over
    their case-mix strata, `_with_expected`)."""
    column = LEVEL_COLUMNS[level]
    lazy = frame.lazy().filter(filters.expression())
    of_level = lazy.filter(pl.col(column).is_not_null())
    per_unit = (_with_expected(of_level.group_by([column, STRATUM_COLUMN]).agg(_sum_expressions(ids)), column, ids)
                if expected else of_level.group_by(column).agg(_sum_expressions(ids)))
    per_unit_table, national = pl.collect_all([per_unit, lazy.select(_sum_expressions(ids))])
    return _level_data(level, per_unit_table, national, ids)


def _compute_overview_levels(frame: pl.DataFrame, level: str, filters: Filters, ids: Sequence[str]) -> dict:
    """See `IndicatorEngine._overview_levels`: one pass over the births, counted per (organisation of `level`,
    VSV, case-mix stratum); from those cells the level with expected counts, the VSVs and national."""
    column = LEVEL_COLUMNS[level]
    keys = [column, STRATUM_COLUMN] if level == "vsv" else [column, "vsv_code", STRATUM_COLUMN]
    cells = frame.lazy().filter(filters.expression()).group_by(keys).agg(_sum_expressions(ids))
    queries = [_with_expected(_resummed(cells.filter(pl.col(column).is_not_null()), [column, STRATUM_COLUMN], ids),
                              column, ids),
               _resummed(cells, [], ids)]
    if level != "vsv":
        queries.append(_resummed(cells.filter(pl.col("vsv_code").is_not_null()), ["vsv_code"], ids))
    tables = pl.collect_all(queries)
    return {"level": _level_data(level, tables[0], tables[1], ids),
            "vsv": _level_data("vsv", tables[2], tables[1], ids) if level != "vsv" else None}


def _without_key(cell: dict) -> dict:
    return {name: value for name, value in cell.items() if name != "key"}


def _period_key(grain: str) -> pl.Expr:
    month = pl.col("month_index")
    return {"month": month, "quarter": month // 3, "year": month // 12}[grain]


def _period_label(key: int, grain: str) -> str:
    if grain == "month":
        return month_label(key)
    if grain == "quarter":
        return f"{key // 4:04d}-Q{key % 4 + 1}"
    return f"{key:04d}"


def _compute_contributors(frame: pl.DataFrame, level: str, indicator_ids: Sequence[str], filters: Filters,
                          vsv_code: str | None, key: pl.Expr | None,
                          label: KeyLabel | None) -> dict:
    """See `IndicatorEngine._contributors`: one group-by over (VSV, organisation of `level`, key)."""
    # A birth belongs to the organisation of `level` where it happened, else to the organisation of the other
    # care level (a home birth to its practice, a birth without a practice to its hospital): every birth of the
    # VSV outside the provider's own organisation is some other organisation's.
    other_level = "practice" if level == "hospital" else "hospital"
    organisation = pl.coalesce(pl.col(LEVEL_COLUMNS[level]), pl.col(LEVEL_COLUMNS[other_level]))
    condition = filters.expression() & organisation.is_not_null() & pl.col("vsv_code").is_not_null()
    if vsv_code:
        condition &= pl.col("vsv_code") == vsv_code
    groups = [pl.col("vsv_code").alias("vsv"), organisation.alias("org"),
              (key if key is not None else pl.lit(None)).alias("key")]
    table = (
        frame.lazy().filter(condition).group_by(groups)
        .agg([pl.col(population_column(indicator_id)).sum().cast(pl.Int64).alias(indicator_id)
              for indicator_id in indicator_ids])
        .with_columns(pl.col("vsv").cast(pl.String), pl.col("org").cast(pl.String))
        .unpivot(index=["vsv", "org", "key"], on=list(indicator_ids), variable_name="indicator", value_name="d")
        .filter(pl.col("d") > 0)
        .group_by(["indicator", "vsv", "key"]).agg(pl.col("org").unique().sort())
        .collect()
    )
    answer: dict[str, dict] = {indicator_id: {} for indicator_id in indicator_ids}
    for row in table.iter_rows(named=True):
        cell_key = label(row["key"]) if key is not None and row["key"] is not None and label else row["key"]
        answer[row["indicator"]].setdefault(row["vsv"], {})[cell_key] = row["org"]
    return answer


HIDDEN_COUNTS = ("count_masked", "count_masked_secondary", COMPLEMENTARY)


def _complement_cell(presented: dict, others: set[str]) -> dict:
    """Complementary suppression of one presented VSV cell: hidden (counts too) when the births in its
    denominator outside the provider's own organisation belong to exactly one other organisation, i.e. the VSV
    minus the provider's own figures would be that organisation's. With none the VSV figure is the provider's
    own; with two or more the remainder is an aggregate, as the product brief's "VSV average" intends."""
    if 0 < len(others) < COMPLEMENTARY_MIN_OTHERS:
        _suppress(presented, COMPLEMENTARY, hide_counts=True)
    return presented


def _complementary(cells: list[dict], others: list[set[str]], checked: list[bool], minimum: int) -> None:
    """Complementary suppression in a family of presented cells that add up to a figure shown elsewhere (the
    points of a VSV's trend or breakdown add up to the VSV's figure for the selection; the rows of all VSVs to
    the `reference` cell). `others[i]`: the organisations of the provider's level, other than its own, behind
    cell i; `checked[i]`: cell i is the provider's VSV.

    First each checked cell with fewer than two others is hidden (`_complement_cell`). Then, while the hidden
    cells together stand for fewer than two other organisations — the total minus the shown cells minus the
    provider's own would still be one organisation's — the smallest shown cell that adds another organisation is
    hidden too (cells with a denominator below `minimum` last: a tiny cell would hardly cover anything)."""
    for cell, behind, check in zip(cells, others, checked, strict=True):
        if check:
            _complement_cell(cell, behind)
    hidden = [i for i, cell in enumerate(cells) if cell["suppression_reason"] in HIDDEN_COUNTS]
    if not any(cells[i]["suppression_reason"] == COMPLEMENTARY for i in hidden):
        return
    covered = set().union(*(others[i] for i in hidden))
    candidates = sorted((i for i, cell in enumerate(cells) if i not in hidden and cell["denominator"]),
                        key=lambda i: (cells[i]["denominator"] < minimum, cells[i]["denominator"],
                                       cells[i]["numerator"], str(cells[i].get("label")),
                                       str(cells[i].get("period")), str(cells[i].get("value"))))
    for i in candidates:
        if len(covered) >= COMPLEMENTARY_MIN_OTHERS:
            break
        if others[i] - covered:
            _suppress(cells[i], COMPLEMENTARY, hide_counts=True)
            covered |= others[i]


_ENGINES: dict[str, IndicatorEngine] = {}
_ENGINES_LOCK = threading.Lock()


SUPPRESSED_STATISTICS = ("rate", "ci_low", "ci_high", "position", "verdict", "flag", "standardised", "sensitivity",
                         "depends_on_method", "ratio", "ratio_low", "ratio_high", "adjusted_rate", "adjusted_low",
                         "adjusted_high", "expected")


def _suppress(presented: dict, reason: str | None, *, hide_counts: bool) -> dict:
    """Mark a presented cell suppressed for `reason` (None: not suppressed), blanking its statistics and,
    when `hide_counts`, its counts too (a rate next to its denominator gives a masked count back)."""
    if hide_counts:
        presented["numerator"] = presented["denominator"] = None
    if reason:
        for name in SUPPRESSED_STATISTICS:
            if name in presented:
                presented[name] = None
    presented["suppressed"] = reason is not None
    presented["suppression_reason"] = reason
    return presented


def get_engine(url: str | None = None) -> IndicatorEngine:
    """The process-wide engine for a database URL (default: PERISPIEGEL_DATABASE_URL or the embedded file)."""
    url = url or database_url()
    with _ENGINES_LOCK:
        if url not in _ENGINES:
            _ENGINES[url] = IndicatorEngine(make_engine(url))
        return _ENGINES[url]
