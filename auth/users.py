"""The user accounts: roles, organisations, passwords and grants (tables `users`, `user_organisations`).

The life cycle (OWASP ASVS 3.3, 3.5): logging out, a password change or reset, disabling the account and a role
change raise the account's `session_generation`, which ends every session and remember-me cookie of the account at
their next request (auth.session.session_stamp). A reset, disabling and a role change also revoke the account's API
tokens; enabling the account again brings none of them back. A password an admin sets (a new account, a reset) is
one-time: the user must choose a new one at the first login (`must_change_password`), within 72 hours.

Roles (PRODUCT.md, "Roles"): a provider belongs to one practice or hospital, a vsv user to one VSV; researchers
and admins to none. A user sees more than one organisation by name only when an admin grants it. Every change
goes through these functions, which also write the audit log.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, RowMapping, delete, func, insert, select, update

from auth import audit
from auth.passwords import generate_password, hash_password, password_problem, verify_password
from auth.tokens import (
    DEFAULT_TOKEN_DAYS,
    REVOKED_ACCOUNT_DISABLED,
    REVOKED_PASSWORD_RESET,
    REVOKED_ROLE_CHANGED,
    REVOKED_WITH_PASSWORD_CHANGE,
    TokenError,
    create_token,
    revoke_all_tokens,
)
from queries.scope import ROLES
from tables.database import as_utc
from tables.register import read_register, register_by_code
from tables.schema import user_organisations, users

# How long a one-time password (set by an admin or generated at the command line) logs in.
ONE_TIME_PASSWORD_HOURS = 72
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,79}$")
#: A sender account delivers files for its one practice or hospital over the API (`POST /api/v1/deliveries`) and
#: nothing else: it sees no figures, has no pages and cannot log in with a password, only with the API token an
#: admin makes for it (`perispiegel users token NAME`). Not a viewer role (queries.scope.ROLES): it asks the engine
#: nothing.
SENDER_ROLE = "sender"
ACCOUNT_ROLES = (*ROLES, SENDER_ROLE)
ROLE_ORG_TYPES = {"provider": {"practice", "hospital"}, "vsv": {"vsv"}, SENDER_ROLE: {"practice", "hospital"}}


class UserError(ValueError):
    """A user administration request that cannot be carried out (the message says why, in English)."""


class PasswordChangeError(ValueError):
    """Why a user's own password change was refused: `problem` is current_password_wrong, password_too_short or
    password_unchanged (in words: auth.pages)."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


@dataclass(frozen=True)
class User:
    """An account as the app uses it: never carries the password or its hash, only `password_stamp` (a SHA-256
    fingerprint of the hash that stays on the server; sessions carry an HMAC of it, auth.session.session_stamp)."""

    user_id: int
    username: str
    display_name: str
    role: str
    org_code: str | None
    active: bool
    granted: tuple[str, ...] = ()
    password_stamp: str = field(default="", repr=False)
    last_login_at: datetime | None = None
    created_at: datetime | None = None
    session_generation: int = 0
    must_change_password: bool = False
    password_changed_at: datetime | None = None

    @property
    def one_time_password_expired(self) -> bool:
        """Whether the password is a one-time one set more than ONE_TIME_PASSWORD_HOURS ago (OWASP ASVS 2.3.1: an
        initial password expires): it no longer logs in, and an admin sets a new one."""
        return (self.must_change_password and self.password_changed_at is not None
                and datetime.now(UTC) - self.password_changed_at > timedelta(hours=ONE_TIME_PASSWORD_HOURS))

    @property
    def organisations(self) -> tuple[str, ...]:
        """The organisations this user may see by name: its own first, then the granted ones."""
        own = (self.org_code,) if self.org_code else ()
        return own + tuple(code for code in self.granted if code != self.org_code)


def normalise_username(username: str) -> str:
    return username.strip().lower()


def _stamp(password_hash: str) -> str:
    # Changes with every new password. Never sent anywhere: the session's user id carries a keyed HMAC of it and
    # of the session generation (auth.session.session_stamp), so a new password ends every existing session.
    return hashlib.sha256(password_hash.encode()).hexdigest()


def _organisation_type(engine: Engine, org_code: str) -> str | None:
    """The type of `org_code` in the register as it is in the table now (an account is checked against it)."""
    row = register_by_code(read_register(engine)).get(org_code)
    return row["org_type"] if row else None


