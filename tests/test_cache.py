"""Answers are cached per data version + question: in process by default, in Redis when configured."""

from __future__ import annotations

import dataclasses
import pickle
import uuid

import pytest
import redis
from births_factory import birth, publish, random_births
from flask_caching.backends import RedisCache, SimpleCache
from machine_needs import REQUIRE_SERVICES, unavailable

from queries import statistics
from queries.cache import KEY_PREFIX, answer_key, answers_fingerprint, make_answer_cache
from queries.catalogue import INDICATORS, Range, indicators_for
from queries.config import EngineConfig, load_config
from queries.engine import IndicatorEngine
from queries.scope import Viewer

REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_available() -> str | None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        return None
    except redis.RedisError as error:
        return f"Redis not reachable at {REDIS_URL}: {type(error).__name__}: {error}"


def test_default_backend_is_simple_and_redis_when_configured(monkeypatch):
    monkeypatch.delenv("PERISPIEGEL_CACHE_REDIS_URL", raising=False)
    assert isinstance(make_answer_cache(load_config()), SimpleCache)
    monkeypatch.setenv("PERISPIEGEL_CACHE_REDIS_URL", REDIS_URL)
    assert isinstance(make_answer_cache(load_config()), RedisCache)


def test_a_repeated_question_is_answered_from_the_cache(sqlite_engine):
    publish(sqlite_engine, random_births(200, seed=5))
    cache = SimpleCache()
    indicators = IndicatorEngine(sqlite_engine, EngineConfig(), cache)
    first = indicators.results("caesarean", "hospital", Viewer("admin"), {"parity": "nulliparous"})
    key = answer_key("units", 1, {"indicator": "caesarean", "level": "hospital",
                                  "filters": {"parity": "nulliparous"}, "overdispersion": "auto", "curve": False},
                     indicators.fingerprint)
    assert cache.get(key) is not None
    # Proof the second answer comes from the cache: plant a different national count under the key.
    planted = cache.get(key)
    planted["national"]["exact"]["numerator"] = 12345
    cache.set(key, planted)
    second = indicators.results("caesarean", "hospital", Viewer("admin"), {"parity": "nulliparous"})
    assert second["national"]["numerator"] == 12345 and first["national"]["numerator"] != 12345


@pytest.mark.parametrize("backend", ["simple", pytest.param("redis", marks=pytest.mark.redis)])
def test_answers_made_by_other_definitions_are_never_served(sqlite_engine, backend):
    """A warm shared cache and a changed catalogue: before, a new indicator raised KeyError on the overview and
    a corrected definition served old numbers for up to 24 h. The key holds the definitions' fingerprint."""
    config = EngineConfig()
    if backend == "redis":
        reason = redis_available()
        if reason:
            unavailable(reason, REQUIRE_SERVICES)
        config = EngineConfig(cache_redis_url=REDIS_URL)
    # A unique pseudo-version keeps this test's keys apart from anything else in the server.
    version = int(uuid.uuid4().int % 1_000_000_000) + 1000
    publish(sqlite_engine, random_births(200, seed=5), data_version=version)
    cache = make_answer_cache(config) if backend == "redis" else SimpleCache()
    try:
        before = IndicatorEngine(sqlite_engine, config, cache)
        answer = before.overview(Viewer("admin"), org_code="H001")
        assert [row["indicator"]["id"] for row in answer["rows"]] == [d.id for d in indicators_for("hospital")]
        # A corrected definition (caesarean now only counts term births) gives another fingerprint ...
        corrected = [dataclasses.replace(d, denominator={"ga_days": Range(259, None)}) if d.id == "caesarean"
                     else d for d in INDICATORS]
        settings = ("same settings",)
        assert answers_fingerprint(corrected, settings, []) != answers_fingerprint(INDICATORS, settings, [])
        # ... and an engine with another fingerprint on the same warm cache computes its own answers.
        overview_key = answer_key("overview", version, {"filters": {}, "subject": ("H001", "hospital"),
                                                        "overdispersion": "auto"}, before.fingerprint)
        planted = cache.get(overview_key)
        assert planted is not None
        planted["caesarean"]["organisation"]["exact"]["numerator"] = 12345
        cache.set(overview_key, planted)
        assert caesarean_of(before.overview(Viewer("admin"), org_code="H001"))["numerator"] == 12345
        after = IndicatorEngine(sqlite_engine, config, cache)
        after.fingerprint = answers_fingerprint(corrected, settings, [])
        assert caesarean_of(after.overview(Viewer("admin"), org_code="H001"))["numerator"] != 12345
    finally:
        if backend == "redis":
            client = redis.Redis.from_url(REDIS_URL)
            for key in client.keys(f"{KEY_PREFIX}*:v{version}:*"):
                client.delete(key)


