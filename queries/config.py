"""Thresholds and switches of the indicator engine, from the environment with safe defaults.

Pages, the API and exports never hold these numbers themselves: they ask the engine, which applies them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from settings import DATA_FOLDER, installation_secret, whole_number_from_environment

MIN_DENOMINATOR_VARIABLE = "PERISPIEGEL_MIN_DENOMINATOR"
MASK_COUNTS_FROM_VARIABLE = "PERISPIEGEL_MASK_COUNTS_FROM"
MASK_COUNTS_TO_VARIABLE = "PERISPIEGEL_MASK_COUNTS_TO"
CACHE_REDIS_URL_VARIABLE = "PERISPIEGEL_CACHE_REDIS_URL"
CACHE_TIMEOUT_VARIABLE = "PERISPIEGEL_CACHE_TIMEOUT"
VERSION_CHECK_SECONDS_VARIABLE = "PERISPIEGEL_VERSION_CHECK_SECONDS"
PSEUDONYM_KEY_VARIABLE = "PERISPIEGEL_PSEUDONYM_KEY"

# Without PERISPIEGEL_PSEUDONYM_KEY each installation generates its own random key once (data/pseudonym_key):
# a key that is public (e.g. in this repository) would let anyone recompute the pseudonyms of anonymised
# peers from their public organisation codes.
PSEUDONYM_KEY_FILE = DATA_FOLDER / "pseudonym_key"


@dataclass(frozen=True)
class EngineConfig:
    """Small-number rules, cache and refresh settings.

    min_denominator: no rate (nor interval, nor funnel position) on a denominator below this.
    mask_counts_from / mask_counts_to: counts in this closed range are masked: others' always, own in exports.
    cache_redis_url: answers are cached in Redis when set, else in process memory.
    cache_timeout_seconds: how long a cached answer lives (answers are keyed by data version anyway).
    version_check_seconds: how often the published data version is re-read from the database
        (0 = on every question).
    pseudonym_key: secret for the pseudonyms of anonymised organisations and the births' record keys.
    cell_key_noise: cell-key perturbation of every figure that is not the viewer's own (docs/privacy.md). Only
        tests of the arithmetic switch it off, in code: no environment variable can.
    """

    min_denominator: int = 10
    mask_counts_from: int = 1
    mask_counts_to: int = 4
    cache_redis_url: str | None = None
    cache_timeout_seconds: int = 24 * 3600
    version_check_seconds: float = 0.0
    pseudonym_key: str = field(default_factory=lambda: installation_secret(PSEUDONYM_KEY_VARIABLE, PSEUDONYM_KEY_FILE))
    cell_key_noise: bool = True


def load_config() -> EngineConfig:
    """The engine configuration: defaults overridden by PERISPIEGEL_* environment variables."""
    check_seconds = os.environ.get(VERSION_CHECK_SECONDS_VARIABLE)
    return EngineConfig(
        min_denominator=whole_number_from_environment(MIN_DENOMINATOR_VARIABLE, EngineConfig.min_denominator),
        mask_counts_from=whole_number_from_environment(MASK_COUNTS_FROM_VARIABLE, EngineConfig.mask_counts_from),
        mask_counts_to=whole_number_from_environment(MASK_COUNTS_TO_VARIABLE, EngineConfig.mask_counts_to),
        cache_redis_url=os.environ.get(CACHE_REDIS_URL_VARIABLE) or None,
        cache_timeout_seconds=whole_number_from_environment(CACHE_TIMEOUT_VARIABLE, EngineConfig.cache_timeout_seconds),
        version_check_seconds=float(check_seconds) if check_seconds else EngineConfig.version_check_seconds,
        pseudonym_key=installation_secret(PSEUDONYM_KEY_VARIABLE, PSEUDONYM_KEY_FILE),
    )