def _user_from_row(row: RowMapping, granted: tuple[str, ...]) -> User:
    return User(user_id=row["user_id"], username=row["username"], display_name=row["display_name"], role=row["role"],
                org_code=row["org_code"], active=row["active"], granted=granted,
                password_stamp=_stamp(row["password_hash"]), last_login_at=as_utc(row["last_login_at"]),
                created_at=as_utc(row["created_at"]), session_generation=row["session_generation"],
                must_change_password=row["must_change_password"],
                password_changed_at=as_utc(row["password_changed_at"]))


def _grants(engine: Engine, user_ids: list[int]) -> dict[int, tuple[str, ...]]:
    query = (select(user_organisations.c.user_id, user_organisations.c.org_code)
             .where(user_organisations.c.user_id.in_(user_ids)).order_by(user_organisations.c.org_code))
    granted: dict[int, list[str]] = {}
    with engine.connect() as connection:
        for user_id, org_code in connection.execute(query):
            granted.setdefault(user_id, []).append(org_code)
    return {user_id: tuple(codes) for user_id, codes in granted.items()}


def get_user(engine: Engine, *, user_id: int | None = None, username: str | None = None) -> User | None:
    """The account with this id or username, or None."""
    query = select(users)
    query = query.where(users.c.user_id == user_id) if user_id is not None else query.where(
        users.c.username == normalise_username(username or ""))
    with engine.connect() as connection:
        row = connection.execute(query).mappings().first()
    if row is None:
        return None
    return _user_from_row(row, _grants(engine, [row["user_id"]]).get(row["user_id"], ()))


def list_users(engine: Engine) -> list[User]:
    """Every account, by username."""
    with engine.connect() as connection:
        rows = connection.execute(select(users).order_by(users.c.username)).mappings().all()
    granted = _grants(engine, [row["user_id"] for row in rows])
    return [_user_from_row(row, granted.get(row["user_id"], ())) for row in rows]


def count_users(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(users)).scalar_one()


def _checked_organisation(engine: Engine, role: str, org_code: str | None) -> str | None:
    """The organisation code a `role` account gets, checked against the role and the register."""
    if role not in ACCOUNT_ROLES:
        raise UserError(f"unknown role {role!r}; allowed: {', '.join(ACCOUNT_ROLES)}")
    org_code = (org_code or "").strip() or None
    if role in ROLE_ORG_TYPES:
        if not org_code:
            raise UserError(f"a {role} user needs an organisation code")
        org_type = _organisation_type(engine, org_code)
        if org_type not in ROLE_ORG_TYPES[role]:
            wanted = " or ".join(sorted(ROLE_ORG_TYPES[role]))
            raise UserError(f"{org_code!r} is not a {wanted} in the organisation register")
    elif org_code:
        raise UserError(f"a {role} user has no organisation of its own (an admin can grant organisations)")
    return org_code


def add_user(engine: Engine, username: str, role: str, *, org_code: str | None = None,
             display_name: str | None = None, password: str | None = None, one_time: bool = False,
             actor: str = "cli", address: str | None = None) -> tuple[User, str]:
    """Create an account; returns it with its password (the one given, or a generated one to show once).
    `one_time`: the user must choose a new password at the first login (what the admin page and the command line
    ask for: the admin who set it has seen it).

    A provider needs a practice or hospital, a vsv user a VSV, from the organisation register; researcher and
    admin accounts have no organisation. A sender needs a practice or hospital too; its password is never one-time
    (it logs in only with an API token, and the password change a one-time password asks for is a page it has not).
    """
    username = normalise_username(username)
    if not USERNAME_PATTERN.match(username):
        raise UserError("a username is 2–80 characters: letters, digits, '.', '_', '@' or '-'")
    org_code = _checked_organisation(engine, role, org_code)
    one_time = one_time and role != SENDER_ROLE
    password = password or generate_password()
    problem = password_problem(password)
    if problem:
        raise UserError(problem)
    if get_user(engine, username=username) is not None:
        raise UserError(f"user {username!r} already exists")
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(insert(users).values(
            username=username, display_name=(display_name or username).strip()[:200], role=role, org_code=org_code,
            password_hash=hash_password(password), active=True, created_at=now, created_by=actor,
            password_changed_at=now, session_generation=0, must_change_password=one_time,
        ))
    audit.record(engine, "user_add", actor=actor, target=username,
                 detail=f"role {role}, {audit.organisation_mention(org_code)}", address=address)
    return _existing(engine, username), password


