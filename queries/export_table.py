"""The export question's table: its columns in their documented order (docs/api.md, "Exports").

One row per figure: an indicator for one unit (national, the comparator "all organisations of a level", or one
organisation), one period (with a grain) and one value of each breakdown dimension. Counts are integers, rates
proportions (0..1) with `unit_scale` saying per how many they are shown (100: %, 1000: ‰); a cell that shows less
is empty, never a word, with its `suppression_reason`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import polars as pl

from queries.answers import COLUMN_TYPES, ExportColumn
from queries.catalogue import Indicator
from queries.disclosure import (
    VARIANT_FIELDS,
    SmallNumbers,
    Treatment,
    band_edges,
    cell_keys,
    few_peers,
    national_withheld,
    perturbed,
    present_columns,
)
from queries.filters import DIMENSIONS, month_index, period_key, period_label, period_months
from queries.provisional import NATIONAL, ProvisionalMonths
from queries.statistics import rates_with_interval
from queries.store import LEVEL_COLUMNS

EXPORT_COLUMNS: tuple[ExportColumn, ...] = (
    ExportColumn("data_version", "integer"),
    ExportColumn("indicator_id", "string"),
    ExportColumn("indicator_name", "string"),
    ExportColumn("row_kind", "string"),  # national, comparator or organisation
    ExportColumn("level", "string"),  # practice, hospital or vsv; empty for national
    ExportColumn("org_code", "string"),  # empty for an organisation the viewer may not name
    ExportColumn("org_label", "string"),  # name, pseudonym of this export, or all_<level> / national
    ExportColumn("named", "boolean"),
    ExportColumn("own", "boolean"),
    ExportColumn("period", "string"),  # 2024-03, 2024-Q1 or 2024 with a grain; empty without
    ExportColumn("period_start", "date"),
    ExportColumn("period_end", "date"),
    ExportColumn("dimension_1", "string"),
    ExportColumn("value_1", "string"),
    ExportColumn("value_1_label", "string"),
    ExportColumn("dimension_2", "string"),
    ExportColumn("value_2", "string"),
    ExportColumn("value_2_label", "string"),
    ExportColumn("numerator", "integer"),
    ExportColumn("denominator", "integer"),
    ExportColumn("rate", "number"),
    ExportColumn("ci_low", "number"),
    ExportColumn("ci_high", "number"),
    ExportColumn("unit_scale", "integer"),
    ExportColumn("size_band_low", "integer"),
    ExportColumn("size_band_high", "integer"),
    # Case mix (indirect standardisation), without a breakdown, for organisations of a case-mix adjusted indicator.
    ExportColumn("expected", "number"),
    ExportColumn("oe_ratio", "number"),
    ExportColumn("oe_low", "number"),
    ExportColumn("oe_high", "number"),
    ExportColumn("adjusted_rate", "number"),
    ExportColumn("position", "string"),  # funnel position without breakdown: within, above_95, ...
    ExportColumn("verdict", "string"),
    ExportColumn("disclosure", "string"),  # exact, perturbed or peer
    ExportColumn("suppressed", "boolean"),
    ExportColumn("suppression_reason", "string"),
    # The row's period holds a provisional month (queries.provisional); empty for a peer, which it would follow.
    ExportColumn("provisional", "boolean"),
    ExportColumn("provisional_months", "string"),  # those months, YYYY-MM, comma-separated; empty when final
)
#: The columns `_with_provisional` adds, last.
PROVISIONAL_COLUMNS = ("provisional", "provisional_months")


# ---- building one indicator's rows ---------------------------------------------------------------------------

#: The case-mix columns, and the fields of a presented `adjusted` cell they come from.
CASE_MIX_FIELDS = {"expected": "expected", "oe_ratio": "ratio", "oe_low": "ratio_low", "oe_high": "ratio_high",
                   "adjusted_rate": "adjusted_rate"}
#: An export breaks down by at most this many target-group dimensions.
MAX_DIMENSIONS = 2
#: The order of the kinds of rows within one period and target-group cell.
ROW_KINDS = ("national", "comparator", "organisation")
#: The columns of the counted tables that hold a breakdown's keys, in EXPORT_COLUMNS' order.
PERIOD_KEY = "period_key"
VALUE_KEYS = ("value_1", "value_2")
#: Without a breakdown every row is in one cell: this constant key names it.
WHOLE_KEY = "whole"


@dataclass(frozen=True)
class Breakdown:
    """How an export's rows are split: by period (`grain`: month, quarter or year, or None) and by up to two
    target-group dimensions; `period_from`/`period_to` ('YYYY-MM') the months the figures cover."""

    grain: str | None
    dimensions: tuple[str, ...]
    period_from: str | None
    period_to: str | None

    @property
    def keys(self) -> list[str]:
        """The key columns of the counted tables: the period key, then one per dimension (WHOLE_KEY without)."""
        keys = ([PERIOD_KEY] if self.grain else []) + list(VALUE_KEYS[:len(self.dimensions)])
        return keys or [WHOLE_KEY]

    def key_expressions(self) -> list[pl.Expr]:
        """The group-by keys on the store's columns, named as `keys`."""
        expressions = [period_key(self.grain).alias(PERIOD_KEY)] if self.grain else []
        expressions += [pl.col(DIMENSIONS[name].column).cast(pl.String).alias(VALUE_KEYS[i])
                        for i, name in enumerate(self.dimensions)]
        return expressions or [pl.lit(0).alias(WHOLE_KEY)]


