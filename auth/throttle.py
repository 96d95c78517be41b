"""Login throttling that protects accounts without handing an attacker a lockout (OWASP ASVS 2.2.1; the OWASP
Authentication Cheat Sheet, "Account lockout"): failures count per account *and* address, so guessing one account's
password from one address does not stop its owner logging in from another.

Three rules, each over the last `WINDOW` (15 minutes):
- **account and address:** after `FREE_FAILURES` (3) failed logins of one name (as typed, case-insensitive) from
  one address, the next attempt from there waits `FIRST_DELAY` (30 s) after the last failure, and the wait doubles
  with every further failure, up to `MAX_DELAY` (15 min). Someone who mistypes three times waits half a minute;
  a guesser from one address gets about eight tries in 15 minutes.
- **address:** `ADDRESS_CEILING` (30) failures from one address, whatever the names, and that address waits until
  the oldest of them leaves the window. People behind one shared address (NAT, a hospital's proxy) do not lock each
  other out below that.
- **account:** `ACCOUNT_CEILING` (20) failures of one name from all addresses together, and addresses that never
  logged in to that account wait until the oldest of them leaves the window; an address the account logged in from
  in the last `KNOWN_ADDRESS_DAYS` (30) days still gets in. So a guesser with many addresses gets at most 80 tries an
  hour (ASVS: at most 100), while the owner, at a desk they used before, is not locked out.

The failures are the `login_failure` rows of the audit log, so throttling needs no table of its own and survives a
restart and several worker processes. An account is counted by the name typed, whether or not it exists, so a
throttled answer tells nothing about which usernames exist. The client address is `request.remote_addr`: behind a
reverse proxy, the one `PERISPIEGEL_TRUSTED_PROXIES` lets through (auth/server.py).

Parallel attempts: an attempt is written to the log ("login_attempt", counted as a failure) *before* it is checked
against the others and before its (slow) password check, and only then settled as success, failure or throttled.
Each attempt counts every committed failure and unfinished attempt but its own, so of attempts sent at the same
moment the k-th to be written sees at least k-1 others: at most `FREE_FAILURES` per account and address,
`ADDRESS_CEILING` per address and `ACCOUNT_CEILING` per account are ever verified at once, across threads and worker
processes (it may refuse a few more than needed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, Connection, Engine, and_, select

from auth import audit
from tables.database import as_utc
from tables.schema import audit_log

WINDOW = timedelta(minutes=15)
FREE_FAILURES = 3
FIRST_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(minutes=15)
ADDRESS_CEILING = 30
ACCOUNT_CEILING = 20
KNOWN_ADDRESS_DAYS = 30
# Audit actions that count against the limits: failures, and attempts whose check has not finished.
COUNTED = ("login_failure", "login_attempt")


@dataclass(frozen=True)
class Throttle:
    """Whether a login attempt must wait, until when (UTC), and by which rule ("account_address", "address" or
    "account"; for the audit log, never shown: the page says only how long to wait)."""

    blocked: bool
    retry_after: datetime | None = None
    rule: str | None = None

    def wait_seconds(self, now: datetime | None = None) -> int:
        """Whole seconds (at least 1) until the next attempt is accepted."""
        if not self.retry_after:
            return 0
        return max(1, math.ceil((self.retry_after - (now or datetime.now(UTC))).total_seconds()))

    def wait_minutes(self, now: datetime | None = None) -> int:
        """Whole minutes (at least 1) until the next attempt is accepted."""
        return max(1, -(-self.wait_seconds(now) // 60)) if self.retry_after else 0


def delay_after(failures: int) -> timedelta:
    """How long after the last failure an account-and-address pair with `failures` failures in the window waits:
    nothing below FREE_FAILURES, then FIRST_DELAY doubling with every failure, at most MAX_DELAY."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    doubled: timedelta = FIRST_DELAY * 2 ** min(failures - FREE_FAILURES, 16)
    return min(MAX_DELAY, doubled)


def _failures(connection: Connection, condition: ColumnElement[bool], since: datetime, limit: int,
              attempt_id: int | None) -> list[datetime]:
    """The moments of the counted entries matching `condition` since `since`, newest first, at most `limit`."""
    query = (select(audit_log.c.at).where(audit_log.c.action.in_(COUNTED), audit_log.c.at > since, condition)
             .order_by(audit_log.c.at.desc()).limit(limit))
    if attempt_id is not None:
        query = query.where(audit_log.c.audit_id != attempt_id)
    return [as_utc(at) for at in connection.execute(query).scalars()]


def _from(address: str | None) -> ColumnElement[bool]:
    return audit_log.c.address == address if address else audit_log.c.address.is_(None)


def _known_address(connection: Connection, name: str, address: str | None, now: datetime) -> bool:
    """Whether the account logged in from `address` in the last KNOWN_ADDRESS_DAYS days."""
    query = select(audit_log.c.audit_id).where(
        audit_log.c.action == "login_success", audit_log.c.actor == name, _from(address),
        audit_log.c.at > now - timedelta(days=KNOWN_ADDRESS_DAYS)).limit(1)
    return connection.execute(query).first() is not None


def login_throttle(engine: Engine, username: str, address: str | None, now: datetime | None = None,
                   attempt_id: int | None = None) -> Throttle:
    """Whether an attempt to log in as `username` (as typed) from `address` must wait, by the three rules of the
    module docstring, not counting the attempt `attempt_id` itself; the latest of the rules' ends is when it may
    try again."""
    now = now or datetime.now(UTC)
    since = now - WINDOW
    name = username.strip().lower()
    waits: list[tuple[datetime, str]] = []
    with engine.connect() as connection:
        pair = _failures(connection, and_(audit_log.c.actor == name, _from(address)), since, 64, attempt_id)
        if len(pair) >= FREE_FAILURES:
            waits.append((pair[0] + delay_after(len(pair)), "account_address"))
        by_address = _failures(connection, _from(address), since, ADDRESS_CEILING, attempt_id)
        if len(by_address) >= ADDRESS_CEILING:
            waits.append((by_address[-1] + WINDOW, "address"))
        by_account = _failures(connection, audit_log.c.actor == name, since, ACCOUNT_CEILING, attempt_id)
        if len(by_account) >= ACCOUNT_CEILING and not _known_address(connection, name, address, now):
            waits.append((by_account[-1] + WINDOW, "account"))
    waits = [(until, rule) for until, rule in waits if until > now]
    if not waits:
        return Throttle(blocked=False)
    until, rule = max(waits)
    return Throttle(blocked=True, retry_after=until, rule=rule)


def begin_login(engine: Engine, username: str, address: str | None) -> tuple[int, Throttle]:
    """Write the attempt to the audit log as "login_attempt", then decide whether it must wait. Returns the entry's
    id, to settle with `audit.settle(engine, attempt_id, "login_success" | "login_failure" | "login_throttled")`."""
    attempt_id = audit.record(engine, "login_attempt", actor=username.strip().lower(), address=address)
    return attempt_id, login_throttle(engine, username, address, attempt_id=attempt_id)