def _existing(engine: Engine, username: str) -> User:
    user = get_user(engine, username=username)
    if user is None:
        raise UserError(f"no user {normalise_username(username)!r}")
    return user


def _end_sessions(connection: Connection, user_id: int, revoke_tokens_because: str | None = None) -> int:
    """End every session and remember-me cookie of the account (raise its session generation) and, with a reason,
    revoke its API tokens too. In the caller's transaction; returns the number of tokens revoked."""
    connection.execute(update(users).where(users.c.user_id == user_id).values(
        session_generation=users.c.session_generation + 1))
    return revoke_all_tokens(connection, user_id, revoke_tokens_because) if revoke_tokens_because else 0


def tokens_mention(revoked: int) -> str | None:
    """How an audit entry says that tokens were revoked ("2 API tokens revoked"); None for none."""
    return f"{revoked} API token{'s' if revoked != 1 else ''} revoked" if revoked else None


def end_all_sessions(engine: Engine, user: User) -> None:
    """Log the account out everywhere: every session and remember-me cookie (logout; its API tokens stay)."""
    with engine.begin() as connection:
        _end_sessions(connection, user.user_id)


def set_active(engine: Engine, username: str, active: bool, *, actor: str = "cli", address: str | None = None) -> User:
    """Disable (or enable again) an account. Disabling ends its sessions and remember-me cookies and revokes its API
    tokens; enabling it again brings none of them back."""
    user = _existing(engine, username)
    with engine.begin() as connection:
        connection.execute(update(users).where(users.c.user_id == user.user_id).values(active=active))
        revoked = 0 if active else _end_sessions(connection, user.user_id, REVOKED_ACCOUNT_DISABLED)
    audit.record(engine, "user_enable" if active else "user_disable", actor=actor, target=user.username,
                 detail=tokens_mention(revoked), address=address)
    return _existing(engine, username)


def reset_password(engine: Engine, username: str, password: str | None = None, *, one_time: bool = True,
                   actor: str = "cli", address: str | None = None) -> str:
    """Set a new password (the given one, or a generated one to show once): ends the user's sessions and revokes
    their API tokens. `one_time` (the default): the user must choose their own password at the next login."""
    user = _existing(engine, username)
    one_time = one_time and user.role != SENDER_ROLE
    password = password or generate_password()
    problem = password_problem(password)
    if problem:
        raise UserError(problem)
    with engine.begin() as connection:
        connection.execute(update(users).where(users.c.user_id == user.user_id).values(
            password_hash=hash_password(password), password_changed_at=datetime.now(UTC),
            must_change_password=one_time))
        revoked = _end_sessions(connection, user.user_id, REVOKED_PASSWORD_RESET)
    audit.record(engine, "user_reset_password", actor=actor, target=user.username, detail=tokens_mention(revoked),
                 address=address)
    return password


def change_password(engine: Engine, user: User, current: str, new: str, *,
                    revoke_tokens: bool = False) -> tuple[User, int]:
    """The user's own password change (OWASP ASVS 2.1.5, 2.1.6): the current password is checked, the new one
    follows the same rules and differs from it. Ends every session of the account (the caller starts the current
    one again); API tokens stay unless `revoke_tokens` (someone who fears their password was seen). Returns the
    account as it is now and the number of tokens revoked; raises PasswordChangeError with the problem. The caller
    (auth.pages) throttles the attempts and writes them to the audit log, as for a login."""
    with engine.connect() as connection:
        stored = connection.execute(select(users.c.password_hash).where(users.c.user_id == user.user_id)).scalar_one()
    if not verify_password(stored, current):
        raise PasswordChangeError("current_password_wrong")
    if password_problem(new):
        raise PasswordChangeError("password_too_short")
    if verify_password(stored, new):
        raise PasswordChangeError("password_unchanged")
    with engine.begin() as connection:
        # Only over the password just checked: a reset by an admin in between is not overwritten.
        changed = connection.execute(update(users).where(
            users.c.user_id == user.user_id, users.c.password_hash == stored).values(
            password_hash=hash_password(new), password_changed_at=datetime.now(UTC), must_change_password=False))
        if not changed.rowcount:
            raise PasswordChangeError("current_password_wrong")
        revoked = _end_sessions(connection, user.user_id, REVOKED_WITH_PASSWORD_CHANGE if revoke_tokens else None)
    return _existing(engine, user.username), revoked


