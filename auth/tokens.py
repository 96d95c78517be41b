"""Personal API tokens: made by a user, shown once, stored only as a hash, valid for the days chosen at creation,
revocable by their owner and revoked with the account's other credentials (auth.users: a password reset, disabling
the account, a role change). Re-enabling an account does not bring its tokens back.

A token is 32 random bytes (URL-safe base64 after the `psp_` prefix). Because it is random and long, a
SHA-256 hash is enough to store it (no salt or slow hash needed, unlike a password), and it lets a request's
token be found by an indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import Connection, Engine, insert, select, update

from auth import audit
from tables.database import as_utc
from tables.schema import api_tokens

TOKEN_PREFIX = "psp_"
# The lifetimes a user chooses from on /account (days); OWASP ASVS 3.5: tokens expire.
TOKEN_LIFETIME_DAYS = (30, 90, 180, 365)
DEFAULT_TOKEN_DAYS = 90
# Why a token stopped working (api_tokens.revoked_reason; shown in words, texts code.token_revoked_reason).
REVOKED_BY_OWNER = "owner"
REVOKED_PASSWORD_RESET = "password_reset"
REVOKED_ACCOUNT_DISABLED = "account_disabled"
REVOKED_ROLE_CHANGED = "role_changed"
REVOKED_WITH_PASSWORD_CHANGE = "password_change"
REVOKED_REASONS = (REVOKED_BY_OWNER, REVOKED_PASSWORD_RESET, REVOKED_ACCOUNT_DISABLED, REVOKED_ROLE_CHANGED,
                   REVOKED_WITH_PASSWORD_CHANGE)


class TokenOwner(Protocol):
    """Who a token belongs to (an auth.users.User; this module sits below auth.users, which revokes tokens)."""

    @property
    def user_id(self) -> int: ...

    @property
    def username(self) -> str: ...


class TokenError(ValueError):
    """A token request that cannot be carried out (the message says why, in English)."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(engine: Engine, user: TokenOwner, label: str, *, days: int = DEFAULT_TOKEN_DAYS,
                 address: str | None = None, actor: str | None = None) -> str:
    """A new token for `user`, valid `days` days (one of TOKEN_LIFETIME_DAYS), returned once:
    only its hash and first characters are kept. `actor`: who made it, when not the user (an admin, for a sender)."""
    if days not in TOKEN_LIFETIME_DAYS:
        raise TokenError(f"a token is valid for {', '.join(map(str, TOKEN_LIFETIME_DAYS))} days, not {days}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    label = (label or "").strip()[:80] or "API"
    created = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(insert(api_tokens).values(
            user_id=user.user_id, label=label, token_hash=_hash(token), token_prefix=token[:10],
            created_at=created, expires_at=created + timedelta(days=days)))
    audit.record(engine, "token_create", actor=actor or user.username, target=label,
                 detail=f"valid for {days} days" + (f", for {user.username}" if actor else ""),
                 address=address)
    return token


def tokens_of(engine: Engine, user: TokenOwner) -> list[dict]:
    """The user's tokens (label, first characters, created, expires, last used, revoked and why), newest first;
    `expired` says whether an unrevoked token has passed its expiry."""
    query = (select(api_tokens.c.token_id, api_tokens.c.label, api_tokens.c.token_prefix, api_tokens.c.created_at,
                    api_tokens.c.expires_at, api_tokens.c.last_used_at, api_tokens.c.revoked_at,
                    api_tokens.c.revoked_reason)
             .where(api_tokens.c.user_id == user.user_id).order_by(api_tokens.c.token_id.desc()))
    with engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    now = datetime.now(UTC)
    moments = ("created_at", "expires_at", "last_used_at", "revoked_at")
    listed = [{**row, **{key: as_utc(row[key]) for key in moments}} for row in rows]
    return [{**row, "expired": row["revoked_at"] is None and row["expires_at"] <= now} for row in listed]


def revoke_token(engine: Engine, user: TokenOwner, token_id: int, *, address: str | None = None) -> bool:
    """Revoke one of the user's own tokens; False when it is not theirs or already revoked."""
    with engine.begin() as connection:
        result = connection.execute(update(api_tokens).where(
            api_tokens.c.token_id == token_id, api_tokens.c.user_id == user.user_id,
            api_tokens.c.revoked_at.is_(None)).values(revoked_at=datetime.now(UTC), revoked_reason=REVOKED_BY_OWNER))
    if result.rowcount:
        audit.record(engine, "token_revoke", actor=user.username, target=str(token_id), address=address)
    return bool(result.rowcount)


def revoke_all_tokens(connection: Connection, user_id: int, reason: str) -> int:
    """Revoke every token of the user still valid, with `reason`, in the caller's transaction (the account change
    that calls for it: auth.users). Returns how many."""
    result = connection.execute(update(api_tokens).where(
        api_tokens.c.user_id == user_id, api_tokens.c.revoked_at.is_(None)).values(
        revoked_at=datetime.now(UTC), revoked_reason=reason))
    return result.rowcount


def token_owner(engine: Engine, token: str) -> int | None:
    """The user id owning this token while it is valid (not revoked, not expired), else None; notes when the
    token was used. Whether the owner may still use it (an active account) is the caller's question."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    now = datetime.now(UTC)
    with engine.connect() as connection:
        row = connection.execute(select(api_tokens.c.token_id, api_tokens.c.user_id).where(
            api_tokens.c.token_hash == _hash(token), api_tokens.c.revoked_at.is_(None),
            api_tokens.c.expires_at > now)).first()
    if row is None:
        return None
    with engine.begin() as connection:
        connection.execute(update(api_tokens).where(api_tokens.c.token_id == row.token_id).values(last_used_at=now))
    owner: int = row.user_id
    return owner
