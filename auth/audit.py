"""The audit log: who did what, when and from where (logins, exports and downloads, user administration).

Entries never contain a password or a token. Admins read them on /admin/audit.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select, update

from tables.database import as_utc
from tables.schema import audit_log

# A login is recorded as "login_attempt" before its password is checked, and then becomes "login_success",
# "login_failure" or "login_throttled" (auth.throttle); one left as "login_attempt" never finished its check.
ACTIONS = ("login_attempt", "login_success", "login_failure", "login_throttled", "logout", "session_expired", "export",
           "download", "user_add", "user_disable", "user_enable", "user_reset_password", "user_grant",
           "user_revoke_grant", "token_create", "token_revoke", "access_denied")


def record(engine: Engine, action: str, *, actor: str | None = None, target: str | None = None,
           detail: str | None = None, address: str | None = None) -> int:
    """Add one entry (`action` one of ACTIONS); returns its id."""
    _check(action)
    with engine.begin() as connection:
        result = connection.execute(insert(audit_log).values(
            at=datetime.now(UTC), actor=actor, action=action, target=target and target[:200],
            detail=detail, address=address and address[:64],
        ))
    key = result.inserted_primary_key
    if key is None:  # SQLAlchemy's answer for an insert without a row
        raise RuntimeError("the audit log gave no id for the new entry")
    audit_id: int = key[0]
    return audit_id


def settle(engine: Engine, audit_id: int, action: str) -> None:
    """Give entry `audit_id` (a "login_attempt") its outcome `action`; its time stays that of the attempt."""
    _check(action)
    with engine.begin() as connection:
        connection.execute(update(audit_log).where(audit_log.c.audit_id == audit_id).values(action=action))


def _check(action: str) -> None:
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")


def recent(engine: Engine, limit: int = 200, action: str | None = None) -> list[dict]:
    """The latest entries, newest first (optionally only those of one action)."""
    query = select(audit_log).order_by(audit_log.c.audit_id.desc()).limit(limit)
    if action:
        query = query.where(audit_log.c.action == action)
    with engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    return [{**row, "at": as_utc(row["at"])} for row in rows]