def set_role(engine: Engine, username: str, role: str, *, org_code: str | None = None, actor: str = "cli",
             address: str | None = None) -> User:
    """Give an account another role (and organisation), checked as for a new account. What the account may see
    changes, so its sessions end, its API tokens are revoked and its grants are removed (a grant made for the old
    role is not one for the new: an admin grants again what the new role needs)."""
    user = _existing(engine, username)
    if normalise_username(actor) == user.username:
        raise UserError("you cannot change your own role: another admin can")
    org_code = _checked_organisation(engine, role, org_code)
    if (role, org_code) == (user.role, user.org_code):
        raise UserError(f"{user.username!r} already has role {role}, {audit.organisation_mention(org_code)}")
    with engine.begin() as connection:
        connection.execute(update(users).where(users.c.user_id == user.user_id).values(role=role, org_code=org_code))
        connection.execute(delete(user_organisations).where(user_organisations.c.user_id == user.user_id))
        revoked = _end_sessions(connection, user.user_id, REVOKED_ROLE_CHANGED)
    detail = (f"role {user.role} → {role}, {audit.organisation_mention(org_code)}"
              + (f"; grants removed: {', '.join(user.granted)}" if user.granted else "")
              + (f"; {tokens_mention(revoked)}" if revoked else ""))
    audit.record(engine, "user_change_role", actor=actor, target=user.username, detail=detail, address=address)
    return _existing(engine, username)


def grant(engine: Engine, username: str, org_code: str, *, revoke: bool = False, actor: str = "cli",
          address: str | None = None) -> User:
    """Let a user also see `org_code` by name (or take that away again with `revoke=True`)."""
    user = _existing(engine, username)
    org_code = org_code.strip()
    if _organisation_type(engine, org_code) is None:
        raise UserError(f"{org_code!r} is not in the organisation register")
    if user.role == "admin":
        raise UserError("an admin already sees every organisation")
    with engine.begin() as connection:
        connection.execute(delete(user_organisations).where(user_organisations.c.user_id == user.user_id,
                                                            user_organisations.c.org_code == org_code))
        if not revoke:
            connection.execute(insert(user_organisations).values(
                user_id=user.user_id, org_code=org_code, granted_by=actor, granted_at=datetime.now(UTC)))
    audit.record(engine, "user_revoke_grant" if revoke else "user_grant", actor=actor, target=user.username,
                 detail=audit.organisation_mention(org_code), address=address)
    return _existing(engine, username)


def sender_token(engine: Engine, username: str, *, label: str = "deliveries", days: int = DEFAULT_TOKEN_DAYS,
                 actor: str = "cli", address: str | None = None) -> str:
    """A new API token for a sender account, made by an admin (a sender has no pages to make its own), returned once.
    Only for a sender: every other user makes their own tokens on /account."""
    user = _existing(engine, username)
    if user.role != SENDER_ROLE:
        raise UserError(f"{user.username!r} is a {user.role}, not a sender: they make their own API tokens on /account")
    if not user.active:
        raise UserError(f"{user.username!r} is disabled")
    try:
        return create_token(engine, user, label, days=days, address=address, actor=actor)
    except TokenError as error:
        raise UserError(str(error)) from error


def authenticate(engine: Engine, username: str, password: str) -> User | None:
    """The active account whose password matches, else None (the check costs the same for unknown users). A sender
    account never logs in with its password: it uses an API token."""
    username = normalise_username(username)
    with engine.connect() as connection:
        row = connection.execute(select(users).where(users.c.username == username)).mappings().first()
    matches = verify_password(row["password_hash"] if row else None, password)
    if (row is None or not matches or not row["active"] or row["role"] == SENDER_ROLE
            or _user_from_row(row, ()).one_time_password_expired):
        return None
    with engine.begin() as connection:
        connection.execute(update(users).where(users.c.user_id == row["user_id"])
                           .values(last_login_at=datetime.now(UTC)))
    return get_user(engine, user_id=row["user_id"])
