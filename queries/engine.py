"""The indicator engine: every question the dashboards, the API and the exports ask about indicators.

Each public method takes the viewer (queries.scope.Viewer) and a filter (queries.filters.Filters, or a
mapping of URL parameters) and returns a JSON-ready dict that always carries `data_version`. The engine
aggregates the in-memory copy of the published version (queries.store), caches the unscoped answer per
data version + question (queries.cache), then applies the viewer's scope and the small-number rules
(queries.config) on the way out through queries.disclosure, so no caller can forget either. Every computation
keeps two variants of each figure: `exact`, and `published` (from the cell-key perturbed counts); verdicts are
judged against a comparator estimated from the published counts, so every statistic an answer shows about
others is a function of perturbed figures (docs/privacy.md). See docs/indicators.md for the shapes.
"""

from __future__ import annotations

import functools
import math
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl
from flask_caching.backends import BaseCache
from sqlalchemy import Engine

from queries import disclosure, export_table, judgement, spc, statistics
from queries.answers import Alerts, CountsCell, ExportAbout, ExportQuestion, ExportTable, MethodVerdicts, Sensitivity
from queries.cache import answer_key, answers_fingerprint, make_answer_cache
from queries.catalogue import CATALOGUE, INDICATORS, Indicator, indicators_for
from queries.config import EngineConfig, load_config
from queries.filters import (
    DIMENSIONS,
    GRAINS,
    Filters,
    InvalidParameterError,
    parse_filters,
    period_key,
    period_label,
)
from queries.judgement import (
    DEFAULT_OVERDISPERSION,
    OVERDISPERSION_CHOICES,
    JudgedFamily,
    OverdispersionChoice,
)
from queries.provisional import period_bounds
from queries.scope import Scope, Viewer
from queries.store import (
    CASE_MIX_COLUMNS,
    LEVEL_COLUMNS,
    STRATUM_COLUMN,
    WATCH_SECONDS,
    BirthStore,
    Snapshot,
    key_column,
    numerator_column,
    population_column,
)
from tables.database import database_url, make_engine
from texts import LANGUAGES

LEVELS = tuple(LEVEL_COLUMNS)
#: The types of organisation that are members of a VSV, in the order they are listed.
MEMBER_LEVELS = ("hospital", "practice")
FUNNEL_CURVE_POINTS = 120

# Turns a group-by key into the key of a cell (a period label, a dimension value). The key is whatever Python
# value polars hands back for the key expression: an int period index, a str dimension value.
KeyLabel = Callable[[Any], str]


class NoDataError(RuntimeError):
    """No data version has been published yet (run `perispiegel load`)."""


def _number(value: float) -> float | None:
    """A float for JSON: NaN and infinities become None."""
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value


COUNT_KINDS = ("n", "d", "k")
#: A national cell's counts, and how many VSVs (w) have births in its denominator: the rule on the national figure
#: (`IndicatorEngine._present_national`).
NATIONAL_KINDS = (*COUNT_KINDS, "w")


def _sum_expressions(indicator_ids: Sequence[str]) -> list[pl.Expr]:
    """Per indicator: numerator (n), denominator (d) and the sum of their packed record keys (k: both cell keys,
    queries.disclosure.cell_keys)."""
    expressions = []
    for indicator_id in indicator_ids:
        numerator, population = numerator_column(indicator_id), population_column(indicator_id)
        expressions += [pl.col(numerator).sum().cast(pl.Int64).alias(f"n:{indicator_id}"),
                        pl.col(population).sum().cast(pl.Int64).alias(f"d:{indicator_id}"),
                        pl.col(key_column(indicator_id)).sum().cast(pl.Int64).alias(f"k:{indicator_id}")]
    return expressions


NATIONAL_IDENTITY = {"org_code": None, "label": "national", "named": True, "own": False}


def _national(births: pl.LazyFrame, keys: Sequence[pl.Expr], ids: Sequence[str]) -> pl.LazyFrame:
    """National counts of `births` per `keys` (aliased expressions; one row without keys) with the number of VSVs
    behind each (NATIONAL_KINDS): counted per VSV first, a small table (`_national_of_cells`)."""
    per_vsv = births.group_by([*keys, "vsv_code"]).agg(_sum_expressions(ids))
    return _national_of_cells(per_vsv, [key.meta.output_name() for key in keys], ids)


def _national_of_cells(cells: pl.LazyFrame, keys: Sequence[str], ids: Sequence[str]) -> pl.LazyFrame:
    """National counts per `keys` from counted cells that carry `vsv_code` (per VSV or finer, all births), with per
    indicator the number of VSVs with births in its denominator (`w:<id>`)."""
    per_vsv = _resummed(cells, [*keys, "vsv_code"], ids)
    sums = [pl.col(f"{kind}:{i}").sum() for i in ids for kind in COUNT_KINDS]
    sums += [(pl.col(f"d:{i}") > 0).sum().cast(pl.Int64).alias(f"w:{i}") for i in ids]
    return per_vsv.group_by(list(keys)).agg(sums) if keys else per_vsv.select(sums)