@dataclass(frozen=True)
class Counted:
    """One indicator's counts per cell of a breakdown: `national` (all births), `units` (per organisation of the
    level, None for a national export), each with the breakdown's key columns and `n`, `d`, `k` (numerator,
    denominator, packed key sum)."""

    national: pl.DataFrame
    units: pl.DataFrame | None


@dataclass(frozen=True)
class Presentation:
    """What the engine decides about the organisations of one indicator's export: each code's treatment and
    identity (scope), the judged fields without breakdown (position, verdict by code), the VSV withheld, the one
    organisation the rows are limited to (None: all), without breakdown each organisation's case-mix figures
    as the `adjusted` answer presents them (CASE_MIX_FIELDS by code), and the version's provisional months."""

    level: str | None
    treatment: Callable[[str | None], Treatment]
    identity: Callable[[str], dict]
    withheld: Callable[[str], bool]
    judged: Mapping[str, tuple[str | None, str | None]]
    only: str | None
    exact_vsvs: int = 0
    adjusted: Mapping[str, Mapping[str, float | None]] = field(default_factory=dict)
    provisional: ProvisionalMonths = field(default_factory=ProvisionalMonths)


def indicator_rows(definition: Indicator, counted: Counted, presentation: Presentation, breakdown: Breakdown,
                   noise: np.ndarray, rules: SmallNumbers, data_version: int, language: str) -> pl.DataFrame:
    """One indicator's rows of an export, as the viewer may see them (queries.disclosure.present_columns): the
    national figure, the comparator (all organisations of the level: the sum of their counts, published as the sum of
    their perturbed counts, as `IndicatorEngine._units` does) and every organisation with births in the
    denominator, per cell of the breakdown. Peers share size bands of at least PEER_GROUP_SIZE within their cell
    (queries.disclosure.band_edges); a cell with fewer peers shows them only as `few_peers`, and withholds the
    comparator with them."""
    keys = breakdown.keys
    parts = [_national_rows(counted.national, keys, noise, presentation)]
    if counted.units is not None and presentation.level is not None:
        parts += _level_rows(counted.units, keys, noise, presentation)
    parts = [part for part in parts if part.height]
    if not parts:
        return empty_rows()
    table = pl.concat(parts, how="diagonal_relaxed")
    exact = {name: table[f"exact_{name}"].to_numpy() for name in VARIANT_FIELDS}
    published = {name: table[f"published_{name}"].to_numpy() for name in VARIANT_FIELDS}
    judged = {name: table[name].to_numpy() for name in ("position", "verdict")}
    shown = present_columns(exact, published, table["treatment"].to_numpy(), rules, export=True,
                            unit_scale=definition.unit_scale, judged=judged)
    few = table["few_peers"].to_numpy()
    withheld = table["withheld"].to_numpy()
    hide = few | withheld
    for name in VARIANT_FIELDS:
        shown[name] = np.where(hide, np.nan, shown[name])
    for name in ("position", "verdict"):
        shown[name][hide] = None
    shown["suppressed"] = shown["suppressed"] | hide
    shown["suppression_reason"] = np.where(withheld, "complementary",
                                           np.where(few, "few_peers", shown["suppression_reason"]))
    is_peer = table["treatment"].to_numpy() == "peer"
    banded = is_peer & ~few
    band_low, band_high = ((np.where(banded, table[name].to_numpy(), np.nan) if name in table.columns
                            else np.full(table.height, np.nan)) for name in ("band_low", "band_high"))
    case_mix = [(pl.when(pl.Series(hide)).then(None).otherwise(pl.col(column)) if column in table.columns
                 else pl.lit(None, pl.Float64)).alias(column) for column in CASE_MIX_FIELDS]
    rows = table.select(*keys, "row_kind", "level", "org_code", "org_label", "named", "own", "sort_rank",
                        *case_mix).with_columns(
        pl.Series("numerator", shown["numerator"]).fill_nan(None).cast(pl.Int64),
        pl.Series("denominator", shown["denominator"]).fill_nan(None).cast(pl.Int64),
        *(pl.Series(name, shown[name]).fill_nan(None) for name in ("rate", "ci_low", "ci_high")),
        pl.Series("size_band_low", band_low).fill_nan(None).cast(pl.Int64),
        pl.Series("size_band_high", band_high).fill_nan(None).cast(pl.Int64),
        *(pl.Series(name, shown[name].tolist(), dtype=pl.String) for name in ("position", "verdict", "disclosure",
                                                                      "suppression_reason")),
        pl.Series("suppressed", shown["suppressed"], dtype=pl.Boolean),
    )
    if presentation.only is not None:
        rows = rows.filter((pl.col("row_kind") != "organisation") | (pl.col("org_code") == presentation.only))
    rows = rows.sort([*keys, "sort_rank", "org_label"], nulls_last=True)
    return _with_provisional(_with_labels(rows, definition, breakdown, data_version, language),
                             presentation.provisional, presentation.level)


