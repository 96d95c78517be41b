"""Personal API tokens: made by a user, shown once, stored only as a hash, revocable.

A token is 32 random bytes (URL-safe base64 after the `psp_` prefix). Because it is random and long, a
SHA-256 hash is enough to store it (no salt or slow hash needed, unlike a password), and it lets a request's
token be found by an indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select, update

from auth import audit
from auth.users import User, get_user
from tables.database import as_utc
from tables.schema import api_tokens

TOKEN_PREFIX = "psp_"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(engine: Engine, user: User, label: str, *, address: str | None = None) -> str:
    """A new token for `user`, returned once: only its hash and first characters are kept."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    label = (label or "").strip()[:80] or "API"
    with engine.begin() as connection:
        connection.execute(insert(api_tokens).values(
            user_id=user.user_id, label=label, token_hash=_hash(token), token_prefix=token[:10],
            created_at=datetime.now(UTC)))
    audit.record(engine, "token_create", actor=user.username, target=label, address=address)
    return token


def tokens_of(engine: Engine, user: User) -> list[dict]:
    """The user's tokens (label, first characters, created, last used, revoked), newest first."""
    query = (select(api_tokens.c.token_id, api_tokens.c.label, api_tokens.c.token_prefix, api_tokens.c.created_at,
                    api_tokens.c.last_used_at, api_tokens.c.revoked_at)
             .where(api_tokens.c.user_id == user.user_id).order_by(api_tokens.c.token_id.desc()))
    with engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    return [{**row, **{key: as_utc(row[key]) for key in ("created_at", "last_used_at", "revoked_at")}}
            for row in rows]


def revoke_token(engine: Engine, user: User, token_id: int, *, address: str | None = None) -> bool:
    """Revoke one of the user's own tokens; False when it is not theirs or already revoked."""
    with engine.begin() as connection:
        result = connection.execute(update(api_tokens).where(
            api_tokens.c.token_id == token_id, api_tokens.c.user_id == user.user_id,
            api_tokens.c.revoked_at.is_(None)).values(revoked_at=datetime.now(UTC)))
    if result.rowcount:
        audit.record(engine, "token_revoke", actor=user.username, target=str(token_id), address=address)
    return bool(result.rowcount)


def user_for_token(engine: Engine, token: str) -> User | None:
    """The active user owning this valid (unrevoked) token, else None; notes when the token was used."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    with engine.connect() as connection:
        row = connection.execute(select(api_tokens.c.token_id, api_tokens.c.user_id).where(
            api_tokens.c.token_hash == _hash(token), api_tokens.c.revoked_at.is_(None))).first()
    if row is None:
        return None
    user = get_user(engine, user_id=row.user_id)
    if user is None or not user.active:
        return None
    with engine.begin() as connection:
        connection.execute(update(api_tokens).where(api_tokens.c.token_id == row.token_id)
                           .values(last_used_at=datetime.now(UTC)))
    return user
