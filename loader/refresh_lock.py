"""One refresh at a time, for the whole of a refresh: a lock held from before the refresh is logged until it has
committed or failed.

- PostgreSQL: a session advisory lock (`pg_try_advisory_lock`) on a connection of its own. The server lets go of
  it when that connection ends, so a refresh killed with `kill -9` leaves no lock behind.
- SQLite: an exclusive `flock` on a lock file next to the database file (`<database>.refresh-lock`). The kernel
  lets go of it when the process ends, however it ends. The file itself stays; it holds nothing.
- An in-memory SQLite database is private to its process: nothing to lock.

A second refresh does not wait and does not touch the log: it gets `RefreshAlreadyRunningError`, which says since when
and by which process (from the running refresh's row in `refreshes`). Because only the holder of the lock writes
the log, a refresh row still `running` when the lock is free belongs to a refresh that died: the holder may mark it
failed (`loader.refresh._start_refresh`), and a live refresh is never marked failed.
"""

from __future__ import annotations

import fcntl
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, select, text

from tables.database import as_utc
from tables.schema import refreshes

#: The advisory lock's key: any number no other part of the installation uses ("perispiegel refresh").
ADVISORY_LOCK_KEY = 4242001
LOCK_FILE_SUFFIX = ".refresh-lock"


@dataclass(frozen=True)
class RunningRefresh:
    """The refresh that holds the lock, as its row in the log tells (all None in the instant before it is logged)."""

    refresh_id: int | None = None
    started_at: datetime | None = None
    pid: int | None = None
    host: str | None = None


class RefreshAlreadyRunningError(RuntimeError):
    """Another refresh holds the lock; nothing was logged, read or stored by this one."""

    def __init__(self, running: RunningRefresh):
        self.running = running
        since = f" since {running.started_at:%Y-%m-%d %H:%M:%S} UTC" if running.started_at else ""
        who = f" (refresh {running.refresh_id}, pid {running.pid} on host {running.host})" \
            if running.refresh_id is not None else ""
        super().__init__(f"A refresh is already running{since}{who}. Nothing was loaded; "
                         "start the load again when that refresh has finished.")


def this_process() -> tuple[int, str]:
    """The pid and host name a refresh writes in its log row (shown to a second refresh)."""
    return os.getpid(), socket.gethostname()


def running_refresh(engine: Engine) -> RunningRefresh:
    """The newest refresh whose row says `running`."""
    with engine.connect() as connection:
        row = connection.execute(
            select(refreshes.c.refresh_id, refreshes.c.started_at, refreshes.c.pid, refreshes.c.host)
            .where(refreshes.c.status == "running").order_by(refreshes.c.refresh_id.desc()).limit(1)
        ).first()
    if row is None:
        return RunningRefresh()
    return RunningRefresh(refresh_id=row.refresh_id, started_at=as_utc(row.started_at), pid=row.pid, host=row.host)


@contextmanager
def refresh_lock(engine: Engine) -> Iterator[None]:
    """Hold the refresh lock for the `with` block, or raise `RefreshAlreadyRunningError` at once."""
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine):
            yield
    else:
        database = engine.url.database
        if not database or database == ":memory:":
            yield
            return
        with _file_lock(Path(database + LOCK_FILE_SUFFIX), engine):
            yield


@contextmanager
def _advisory_lock(engine: Engine) -> Iterator[None]:
    connection = engine.connect()
    try:
        locked = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY}).scalar_one()
        connection.commit()  # a session lock: it outlives this transaction; no connection left idle in one
        if not locked:
            raise RefreshAlreadyRunningError(running_refresh(engine))
        try:
            yield
        finally:
            try:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
                connection.commit()
            except Exception:  # a broken connection: ending it ends the lock (and keeps the first error)
                connection.invalidate()
    finally:
        connection.close()


@contextmanager
def _file_lock(path: Path, engine: Engine) -> Iterator[None]:
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RefreshAlreadyRunningError(running_refresh(engine)) from None
        try:
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)