class IndicatorEngine:
    """Answers indicator questions for one database (see the module docstring and docs/indicators.md)."""

    def __init__(self, db_engine: Engine, config: EngineConfig | None = None, cache: BaseCache | None = None) -> None:
        self.config = config or load_config()
        self.store = BirthStore(db_engine, self.config)
        self.cache = cache if cache is not None else make_answer_cache(self.config)
        # The pseudonym key is no input of a cached (unscoped) answer; it stays out of the fingerprint.
        self.noise = disclosure.PERTURBATION_TABLE if self.config.cell_key_noise else disclosure.NO_NOISE_TABLE
        # The spread the perturbation adds to the published counts, taken out of the overdispersion estimate.
        self.noise_variance = disclosure.NOISE_VARIANCE if self.config.cell_key_noise else 0.0
        settings = (self.config.min_denominator, self.config.cell_key_noise, self.noise_variance,
                    CASE_MIX_COLUMNS, FUNNEL_CURVE_POINTS, judgement.OVERDISPERSION_TEST_LEVEL, judgement.ALERT_LEVEL,
                    judgement.ALARM_LEVEL, statistics.DEFAULT_WINSORISING_FRACTION)
        computing = (sys.modules[__name__], judgement, statistics, spc, disclosure, sys.modules[Indicator.__module__],
                     sys.modules[BirthStore.__module__], sys.modules[Filters.__module__])
        self.fingerprint = answers_fingerprint(INDICATORS, settings, computing)

    # ---- plumbing -------------------------------------------------------------------------------

    def warm(self, watch_seconds: float = WATCH_SECONDS) -> None:
        """Load the published version in the background now and after each refresh (`BirthStore.warm`), and
        prepare what every first page asks: each level's counts without a target group (`_overview_levels`, cached
        before disclosure, so they serve every viewer)."""
        self.store.warm(watch_seconds, after_load=self._prepare_first_answers)

    def _prepare_first_answers(self, snapshot: Snapshot) -> None:
        for level in LEVELS:
            self._overview_levels(snapshot, level, Filters())

    def _snapshot(self, version: int | None = None) -> Snapshot:
        """The current data version's snapshot, or a kept `version`'s (queries.store.BirthStore.snapshot)."""
        snapshot = self.store.snapshot() if version is None else self.store.snapshot(version)
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

    @property
    def rules(self) -> disclosure.SmallNumbers:
        return disclosure.SmallNumbers(self.config.min_denominator, self.config.mask_counts_from,
                                       self.config.mask_counts_to)

    def _present(self, cell: dict, treatment: disclosure.Treatment, identity: dict | None, export: bool,
                 definition: Indicator, band: disclosure.SizeBand | None = None) -> dict:
        """One computed cell (both variants) as the viewer is shown it (queries.disclosure.present)."""
        return disclosure.present(cell, treatment, identity, self.rules, export=export,
                                  unit_scale=definition.unit_scale, band=band)

    def _present_national(self, scope: Scope, cell: dict, export: bool, definition: Indicator,
                          identity: dict | None = NATIONAL_IDENTITY) -> dict:
        """The national figure: perturbed (exact for admin), and withheld (`few_peers`) where fewer than five VSVs
        besides the viewer's own have births in it (queries.disclosure.national_withheld, docs/privacy.md): minus the
        viewer's own figures it would be the total of fewer than five others."""
        presented = self._present(_without_vsvs(cell), scope.treatment(None, None), identity, export, definition)
        if presented["disclosure"] != "exact" and "vsvs" in cell and \
                disclosure.national_withheld(cell["vsvs"], scope.exact_vsvs):
            disclosure.suppress(presented, "few_peers", hide_counts=True)
        return presented

    def _present_reference(self, scope: Scope, cell: dict, level: str, export: bool, definition: Indicator,
                           few_peers: bool) -> dict:
        """The comparator (all organisations of `level`): perturbed (exact for admin), or withheld beside fewer than
        PEER_GROUP_SIZE peers (minus the viewer's own figures it would be theirs)."""
        presented = self._present(cell, scope.treatment(None, None), _reference_identity(level), export, definition)
        return disclosure.suppress(presented, "few_peers", hide_counts=True) if few_peers else presented

    def _present_organisation(self, scope: Scope, cell: dict, code: str, level: str, export: bool,
                              definition: Indicator, answer: str) -> dict:
        """A named organisation's cell (the subject of an overview, trend or breakdown, or the viewer's VSV):
        exact or perturbed by the scope; a provider's VSV withheld by the structural rule."""
        presented = self._present(cell, scope.treatment(code, level), scope.identity(code, level, answer), export,
                                  definition)
        if level != "vsv" or not scope.vsv_withheld(code):
            return presented
        if "judgement" in presented:
            presented["judgement"] = _published_judgement(presented["judgement"], True)
        return disclosure.withhold(presented)

    def _envelope(self, snapshot: Snapshot, question: str, viewer: Viewer, filters: Filters,
                  **extra: object) -> dict:
        return {"question": question, "data_version": snapshot.version_info(), "viewer": viewer.as_dict(),
                "filters": filters.as_params(), **extra}

    @staticmethod
    def _marked(snapshot: Snapshot, scope: Scope, cell: dict | None, level: str | None, code: str | None,
                period: tuple[str | None, str | None]) -> dict | None:
        """`cell` with the provisional months of its figure's `period` (`provisional`, queries.provisional): the
        figure of `code` (an organisation or VSV of `level`), of all organisations of `level` (`code` None) or the
        national one (both None). A peer's cell gets None: marks would follow it across answers."""
        if cell is not None:
            named = code is None or level is None or scope.may_name(code, level)
            cell["provisional"] = snapshot.provisional.notes(level, code, *period, named=named)
        return cell

    @staticmethod
    def _period(snapshot: Snapshot, filters: Filters) -> tuple[str | None, str | None]:
        """The months a figure of `filters` covers: the target group's period, else the data version's."""
        return filters.period_from or snapshot.period_from, filters.period_to or snapshot.period_to

    @staticmethod
    def _answer(snapshot: Snapshot, question: str, filters: Filters, **about: object) -> str:
        """What identifies an answer for its peers' pseudonyms (queries.disclosure.answer_pseudonym)."""
        return "|".join([str(snapshot.data_version), question, repr(sorted(about.items())),
                         repr(filters.as_params())])

    def _scoped_rows(self, scope: Scope, level: str, cells: list[dict], export: bool, definition: Indicator,
                     answer: str) -> tuple[list[dict], bool, bool]:
        """The rows of a level as the viewer may see them, whether one was withheld, and whether there are fewer
        than PEER_GROUP_SIZE peers (then no row has a standardised position: `_without_standardised`). Peers share
        size bands of at least PEER_GROUP_SIZE (from their published denominators) and carry pseudonyms of this
        answer."""
        treatments = [scope.treatment(cell["code"], level) for cell in cells]
        peers = [i for i, treatment in enumerate(treatments) if treatment == "peer"]
        bands = dict(zip(peers, disclosure.size_bands([cells[i]["published"]["denominator"] for i in peers]),
                         strict=True))
        few = _few_peers(scope, [cell["code"] for cell in cells], level)
        rows, withheld = [], False
        for i, cell in enumerate(cells):
            row = self._present(_without_code(cell), treatments[i],
                                scope.identity(cell["code"], level, answer), export, definition, bands.get(i))
            if level == "vsv" and scope.vsv_withheld(cell["code"]):
                disclosure.withhold(row)
                withheld = True
            elif treatments[i] == "peer" and few:
                disclosure.suppress(row, "few_peers", hide_counts=True)  # a band of fewer would point at them
                row["size_band"] = None
            rows.append(row)
        if few:
            _without_standardised(rows)
        # Own first, then named, then peers by their pseudonym of this answer: a random order.
        return sorted(rows, key=lambda row: (not row["own"], not row["named"], row["label"])), withheld, few

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

    def members(self, viewer: Viewer, vsv_code: str) -> list[dict]:
        """The member organisations of VSV `vsv_code` that the viewer may see by name (`organisations`), hospitals
        then practices, each by name, with their `level`."""
        return [{**row, "level": level} for level in MEMBER_LEVELS for row in self.organisations(viewer, level)
                if row["vsv_code"] == vsv_code]

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
                            lambda: _compute_level(snapshot.frame, level, filters, ids, expected, self.noise))

    def _overview_levels(self, snapshot: Snapshot, level: str, filters: Filters) -> dict:
        """For an overview of an organisation of `level`: its level with expected counts and the VSVs' counts, from
        one pass over the births (`_compute_overview_levels`); cached per level + filter."""
        return self._cached(snapshot, "overview_levels", {"level": level, "filters": filters.as_params()},
                            lambda: _compute_overview_levels(snapshot.frame, level, filters,
                                                             [definition.id for definition in INDICATORS], self.noise))

    def _judged_cells(self, definition: Indicator, level_data: dict, choice: OverdispersionChoice,
                      measure: judgement.Measure = "crude") -> tuple[JudgedFamily | None, np.ndarray, np.ndarray]:
        """One indicator of a level judged: (the family, the indexes of the units judged, the units' standardised
        positions from their published counts). Only units with births in the denominator are judged. The
        comparator and the overdispersion are estimated from the published (perturbed) counts of the units with a
        rate to show, so no statistic of the answer is a function of others' exact counts; each unit's position
        is its exact value against those limits (the same verdict for every viewer)."""
        counts = level_data["indicators"][definition.id]
        units = np.flatnonzero(counts["denominators"] > 0)
        published_numerators = counts["published_numerators"][units]
        published_denominators = counts["published_denominators"][units]
        estimable = published_denominators >= self.config.min_denominator
        if measure == "crude":
            found = judgement.rate_judgement(published_numerators, published_denominators, choice, estimable,
                                             self.noise_variance)
            if found is None:
                return None, units, np.full(len(units), np.nan)
            centre, judged_by = found
            exact_sizes, published_sizes = counts["denominators"][units], published_denominators
        else:
            centre = 1.0
            judged_by = judgement.ratio_judgement(published_numerators, counts["published_expected"][units], choice,
                                                  estimable, self.noise_variance)
            exact_sizes, published_sizes = counts["expected"][units], counts["published_expected"][units]
        with np.errstate(divide="ignore", invalid="ignore"):
            exact_values = np.where(exact_sizes > 0, counts["numerators"][units] / exact_sizes, np.nan)
            published_values = np.where(published_sizes > 0, published_numerators / published_sizes, np.nan)
        published_standardised = judgement.judged_family(centre, judged_by, published_values,
                                                         published_sizes).standardised
        return judgement.judged_family(centre, judged_by, exact_values, exact_sizes), units, published_standardised

    def _compute_units(self, snapshot: Snapshot, indicator_id: str, level: str, filters: Filters,
                       overdispersion: OverdispersionChoice, with_curve: bool) -> dict:
        definition = CATALOGUE[indicator_id]
        level_data = self._level(snapshot, level, filters, [indicator_id])
        counts = level_data["indicators"][indicator_id]
        family, units, published_standardised = self._judged_cells(definition, level_data, overdispersion)
        exact = _variant_cells(counts["numerators"][units], counts["denominators"][units])
        published = _variant_cells(counts["published_numerators"][units], counts["published_denominators"][units])
        cells = [{"code": level_data["codes"][unit], **_judged(family, i, definition),
                  "exact": {**exact[i], "standardised": _standardised(family, family.standardised if family else None,
                                                                      i)},
                  "published": {**published[i], "standardised": _standardised(family, published_standardised, i)}}
                 for i, unit in enumerate(units)]
        answer: dict[str, Any] = {
            "target": _number(family.centre) if family else None,
            "national": _counted(level_data["national"][indicator_id], self.noise),
            # The funnel's comparator is the pooled rate of the organisations compared (Spiegelhalter 2005,
            # section 2): a hospital's births exclude home births, so comparing hospitals with all births would
            # flag them all.
            "reference": _reference(counts),
            "judgement": _judgement_answer(family.judgement if family else None, family.centre if family else None,
                                           overdispersion, "crude", level),
            "cells": cells,
        }
        if with_curve and family is not None:
            sizes = counts["published_denominators"][units]
            # The curve's end, rounded up like a size band's edge, says no more about the largest unit than its band.
            largest = disclosure.rounded_outwards(max(float(sizes.max()) if len(sizes) else 0.0, 100.0) * 1.1, up=True)
            grid = np.unique(np.round(np.geomspace(1, largest, FUNNEL_CURVE_POINTS))).astype(float)
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
        answer = self._units(snapshot, indicator_id, level, filters, choice, with_curve)
        scope = self._scope(snapshot, viewer)
        own_vsv = None
        if scope.own_vsv_code and level != "vsv":
            own_vsv = self._vsv_cell(snapshot, scope, definition, filters, choice, export)
        rows, withheld, few = self._scoped_rows(scope, level, answer["cells"], export, definition,
                                                self._answer(snapshot, "units", filters, indicator=indicator_id,
                                                             level=level))
        period = self._period(snapshot, filters)
        _marked_rows(snapshot, rows, level, period)
        result = self._envelope(
            snapshot, question, viewer, filters, indicator=definition.as_dict(), level=level,
            target=None if few else answer["target"],
            judgement=_published_judgement(answer["judgement"], withheld, few),
            national=self._marked(snapshot, scope, self._present_national(scope, answer["national"], export,
                                                                          definition), None, None, period),
            reference=self._marked(snapshot, scope, self._present_reference(scope, answer["reference"], level, export,
                                                                            definition, few), level, None, period),
            own_vsv=self._marked(snapshot, scope, own_vsv, "vsv", scope.own_vsv_code, period), rows=rows)
        if with_curve:
            # No curves beside a withheld unit or few peers: widened limits follow from φ and τ², and any limit
            # from the centre (docs/privacy.md).
            result["limits"] = [] if few or withheld else answer.get("limits", [])
        return result

    def _units(self, snapshot: Snapshot, indicator_id: str, level: str, filters: Filters,
               choice: OverdispersionChoice, with_curve: bool) -> dict:
        return self._cached(
            snapshot, "units", {"indicator": indicator_id, "level": level, "filters": filters.as_params(),
                                "overdispersion": choice, "curve": with_curve},
            lambda: self._compute_units(snapshot, indicator_id, level, filters, choice, with_curve))

    def _vsv_cell(self, snapshot: Snapshot, scope: Scope, definition: Indicator, filters: Filters,
                  overdispersion: OverdispersionChoice, export: bool) -> dict | None:
        """The viewer's VSV among all VSVs (judged against them), beside the rows of another level."""
        answer = self._units(snapshot, definition.id, "vsv", filters, overdispersion, False)
        for cell in answer["cells"]:
            if cell["code"] == scope.own_vsv_code:
                presented = self._present_organisation(
                    scope, _without_code(cell), cell["code"], "vsv", export, definition,
                    self._answer(snapshot, "units", filters, indicator=definition.id, level="vsv"))
                presented["judgement"] = _published_judgement(answer["judgement"], scope.vsv_withheld(cell["code"]))
                return presented
        return None

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
        about = self._answer(snapshot, "overview", filters, subject=subject)
        period = self._period(snapshot, filters)
        rows = []
        # Each type's overview shows the indicators that fit it (the catalogue's `applies_to`).
        for definition in indicators_for(subject[1] if subject else None):
            computed = answer[definition.id]
            row: dict[str, dict | None] = {
                "indicator": definition.as_dict(),
                "national": self._marked(snapshot, scope,
                                         self._present_national(scope, computed["national"], export, definition),
                                         None, None, period)}
            for part, code, level in (("organisation", *(subject or (None, None))),
                                      ("vsv", computed.get("vsv_code"), "vsv")):
                # A researcher granted an organisation does not see its VSV: only what the viewer may name.
                row[part] = (self._marked(snapshot, scope, self._present_organisation(
                                 scope, computed[part], code, level, export, definition, about), level, code, period)
                             if computed.get(part) is not None and code and level and scope.may_name(code, level)
                             else None)
            # Only an answer about an organisation has its level's `reference` (the comparator).
            if subject and computed.get("reference") is not None:
                few = _few_peers(scope, computed["units"], subject[1])
                row["reference"] = self._marked(snapshot, scope, self._present_reference(
                    scope, computed["reference"], subject[1], export, definition, few), subject[1], None, period)
                organisation = row["organisation"]
                if few and organisation is not None and "judgement" in organisation:
                    organisation["judgement"] = _published_judgement(organisation["judgement"], False, True)
                    _without_standardised([organisation])
            rows.append(row)
        judged = [cell for cell in (row.get("organisation") for row in rows) if cell and cell["verdict"]]
        expected_alerts, expected_alarms = judgement.expected_by_chance(len(judged))
        alerts: Alerts | None = {"judged": len(judged), "alerts": sum(cell["flag"] is not None for cell in judged),
                  "alarms": sum(cell["flag"] == "alarm" for cell in judged),
                  "expected_alerts": expected_alerts, "expected_alarms": expected_alarms,
                  "widened": sum(cell["judgement"]["method"] != "exact" for cell in judged),
                  "depends_on_method": sum(bool(cell["depends_on_method"]) for cell in judged)} if subject else None
        return self._envelope(snapshot, "overview", viewer, filters, overdispersion=choice,
                              organisation=scope.identity(subject[0], subject[1], about) if subject else None,
                              alerts=alerts, rows=rows)

    def _compute_overview(self, snapshot: Snapshot, filters: Filters, subject: tuple[str, str] | None,
                          choice: OverdispersionChoice) -> dict:
        ids = [definition.id for definition in INDICATORS]
        if not subject:
            national = _national(snapshot.frame.lazy().filter(filters.expression()), [], ids).collect()
            return {i: {"national": _counted([national[f"{kind}:{i}"][0] or 0 for kind in NATIONAL_KINDS], self.noise)}
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
                "national": _counted(level_data["national"][definition.id], self.noise),
                "reference": _reference(counts),
                "organisation": organisation[definition.id],
                # The organisations behind the reference (for the rule on fewer than five peers).
                "units": [level_data["codes"][unit] for unit in np.flatnonzero(counts["denominators"] > 0)],
            }
            if vsv is not None:
                entry["vsv"] = vsv[definition.id]
            answer[definition.id] = entry
        return answer

    def _subject_cells(self, level_data: dict, code: str, choice: OverdispersionChoice, *,
                       sensitivity: bool) -> dict[str, dict]:
        """One organisation's cell of every indicator (both variants, queries.disclosure.present), each judged
        against its level by `choice`; with `sensitivity`, also the verdict under crude / case-mix adjusted ×
        exact / widened limits. Each family's comparator and overdispersion come from the published counts of all
        units of the level (as in `_judged_cells`), the verdicts from the organisation's exact value; its limits
        are computed for all indicators at once (`judgement.judge_each`): one vectorised computation instead of
        one per indicator and method."""
        index = level_data["index"].get(code)
        minimum = self.config.min_denominator
        measures: tuple[judgement.Measure, ...] = judgement.MEASURES if sensitivity else ("crude",)
        # Per measure and indicator: the family's comparator and judgement by `choice`, the organisation's value
        # and size (denominator, or E), exact and published; None / NaN where the organisation has no births in
        # the denominator.
        families: dict[str, list[tuple[float, judgement.Judgement] | None]] = {measure: [] for measure in measures}
        values: dict[tuple[str, str], list[float]] = {(measure, variant): [] for measure in measures
                                                      for variant in ("exact", "published")}
        sizes: dict[tuple[str, str], list[float]] = {key: [] for key in values}
        for definition in INDICATORS:
            counts = level_data["indicators"][definition.id]
            published_numerators = counts["published_numerators"]
            published_denominators = counts["published_denominators"]
            present = counts["denominators"] > 0
            estimable = (published_denominators >= minimum)[present]
            own = index is not None and bool(counts["denominators"][index] > 0)
            for measure in measures:
                # No births of the organisation in the denominator, or no adjusted figure for this indicator
                # (Indicator.case_mix_adjusted): nothing to judge.
                if not own or (measure == "adjusted" and not definition.case_mix_adjusted):
                    families[measure].append(None)
                    for variant in ("exact", "published"):
                        values[measure, variant].append(np.nan)
                        sizes[measure, variant].append(0.0)
                    continue
                if measure == "crude":
                    families[measure].append(judgement.rate_judgement(
                        published_numerators[present], published_denominators[present], choice, estimable,
                        self.noise_variance))
                    variants = (("exact", counts["numerators"], counts["denominators"]),
                                ("published", published_numerators, published_denominators))
                else:
                    families[measure].append((1.0, judgement.ratio_judgement(
                        published_numerators[present], counts["published_expected"][present], choice, estimable,
                        self.noise_variance)))
                    variants = (("exact", counts["numerators"], counts["expected"]),
                                ("published", published_numerators, counts["published_expected"]))
                for variant, observed, size in variants:
                    values[measure, variant].append(observed[index] / size[index] if size[index] > 0 else np.nan)
                    sizes[measure, variant].append(size[index])

        def judged(measure: judgement.Measure, method_choice: OverdispersionChoice,
                   variant: str = "exact") -> tuple[np.ndarray, np.ndarray]:
            centres = np.array([family[0] if family else np.nan for family in families[measure]])
            dispersions = [family[1].dispersion if family else None for family in families[measure]]
            methods = [judgement.choose_method(method_choice, dispersion) for dispersion in dispersions]
            _, found, standardised = judgement.judge_each(measure, values[measure, variant], centres,
                                                          sizes[measure, variant], methods, dispersions)
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
        published_standardised = judged("crude", choice, "published")[1]
        cells: dict[str, dict] = {}
        for k, definition in enumerate(INDICATORS):
            counts = level_data["indicators"][definition.id]
            counted = {variant: _counts_cell(*((counts[numerator][index], counts[denominator][index])
                                               if index is not None else (0, 0)))
                       for variant, numerator, denominator in (
                           ("exact", "numerators", "denominators"),
                           ("published", "published_numerators", "published_denominators"))}
            position = headline_positions[k] if families["crude"][k] else ""
            family = families["crude"][k]
            cell: dict[str, Any] = {
                "position": position or None,
                "verdict": judgement.verdict(position, definition.direction), "flag": judgement.flag(position),
                "judgement": _judgement_answer(family[1] if family else None, family[0] if family else None, choice,
                                               "crude", level_data["level"]),
                "exact": {**counted["exact"], "standardised": _number(headline_standardised[k]) if position else None},
                "published": {**counted["published"],
                              "standardised": _number(published_standardised[k]) if position else None}}
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
            lambda: self._compute_grouped(snapshot, indicator_id, filters, subject, period_key(grain),
                                          lambda key: period_label(key, grain)))
        period = self._period(snapshot, filters)
        series = self._series(snapshot, scope, answer, subject, export, definition, "period", "points",
                              self._answer(snapshot, "trend", filters, indicator=indicator_id, grain=grain),
                              lambda key: period_bounds(key, *period))
        return self._envelope(snapshot, "trend", viewer, filters, indicator=definition.as_dict(), grain=grain,
                              series=series)

    def _series(self, snapshot: Snapshot, scope: Scope, answer: dict, subject: tuple[str, str] | None, export: bool,
                definition: Indicator, field: str, name: str, about: str,
                months_of: Callable[[Any], tuple[str | None, str | None]],
                describe: Callable[[Any], dict] | None = None) -> list[dict]:
        """The national series and the subject organisation's, as the viewer may see them: the national points
        perturbed (exact for admin), the organisation's exact or perturbed by the scope, a provider's VSV withheld
        by the structural rule (queries.scope.Scope.vsv_withheld). `field` names a point's key (period, value),
        `describe` adds fields from it (a dimension value's labels), `months_of` gives the months a point covers (its
        provisional months: `_marked`)."""
        def points(cells: list[dict], treatment: disclosure.Treatment, withheld: bool, level: str | None,
                   code: str | None) -> list[dict]:
            shown = []
            marked = snapshot.provisional.has(level, code)
            for cell in cells:
                point = (self._present_national(scope, _without_key(cell), export, definition, identity=None)
                         if level is None else self._present(_without_key(cell), treatment, None, export, definition))
                point = {field: cell["key"], **(describe(cell["key"]) if describe else {}),
                         **(disclosure.withhold(point) if withheld else point)}
                point["provisional"] = (snapshot.provisional.notes(level, code, *months_of(cell["key"])) if marked
                                        else [])
                shown.append(point)
            return shown

        series = [{"kind": "national", "label": "national", "named": True, "org_code": None,
                   name: points(answer["national"], scope.treatment(None, None), False, None, None)}]
        if subject:
            code, level = subject
            series.append({"kind": "organisation", **scope.identity(code, level, about),
                           name: points(answer["organisation"], scope.treatment(code, level),
                                        level == "vsv" and scope.vsv_withheld(code), level, code)})
        return series

    def control_chart(self, indicator_id: str, viewer: Viewer, filters: Filters | Mapping | None = None, *,
                      org_code: str | None = None, export: bool = False) -> dict:
        """A monthly p-chart with Laney's p′ limits and the NHS rule signals (queries.spc) of the organisation's
        series (default: the viewer's own), or the national series when there is none. It is made from the
        `trend` points exactly as the viewer sees them: a month whose rate is not shown (suppressed, or below the
        minimum denominator) is a month without data in the chart, so the chart never reveals more than the trend."""
        definition = self._indicator(indicator_id)
        trend = self.trend(indicator_id, viewer, filters, grain="month", org_code=org_code, export=export)
        series = next((s for s in trend["series"] if s["kind"] == "organisation"), trend["series"][0])
        points = series["points"]
        envelope = {**{key: trend[key] for key in ("data_version", "viewer", "filters")}, "question": "control_chart",
                    "indicator": definition.as_dict(),
                    "series": {**{key: value for key, value in series.items() if key != "points"},
                               "disclosure": points[0]["disclosure"] if points else None},
                    # The charted months that are provisional (each point's `provisional` of the trend, in order).
                    "provisional": [note for point in points for note in point["provisional"]]}
        # Counts of 1–4 are masked (exports, the API) on their outcome: the months left would be chosen by their
        # own numbers and give a biased centre and false signals, so there is no chart then.
        if any(point["suppression_reason"] == "count_masked" for point in points):
            return {**envelope, "chart": None, "withheld": "count_masked"}
        if points and all(point["suppression_reason"] == "complementary" for point in points):
            return {**envelope, "chart": None, "withheld": "complementary"}  # a provider's VSV, withheld
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
            lambda: self._compute_grouped_many(snapshot, ids, filters, subject, period_key(grain),
                                               lambda key: period_label(key, grain)))

        indicators = []
        period = self._period(snapshot, filters)
        # The months of each period, once for all indicators (their series share the periods).
        months_of = functools.cache(lambda key: period_bounds(key, *period))
        for definition in INDICATORS:
            about = self._answer(snapshot, "trend", filters, indicator=definition.id, grain=grain)
            indicators.append({"indicator": definition.as_dict(),
                               "series": self._series(snapshot, scope, answer[definition.id], subject, export,
                                                      definition, "period", "points", about, months_of)})
        return self._envelope(snapshot, "trends", viewer, filters, grain=grain, indicators=indicators)

    def _compute_grouped_many(self, snapshot: Snapshot, indicator_ids: Sequence[str], filters: Filters,
                              subject: tuple[str, str] | None, key: pl.Expr,
                              label: KeyLabel) -> dict:
        """`_compute_grouped` for several indicators with one group-by per series: {indicator_id: answer}."""
        lazy = snapshot.frame.lazy().filter(filters.expression())
        queries = [_national(lazy, [key.alias("key")], indicator_ids)]
        if subject:
            queries.append(lazy.filter(pl.col(LEVEL_COLUMNS[subject[1]]) == subject[0])
                           .group_by(key.alias("key")).agg(_sum_expressions(indicator_ids)))
        tables = pl.collect_all(queries)
        keys = pl.DataFrame({"key": sorted(tables[0]["key"].to_list())}, schema={"key": tables[0].schema["key"]})
        labels = [label(k) for k in keys["key"].to_list()]
        aligned = [keys.join(table, on="key", how="left").fill_null(0) for table in tables]

        def cells(table: pl.DataFrame, indicator_id: str) -> list[dict]:
            columns = [table[f"{kind}:{indicator_id}"].to_numpy() for kind in NATIONAL_KINDS
                       if f"{kind}:{indicator_id}" in table.columns]
            return _keyed_cells(labels, columns, self.noise)

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

        period = self._period(snapshot, filters)
        series = self._series(snapshot, scope, answer, subject, export, definition, "value", "values",
                              self._answer(snapshot, "breakdown", filters, indicator=indicator_id,
                                           dimension=dimension),
                              lambda key: period,
                              lambda key: {"label_nl": spec.label_of(key, "nl"), "label_en": spec.label_of(key, "en")})
        return self._envelope(snapshot, "breakdown", viewer, filters, indicator=definition.as_dict(),
                              dimension={"name": dimension, "name_nl": spec.label("nl"), "name_en": spec.label("en")},
                              lifted=lifted, series=series)

    def _compute_grouped(self, snapshot: Snapshot, indicator_id: str, filters: Filters,
                         subject: tuple[str, str] | None, key: pl.Expr, label: KeyLabel,
                         all_keys: list | None = None) -> dict:
        """Counts per key (a period or a dimension value), national and for the subject organisation."""
        frame = snapshot.frame
        lazy = frame.lazy().filter(filters.expression())
        queries = [_national(lazy, [key.alias("key")], [indicator_id])]
        if subject:
            queries.append(lazy.filter(pl.col(LEVEL_COLUMNS[subject[1]]) == subject[0])
                           .group_by(key.alias("key")).agg(_sum_expressions([indicator_id])))
        tables = pl.collect_all(queries)
        national = tables[0]
        keys = list(all_keys) if all_keys is not None else sorted(national["key"].to_list())
        if all_keys is not None and national["key"].is_null().any():
            keys.append(None)

        def cells(table: pl.DataFrame) -> list[dict]:
            kinds = [kind for kind in NATIONAL_KINDS if f"{kind}:{indicator_id}" in table.columns]
            counts = {row["key"]: tuple(row[f"{kind}:{indicator_id}"] for kind in kinds)
                      for row in table.iter_rows(named=True)}
            columns = [np.array([counts.get(k, (0,) * len(kinds))[j] for k in keys]) for j in range(len(kinds))]
            return _keyed_cells([label(k) if k is not None else None for k in keys], columns, self.noise)

        answer = {"national": cells(national)}
        if subject:
            answer["organisation"] = cells(tables[1])
        return answer

    def export(self, viewer: Viewer, filters: Filters | Mapping | None = None, *,
               indicators: Sequence[str] | None = None, level: str | None = None, org_code: str | None = None,
               dimensions: Sequence[str] = (), grain: str | None = None,
               overdispersion: str = DEFAULT_OVERDISPERSION, language: str = "nl",
               data_version: int | None = None) -> ExportTable:
        """A table for researchers (queries.export_table): for each indicator (default: all), the national figure
        and, at a `level` (vsv, hospital, practice), the comparator and every organisation, per period of `grain`
        and per value of up to two target-group `dimensions`, as the viewer may see them — the same scope and
        disclosure rules as every other answer, as an export (own counts of 1–4 masked too). `org_code` limits the
        organisations to one the viewer may name (its level is its type; its indicators by default those of its type,
        as its overview shows them). A restriction of the target group on a breakdown dimension is lifted, as in
        `breakdown` (every value is shown). Without a breakdown each organisation
        carries its funnel position and verdict (`results`), and peers the same pseudonyms as `results`; with one,
        a peer keeps one pseudonym across the periods and values of an indicator. `data_version` names a kept
        version (queries.store.BirthStore.snapshot). The rows are computed one indicator at a time, when the table's
        `chunks` are read."""
        snapshot = self._snapshot(data_version)
        scope = self._scope(snapshot, viewer)
        subject = self._subject(snapshot, scope, org_code) if org_code is not None else None
        if subject is not None:
            if level is not None and level != subject[1]:
                raise InvalidParameterError("level", level, [subject[1]],
                                            f"organisation {org_code!r} is a {subject[1]}: level must be {subject[1]}")
            level = subject[1]
        level = self._choice("level", level or "national", ("national", *LEVELS))
        default = indicators_for(level) if subject is not None else INDICATORS
        ids = list(dict.fromkeys(indicators)) if indicators else [definition.id for definition in default]
        definitions = [self._indicator(indicator_id) for indicator_id in ids]
        choice = self._overdispersion(overdispersion)
        if grain is not None:
            self._choice("grain", grain, GRAINS)
        self._choice("language", language, LANGUAGES)
        for name in dimensions:
            self._choice("dimension", name, list(DIMENSIONS))
        if len(set(dimensions)) != len(dimensions) or len(dimensions) > export_table.MAX_DIMENSIONS:
            raise InvalidParameterError("dimension", ",".join(dimensions), list(DIMENSIONS),
                                        "up to two different dimensions to break down by")
        filters = self._filters(filters)
        for name in dimensions:
            filters = filters.without(name)
        breakdown = export_table.Breakdown(grain, tuple(dimensions), filters.period_from or snapshot.period_from,
                                           filters.period_to or snapshot.period_to)
        question: ExportQuestion = {
            # As asked: an empty list is all indicators (the definitions in `about` list them).
            "indicators": ids if indicators else [], "level": level, "org": org_code,
            "dimensions": list(dimensions), "grain": grain, "overdispersion": choice,
            "filters": filters.as_params(), "language": language, "data_version": snapshot.data_version}
        rules = self.rules
        about: ExportAbout = {
            "question": question, "data_version": snapshot.version_info(), "viewer": viewer.as_dict(),
            "indicators": [definition.as_dict() for definition in definitions],
            "rules": {"min_denominator": rules.min_denominator, "mask_from": rules.mask_from,
                      "mask_to": rules.mask_to, "peer_group_size": disclosure.PEER_GROUP_SIZE,
                      "noise_bound": disclosure.NOISE_BOUND}}
        of_level = level if level in LEVELS else None

        def chunks() -> Iterator[pl.DataFrame]:
            for definition in definitions:
                yield self._export_rows(snapshot, scope, definition, of_level, org_code, breakdown, filters, choice,
                                        language)

        return ExportTable(about=about, columns=export_table.EXPORT_COLUMNS, chunks=chunks)

    def _export_rows(self, snapshot: Snapshot, scope: Scope, definition: Indicator, level: str | None,
                     org_code: str | None, breakdown: export_table.Breakdown, filters: Filters,
                     choice: OverdispersionChoice, language: str) -> pl.DataFrame:
        """One indicator's rows of `export`."""
        whole = not breakdown.grain and not breakdown.dimensions
        if whole:
            about = self._answer(snapshot, "units", filters, indicator=definition.id, level=level)
        else:
            about = self._answer(snapshot, "export", filters, indicator=definition.id, level=level,
                                 grain=breakdown.grain, dimensions=breakdown.dimensions)
        judged: dict[str, tuple[str | None, str | None]] = {}
        if whole and level is not None:
            units = self._units(snapshot, definition.id, level, filters, choice, False)
            judged = {cell["code"]: (cell["position"], cell["verdict"]) for cell in units["cells"]}
        presentation = export_table.Presentation(
            level=level, treatment=lambda code: scope.treatment(code, level),
            identity=lambda code: scope.identity(code, level or "", about),
            withheld=scope.vsv_withheld, judged=judged, only=org_code, exact_vsvs=scope.exact_vsvs,
            adjusted=self._export_case_mix(snapshot, scope, definition, level, filters, choice) if whole else {},
            provisional=snapshot.provisional)
        # Not cached: an export is asked for rarely, and its counts can be larger than every page's together.
        counted = _export_counts(snapshot.frame, definition.id, level, breakdown, filters)
        return export_table.indicator_rows(definition, counted, presentation, breakdown, self.noise, self.rules,
                                           snapshot.data_version, language)

    def _export_case_mix(self, snapshot: Snapshot, scope: Scope, definition: Indicator, level: str | None,
                         filters: Filters, choice: OverdispersionChoice) -> dict[str, dict[str, float | None]]:
        """Each organisation's case-mix figures (`adjusted`, the same cached counts), presented for the viewer as
        `adjusted` presents them (a peer's ratio rounded, no expected count or interval): code → fields."""
        if level is None or not definition.case_mix_adjusted:
            return {}
        answer = self._adjusted_cells(snapshot, definition, level, filters, choice)
        presented = {}
        for cell in answer["cells"]:
            shown = self._present(_without_code(cell), scope.treatment(cell["code"], level), None, True, definition)
            presented[cell["code"]] = {name: shown.get(name) for name in export_table.CASE_MIX_FIELDS.values()}
        return presented

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
        answer = self._adjusted_cells(snapshot, definition, level, filters, choice)
        scope = self._scope(snapshot, viewer)
        rows, withheld, few = self._scoped_rows(scope, level, answer["cells"], export, definition,
                                                self._answer(snapshot, "adjusted", filters, indicator=indicator_id,
                                                             level=level))
        period = self._period(snapshot, filters)
        _marked_rows(snapshot, rows, level, period)
        return self._envelope(snapshot, "adjusted", viewer, filters, indicator=definition.as_dict(), level=level,
                              case_mix=list(CASE_MIX_COLUMNS),
                              judgement=_published_judgement(answer["judgement"], withheld, few),
                              national=self._marked(snapshot, scope, self._present_national(
                                  scope, answer["national"], export, definition), None, None, period),
                              reference=self._marked(snapshot, scope, self._present_reference(
                                  scope, answer["reference"], level, export, definition, few), level, None, period),
                              rows=rows)

    def _adjusted_cells(self, snapshot: Snapshot, definition: Indicator, level: str, filters: Filters,
                        choice: OverdispersionChoice) -> dict:
        return self._cached(snapshot, "adjusted", {"indicator": definition.id, "level": level,
                                                   "filters": filters.as_params(), "overdispersion": choice},
                            lambda: self._compute_adjusted(snapshot, definition, level, filters, choice))

    def _compute_adjusted(self, snapshot: Snapshot, definition: Indicator, level: str, filters: Filters,
                          choice: OverdispersionChoice) -> dict:
        """Indirect standardisation (Breslow & Day 1987): reference = the stratum rates of the level's
        organisations in the filter (from their perturbed totals); E = Σ_s n_s · p_s per organisation
        (`_compute_level`). Both variants: exact O and E, and published O (perturbed) with E scaled to the
        published denominator."""
        level_data = self._level(snapshot, level, filters, [definition.id], expected=True)
        counts = level_data["indicators"][definition.id]
        family, units, published_standardised = self._judged_cells(definition, level_data, choice, "adjusted")
        reference = _reference(counts)

        def variant(observed: np.ndarray, population: np.ndarray, expected: np.ndarray,
                    pooled: CountsCell) -> list[dict]:
            reference_rate = pooled["numerator"] / max(pooled["denominator"], 1)
            ratio, low, high = statistics.observed_expected_ratio(observed, expected, 0.95)
            return [{**counted, "expected": _number(expected[i]), "ratio": _number(ratio[i]),
                     "ratio_low": _number(low[i]), "ratio_high": _number(high[i]),
                     "adjusted_rate": _number(ratio[i] * reference_rate),
                     "adjusted_low": _number(low[i] * reference_rate),
                     "adjusted_high": _number(high[i] * reference_rate)}
                    for i, counted in enumerate(_variant_cells(observed, population))]

        exact = variant(counts["numerators"][units], counts["denominators"][units], counts["expected"][units],
                        reference["exact"])
        published = variant(counts["published_numerators"][units], counts["published_denominators"][units],
                            counts["published_expected"][units], reference["published"])
        cells = [{"code": level_data["codes"][unit], **_judged(family, i, definition),
                  "exact": {**exact[i], "standardised": _standardised(family, family.standardised if family else None,
                                                                      i)},
                  "published": {**published[i], "standardised": _standardised(family, published_standardised, i)}}
                 for i, unit in enumerate(units)]
        return {"national": _counted(level_data["national"][definition.id], self.noise), "reference": reference,
                "judgement": _judgement_answer(family.judgement if family else None, 1.0, choice, "adjusted", level),
                "cells": cells}


