"""Shared fixtures: real databases (SQLite file, PostgreSQL on loopback) and the project paths."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from machine_needs import REQUIRE_SERVICES, unavailable
from sqlalchemy import Engine, create_engine, text

from tables.database import make_engine

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The cell-key noise and the pseudonyms follow the installation's secret (queries/disclosure.py): one fixed key for
# the suite makes its figures the same on every machine. Set another PERISPIEGEL_PSEUDONYM_KEY to check that no test
# depends on this one.
os.environ.setdefault("PERISPIEGEL_PSEUDONYM_KEY", "perispiegel-test-suite")
POSTGRES_ADMIN_URL = os.environ.get(
    "PERISPIEGEL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def postgres_available() -> str | None:
    """None when the PostgreSQL test server answers, else the reason it does not."""
    try:
        engine = create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as error:  # any failure to connect is a reason to skip, and we say which
        return f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {type(error).__name__}: {error}"


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A fresh embedded database file with the schema."""
    engine = make_engine(f"sqlite:///{tmp_path / 'perispiegel.db'}")
    yield engine
    engine.dispose()


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database, dropped on leaving (skipped, or failed under
    PERISPIEGEL_REQUIRE_SERVICES, when the server does not answer)."""
    reason = postgres_available()
    if reason:
        unavailable(reason, REQUIRE_SERVICES)
    name = f"perispiegel_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'create database "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'drop database if exists "{name}" with (force)'))
        admin.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database, dropped afterwards."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def postgres_engine(postgres_url: str) -> Iterator[Engine]:
    """A fresh PostgreSQL database with the schema."""
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """Each test that takes `engine` runs on the embedded SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_engine")
    return request.getfixturevalue("postgres_engine")
