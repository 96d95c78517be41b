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
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Engine
from werkzeug.exceptions import Unauthorized
from werkzeug.wrappers import Response as BaseResponse

from auth.tokens import token_owner
from auth.users import User, get_user

EXTENSION = "perispiegel_auth"
API_PREFIX = "/api/v1/"
CSRF_FIELD = "csrf_token"
REMEMBER_COOKIE = "perispiegel_remember"
_REMEMBER_SALT = "perispiegel remember-me"
# A remember-me cookie dated further ahead than this is not from this server's clock.
_CLOCK_SKEW_SECONDS = 300


@dataclass(frozen=True)
class AuthSettings:
    engine: Engine
    idle_timeout: timedelta
    session_lifetime: timedelta  # the absolute lifetime of a session, counted from its login
    remember_days: int


def auth_settings() -> AuthSettings:
    """The settings `install` stored on the serving app."""
    installed: AuthSettings = flask.current_app.extensions[EXTENSION]
    return installed


def now() -> float:
    """The server's clock, in seconds since the epoch: every session and remember-me time is read from here."""
    return time.time()


def session_stamp(user: User) -> str:
    """What the session (and remember-me cookie) carries of the account: an HMAC, keyed with the server's secret
    key, of the user's password fingerprint and session generation, truncated to 128 bits. The cookies are signed,
    not encrypted: anyone holding one can read it, and this tells nothing about the hash. A new password or a raised
    generation (logout, disabling, a role change: auth.users) gives another stamp, which ends every session and
    remember-me cookie made before."""
    key = flask.current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else key
    message = b"perispiegel session stamp\0" + user.password_stamp.encode() + b"\0" + str(
        user.session_generation).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


class LoginUser(flask_login.UserMixin):
    """The flask-login view of an account. The session id includes the account's stamp (session_stamp), so a new
    password, a logout elsewhere or a disabled account ends every session at the next request."""

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


@dataclass(frozen=True)
class Remembered:
    """The account of a valid remember-me cookie, and when the cookie was made (seconds since the epoch)."""

    user: User
    issued_at: float


def _remember_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(flask.current_app.config["SECRET_KEY"], salt=_REMEMBER_SALT)


def remembered_login() -> Remembered | None:
    """The account of the request's remember-me cookie when it is valid: signed by this server, made less than
    `remember_days` ago by this server's clock, for an active account whose stamp has not changed since."""
    cookie = request.cookies.get(REMEMBER_COOKIE)
    days = auth_settings().remember_days
    if not cookie or days <= 0:
        return None
    try:
        user_id, stamp, issued_at = _remember_serializer().loads(cookie)
        issued_at = float(issued_at)
    except (BadSignature, ValueError, TypeError):
        return None
    age = now() - issued_at
    if age > days * 86400 or age < -_CLOCK_SKEW_SECONDS:
        return None
    login = load_user(f"{user_id}:{stamp}")
    return Remembered(login.user, issued_at) if login else None


def _cookie_secure() -> bool:
    interface = flask.current_app.session_interface
    return bool(interface.get_cookie_secure(flask.current_app))


def _remember(user: User, since: float | None = None) -> None:
    """Give the answer a remember-me cookie for `user`, valid `remember_days` from `since` (the login; now by
    default) (OWASP ASVS 3.2.3)."""
    days = auth_settings().remember_days
    issued_at = now() if since is None else since
    value = _remember_serializer().dumps([user.user_id, session_stamp(user), issued_at])
    max_age = max(0, int(issued_at + days * 86400 - now()))

    @flask.after_this_request
    def set_cookie(response: BaseResponse) -> BaseResponse:
        response.set_cookie(REMEMBER_COOKIE, value, max_age=max_age, httponly=True, samesite="Lax",
                            secure=_cookie_secure())
        return response


def forget_remembered() -> None:
    """Have the browser drop its remember-me cookie (after logout, or one that no longer works)."""
    @flask.after_this_request
    def delete_cookie(response: BaseResponse) -> BaseResponse:
        response.delete_cookie(REMEMBER_COOKIE, httponly=True, samesite="Lax", secure=_cookie_secure())
        return response


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
    engine = auth_settings().engine
    owner = token_owner(engine, token)
    user = get_user(engine, user_id=owner) if owner is not None else None
    if user is None or not user.active:
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


def start_session(user: User, remember: bool, fresh: bool = True, remembered_since: float | None = None) -> None:
    """Log `user` in on a fresh session: nothing of the anonymous session (or a planted one) carries over. Its
    absolute lifetime counts from now (`login_at`). `remember`: also a remember-me cookie (when they are allowed),
    valid from now or, for a browser remembered before, from `remembered_since`."""
    language = session.get("lang")
    session.clear()
    flask_login.login_user(LoginUser(user), remember=False, fresh=fresh)
    session.permanent = True
    session["sid"] = secrets.token_urlsafe(16)
    session[CSRF_FIELD] = secrets.token_urlsafe(32)
    session["login_at"] = session["last_seen"] = now()
    if remember and auth_settings().remember_days > 0:
        _remember(user, remembered_since)
    if language:
        session["lang"] = language


def session_ended() -> str | None:
    """Whether the current session has ended by time: "ended" after its absolute lifetime since login (OWASP ASVS
    3.3.4; a session without `login_at`, made by a version before it, counts as ended), "expired" after the idle
    timeout without a request (ASVS 3.3.2), else None."""
    settings, moment = auth_settings(), now()
    login_at, last_seen = session.get("login_at"), session.get("last_seen")
    if login_at is None or moment - float(login_at) > settings.session_lifetime.total_seconds():
        return "ended"
    if last_seen is None or moment - float(last_seen) > settings.idle_timeout.total_seconds():
        return "expired"
    return None


def note_activity() -> None:
    """A request of the session: the idle timeout counts from now again."""
    session["last_seen"] = now()
    session.permanent = True


def end_session() -> None:
    """End this browser's session and drop its remember-me cookie (the account's other sessions: auth.users)."""
    session.clear()
    flask_login.logout_user()
    # logout_user leaves `_remember = "clear"` for flask-login to delete its own remember-me cookie; that cookie is
    # not used (ours is, see _remember, and is deleted just below): undo the note, so nothing else is deleted.
    session.pop("_remember", None)
    forget_remembered()