def _marked_rows(snapshot: Snapshot, rows: list[dict], level: str, period: tuple[str | None, str | None]) -> None:
    """Each scoped row of a level with its figure's provisional months (`IndicatorEngine._marked`); a peer's None."""
    for row in rows:
        row["provisional"] = snapshot.provisional.notes(level, row["org_code"], *period, named=row["named"])


def _reference_identity(level: str) -> dict:
    """The comparator of a level's organisations: all of them together (label `all_<level>`)."""
    return {"org_code": None, "label": f"all_{level}", "named": True, "own": False}


def _counts_cell(numerator: float, denominator: float) -> CountsCell:
    """Counts with their rate and 95% Wilson interval."""
    rates = statistics.rates_with_interval(np.array([float(numerator)]), np.array([float(denominator)]))
    return {"numerator": int(numerator), "denominator": int(denominator), "rate": _number(rates["rate"][0]),
            "ci_low": _number(rates["ci_low"][0]), "ci_high": _number(rates["ci_high"][0])}


def _counted(counts: Sequence[float], noise: np.ndarray) -> dict:
    """One figure's two variants (queries.disclosure.present) from its numerator, denominator and packed key sum:
    `exact` and `published` (cell-key perturbed with the perturbation table `noise`); a national figure's counts
    (NATIONAL_KINDS) also give `vsvs`, how many VSVs have births in it."""
    numerator, denominator, packed = counts[:3]
    numerator_key, denominator_key = disclosure.cell_keys([packed])
    published = disclosure.perturbed([numerator, denominator], [numerator_key[0], denominator_key[0]], noise)
    cell: dict[str, Any] = {"exact": _counts_cell(numerator, denominator), "published": _counts_cell(*published)}
    if len(counts) > 3:
        cell["vsvs"] = int(counts[3])
    return cell