def empty_rows() -> pl.DataFrame:
    """A chunk without rows, typed as EXPORT_COLUMNS."""
    return pl.DataFrame(schema={column.name: COLUMN_TYPES[column.kind] for column in EXPORT_COLUMNS})


def _variants(n: np.ndarray, d: np.ndarray, k: np.ndarray, noise: np.ndarray) -> dict[str, np.ndarray]:
    """Both variants of each cell's figure (exact and cell-key perturbed) as `exact_<field>` / `published_<field>`."""
    numerator_keys, denominator_keys = cell_keys(k)
    published_n = perturbed(n, numerator_keys, noise).astype(float)
    published_d = perturbed(d, denominator_keys, noise).astype(float)
    return _both(n.astype(float), d.astype(float), published_n, published_d)


def _both(n: np.ndarray, d: np.ndarray, published_n: np.ndarray, published_d: np.ndarray) -> dict[str, np.ndarray]:
    columns = {}
    for variant, (numerators, denominators) in (("exact", (n, d)), ("published", (published_n, published_d))):
        rates = rates_with_interval(numerators, denominators)
        columns.update({f"{variant}_numerator": numerators, f"{variant}_denominator": denominators,
                        **{f"{variant}_{name}": values for name, values in rates.items()}})
    return columns


def _national_rows(national: pl.DataFrame, keys: list[str], noise: np.ndarray,
                   presentation: Presentation) -> pl.DataFrame:
    """The national figure of every cell; withheld (`few_peers`) where fewer than five VSVs besides the viewer's own
    have births in it (queries.disclosure.national_withheld)."""
    treatment = presentation.treatment(None)
    variants = _variants(national["n"].to_numpy(), national["d"].to_numpy(), national["k"].to_numpy(), noise)
    withheld = [treatment != "exact" and national_withheld(vsvs, presentation.exact_vsvs)
                for vsvs in national["w"].to_list()]
    return national.select(keys).with_columns(
        **{name: pl.Series(values) for name, values in variants.items()},
        row_kind=pl.lit("national"), level=pl.lit(None, pl.String), org_code=pl.lit(None, pl.String),
        org_label=pl.lit("national"), named=pl.lit(True), own=pl.lit(False), sort_rank=pl.lit(0),
        treatment=pl.lit(treatment), position=pl.lit(None, pl.String), verdict=pl.lit(None, pl.String),
        few_peers=pl.Series(withheld, dtype=pl.Boolean), withheld=pl.lit(False))


