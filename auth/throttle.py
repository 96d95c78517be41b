"""Login throttling: after too many failed logins per account or per address, further attempts wait.

The failures are the `login_failure` rows of the audit log, so throttling needs no table of its own and
survives a restart and several worker processes. An account is counted by the name typed, whether or not it
exists, so a throttled answer tells nothing about which usernames exist.

Parallel attempts: an attempt is written to the log ("login_attempt", counted as a failure) *before* it is checked
against the others and before its (slow) password check, and only then settled as success, failure or throttled.
Each attempt counts every committed failure and unfinished attempt but its own, so of attempts sent at the same
moment the k-th to be written sees at least k-1 others: at most `max_failures` failures per account or address
within the window are ever verified, across threads and worker processes (it may refuse a few more than needed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from auth import audit
from tables.database import as_utc
from tables.schema import audit_log

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
# Audit actions that count against the limit: failures, and attempts whose check has not finished.
COUNTED = ("login_failure", "login_attempt")


@dataclass(frozen=True)
class Throttle:
    """Whether a login attempt must wait, and until when (UTC)."""

    blocked: bool
    retry_after: datetime | None = None

    def wait_minutes(self, now: datetime | None = None) -> int:
        """Whole minutes (at least 1) until the next attempt is accepted."""
        if not self.retry_after:
            return 0
        seconds = (self.retry_after - (now or datetime.now(UTC))).total_seconds()
        return max(1, -(-int(seconds) // 60))


def login_throttle(engine: Engine, username: str, address: str | None, now: datetime | None = None,
                   max_failures: int = MAX_FAILURES, window: timedelta = WINDOW,
                   attempt_id: int | None = None) -> Throttle:
    """Blocked when the account (name as typed, case-insensitive) or the address had `max_failures` failed (or
    unfinished) logins within `window`, not counting the attempt `attempt_id` itself; then the attempt may retry
    when the oldest of those failures leaves the window."""
    now = now or datetime.now(UTC)
    since = now - window
    retry_after: datetime | None = None
    conditions = [audit_log.c.actor == username.strip().lower()]
    if address:
        conditions.append(audit_log.c.address == address)
    for condition in conditions:
        query = (select(audit_log.c.at)
                 .where(audit_log.c.action.in_(COUNTED), audit_log.c.at > since, condition)
                 .order_by(audit_log.c.at.desc()).limit(max_failures))
        if attempt_id is not None:
            query = query.where(audit_log.c.audit_id != attempt_id)
        with engine.connect() as connection:
            failures = [as_utc(at) for at in connection.execute(query).scalars()]
        if len(failures) >= max_failures:
            # The n-th most recent failure leaving the window brings the count below the limit.
            candidate = failures[-1] + window
            retry_after = max(retry_after, candidate) if retry_after else candidate
    return Throttle(blocked=retry_after is not None, retry_after=retry_after)


def begin_login(engine: Engine, username: str, address: str | None) -> tuple[int, Throttle]:
    """Write the attempt to the audit log as "login_attempt", then decide whether it must wait. Returns the entry's
    id, to settle with `audit.settle(engine, attempt_id, "login_success" | "login_failure" | "login_throttled")`."""
    attempt_id = audit.record(engine, "login_attempt", actor=username.strip().lower(), address=address)
    return attempt_id, login_throttle(engine, username, address, attempt_id=attempt_id)
