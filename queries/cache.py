"""The answer cache: flask-caching backends, keyed by data version + question.

SimpleCache (in process) by default; RedisCache when PERISPIEGEL_CACHE_REDIS_URL is set, so that
several server processes share answers. Because every key contains the data version, publishing a
new version makes old answers unreachable without any invalidation step.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Iterable
from types import ModuleType

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


def answer_key(question: str, data_version: int, arguments: dict, fingerprint: str = "") -> str:
    """A short, stable key: the question, the data version and a hash of the canonical arguments and of the
    `fingerprint` of what makes the answers (`answers_fingerprint`)."""
    canonical = json.dumps({"arguments": arguments, "fingerprint": fingerprint}, sort_keys=True,
                           separators=(",", ":"), default=str)
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:32]
    return f"{question}:v{data_version}:{digest}"


def answers_fingerprint(definitions: Iterable[object], settings: object, code: Iterable[ModuleType]) -> str:
    """A hash of everything besides the data that an answer depends on: the indicator definitions, the engine's
    settings (thresholds, the judgement policy's constants) and the source of the modules that compute. A shared
    (Redis) cache then never serves an answer made by other definitions or other code: adding an indicator or
    correcting one takes effect at once, without waiting for old answers to expire."""
    digest = hashlib.sha256()
    digest.update(json.dumps([repr(definition) for definition in definitions]).encode())
    digest.update(repr(settings).encode())
    for module in code:
        digest.update(inspect.getsource(module).encode())
    return digest.hexdigest()[:16]