def caesarean_of(overview: dict) -> dict:
    return next(row for row in overview["rows"] if row["indicator"]["id"] == "caesarean")["organisation"]


def test_the_fingerprint_follows_the_code_and_the_settings():
    assert answers_fingerprint(INDICATORS, (10,), []) != answers_fingerprint(INDICATORS, (11,), [])
    assert answers_fingerprint(INDICATORS, (10,), [statistics]) != answers_fingerprint(INDICATORS, (10,), [])


def test_scope_is_applied_after_the_cache(sqlite_engine):
    """One cached answer serves every viewer, but each sees only its own scope."""
    publish(sqlite_engine, random_births(200, seed=5))
    indicators = IndicatorEngine(sqlite_engine, EngineConfig(), SimpleCache())
    admin = indicators.results("caesarean", "hospital", Viewer("admin"))
    provider = indicators.results("caesarean", "hospital", Viewer("provider", org_code="H001"))
    assert sum(row["named"] for row in admin["rows"]) == 3
    assert [row["org_code"] for row in provider["rows"] if row["named"]] == ["H001"]


def test_a_new_data_version_is_never_answered_from_the_old_cache(sqlite_engine):
    publish(sqlite_engine, [birth()] * 20, data_version=1)
    indicators = IndicatorEngine(sqlite_engine, EngineConfig(), SimpleCache())
    assert indicators.trend("caesarean", Viewer("admin"))["series"][0]["points"][0]["denominator"] == 20
    publish(sqlite_engine, [birth()] * 30, data_version=2)
    answer = indicators.trend("caesarean", Viewer("admin"))
    assert answer["data_version"]["number"] == 2 and answer["series"][0]["points"][0]["denominator"] == 30


@pytest.mark.redis
def test_redis_cache_is_shared_between_engines(sqlite_engine):
    reason = redis_available()
    if reason:
        unavailable(reason, REQUIRE_SERVICES)
    client = redis.Redis.from_url(REDIS_URL)
    # A unique pseudo-version keeps this test's keys apart from anything else in the server.
    version = int(uuid.uuid4().int % 1_000_000_000) + 1000
    publish(sqlite_engine, random_births(150, seed=8), data_version=version)
    config = EngineConfig(cache_redis_url=REDIS_URL)
    try:
        first = IndicatorEngine(sqlite_engine, config)
        answer = first.funnel("caesarean", "hospital", Viewer("admin"))
        keys = client.keys(f"{KEY_PREFIX}units:v{version}:*")
        assert len(keys) == 1
        stored = client.get(keys[0])
        assert pickle.loads(stored[1:])["target"] == answer["target"]  # cachelib: b"!" + pickle
        second = IndicatorEngine(sqlite_engine, config)  # another server process, same Redis
        assert second.cache.get(keys[0].decode().removeprefix(KEY_PREFIX)) is not None
        assert second.funnel("caesarean", "hospital", Viewer("admin"))["rows"] == answer["rows"]
    finally:
        for key in client.keys(f"{KEY_PREFIX}*:v{version}:*"):
            client.delete(key)
