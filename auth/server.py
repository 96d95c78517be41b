"""Login on the Dash app's Flask server: `install`, the guard in front of every route, security headers.

`install(server, engine)` (re-exported as `auth.install`) registers:
- flask-login with users from the database; a session cookie (HttpOnly, SameSite=Lax, Secure over HTTPS). The guard
  ends a session `PERISPIEGEL_SESSION_IDLE_MINUTES` (default 30) after its last request ("session expired") and
  `PERISPIEGEL_SESSION_LIFETIME_HOURS` (default 12) after its login, however busy ("session ended"); "remember me"
  (unticked by default) keeps a signed cookie valid `PERISPIEGEL_REMEMBER_DAYS` (default 14) from the login, which
  starts a new session when the old one has ended, and each such use is in the audit log. Logout, a password
  change or reset, disabling and a role change end all of an account's sessions and cookies (auth.users);
- the login, logout and account pages (`auth/pages.py`) and the admin pages (`auth/admin.py`);
- a `before_request` guard: without a logged-in user (or, on `/api/v1/*`, a valid `Authorization: Bearer`
  token) every page gets the login page and every callback, data or API request a 401; an account with a one-time
  password (set by an admin) gets only the page that changes it; a sender account (auth.users.SENDER_ROLE) gets a
  403 for everything but delivering (`SENDER_ENDPOINTS`);
- security headers on every answer (Content-Security-Policy with the hashes of the page's own inline scripts,
  frame-ancestors 'none', nosniff, Referrer-Policy) and `Cache-Control: no-store` on pages and data.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime, timedelta

import flask
import flask_login
from flask import g, request, session
from flask.sessions import SecureCookieSessionInterface
from markupsafe import escape
from sqlalchemy import Engine
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response as BaseResponse

from auth import admin, audit, pages
from auth.session import (
    API_PREFIX,
    EXTENSION,
    REMEMBER_COOKIE,
    AuthSettings,
    auth_settings,
    bearer_token,
    client_address,
    end_session,
    forget_remembered,
    load_user,
    load_user_from_token,
    logged_in_user,
    note_activity,
    remembered_login,
    session_ended,
    start_session,
)
from auth.users import SENDER_ROLE, User
from settings import DATA_FOLDER, installation_secret, is_production, whole_number_from_environment
from texts import language_of, text

SECRET_KEY_VARIABLE = "PERISPIEGEL_SECRET_KEY"
IDLE_MINUTES_VARIABLE = "PERISPIEGEL_SESSION_IDLE_MINUTES"
SESSION_LIFETIME_VARIABLE = "PERISPIEGEL_SESSION_LIFETIME_HOURS"
REMEMBER_DAYS_VARIABLE = "PERISPIEGEL_REMEMBER_DAYS"
TRUSTED_PROXIES_VARIABLE = "PERISPIEGEL_TRUSTED_PROXIES"
MAX_REQUEST_MB_VARIABLE = "PERISPIEGEL_MAX_REQUEST_MB"
# The largest request body the server reads (a Dash callback carries the page's inputs: kilobytes).
DEFAULT_MAX_REQUEST_MB = 10
# The largest body of a request without a logged-in user (the login form is well under 1 KB): refused before
# anything reads it, so an anonymous client cannot make the server read megabytes.
ANONYMOUS_BODY_LIMIT = 64 * 1024
HSTS = "max-age=31536000"
DEFAULT_IDLE_MINUTES = 30
# A session's absolute lifetime from its login; also how long the browser keeps the session cookie after the last
# request. Longer than the idle timeout, so that a browser coming back after the idle timeout still sends the cookie
# and the guard can say "session expired".
DEFAULT_SESSION_LIFETIME_HOURS = 12
DEFAULT_REMEMBER_DAYS = 14
SECRET_KEY_FILE = DATA_FOLDER / "secret_key"
# Reachable without login: the login and logout pages and the stylesheet they need — decided by the view the path
# routes to (not by how the path begins), and only for a plain path.
PUBLIC_ENDPOINTS = ("auth.login", "auth.logout", "auth.static")
# Paths a browser script (not a person) calls: these get a 401 instead of the login page.
SCRIPT_PREFIXES = ("/_dash-", "/_reload-hash", "/api/")
_NOT_PLAIN = re.compile(r"//|\\|(^|/)\.\.?(/|$)|%2f|%5c", re.IGNORECASE)
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, with the Secure flag whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: flask.Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (flask.has_request_context() and request.is_secure)


def secret_key() -> str:
    """`PERISPIEGEL_SECRET_KEY`; without it, outside production, a key generated once into data/secret_key (the
    same per-installation pattern as the pseudonym key, so concurrent workers agree on one key)."""
    return installation_secret(SECRET_KEY_VARIABLE, SECRET_KEY_FILE)


def install(server: flask.Flask, engine: Engine, *, idle_timeout: timedelta | None = None,
            session_lifetime: timedelta | None = None, remember_days: int | None = None) -> None:
    """Put `server` (the Dash app's Flask server, the API included) behind login. See the module docstring."""
    if idle_timeout is None:
        idle_timeout = timedelta(minutes=whole_number_from_environment(IDLE_MINUTES_VARIABLE, DEFAULT_IDLE_MINUTES,
                                                                       minimum=1))
    if session_lifetime is None:
        session_lifetime = timedelta(hours=whole_number_from_environment(SESSION_LIFETIME_VARIABLE,
                                                                         DEFAULT_SESSION_LIFETIME_HOURS, minimum=1))
    if session_lifetime <= idle_timeout:
        raise ValueError(f"the session cookie's lifetime ({session_lifetime}, {SESSION_LIFETIME_VARIABLE}) must be "
                         f"longer than the idle timeout ({idle_timeout}, {IDLE_MINUTES_VARIABLE})")
    if remember_days is None:
        remember_days = whole_number_from_environment(REMEMBER_DAYS_VARIABLE, DEFAULT_REMEMBER_DAYS, minimum=0)
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
        # Remember-me is auth.session's own cookie, with its date inside (flask-login's holds none): flask-login
        # is told its name only so that it never sets another one. It does still try to read it on a request
        # without a session (its own format: our cookie never parses as one), so what opens a session from it is
        # only auth.session.remembered_login, called by the guard.
        REMEMBER_COOKIE_NAME=REMEMBER_COOKIE,
    )
    server.session_interface = _SessionInterface()
    server.config["MAX_CONTENT_LENGTH"] = whole_number_from_environment(
        MAX_REQUEST_MB_VARIABLE, DEFAULT_MAX_REQUEST_MB, minimum=1) * 1024 * 1024
    if is_production():
        # Production runs behind TLS: no cookie ever leaves without Secure, even on a request the proxy forwarded
        # over plain HTTP.
        server.config["SESSION_COOKIE_SECURE"] = True
    proxies = whole_number_from_environment(TRUSTED_PROXIES_VARIABLE, 0, minimum=0)
    if proxies:
        # The client's address, scheme and host as the last `proxies` hops (the operator's own reverse proxies)
        # saw them; with 0, X-Forwarded-* headers are ignored, so a client cannot claim another address or HTTPS.
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=proxies, x_proto=proxies,  # type: ignore[method-assign]
                                   x_host=proxies, x_port=proxies)
    server.register_error_handler(413, _too_large)

    # Registered before flask-login: after-request functions run in reverse order, so the headers (and the
    # Secure flag) are applied after every cookie is set.
    server.after_request(_security_headers)
    manager = flask_login.LoginManager()
    manager.session_protection = "basic"
    manager.user_loader(load_user)
    manager.request_loader(load_user_from_token)
    manager.init_app(server)

    server.register_blueprint(pages.blueprint)
    server.register_blueprint(admin.blueprint)
    # First in line: nothing else (Dash, the API) runs for a request the guard answers.
    server.before_request_funcs.setdefault(None, []).insert(0, _guard)