def _level_rows(units: pl.DataFrame, keys: list[str], noise: np.ndarray,
                presentation: Presentation) -> list[pl.DataFrame]:
    """The comparator's rows and the organisations' rows of every cell of the breakdown."""
    level = presentation.level
    assert level is not None
    code_column = LEVEL_COLUMNS[level]
    units = units.with_columns(pl.col(code_column).cast(pl.String).alias("code")).sort([*keys, "code"])
    variants = _variants(units["n"].to_numpy(), units["d"].to_numpy(), units["k"].to_numpy(), noise)
    units = units.with_columns(**{name: pl.Series(values) for name, values in variants.items()})
    # The comparator: all organisations of the level together (the published one: the sum of their perturbed counts).
    sums = ["exact_numerator", "exact_denominator", "published_numerator", "published_denominator"]
    comparator = units.group_by(keys, maintain_order=True).agg(pl.col(sums).sum())
    # Organisations with births in the denominator, as `IndicatorEngine._units` shows them.
    units = units.filter(pl.col("exact_denominator") > 0)
    # What the scope says of each organisation, once per organisation, joined to its rows.
    distinct = sorted(set(units["code"].to_list()))
    identities = [presentation.identity(code) for code in distinct]
    about = pl.DataFrame({
        "code": distinct,
        "org_code": [identity["org_code"] for identity in identities],
        "org_label": [identity["label"] for identity in identities],
        "named": [identity["named"] for identity in identities],
        "own": [identity["own"] for identity in identities],
        # Own first, then named, then peers by their pseudonym of this export: a random order.
        "sort_rank": [2 if identity["own"] else 3 if identity["named"] else 4 for identity in identities],
        "treatment": [presentation.treatment(code) for code in distinct],
        "position": [presentation.judged.get(code, (None, None))[0] for code in distinct],
        "verdict": [presentation.judged.get(code, (None, None))[1] for code in distinct],
        "withheld": [level == "vsv" and presentation.withheld(code) for code in distinct],
        **{column: [presentation.adjusted.get(code, {}).get(name) for code in distinct]
           for column, name in CASE_MIX_FIELDS.items()},
    }, schema={**{column: pl.Float64 for column in CASE_MIX_FIELDS}, "code": pl.String, "org_code": pl.String,
               "org_label": pl.String, "named": pl.Boolean,
               "own": pl.Boolean, "sort_rank": pl.Int32, "treatment": pl.String, "position": pl.String,
               "verdict": pl.String, "withheld": pl.Boolean})
    units = units.join(about, on="code", how="left", maintain_order="left").with_columns(
        row_kind=pl.lit("organisation"), level=pl.lit(level), is_peer=pl.col("treatment") == "peer")
    is_peer = units["is_peer"].to_numpy()
    cell = units.select(pl.struct(keys).rle_id())[:, 0].to_numpy()
    band_low, band_high = _peer_bands(cell, units["published_denominator"].to_numpy(), is_peer)
    units = units.with_columns(band_low=pl.Series(band_low), band_high=pl.Series(band_high))
    # Per cell, whether its peers and the comparator are withheld (queries.disclosure.few_peers): a small table.
    per_cell = units.group_by(keys).agg(pl.col("is_peer").sum().alias("peers"), pl.col("withheld").any())
    few = per_cell.select(*keys).with_columns(pl.Series("few_peers", [
        few_peers(peers, withheld) for peers, withheld in zip(per_cell["peers"], per_cell["withheld"], strict=True)],
        dtype=pl.Boolean))
    organisations = (units.join(few, on=keys, how="left", nulls_equal=True)
                     .with_columns(pl.col("few_peers") & pl.col("is_peer"))
                     .drop("code", code_column, "n", "d", "k", "is_peer"))
    comparator = comparator.join(few, on=keys, how="left", nulls_equal=True).with_columns(
        **{name: pl.Series(values) for name, values in _both(*(comparator[c].to_numpy().astype(float)
                                                              for c in sums)).items()},
        row_kind=pl.lit("comparator"), level=pl.lit(level), org_code=pl.lit(None, pl.String),
        org_label=pl.lit(f"all_{level}"), named=pl.lit(True), own=pl.lit(False), sort_rank=pl.lit(1),
        treatment=pl.lit(presentation.treatment(None)), position=pl.lit(None, pl.String),
        verdict=pl.lit(None, pl.String), few_peers=pl.col("few_peers").fill_null(False), withheld=pl.lit(False))
    return [comparator, organisations]