def _variant_cells(numerators: np.ndarray, denominators: np.ndarray) -> list[CountsCell]:
    """Counts with their rate and 95% Wilson interval, per unit."""
    rates = statistics.rates_with_interval(numerators, denominators)
    return [{"numerator": int(numerators[i]), "denominator": int(denominators[i]), "rate": _number(rates["rate"][i]),
             "ci_low": _number(rates["ci_low"][i]), "ci_high": _number(rates["ci_high"][i])}
            for i in range(len(numerators))]


def _reference(counts: dict) -> dict:
    """The comparator's figure: all organisations of the level together, both variants; the published one is the
    sum of the units' published counts, so that it is the centre the verdicts are judged against
    (`IndicatorEngine._judged_cells`)."""
    return {"exact": _counts_cell(counts["numerators"].sum(), counts["denominators"].sum()),
            "published": _counts_cell(counts["published_numerators"].sum(), counts["published_denominators"].sum())}


def _judged(family: JudgedFamily | None, index: int, definition: Indicator) -> dict:
    """The judgement of unit `index` of a family as cell fields: position, verdict, flag."""
    position = family.positions[index] if family is not None else ""
    return {"position": position or None, "verdict": judgement.verdict(position, definition.direction),
            "flag": judgement.flag(position)}


def _standardised(family: JudgedFamily | None, standardised: np.ndarray | None, index: int) -> float | None:
    """Unit `index`'s standardised position, where it has a position."""
    if family is None or standardised is None or not family.positions[index]:
        return None
    return _number(standardised[index])


