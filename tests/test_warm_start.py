"""Warm start (issue 13): a server loads the published data version when it starts, not when the first user asks;
after a refresh publishes a new version it loads that one in the background while the loaded one keeps answering;
a question that comes during the first load waits for that same load (the births are read once)."""

from __future__ import annotations

import threading
import time

from births_factory import publish, random_births

from queries.config import EngineConfig
from queries.engine import IndicatorEngine
from queries.scope import Viewer

WAIT_SECONDS = 30


def wait_for(condition, seconds: float = WAIT_SECONDS) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_a_warm_started_app_has_the_version_loaded_before_the_first_request(sqlite_engine):
    from app import create_app
    from dashboards.indicator_access import indicator_engine

    publish(sqlite_engine, random_births(300, seed=3))
    app = create_app(sqlite_engine.url.render_as_string(hide_password=False), warm_start=True)
    store = indicator_engine(sqlite_engine).store
    try:
        assert wait_for(lambda: store.loaded_version() == 1), "the published version was not loaded at start"
        assert app.server.test_client().get("/login").status_code == 200
    finally:
        store.stop_warming()


def test_an_app_without_warm_start_loads_nothing_until_asked(sqlite_engine):
    from app import create_app

    publish(sqlite_engine, random_births(50, seed=3))
    create_app(sqlite_engine.url.render_as_string(hide_password=False))
    engine = IndicatorEngine(sqlite_engine, EngineConfig())
    time.sleep(0.2)
    assert engine.store.loaded_version() is None


def test_a_new_version_is_loaded_in_the_background_while_the_old_one_answers(sqlite_engine):
    publish(sqlite_engine, random_births(200, seed=3))
    engine = IndicatorEngine(sqlite_engine, EngineConfig())
    store = engine.store
    store.warm(watch_seconds=0.05)
    try:
        assert wait_for(lambda: store.loaded_version() == 1)
        loads = []
        original = store._load

        def slow_load():
            loads.append(threading.current_thread().name)
            time.sleep(1.0)  # a long read of the births: the questions meanwhile get the loaded version
            return original()

        store._load = slow_load
        publish(sqlite_engine, random_births(400, seed=4), data_version=2)
        assert wait_for(lambda: bool(loads))
        during = engine.overview(Viewer("admin"), org_code="H001")
        assert during["data_version"]["number"] == 1  # answered at once, from the version in memory
        assert wait_for(lambda: store.loaded_version() == 2)
        assert engine.overview(Viewer("admin"), org_code="H001")["data_version"]["number"] == 2
        assert loads == ["perispiegel-warm-start"]  # loaded once, by the warm start, not by the question
    finally:
        store.stop_warming()


def test_questions_during_the_first_load_wait_for_that_same_load(sqlite_engine):
    publish(sqlite_engine, random_births(200, seed=3))
    engine = IndicatorEngine(sqlite_engine, EngineConfig())
    store = engine.store
    loads = []
    original = store._load

    def slow_load():
        loads.append(threading.current_thread().name)
        time.sleep(0.5)
        return original()

    store._load = slow_load
    store.warm(watch_seconds=60)
    try:
        assert wait_for(lambda: bool(loads))
        answers = []
        askers = [threading.Thread(target=lambda: answers.append(engine.data_version())) for _ in range(3)]
        for asker in askers:
            asker.start()
        for asker in askers:
            asker.join(timeout=WAIT_SECONDS)
        assert [answer["number"] for answer in answers] == [1, 1, 1]
        assert loads == ["perispiegel-warm-start"]
    finally:
        store.stop_warming()