def is_public() -> bool:
    """Whether the request may be answered without login: it routes to one of PUBLIC_ENDPOINTS by a plain path (no
    `//`, no `.` or `..` segment, no backslash, no encoded slash), so no other view is reached as if it were public
    (before: `/auth/static//x` was public by its prefix, and Dash's catch-all answered it with the page shell)."""
    raw_path = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or request.path
    return request.endpoint in PUBLIC_ENDPOINTS and not _NOT_PLAIN.search(request.path) and not _NOT_PLAIN.search(
        raw_path.split("?", 1)[0])


def _wants_json() -> bool:
    if request.path.startswith(SCRIPT_PREFIXES) or request.path == "/api":
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


def _too_large(_error: Exception) -> BaseResponse:
    language = language_of(session.get("lang"))
    if _wants_json():
        response = flask.jsonify({"error": "request too large", "status": 413})
    else:
        response = flask.make_response(f"<!doctype html><html lang={language}><title>413</title>"
                                       f"<p>{escape(text('request_too_large', language))}</p></html>")
    response.status_code = 413
    return response


def _guard() -> BaseResponse | None:
    large = (request.content_length or 0) > ANONYMOUS_BODY_LIMIT or bool(request.headers.get("Transfer-Encoding"))
    if large and logged_in_user() is None:
        # Before anything reads the body: an anonymous client gets no more than the login form needs.
        return _too_large(RequestEntityTooLarge())
    if is_public():
        return None
    path = request.path
    user = logged_in_user()
    by_token = bool(g.get("authenticated_by_token"))
    if user is None:
        if bearer_token() and path.startswith(API_PREFIX):
            return _unauthenticated("invalid_token")
        user = _resume_remembered()
        if user is None:
            if request.cookies.get(REMEMBER_COOKIE):
                forget_remembered()  # expired, or its account logged out since: the browser need not send it again
            return _unauthenticated("login")
    elif not by_token:
        ended = session_ended()
        if ended:
            resumed = _resume_remembered()
            if resumed is None:
                audit.record(auth_settings().engine, "session_expired", actor=user.username, address=client_address(),
                             detail=SESSION_END_DETAIL[ended])
                end_session()
                return _unauthenticated(ended)
            user = resumed
    if not by_token:
        note_activity()
    if user.role == SENDER_ROLE and request.endpoint not in SENDER_ENDPOINTS:
        return _sender_refused(user)
    if user.must_change_password and request.endpoint not in ONE_TIME_PASSWORD_ENDPOINTS:
        return _password_change_required()
    return None


