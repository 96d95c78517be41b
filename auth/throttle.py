"""Login throttling: after too many failed logins per account or per address, further attempts wait.

The failures are the `login_failure` rows of the audit log, so throttling needs no table of its own and
survives a restart and several worker processes. An account is counted by the name typed, whether or not it
exists, so a throttled answer tells nothing about which usernames exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from queries.status import as_utc
from tables.schema import audit_log

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)


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
                   max_failures: int = MAX_FAILURES, window: timedelta = WINDOW) -> Throttle:
    """Blocked when the account (name as typed, case-insensitive) or the address had `max_failures` failed
    logins within `window`; then the attempt may retry when the oldest of those failures leaves the window."""
    now = now or datetime.now(UTC)
    since = now - window
    retry_after: datetime | None = None
    conditions = [audit_log.c.actor == username.strip().lower()]
    if address:
        conditions.append(audit_log.c.address == address)
    for condition in conditions:
        query = (select(audit_log.c.at)
                 .where(audit_log.c.action == "login_failure", audit_log.c.at > since, condition)
                 .order_by(audit_log.c.at.desc()).limit(max_failures))
        with engine.connect() as connection:
            failures = [as_utc(at) for at in connection.execute(query).scalars()]
        if len(failures) >= max_failures:
            # The n-th most recent failure leaving the window brings the count below the limit.
            candidate = failures[-1] + window
            retry_after = max(retry_after, candidate) if retry_after else candidate
    return Throttle(blocked=retry_after is not None, retry_after=retry_after)