def _judgement_answer(judged_by: judgement.Judgement | None, centre: float | None, choice: OverdispersionChoice,
                      measure: judgement.Measure, level: str) -> judgement.JudgementAnswer:
    """How the verdicts of an answer were produced, against all organisations of `level` (a family without a
    comparator rate: exact, no dispersion); φ, τ² and the p-value rounded (queries.disclosure.rounded_statistic)."""
    if judged_by is None:
        return judgement.Judgement(measure, choice, "exact", None).as_dict(level, None)
    answer = judged_by.as_dict(level, _number(centre) if centre is not None else None)
    for name in ("phi", "tau2", "p_value"):
        answer[name] = disclosure.rounded_statistic(answer[name])
    return answer


def _published_judgement(answer: judgement.JudgementAnswer, withheld: bool,
                         few_peers: bool = False) -> judgement.JudgementAnswer:
    """An answer's judgement as published: without φ, τ² and the p-value when the answer withholds a unit of
    the family (they are one more equation in its counts), and without the centre either when the viewer has fewer
    than PEER_GROUP_SIZE peers (the comparator minus the viewer's own would be theirs; docs/privacy.md)."""
    if few_peers:
        return {**answer, "centre": None, "phi": None, "tau2": None, "p_value": None}
    if not withheld:
        return answer
    return {**answer, "phi": None, "tau2": None, "p_value": None}


