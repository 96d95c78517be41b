"""The audit log: who did what, when and from where (logins, exports and downloads, user administration).

Entries never contain a password or a token. Admins read them on /admin/audit: filtered by user, action,
organisation and date range (`AuditQuery`), a page at a time (`search`), or all of them as a file (`matching`).

An entry names an organisation only in its text: a grant and a new account say "organisation CODE" in their detail
(`organisation_mention`), an export or download has the request's `org=CODE` in its target or detail. The
organisation filter finds those, and the entries of the organisation's own accounts (the users whose organisation
it is: their logins, exports without `org=`, ...). It cannot find what an entry does not say: a VSV account's
look at a member organisation without `org=` in the address is the VSV's.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Engine, Select, func, insert, or_, select, update

from tables.database import as_utc
from tables.schema import audit_log, users

# A login is recorded as "login_attempt" before its password is checked, and then becomes "login_success",
# "login_failure" or "login_throttled" (auth.throttle); one left as "login_attempt" never finished its check.
ACTIONS = ("login_attempt", "login_success", "login_failure", "login_throttled", "logout", "session_expired", "export",
           "download", "user_add", "user_disable", "user_enable", "user_reset_password", "user_grant",
           "user_revoke_grant", "user_change_role", "password_change", "password_change_refused", "remember_me_login",
           "token_create", "token_revoke", "access_denied", "audit_export", "delivery_received",
           "delivery_validated")
#: The days of the date filter are days in the Netherlands, as the page shows every time.
LOCAL_TIMEZONE = ZoneInfo("Europe/Amsterdam")


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


def settle(engine: Engine, audit_id: int, action: str, detail: str | None = None) -> None:
    """Give entry `audit_id` (a "login_attempt") its outcome `action` (and `detail`); its time stays that of the
    attempt."""
    _check(action)
    with engine.begin() as connection:
        connection.execute(update(audit_log).where(audit_log.c.audit_id == audit_id).values(action=action,
                                                                                            detail=detail))


def _check(action: str) -> None:
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")


def organisation_mention(org_code: str | None) -> str:
    """How an entry's detail names the organisation it is about ("organisation H001"): what the filter finds."""
    return f"organisation {org_code or '-'}"


@dataclass(frozen=True)
class AuditQuery:
    """Which entries: by `actor` (a username, any case), `action` (one of ACTIONS), about or by organisation
    `org_code` (see the module docstring), from and to a day in the Netherlands (both included). None: any."""

    actor: str | None = None
    action: str | None = None
    org_code: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    def __post_init__(self) -> None:
        if self.action is not None:
            _check(self.action)
        if self.date_from and self.date_to and self.date_to < self.date_from:
            raise ValueError("the date range ends before it starts")


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=LOCAL_TIMEZONE).astimezone(UTC)


def _like_literal(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").lower()


def _mentions(org_code: str) -> ColumnElement[bool]:
    """The entries whose target or detail names `org_code` as the writers do (`organisation_mention`, `org=` of a
    request's query, a download's "compare CODE"), the code ending where the mention ends; case-insensitive on
    SQLite and PostgreSQL alike."""
    code = _like_literal(org_code)
    mention = _like_literal(organisation_mention(org_code))
    target, detail = func.lower(audit_log.c.target), func.lower(audit_log.c.detail)
    patterns = [f"%{mention}", f"%{mention},%", f"compare {code}", f"compare {code}?%"]
    query_patterns = [f"%{separator}org={code}{end}" for separator in "?&" for end in ("", "&%")]
    return or_(*(detail.like(pattern, escape="\\") for pattern in [*patterns, *query_patterns]),
               *(target.like(pattern, escape="\\") for pattern in query_patterns))


def _conditions(query: AuditQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.actor:
        conditions.append(func.lower(audit_log.c.actor) == query.actor.strip().lower())
    if query.action:
        conditions.append(audit_log.c.action == query.action)
    if query.org_code:
        accounts = select(users.c.username).where(users.c.org_code == query.org_code)
        conditions.append(or_(_mentions(query.org_code), audit_log.c.actor.in_(accounts)))
    if query.date_from:
        conditions.append(audit_log.c.at >= _start_of(query.date_from))
    if query.date_to:
        conditions.append(audit_log.c.at < _start_of(query.date_to + timedelta(days=1)))
    return conditions


def _newest_first(query: AuditQuery) -> Select:
    return select(audit_log).where(*_conditions(query)).order_by(audit_log.c.audit_id.desc())


@dataclass(frozen=True)
class AuditPage:
    """One page of the entries a query matches, newest first: page `page` of `pages` (at least 1), `total` in all."""

    entries: list[dict]
    total: int
    page: int
    pages: int
    per_page: int


def search(engine: Engine, query: AuditQuery, page: int = 1, per_page: int = 50) -> AuditPage:
    """Page `page` of the entries matching `query` (a page after the last is the last)."""
    with engine.connect() as connection:
        total = connection.execute(select(func.count()).select_from(audit_log).where(*_conditions(query))).scalar_one()
        pages = max(1, math.ceil(total / per_page))
        page = min(max(1, page), pages)
        rows = connection.execute(_newest_first(query).limit(per_page).offset((page - 1) * per_page)).mappings().all()
    return AuditPage([{**row, "at": as_utc(row["at"])} for row in rows], total, page, pages, per_page)


def matching(engine: Engine, query: AuditQuery, batch: int = 2000) -> Iterator[dict]:
    """Every entry matching `query`, newest first, read `batch` at a time (a file of the whole log)."""
    last: int | None = None
    while True:
        selection = _newest_first(query).limit(batch)
        if last is not None:
            selection = selection.where(audit_log.c.audit_id < last)
        with engine.connect() as connection:
            rows = connection.execute(selection).mappings().all()
        yield from ({**row, "at": as_utc(row["at"])} for row in rows)
        if len(rows) < batch:
            return
        last = rows[-1]["audit_id"]


def recent(engine: Engine, limit: int = 200, action: str | None = None) -> list[dict]:
    """The latest entries, newest first (optionally only those of one action)."""
    return search(engine, AuditQuery(action=action), per_page=limit).entries
