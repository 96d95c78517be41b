"""Login on the Dash app's Flask server: sessions, the guard in front of every route, security headers.

`install(server, engine)` (re-exported as `auth.install`) registers:
- flask-login with users from the database; a session cookie (HttpOnly, SameSite=Lax, Secure over HTTPS) that
  the browser keeps `PERISPIEGEL_SESSION_LIFETIME_HOURS` (default 12) after the last request, while the guard ends
  the session after `PERISPIEGEL_SESSION_IDLE_MINUTES` (default 30) without a request ("session expired");
  "remember me" unticked by default;
- the login, logout and account pages (`auth/pages.py`) and the admin pages (`auth/admin.py`);
- a `before_request` guard: without a logged-in user (or, on `/api/v1/*`, a valid `Authorization: Bearer`
  token) every page gets the login page and every callback, data or API request a 401;
- security headers on every answer (Content-Security-Policy with the hashes of the page's own inline scripts,
  frame-ancestors 'none', nosniff, Referrer-Policy) and `Cache-Control: no-store` on pages and data.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

import flask
import flask_login
from flask import g, request, session
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import Engine
from werkzeug.wrappers import Response as BaseResponse

from auth import audit
from auth.tokens import user_for_token
from auth.users import User, get_user
from queries.config import installation_secret
from tables.database import DEFAULT_DATABASE_PATH

EXTENSION = "perispiegel_auth"
SECRET_KEY_VARIABLE = "PERISPIEGEL_SECRET_KEY"
IDLE_MINUTES_VARIABLE = "PERISPIEGEL_SESSION_IDLE_MINUTES"
SESSION_LIFETIME_VARIABLE = "PERISPIEGEL_SESSION_LIFETIME_HOURS"
REMEMBER_DAYS_VARIABLE = "PERISPIEGEL_REMEMBER_DAYS"
ENVIRONMENT_VARIABLE = "PERISPIEGEL_ENV"
DEFAULT_IDLE_MINUTES = 30
# How long the browser keeps the session cookie after the last request. Longer than the idle timeout, so that a
# browser coming back after the idle timeout still sends the cookie and the guard can say "session expired".
DEFAULT_SESSION_LIFETIME_HOURS = 12
DEFAULT_REMEMBER_DAYS = 7
SECRET_KEY_FILE = DEFAULT_DATABASE_PATH.parent / "secret_key"
API_PREFIX = "/api/v1/"
# Reachable without login: the login page itself and the stylesheet it needs.
PUBLIC_PATHS = ("/login", "/logout")
PUBLIC_PREFIXES = ("/auth/static/",)
# Paths a browser script (not a person) calls: these get a 401 instead of the login page.
SCRIPT_PREFIXES = ("/_dash-", "/_reload-hash", API_PREFIX)
CSRF_FIELD = "csrf_token"
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)


def is_production() -> bool:
    return os.environ.get(ENVIRONMENT_VARIABLE, "").strip().lower() == "production"


@dataclass(frozen=True)
class AuthSettings:
    engine: Engine
    idle_timeout: timedelta
    session_lifetime: timedelta
    remember_days: int


def settings() -> AuthSettings:
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


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, with the Secure flag whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: flask.Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (flask.has_request_context() and request.is_secure)


def secret_key() -> str:
    """`PERISPIEGEL_SECRET_KEY`; without it, outside production, a key generated once into data/secret_key (the
    same per-installation pattern as the pseudonym key, so concurrent workers agree on one key)."""
    return installation_secret(SECRET_KEY_VARIABLE, SECRET_KEY_FILE)


def _number_from_environment(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value.isdigit() else default


def install(server: flask.Flask, engine: Engine, *, idle_timeout: timedelta | None = None,
            session_lifetime: timedelta | None = None, remember_days: int | None = None) -> None:
    """Put `server` (the Dash app's Flask server, the API included) behind login. See the module docstring."""
    from auth import admin, pages

    if idle_timeout is None:
        idle_timeout = timedelta(minutes=_number_from_environment(IDLE_MINUTES_VARIABLE, DEFAULT_IDLE_MINUTES))
    if session_lifetime is None:
        session_lifetime = timedelta(hours=_number_from_environment(SESSION_LIFETIME_VARIABLE,
                                                                    DEFAULT_SESSION_LIFETIME_HOURS))
    if session_lifetime <= idle_timeout:
        raise ValueError(f"the session cookie's lifetime ({session_lifetime}, {SESSION_LIFETIME_VARIABLE}) must be "
                         f"longer than the idle timeout ({idle_timeout}, {IDLE_MINUTES_VARIABLE})")
    if remember_days is None:
        remember_days = _number_from_environment(REMEMBER_DAYS_VARIABLE, DEFAULT_REMEMBER_DAYS)
    server.extensions[EXTENSION] = AuthSettings(engine=engine, idle_timeout=idle_timeout,
                                                session_lifetime=session_lifetime, remember_days=remember_days)
    if not server.config.get("SECRET_KEY"):
        server.config["SECRET_KEY"] = secret_key()
    server.config.update(
        SESSION_COOKIE_NAME="perispiegel_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # The browser keeps the cookie this long after the last request; the guard ends the session after the
        # idle timeout (session["last_seen"]), so the user is told the session expired.
        PERMANENT_SESSION_LIFETIME=session_lifetime,
        SESSION_REFRESH_EACH_REQUEST=True,
        REMEMBER_COOKIE_NAME="perispiegel_remember",
        REMEMBER_COOKIE_DURATION=timedelta(days=max(remember_days, 1)),
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_REFRESH_EACH_REQUEST=False,
    )
    server.session_interface = _SessionInterface()

    # Registered before flask-login: after-request functions run in reverse order, so the headers (and the
    # Secure flag) are applied after flask-login has set its remember-me cookie.
    server.after_request(_security_headers)
    manager = flask_login.LoginManager()
    manager.session_protection = "basic"
    manager.user_loader(_load_user)
    manager.request_loader(_load_user_from_token)
    manager.init_app(server)

    server.register_blueprint(pages.blueprint)
    server.register_blueprint(admin.blueprint)
    # First in line: nothing else (Dash, the API) runs for a request the guard answers.
    server.before_request_funcs.setdefault(None, []).insert(0, _guard)


def _load_user(session_user_id: str) -> LoginUser | None:
    user_id, _, stamp = session_user_id.partition(":")
    if not user_id.isdigit() or not stamp:
        return None
    user = get_user(settings().engine, user_id=int(user_id))
    if user is None or not user.active or not hmac.compare_digest(session_stamp(user), stamp):
        return None
    return LoginUser(user)


def _remembered_user() -> User | None:
    """The account of the request's remember-me cookie, when it is valid (signed, current password, active)."""
    cookie = request.cookies.get(flask.current_app.config["REMEMBER_COOKIE_NAME"])
    user_id = flask_login.decode_cookie(cookie) if cookie else None
    login = _load_user(user_id) if user_id else None
    return login.user if login else None


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _load_user_from_token(_request: flask.Request) -> LoginUser | None:
    # Tokens are for the API only: a token cannot open pages or drive Dash callbacks.
    if not request.path.startswith(API_PREFIX):
        return None
    token = _bearer_token()
    if token is None:
        return None
    user = user_for_token(settings().engine, token)
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
    flask_login.login_user(LoginUser(user), remember=remember and settings().remember_days > 0, fresh=fresh)
    session.permanent = True
    session["sid"] = secrets.token_urlsafe(16)
    session[CSRF_FIELD] = secrets.token_urlsafe(32)
    session["last_seen"] = time.time()
    if language:
        session["lang"] = language


def end_session() -> None:
    session.clear()
    flask_login.logout_user()  # after clear: it leaves the note that makes flask-login delete a remember-me cookie


def _wants_json() -> bool:
    if request.path.startswith(SCRIPT_PREFIXES):
        return True
    if request.headers.get("X-Requested-With", "").lower() == "xmlhttprequest":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def _unauthenticated(reason: str) -> BaseResponse:
    if _wants_json():
        response = flask.jsonify({"error": "login required" if reason != "invalid_token" else "invalid API token",
                                  "status": 401, "login": flask.url_for("auth.login")})
        response.status_code = 401
        if request.path.startswith(API_PREFIX):
            error = ', error="invalid_token"' if reason == "invalid_token" else ""
            response.headers["WWW-Authenticate"] = f'Bearer realm="perispiegel"{error}'
        return response
    target = request.full_path.rstrip("?") if request.method == "GET" else "/"
    return flask.redirect(flask.url_for("auth.login", next=target, reason=reason), code=303)


def _guard() -> BaseResponse | None:
    path = request.path
    if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
        return None
    user = logged_in_user()
    if user is None:
        return _unauthenticated("invalid_token" if _bearer_token() and path.startswith(API_PREFIX) else "login")
    if not g.get("authenticated_by_token"):
        last_seen = session.get("last_seen")
        now = time.time()
        # No last_seen: flask-login just restored the session from a remember-me cookie.
        if last_seen is not None and now - float(last_seen) > settings().idle_timeout.total_seconds():
            remembered = _remembered_user()
            if remembered is None:
                audit.record(settings().engine, "session_expired", actor=user.username, address=client_address())
                end_session()
                return _unauthenticated("expired")
            # "Remember me": a new session, just as when the browser comes back with only the remember-me cookie.
            start_session(remembered, remember=False, fresh=False)
        session["last_seen"] = now
        session.permanent = True
    return None


def _script_hashes(html: str) -> list[str]:
    """CSP source expressions for the page's inline scripts (Dash's config and renderer start-up)."""
    return [f"'sha256-{base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()}'"
            for body in dict.fromkeys(_INLINE_SCRIPT.findall(html))]


def _security_headers(response: flask.Response) -> flask.Response:
    script_sources = ["'self'"]
    if response.mimetype == "text/html" and not response.direct_passthrough:
        script_sources += _script_hashes(response.get_data(as_text=True))
    response.headers["Content-Security-Policy"] = "; ".join((
        "default-src 'self'",
        f"script-src {' '.join(script_sources)}",
        # Dash and Plotly set element styles and insert <style> elements at run time.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ))
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if response.mimetype in {"text/html", "application/json"}:
        response.headers["Cache-Control"] = "no-store"
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
        # flask-login's remember-me cookie has a fixed Secure setting; over HTTPS every cookie gets it.
        cookies = response.headers.getlist("Set-Cookie")
        if any("; secure" not in cookie.lower() for cookie in cookies):
            response.headers.remove("Set-Cookie")
            for cookie in cookies:
                response.headers.add("Set-Cookie", cookie if "; secure" in cookie.lower() else f"{cookie}; Secure")
    return response