def _without_standardised(cells: list[dict]) -> None:
    """Beside fewer than five peers: no standardised positions either (with the viewer's exact figures, one gives
    the withheld centre back)."""
    for cell in cells:
        if "standardised" in cell:
            cell["standardised"] = None


def _few_peers(scope: Scope, codes: Sequence[str], level: str) -> bool:
    """Whether these organisations (those with births in the answer) hold fewer than PEER_GROUP_SIZE peers of the
    viewer and at least one peer or a withheld VSV (queries.disclosure.few_peers): then the peers' bands, and the
    comparator minus the viewer's own figures, would point at them or at the withheld VSV."""
    peers = sum(scope.treatment(code, level) == "peer" for code in codes)
    withheld = level == "vsv" and any(scope.vsv_withheld(code) for code in codes)
    return disclosure.few_peers(peers, withheld)


def _with_expected(per_stratum: pl.LazyFrame, column: str, ids: Sequence[str], noise: np.ndarray) -> pl.LazyFrame:
    """Per organisation of `column`: observed (n), population (d), their key sums and expected counts (e), from
    counts per organisation and case-mix stratum: E_u = Σ_s n_us · p_s with p_s the stratum's rate over the
    organisations u (indirect standardisation), taken from the stratum's perturbed totals (queries.disclosure),
    so that no expected count gives an exact total of the others back."""
    cells = per_stratum.collect()
    # The strata's totals are a small table (a few hundred strata): perturbed there, joined back to the cells.
    totals = _resummed(cells.lazy(), [STRATUM_COLUMN], ids).collect()
    rates: dict[str, Any] = {STRATUM_COLUMN: totals[STRATUM_COLUMN]}
    for i in ids:
        keys = disclosure.cell_keys(totals[f"k:{i}"].to_numpy())
        events, births = (disclosure.perturbed(totals[f"{kind}:{i}"].to_numpy(), key, noise)
                          for kind, key in zip(("n", "d"), keys, strict=True))
        rates[f"p:{i}"] = np.where(births > 0, events / np.maximum(births, 1), 0.0)
    return (cells.lazy().join(pl.DataFrame(rates).lazy(), on=STRATUM_COLUMN)
            .with_columns([(pl.col(f"d:{i}") * pl.col(f"p:{i}")).alias(f"e:{i}") for i in ids])
            .group_by(column).agg([pl.col(f"{kind}:{i}").sum() for i in ids for kind in (*COUNT_KINDS, "e")]))