def _peer_bands(cell: np.ndarray, sizes: np.ndarray, is_peer: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each peer's size band among the peers of its cell (queries.disclosure.band_edges, in the order of the
    organisations' codes as `IndicatorEngine._scoped_rows` hands them); NaN for the rest."""
    low = np.full(len(cell), np.nan)
    high = np.full(len(cell), np.nan)
    peers = np.flatnonzero(is_peer)
    if len(peers) == 0:
        return low, high
    boundaries = np.flatnonzero(np.diff(cell[peers])) + 1
    for group in np.split(peers, boundaries):
        low[group], high[group] = band_edges(sizes[group])
    return low, high


def _with_labels(rows: pl.DataFrame, definition: Indicator, breakdown: Breakdown, data_version: int,
                 language: str) -> pl.DataFrame:
    """The label and period columns, in EXPORT_COLUMNS' order and types."""
    columns: dict[str, pl.Series | pl.Expr] = {
        "data_version": pl.lit(data_version, pl.Int64), "indicator_id": pl.lit(definition.id),
        "indicator_name": pl.lit(definition.name(language)), "unit_scale": pl.lit(definition.unit_scale, pl.Int64)}
    if breakdown.grain:
        grain = breakdown.grain
        # Each period once (a few hundred at most), joined to the rows.
        periods = rows[PERIOD_KEY].unique().to_list()
        # A period's first and last day within the months asked for (a year of which only March is asked: March).
        low = month_index(breakdown.period_from) if breakdown.period_from else None
        high = month_index(breakdown.period_to) if breakdown.period_to else None
        months = [(max(first, low) if low is not None else first, min(last, high) if high is not None else last)
                  for first, last in (period_months(key, grain) for key in periods)]
        labels = pl.DataFrame({PERIOD_KEY: periods, "period": [period_label(key, grain) for key in periods],
                               "period_start": [_first_day(first) for first, _ in months],
                               "period_end": [_last_day(last) for _, last in months]},
                              schema={PERIOD_KEY: rows.schema[PERIOD_KEY], "period": pl.String,
                                      "period_start": pl.Date, "period_end": pl.Date})
        rows = rows.join(labels, on=PERIOD_KEY, how="left", maintain_order="left")
    else:
        columns["period"] = pl.lit(None, pl.String)
        columns["period_start"] = pl.lit(_first_day(month_index(breakdown.period_from)) if breakdown.period_from
                                         else None, pl.Date)
        columns["period_end"] = pl.lit(_last_day(month_index(breakdown.period_to)) if breakdown.period_to
                                       else None, pl.Date)
    for i in range(2):
        if i < len(breakdown.dimensions):
            spec = DIMENSIONS[breakdown.dimensions[i]]
            values = rows[VALUE_KEYS[i]].unique().to_list()
            named = pl.DataFrame({VALUE_KEYS[i]: values,
                                  f"value_{i + 1}_label": [spec.label_of(value, language) for value in values]},
                                 schema={VALUE_KEYS[i]: pl.String, f"value_{i + 1}_label": pl.String})
            rows = rows.join(named, on=VALUE_KEYS[i], how="left", maintain_order="left", nulls_equal=True)
            columns[f"dimension_{i + 1}"] = pl.lit(spec.name)
        else:
            columns[f"dimension_{i + 1}"] = pl.lit(None, pl.String)
            columns[f"value_{i + 1}"] = pl.lit(None, pl.String)
            columns[f"value_{i + 1}_label"] = pl.lit(None, pl.String)
    rows = rows.with_columns(**columns)
    return rows.select(pl.col(column.name).cast(COLUMN_TYPES[column.kind]) for column in EXPORT_COLUMNS
                       if column.name not in PROVISIONAL_COLUMNS)


def _with_provisional(rows: pl.DataFrame, provisional: ProvisionalMonths, level: str | None) -> pl.DataFrame:
    """The rows with `provisional` and `provisional_months`: the provisional months of each row's figure
    (queries.provisional: national, the comparator of `level`, or one organisation) between its `period_start` and
    `period_end`; both empty for a peer (`named` false). Only the few figures with provisional months are looked
    at, joined to the rows by figure."""
    marks: list[tuple[str, str | None, str | None, str]] = [
        ("national", None, None, month.month) for month in provisional.months(*NATIONAL, None, None)]
    if level is not None:
        marks += [("comparator", level, None, month.month) for month in provisional.months(level, None, None, None)]
        marks += [("organisation", level, code, month.month) for (of_level, code), months in provisional.figures.items()
                  if of_level == level and code is not None for month in months]
    month = pl.col("month")
    if marks:
        figures = pl.DataFrame(marks, schema={"row_kind": pl.String, "level": pl.String, "org_code": pl.String,
                                              "month": pl.String}, orient="row")
        first = pl.col("period_start").dt.strftime("%Y-%m")
        last = pl.col("period_end").dt.strftime("%Y-%m")
        found = (rows.select("row_kind", "level", "org_code", "period_start", "period_end").with_row_index("row")
                 .join(figures, on=["row_kind", "level", "org_code"], nulls_equal=True)
                 .filter((first.is_null() | (month >= first)) & (last.is_null() | (month <= last)))
                 .group_by("row").agg(month.sort().str.join(",").alias("provisional_months")))
        rows = (rows.with_row_index("row").join(found, on="row", how="left", maintain_order="left").drop("row"))
    else:
        rows = rows.with_columns(pl.lit(None, pl.String).alias("provisional_months"))
    rows = rows.with_columns(
        pl.when(pl.col("named")).then(pl.col("provisional_months").is_not_null()).alias("provisional"),
        pl.when(pl.col("named")).then(pl.col("provisional_months")).alias("provisional_months"))
    return rows.select(pl.col(column.name).cast(COLUMN_TYPES[column.kind]) for column in EXPORT_COLUMNS)


def _first_day(month: int) -> date:
    return date(month // 12, month % 12 + 1, 1)


def _last_day(month: int) -> date:
    return _first_day(month + 1) - timedelta(days=1)
