"""Password hashing and generated passwords.

Hashes are argon2id (RFC 9106) with the parameters the OWASP Password Storage Cheat Sheet recommends as the
minimum: 19 MiB memory, 2 iterations, 1 lane (about 0.1 s on one core here). Each hash string carries its own
salt and parameters, so stronger settings later still verify older hashes.
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

MINIMUM_LENGTH = 12
# No look-alike characters (0/O, 1/l/I), so a generated password can be read out and typed.
_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.ID)
# Verifying against this when the user does not exist costs the same time as a real check (no user enumeration).
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """The argon2id hash (with its own random salt and parameters) of `password`."""
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches `password_hash`; with no hash, a dummy check of equal cost returns False."""
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def generate_password(length: int = 16) -> str:
    """A random password of `length` characters from an unambiguous alphabet (about 5.8 bits each)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def password_problem(password: str) -> str | None:
    """Why `password` may not be used (English), or None."""
    if len(password) < MINIMUM_LENGTH:
        return f"a password needs at least {MINIMUM_LENGTH} characters"
    return None