def _resummed(counts: pl.LazyFrame, keys: Sequence[str], ids: Sequence[str]) -> pl.LazyFrame:
    """Counts already summed per finer cells, summed again per `keys` (all cells when empty)."""
    sums = [pl.col(f"{kind}:{i}").sum() for i in ids for kind in COUNT_KINDS]
    return counts.group_by(list(keys)).agg(sums) if keys else counts.select(sums)


def _level_data(level: str, per_unit: pl.DataFrame, national: pl.DataFrame, ids: Sequence[str],
                noise: np.ndarray) -> dict:
    """The shape `IndicatorEngine._level` hands out: codes, their index, national counts and key sums, and per
    indicator the units' arrays, exact and published (cell-key perturbed; a published expected count is scaled
    to the published denominator)."""
    column = LEVEL_COLUMNS[level]
    per_unit = per_unit.with_columns(pl.col(column).cast(pl.String)).sort(column)
    codes = per_unit[column].to_list()
    indicators = {}
    for i in ids:
        arrays = {name: per_unit[f"{kind}:{i}"].to_numpy().astype(float)
                  for kind, name in (("n", "numerators"), ("d", "denominators"), ("e", "expected"))
                  if f"{kind}:{i}" in per_unit.columns}
        arrays["numerator_keys"], arrays["denominator_keys"] = disclosure.cell_keys(per_unit[f"k:{i}"].to_numpy())
        arrays["published_numerators"] = disclosure.perturbed(arrays["numerators"], arrays["numerator_keys"],
                                                              noise).astype(float)
        arrays["published_denominators"] = disclosure.perturbed(arrays["denominators"], arrays["denominator_keys"],
                                                                noise).astype(float)
        if "expected" in arrays:
            with np.errstate(divide="ignore", invalid="ignore"):
                arrays["published_expected"] = np.where(
                    arrays["denominators"] > 0,
                    arrays["expected"] * arrays["published_denominators"] / np.maximum(arrays["denominators"], 1), 0.0)
        indicators[i] = arrays
    return {
        "level": level, "codes": codes, "index": {code: i for i, code in enumerate(codes)},
        "national": {i: tuple(int(national[f"{kind}:{i}"][0] or 0) for kind in NATIONAL_KINDS) for i in ids},
        "indicators": indicators,
    }


