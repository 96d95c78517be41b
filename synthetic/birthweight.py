"""Birth weights drawn through the Hoftiezer percentile curves (the table SGA is judged against).

A child's weight is a standard-normal score mapped through the published percentiles of its sex and
gestational age in days, so that, with no risk factors, exactly 10% fall below p10 — the definition of
SGA (Hoftiezer et al., Am J Obstet Gynecol 2019; Perined's reference curves).
"""

from __future__ import annotations

from pathlib import Path
from statistics import NormalDist

import numpy as np
import polars as pl

from settings import REFERENCE_FOLDER

PERCENTILES_FILE = REFERENCE_FOLDER / "birthweight-percentiles-hoftiezer.csv"
PERCENTILE_COLUMNS = ("p3", "p5", "p10", "p50", "p90", "p95", "p97")
#: The standard-normal scores of those percentiles: the knots of the piecewise-linear quantile function.
Z_KNOTS = np.array([NormalDist().inv_cdf(p) for p in (0.03, 0.05, 0.10, 0.50, 0.90, 0.95, 0.97)])
FIRST_DAY, LAST_DAY = 161, 294  # the table covers 23+0 to 42+0 weeks
DAILY_GROWTH_BEFORE_TABLE = 0.0265  # ~ p50 growth per day around 23 weeks (518 g at 23+0, ~430 g at 22+0)
DAILY_GROWTH_AFTER_TABLE = 0.002


class BirthWeightTable:
    """The percentile table as arrays indexed by [sex (0 = female, 1 = male), day - 161, knot]."""

    def __init__(self, path: Path = PERCENTILES_FILE) -> None:
        table = pl.read_csv(path).sort("sex", "ga_days")
        values = table.select(PERCENTILE_COLUMNS).to_numpy().astype(float)
        days = LAST_DAY - FIRST_DAY + 1
        if table.height != 2 * days:
            raise ValueError(f"{path}: expected {2 * days} rows (female and male, days {FIRST_DAY}-{LAST_DAY})")
        self.knots = values.reshape(2, days, len(PERCENTILE_COLUMNS))  # "female" sorts before "male"

    def weight(self, male: np.ndarray, ga_days: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Birth weight in grams at score `z` for each child: linear interpolation between the percentile
        knots, linear extrapolation beyond p3/p97, and exponential growth outside the table's days."""
        day = np.clip(ga_days, FIRST_DAY, LAST_DAY) - FIRST_DAY
        rows = self.knots[male.astype(int), day]  # (n, 7)
        segment = np.clip(np.searchsorted(Z_KNOTS, z), 1, len(Z_KNOTS) - 1)
        z_low, z_high = Z_KNOTS[segment - 1], Z_KNOTS[segment]
        w_low = np.take_along_axis(rows, (segment - 1)[:, None], axis=1)[:, 0]
        w_high = np.take_along_axis(rows, segment[:, None], axis=1)[:, 0]
        grams = w_low + (z - z_low) * (w_high - w_low) / (z_high - z_low)
        grams = grams * np.exp(DAILY_GROWTH_BEFORE_TABLE * np.minimum(ga_days - FIRST_DAY, 0))
        grams = grams * (1 + DAILY_GROWTH_AFTER_TABLE * np.maximum(ga_days - LAST_DAY, 0))
        return grams

    def p10(self, male: np.ndarray, ga_days: np.ndarray) -> np.ndarray:
        """The p10 weight for each child (only meaningful for days inside the table)."""
        day = np.clip(ga_days, FIRST_DAY, LAST_DAY) - FIRST_DAY
        return self.knots[male.astype(int), day, PERCENTILE_COLUMNS.index("p10")]