# What the audit log says about a session the guard ended (auth.session.session_ended).
SESSION_END_DETAIL = {"expired": "idle timeout", "ended": "absolute lifetime"}
# All a sender account may call (api/deliveries.py): it sees no figures and has no pages.
SENDER_ENDPOINTS = ("api_v1.receive_delivery", "api_v1.validate_delivery")


def _sender_refused(user: User) -> BaseResponse:
    audit.record(auth_settings().engine, "access_denied", actor=user.username, address=client_address(),
                 target=request.path, detail="a sender account may only deliver")
    response = flask.jsonify({"error": "a sender account may only deliver files: POST /api/v1/deliveries and "
                                       "POST /api/v1/deliveries/validate", "status": 403})
    response.status_code = 403
    return response


# What an account with a one-time password may open: the page that changes it, and logout.
ONE_TIME_PASSWORD_ENDPOINTS = ("auth.change_password", "auth.logout", "auth.static")


def _resume_remembered() -> User | None:
    """A new session from a valid remember-me cookie, recorded in the audit log with the cookie's dates; None
    without one."""
    remembered = remembered_login()
    if remembered is None:
        return None
    start_session(remembered.user, remember=False, fresh=False)
    issued = datetime.fromtimestamp(remembered.issued_at, UTC)
    valid_until = issued + timedelta(days=auth_settings().remember_days)
    detail = f"remember-me cookie of {issued:%Y-%m-%d %H:%M} UTC, valid until {valid_until:%Y-%m-%d %H:%M} UTC"
    audit.record(auth_settings().engine, "remember_me_login", actor=remembered.user.username,
                 address=client_address(), detail=detail)
    return remembered.user


def _password_change_required() -> BaseResponse:
    """An account with a one-time password: pages go to the form that changes it, scripts get a 403."""
    if _wants_json():
        response = flask.jsonify({"error": "password change required", "status": 403,
                                  "change_password": flask.url_for("auth.change_password")})
        response.status_code = 403
        return response
    return flask.redirect(flask.url_for("auth.change_password"), code=303)


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
    if request.is_secure or is_production():
        response.headers["Strict-Transport-Security"] = HSTS
        # Over HTTPS every cookie gets Secure, whatever set it (also one set with a fixed setting).
        cookies = response.headers.getlist("Set-Cookie")
        if any("; secure" not in cookie.lower() for cookie in cookies):
            response.headers.remove("Set-Cookie")
            for cookie in cookies:
                response.headers.add("Set-Cookie", cookie if "; secure" in cookie.lower() else f"{cookie}; Secure")
    return response
