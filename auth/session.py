"""The logged-in account of a request: the settings `install` stored, sessions and their stamps, API tokens,
form (CSRF) tokens, logging in and out.

What the login, account and admin pages (`auth/pages.py`, `auth/admin.py`) and the guard (`auth/server.py`) share;
the rest of the product asks `auth.current_user()` / `auth.current_viewer()` (auth/__init__.py).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

import flask
import flask_login
from flask import g, request, session
from sqlalchemy import Engine
from werkzeug.exceptions import Unauthorized

from auth.tokens import user_for_token
from auth.users import User, get_user

EXTENSION = "perispiegel_auth"
API_PREFIX = "/api/v1/"
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class AuthSettings:
    engine: Engine
    idle_timeout: timedelta
    session_lifetime: timedelta
    remember_days: int


def auth_settings() -> AuthSettings:
    """The settings `install` stored on the serving app."""
    installed: AuthSettings = flask.current_app.extensions[EXTENSION]
    return installed


def session_stamp(user: User) -> str:
    """What the session (and remember-me cookie) carries of the password: an HMAC, keyed with the server's secret
    key, of the user's password fingerprint, truncated to 128 bits. The cookies are signed, not encrypted: anyone
    holding one can read it, and this tells nothing about the hash. A new password gives another stamp."""
    key = flask.current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else key
    message = b"perispiegel password stamp\0" + user.password_stamp.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


class LoginUser(flask_login.UserMixin):
    """The flask-login view of an account. The session id includes a stamp of the password hash (session_stamp),
    so a new password or a disabled account ends every session and remember-me cookie at the next request."""

    def __init__(self, user: User) -> None:
        self.user = user

    def get_id(self) -> str:
        return f"{self.user.user_id}:{session_stamp(self.user)}"

    @property
    def is_active(self) -> bool:
        return self.user.active


def load_user(session_user_id: str) -> LoginUser | None:
    user_id, _, stamp = session_user_id.partition(":")
    if not user_id.isdigit() or not stamp:
        return None
    user = get_user(auth_settings().engine, user_id=int(user_id))
    if user is None or not user.active or not hmac.compare_digest(session_stamp(user), stamp):
        return None
    return LoginUser(user)


def remembered_user() -> User | None:
    """The account of the request's remember-me cookie, when it is valid (signed, current password, active)."""
    cookie = request.cookies.get(flask.current_app.config["REMEMBER_COOKIE_NAME"])
    user_id = flask_login.decode_cookie(cookie) if cookie else None
    login = load_user(user_id) if user_id else None
    return login.user if login else None


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def load_user_from_token(_request: flask.Request) -> LoginUser | None:
    # Tokens are for the API only: a token cannot open pages or drive Dash callbacks.
    if not request.path.startswith(API_PREFIX):
        return None
    token = bearer_token()
    if token is None:
        return None
    user = user_for_token(auth_settings().engine, token)
    if user is None:
        return None
    g.authenticated_by_token = True
    return LoginUser(user)


def client_address() -> str | None:
    return request.remote_addr


def logged_in_user() -> User | None:
    """The account of the current request, or None."""
    current = flask_login.current_user
    return current.user if current and current.is_authenticated else None


def required_user() -> User:
    """The account of the current request; a 401 without one. Fail closed: a request that got past the guard
    without a user (or a server without `install`) gets no answer."""
    user = logged_in_user()
    if user is None:
        raise Unauthorized("login required")
    return user


def csrf_token() -> str:
    """The session's form token (made on first use; renewed at every login)."""
    if CSRF_FIELD not in session:
        session[CSRF_FIELD] = secrets.token_urlsafe(32)
    token: str = session[CSRF_FIELD]
    return token


def csrf_valid() -> bool:
    expected = session.get(CSRF_FIELD)
    given = request.form.get(CSRF_FIELD, "")
    return bool(expected) and hmac.compare_digest(str(expected), given)


def start_session(user: User, remember: bool, fresh: bool = True) -> None:
    """Log `user` in on a fresh session: nothing of the anonymous session (or a planted one) carries over."""
    language = session.get("lang")
    session.clear()
    flask_login.login_user(LoginUser(user), remember=remember and auth_settings().remember_days > 0, fresh=fresh)
    session.permanent = True
    session["sid"] = secrets.token_urlsafe(16)
    session[CSRF_FIELD] = secrets.token_urlsafe(32)
    session["last_seen"] = time.time()
    if language:
        session["lang"] = language


def end_session() -> None:
    session.clear()
    flask_login.logout_user()  # after clear: it leaves the note that makes flask-login delete a remember-me cookie
