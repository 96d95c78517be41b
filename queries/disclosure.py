"""Disclosure control: what of a figure a viewer is shown. Every answer of the engine passes through here, so
every channel (pages, chart hover data and tables, screen-reader texts, API, downloads, exports, reports) shows
the same treatment of the same cell. The policy in plain words, its threat model and sources: docs/privacy.md.

Three treatments (`Treatment`, the `disclosure` field of every presented cell):

- **exact** — the viewer's own figures (`queries.scope.Scope.sees_exact`): counts, rate, interval as computed.
- **perturbed** — a named figure that is not the viewer's own (national, the comparator "all hospitals", a
  provider's VSV): counts with cell-key noise, the statistics computed from the noisy counts, counts of 1–4
  masked. The cell-key method (Office for National Statistics 2021, "Protecting personal data in Census 2021
  results"; Fraser & Wooton 2005, "A proposed method for confidentialising tabular output to protect against
  differencing", ABS TableBuilder): every birth carries a fixed random *record key* 0–255; a count's *cell key*
  is the sum of the keys of the births it counts, modulo 256; its noise is read from a fixed *perturbation table*
  at (cell key, count). The same births always give the same noise, whatever question produced the cell, so
  asking again reveals nothing, and the difference of two answers carries two independent noises.
- **peer** — an organisation shown under a pseudonym: no counts, no interval; the rate from the perturbed counts
  rounded to the indicator's display step; the size as a band shared by at least `PEER_GROUP_SIZE` peers of the
  answer; a pseudonym that holds for one answer only. Numbers and labels then cannot be followed to a name
  through the organisation's size, nor from one answer to the next.

Everything here is pure: arrays and values in, values out.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypedDict, get_args

import numpy as np
import polars as pl
from numpy.typing import ArrayLike

#: How a cell was treated (see the module docstring).
Treatment = Literal["exact", "perturbed", "peer"]
TREATMENTS: tuple[Treatment, ...] = get_args(Treatment)

#: The store's column with each birth's record key (0–255).
RECORD_KEY_COLUMN = "record_key"
KEY_MODULUS = 256

# The perturbation table: the noise added to a count, indexed by (cell key + count) mod 256. Noise −2…+2 with
# probabilities 26, 51, 102, 51, 26 in 256 (mean 0, variance 1.21); the order of the 256 entries is fixed by a
# seeded shuffle, so neighbouring keys do not get neighbouring noise. The table is public (as the ONS's is); the
# record keys are secret, so nobody can tell a cell's noise from its key.
_NOISE_COUNTS = {-2: 26, -1: 51, 0: 102, 1: 51, 2: 26}
PERTURBATION_TABLE: np.ndarray = np.random.default_rng(20_211_221).permutation(
    np.repeat(np.array(list(_NOISE_COUNTS), dtype=np.int64), list(_NOISE_COUNTS.values())))
#: The largest noise the table adds to a count.
NOISE_BOUND = max(abs(noise) for noise in _NOISE_COUNTS)
#: The noise's variance (310 / 256): the judgement takes it out of the spread between units (queries.judgement).
NOISE_VARIANCE = float(np.var(PERTURBATION_TABLE))
#: Peers of an answer share a size band with at least this many others (k-anonymity of size, k = 5).
PEER_GROUP_SIZE = 5
#: φ, τ² and the overdispersion test's p-value are published to this many significant digits.
STATISTIC_DIGITS = 3
#: The size band's edges are rounded outwards to this many significant digits.
BAND_DIGITS = 2


class SizeBand(TypedDict):
    """The size (denominator, or expected count for O/E) of a peer: between `low` and `high`, shared by at least
    `PEER_GROUP_SIZE` peers of the answer; `middle` (the geometric mean) is where a chart draws them."""

    low: int
    high: int
    middle: float


def record_key_expression(secret: str) -> pl.Expr:
    """Each birth's record key: a hash of everything recorded about it (every column the store reads), seeded
    with the installation's secret, modulo 256. A birth keeps its key from one data version to the next unless
    its record changes; without the secret nobody can compute it."""
    digest = hashlib.sha256(f"record-key:{secret}".encode()).digest()
    seed = int.from_bytes(digest[:8], "big") % (2**63)
    return (pl.struct(pl.all()).hash(seed) % KEY_MODULUS).cast(pl.UInt8).alias(RECORD_KEY_COLUMN)


#: A birth's numerator key sits this far above its population key in `packed_key`: the population's key sum of even
#: tens of millions of births stays below it, so the two sums never mix.
PACKING_SHIFT = 2**32


def packed_key(record_key: pl.Expr, in_numerator: pl.Expr, in_population: pl.Expr) -> pl.Expr:
    """One birth's keys for an indicator in one Int64: its record key where it is in the population, plus
    2³² × its record key where it is in the numerator. Summed over a cell and split by `cell_keys`, it gives both
    counts' cell keys — each exactly the sum of its own births' keys — from one sum instead of two."""
    key = record_key.cast(pl.Int64)
    return (pl.when(in_population).then(key).otherwise(0)
            + pl.when(in_numerator).then(key * PACKING_SHIFT).otherwise(0)).cast(pl.Int64)


def cell_keys(packed_sums: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """(numerator cell keys, population cell keys) from sums of `packed_key`, each modulo 256."""
    sums = np.asarray(packed_sums, dtype=np.int64)
    return (sums // PACKING_SHIFT) % KEY_MODULUS, (sums % PACKING_SHIFT) % KEY_MODULUS


#: The table of an engine with cell_key_noise off (queries.config): tests of the arithmetic only.
NO_NOISE_TABLE: np.ndarray = np.zeros(KEY_MODULUS, dtype=np.int64)


def perturbed(counts: ArrayLike, key_sums: ArrayLike, table: np.ndarray = PERTURBATION_TABLE) -> np.ndarray:
    """Counts with their cell-key noise (ONS 2021; Fraser & Wooton 2005): count + table[(key + count) mod 256],
    the noise limited to ±count so that no count goes below zero; the table is symmetric, so the limit keeps the
    noise unbiased (a floor at 1 would raise rare events by 40%). Zero stays zero: an empty cell has no births to
    carry a key. A small exact count is masked whatever its noise (`present`), so a zero shown is a true zero."""
    count_array = np.asarray(counts, dtype=np.int64)
    keys = np.asarray(key_sums, dtype=np.int64) % KEY_MODULUS
    noise = np.clip(table[(keys + count_array) % KEY_MODULUS], -count_array, count_array)
    return np.asarray(count_array + noise, dtype=np.int64)


def small_count(counts: ArrayLike, smallest: int, largest: int) -> np.ndarray:
    """Whether each count lies in the masked range [smallest, largest] (1–4 by default, queries.config)."""
    count_array = np.asarray(counts, dtype=np.int64)
    return (count_array >= smallest) & (count_array <= largest)


def rounded_rate(rate: float | None, unit_scale: int) -> float | None:
    """A peer's rate rounded to the indicator's display step: 0.1 % (unit scale 100) or 0.1 ‰ (1000). A rate to
    more digits, with its band, would narrow the size down (numerator / rate = denominator)."""
    if rate is None:
        return None
    step = 1.0 / (unit_scale * 10)
    return round(round(rate / step) * step, 10)


def rounded_statistic(value: float | None, digits: int = STATISTIC_DIGITS) -> float | None:
    """A dispersion statistic (φ, τ², p-value) to `digits` significant digits: at full precision it is one more
    equation an attacker could solve for a figure the answer does not show."""
    if value is None or not math.isfinite(value) or value == 0:
        return value
    return float(f"{value:.{digits - 1}e}")


def rounded_outwards(value: float, up: bool) -> int:
    """`value` rounded outwards (down for a band's low edge, up for its high edge) to BAND_DIGITS digits."""
    return int(rounded_outwards_array(np.array([value], dtype=float), up)[0])


def rounded_outwards_array(values: np.ndarray, up: bool) -> np.ndarray:
    """`rounded_outwards` of many values at once (Int64); 0 for a value of 0 or less."""
    positive = values > 0
    rounded = np.round(np.where(positive, values, 1.0), 6)  # 100 × 1.1 is 110.00000000000001, which is 110
    step = 10.0 ** np.maximum(np.floor(np.log10(rounded)) - BAND_DIGITS + 1, 0)
    edges = (np.ceil(rounded / step) if up else np.floor(rounded / step)) * step
    return np.where(positive, edges, 0).astype(np.int64)


def band_edges(sizes: np.ndarray, group_size: int = PEER_GROUP_SIZE,
               margin: float = NOISE_BOUND) -> tuple[np.ndarray, np.ndarray]:
    """The low and high edge of each peer's size band (`size_bands`), as arrays in the order of `sizes`."""
    sizes = np.asarray(sizes, dtype=float)
    count = len(sizes)
    low, high = np.zeros(count, dtype=np.int64), np.zeros(count, dtype=np.int64)
    if count == 0:
        return low, high
    order = np.argsort(sizes, kind="stable")
    # Consecutive groups of `group_size` in size order; a smaller remainder joins the group before it.
    group = np.minimum(np.arange(count) // group_size, max(count // group_size - 1, 0))
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    ordered = sizes[order]
    group_low = rounded_outwards_array(np.minimum.reduceat(ordered, starts) - margin, up=False)
    group_high = np.maximum(rounded_outwards_array(np.maximum.reduceat(ordered, starts) + margin, up=True), group_low)
    low[order], high[order] = group_low[group], group_high[group]
    return low, high


def size_bands(sizes: Sequence[float], group_size: int = PEER_GROUP_SIZE,
               margin: float = NOISE_BOUND) -> list[SizeBand]:
    """The size band of each peer (same order as `sizes`, its perturbed sizes): peers sorted by size in
    consecutive groups of `group_size` (a smaller remainder joins the group before it; fewer peers than that form
    one group), each group's band from its smallest to its largest size widened by `margin` (the largest noise, so
    the band holds the exact size too), rounded outwards to BAND_DIGITS significant digits. Within a band the peers
    cannot be told apart by their size (k-anonymity, Sweeney 2002)."""
    low, high = band_edges(np.asarray(sizes, dtype=float), group_size, margin)
    return [{"low": int(a), "high": int(b), "middle": math.sqrt(max(int(a), 1) * max(int(b), 1))}
            for a, b in zip(low, high, strict=True)]


def answer_pseudonym(org_code: str, level: str, answer: str, key: str, prefix: str) -> str:
    """A peer's label for one answer only, e.g. `H-3F9C1A07`: an HMAC of the code and the answer (data version,
    question, indicator, level, filters) under the installation's secret. The same question gives the same
    labels; any other question other labels, so a peer cannot be followed from one answer to the next."""
    digest = hmac.new(key.encode(), f"{answer}|{level}:{org_code}".encode(), hashlib.sha256).hexdigest()
    return f"{prefix}-{digest[:8].upper()}"


# ---- presenting one cell -------------------------------------------------------------------------------------

#: Why a cell shows less: counts of 1–4 masked; no rate on a small denominator; a provider's VSV withheld; a peer
#: among fewer than PEER_GROUP_SIZE peers (its band would point at fewer than five organisations).
SuppressionReason = Literal["count_masked", "denominator_below_minimum", "complementary", "few_peers"]
#: Reasons whose cell shows no counts either.
HIDDEN_COUNTS: tuple[SuppressionReason, ...] = ("count_masked", "complementary", "few_peers")
#: A suppressed cell shows none of these.
SUPPRESSED_STATISTICS = ("rate", "ci_low", "ci_high", "position", "verdict", "flag", "standardised", "sensitivity",
                         "depends_on_method", "ratio", "ratio_low", "ratio_high", "adjusted_rate", "adjusted_low",
                         "adjusted_high", "expected")
#: A peer shows none of these: with its rate and band they would give its size or counts back.
PEER_HIDDEN = ("numerator", "denominator", "ci_low", "ci_high", "standardised", "expected", "ratio_low",
               "ratio_high", "adjusted_low", "adjusted_high")
#: A peer's O/E ratio is shown to this many decimals.
PEER_RATIO_DECIMALS = 2


@dataclass(frozen=True)
class SmallNumbers:
    """The small-number rules (queries.config): no rate below `min_denominator`; counts from `mask_from` to
    `mask_to` masked (others' always; the viewer's own in exports)."""

    min_denominator: int
    mask_from: int
    mask_to: int


def suppress(presented: dict, reason: SuppressionReason | None, *, hide_counts: bool) -> dict:
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


def present(cell: Mapping[str, Any], treatment: Treatment, identity: Mapping[str, Any] | None, rules: SmallNumbers,
            *, export: bool, unit_scale: int, band: SizeBand | None = None) -> dict:
    """One cell as a viewer is shown it. `cell` holds the fields shared by both variants (verdicts) and the
    variants `exact` and `published` (the same figures from the perturbed counts); `treatment` picks one:

    - exact: the exact variant; counts of 1–4 masked only in an export (a file travels further than a screen);
    - perturbed: the published variant; masked when its count or the exact one is 1–4;
    - peer: the published variant as a peer: rate rounded to the display step, the size as `band`, no counts,
      no interval, no standardised score.
    A denominator below the minimum gives no rate, interval or verdict."""
    presented = dict(identity or {})
    presented.update({name: value for name, value in cell.items() if name not in ("exact", "published")})
    presented.update(cell["exact"] if treatment == "exact" else cell["published"])
    presented["disclosure"] = treatment
    numerator, denominator = presented["numerator"], presented["denominator"]
    counts = [numerator, denominator]
    if treatment != "exact":
        counts += [cell["exact"]["numerator"], cell["exact"]["denominator"]]
    masked = (export or treatment != "exact") and bool(small_count(counts, rules.mask_from, rules.mask_to).any())
    reason: SuppressionReason | None = None
    if denominator < rules.min_denominator:
        reason = "denominator_below_minimum"
    if masked:
        reason = "count_masked"
    suppress(presented, reason, hide_counts=masked)
    if treatment == "peer":
        presented["rate"] = rounded_rate(presented["rate"], unit_scale)
        for name in ("ratio", "adjusted_rate"):
            if presented.get(name) is not None:
                presented[name] = (round(presented[name], PEER_RATIO_DECIMALS) if name == "ratio"
                                   else rounded_rate(presented[name], unit_scale))
        for name in PEER_HIDDEN:
            if name in presented:
                presented[name] = None
        presented["size_band"] = band
    return presented


#: The fields of a figure's variant that `present_columns` chooses between.
VARIANT_FIELDS = ("numerator", "denominator", "rate", "ci_low", "ci_high")


def present_columns(exact: Mapping[str, np.ndarray], published: Mapping[str, np.ndarray], treatment: np.ndarray,
                    rules: SmallNumbers, *, export: bool, unit_scale: int,
                    judged: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """`present` for many cells at once (an export of a million figures): the same rules, as arrays. `exact` and
    `published` hold the VARIANT_FIELDS of each cell as float arrays (NaN for none), `treatment` each cell's
    Treatment, `judged` optional object arrays (position, verdict) shown unless the cell is suppressed. Returns the
    VARIANT_FIELDS, the judged fields, `suppressed`, `suppression_reason` and `disclosure`, NaN / None where a
    field is not shown. tests/test_disclosure.py holds it to `present` cell by cell."""
    treatment = np.asarray(treatment, dtype=object)
    is_exact, is_peer = treatment == "exact", treatment == "peer"
    chosen = {name: np.where(is_exact, exact[name], published[name]).astype(float) for name in VARIANT_FIELDS}
    numerator, denominator = chosen["numerator"], chosen["denominator"]

    def small(counts: np.ndarray) -> np.ndarray:
        return small_count(np.nan_to_num(counts).astype(np.int64), rules.mask_from, rules.mask_to)

    any_small = small(numerator) | small(denominator) | (
        ~is_exact & (small(exact["numerator"]) | small(exact["denominator"])))
    masked = (export | ~is_exact) & any_small
    below = np.nan_to_num(denominator) < rules.min_denominator
    reason = np.full(len(treatment), None, dtype=object)
    reason[below] = "denominator_below_minimum"
    reason[masked] = "count_masked"
    suppressed = masked | below
    shown = dict(chosen)
    for name in ("numerator", "denominator"):
        shown[name] = np.where(masked | is_peer, np.nan, chosen[name])
    for name in ("ci_low", "ci_high"):
        shown[name] = np.where(suppressed | is_peer, np.nan, chosen[name])
    step = 1.0 / (unit_scale * 10)
    rate = np.where(is_peer, np.round(np.round(chosen["rate"] / step) * step, 10), chosen["rate"])
    shown["rate"] = np.where(suppressed, np.nan, rate)
    for name, values in (judged or {}).items():
        shown[name] = np.array(values, dtype=object)
        shown[name][suppressed] = None
    shown.update(suppressed=suppressed, suppression_reason=reason, disclosure=treatment)
    return shown


def few_peers(peers: int, withheld: bool) -> bool:
    """Whether the comparator of an answer (or of one cell of an export) is withheld with its peers: fewer than
    PEER_GROUP_SIZE peers and at least one, or a withheld VSV beside them (then, with no peer at all, the comparator
    would be that VSV's figure)."""
    return peers < PEER_GROUP_SIZE and (peers > 0 or withheld)


def national_withheld(vsvs: int, exact_vsvs: int) -> bool:
    """Whether a national figure is withheld (`few_peers`): its births come from `vsvs` VSVs, of which the viewer
    may know `exact_vsvs` (its own organisation's or its own VSV). With fewer than PEER_GROUP_SIZE others, the national
    figure minus the viewer's own would be the total of fewer than five VSVs — in a narrow target group one
    organisation's, which a peer's figure may never give. Every birth has a VSV and every organisation is in one, so
    five other VSVs also mean five other organisations (k-anonymity, as for the comparator). An empty figure hides
    nothing."""
    return vsvs > 0 and vsvs - exact_vsvs < PEER_GROUP_SIZE


def withhold(presented: dict) -> dict:
    """A provider's VSV figure withheld by the structural rule (queries.scope.Scope.vsv_withheld)."""
    return suppress(presented, "complementary", hide_counts=True)
