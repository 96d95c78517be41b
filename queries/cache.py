"""The answer cache: flask-caching backends, keyed by data version + question.

SimpleCache (in process) by default; RedisCache when PERISPIEGEL_CACHE_REDIS_URL is set, so that
several server processes share answers. Because every key contains the data version, publishing a
new version makes old answers unreachable without any invalidation step.
"""

from __future__ import annotations

import hashlib
import json

import redis
from flask_caching.backends import BaseCache, RedisCache, SimpleCache

from queries.config import EngineConfig

KEY_PREFIX = "perispiegel:answers:"


def make_answer_cache(config: EngineConfig) -> BaseCache:
    """The cache backend the configuration asks for."""
    if config.cache_redis_url:
        client = redis.Redis.from_url(config.cache_redis_url)
        return RedisCache(host=client, default_timeout=config.cache_timeout_seconds, key_prefix=KEY_PREFIX)
    return SimpleCache(threshold=2000, default_timeout=config.cache_timeout_seconds)


def answer_key(question: str, data_version: int, arguments: dict) -> str:
    """A short, stable key: the question, the data version and a hash of the canonical arguments."""
    canonical = json.dumps(arguments, sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:32]
    return f"{question}:v{data_version}:{digest}"