def _compute_level(frame: pl.DataFrame, level: str, filters: Filters, ids: Sequence[str], expected: bool,
                   noise: np.ndarray) -> dict:
    """See `IndicatorEngine._level`: one group-by over the organisations of `level` (with `expected`, also over
    their case-mix strata, `_with_expected`); `noise` is the perturbation table."""
    column = LEVEL_COLUMNS[level]
    lazy = frame.lazy().filter(filters.expression())
    if expected:
        of_level = lazy.filter(pl.col(column).is_not_null())
        per_unit = _with_expected(of_level.group_by([column, STRATUM_COLUMN]).agg(_sum_expressions(ids)), column,
                                  ids, noise)
        per_unit_table, national = pl.collect_all([per_unit, _national(lazy, [], ids)])
    else:
        # One pass: every birth counted per organisation of the level (none: missing) and VSV — the organisations
        # are within VSVs, so this is hardly more cells — and summed again per organisation and nationally.
        cells = lazy.group_by(list(dict.fromkeys([column, "vsv_code"]))).agg(_sum_expressions(ids)).collect().lazy()
        per_unit_table, national = pl.collect_all([_resummed(cells.filter(pl.col(column).is_not_null()), [column], ids),
                                                   _national_of_cells(cells, [], ids)])
    return _level_data(level, per_unit_table, national, ids, noise)


def _compute_overview_levels(frame: pl.DataFrame, level: str, filters: Filters, ids: Sequence[str],
                             noise: np.ndarray) -> dict:
    """See `IndicatorEngine._overview_levels`: one pass over the births, counted per (organisation of `level`,
    VSV, case-mix stratum); from those cells the level with expected counts, the VSVs and national."""
    column = LEVEL_COLUMNS[level]
    keys = [column, STRATUM_COLUMN] if level == "vsv" else [column, "vsv_code", STRATUM_COLUMN]
    # Counted once (a small table: organisations × VSVs × strata), then summed again three ways.
    cells = frame.lazy().filter(filters.expression()).group_by(keys).agg(_sum_expressions(ids)).collect().lazy()
    queries = [_with_expected(_resummed(cells.filter(pl.col(column).is_not_null()), [column, STRATUM_COLUMN], ids),
                              column, ids, noise),
               _national_of_cells(cells, [], ids)]
    if level != "vsv":
        queries.append(_resummed(cells.filter(pl.col("vsv_code").is_not_null()), ["vsv_code"], ids))
    tables = pl.collect_all(queries)
    return {"level": _level_data(level, tables[0], tables[1], ids, noise),
            "vsv": _level_data("vsv", tables[2], tables[1], ids, noise) if level != "vsv" else None}


def _export_counts(frame: pl.DataFrame, indicator_id: str, level: str | None, breakdown: export_table.Breakdown,
                   filters: Filters) -> export_table.Counted:
    """One indicator's counts per cell of an export's breakdown: national, and per organisation of `level`."""
    lazy = frame.lazy().filter(filters.expression())
    keys = breakdown.key_expressions()
    sums = [expression.alias(kind) for kind, expression in zip(COUNT_KINDS, _sum_expressions([indicator_id]),
                                                                 strict=True)]
    national = _national(lazy, keys, [indicator_id]).rename({f"{kind}:{indicator_id}": kind for kind in NATIONAL_KINDS})
    queries = [national]
    if level is not None:
        column = LEVEL_COLUMNS[level]
        queries.append(lazy.filter(pl.col(column).is_not_null()).group_by([pl.col(column), *keys]).agg(sums))
    tables = pl.collect_all(queries)
    return export_table.Counted(national=tables[0], units=tables[1] if level is not None else None)


def _keyed_cells(labels: Sequence[str | None], columns: Sequence[np.ndarray], noise: np.ndarray) -> list[dict]:
    """Cells of a series (periods, dimension values): key and both variants of each cell's counts, from the
    columns numerators, denominators and their packed key sums (COUNT_KINDS)."""
    numerators, denominators, packed = columns[:3]
    numerator_keys, denominator_keys = disclosure.cell_keys(packed)
    numerators, denominators = numerators.astype(float), denominators.astype(float)
    exact = _variant_cells(numerators, denominators)
    published = _variant_cells(disclosure.perturbed(numerators, numerator_keys, noise).astype(float),
                               disclosure.perturbed(denominators, denominator_keys, noise).astype(float))
    cells: list[dict[str, Any]] = [{"key": labels[i], "exact": exact[i], "published": published[i]}
                                   for i in range(len(labels))]
    if len(columns) > 3:  # a national series (NATIONAL_KINDS): how many VSVs have births in each cell
        for cell, vsvs in zip(cells, columns[3], strict=True):
            cell["vsvs"] = int(vsvs)
    return cells


def _without_code(cell: dict) -> dict:
    return {name: value for name, value in cell.items() if name != "code"}


def _without_vsvs(cell: dict) -> dict:
    return {name: value for name, value in cell.items() if name != "vsvs"}


def _without_key(cell: dict) -> dict:
    return {name: value for name, value in cell.items() if name != "key"}


_ENGINES: dict[str, IndicatorEngine] = {}
_ENGINES_LOCK = threading.Lock()


def get_engine(url: str | None = None) -> IndicatorEngine:
    """The process-wide engine for a database URL (default: PERISPIEGEL_DATABASE_URL or the embedded file)."""
    url = url or database_url()
    with _ENGINES_LOCK:
        if url not in _ENGINES:
            _ENGINES[url] = IndicatorEngine(make_engine(url))
        return _ENGINES[url]
