"""The login, logout and account pages: plain server-rendered HTML (Jinja, autoescaped) in Dutch and English.

Everything a user typed or a delivery contains reaches the page through Jinja's autoescaping, i.e. as text.
Every form carries the session's CSRF token; a form without a valid one is refused. The templates get their texts
from the catalogue (texts/) through `text('key')` and `code_label('role', role)`, in the page's language; a
notice or an error is handed to them as text.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import flask
from flask import Blueprint, render_template, request, session
from markupsafe import Markup, escape
from werkzeug.wrappers import Response as BaseResponse

from auth import audit
from auth.passwords import MINIMUM_LENGTH
from auth.permissions import permitted_organisations
from auth.session import (
    CSRF_FIELD,
    auth_settings,
    client_address,
    csrf_token,
    csrf_valid,
    end_session,
    logged_in_user,
    remembered_login,
    required_user,
    start_session,
)
from auth.throttle import Throttle, begin_login
from auth.tokens import DEFAULT_TOKEN_DAYS, TOKEN_LIFETIME_DAYS, create_token, revoke_token, tokens_of
from auth.users import PasswordChangeError, authenticate, end_all_sessions, normalise_username, tokens_mention
from auth.users import change_password as change_user_password
from texts import code_parts, language_of, template_functions, text
from texts.formatting import format_date, format_datetime, format_month, format_number, format_percent

blueprint = Blueprint("auth", __name__, template_folder="templates", static_folder="static",
                      static_url_path="/auth/static")


def page_language() -> str:
    """`?lang=` (or the form's `lang`), remembered in the session; Dutch by default."""
    chosen = request.values.get("lang")
    if chosen:
        session["lang"] = language_of(chosen)
    return language_of(session.get("lang"))


def with_code(message: str) -> Markup:
    """A text with `backticked` parts (a command, a header) shown as code, the rest escaped as text."""
    return Markup("").join(Markup("<code>{}</code>").format(part) if is_code else escape(part)
                           for part, is_code in code_parts(message))


def render(template: str, status: int = 200, **context: object) -> flask.Response:
    """`template` in the page's language: its texts (`text`, `code_label`), moments in Dutch local time with the
    zone (`moment(value)`, texts.formatting.format_datetime), numbers, percentages, days and months as the language
    writes them (`number`, `percent`, `day`, `month_name`) and texts with code in them (`with_code`)."""
    language = page_language()
    other = "en" if language == "nl" else "nl"
    # The same page in the other language, with what its address chose (`next`, the admin pages' filters).
    kept = [(name, value) for name, value in request.args.items(multi=True) if name != "lang"]
    switch_url = f"{request.path}?{urlencode([*kept, ('lang', other)])}"
    html = render_template(f"auth/{template}", **template_functions(language), language=language,
                           moment=lambda value: format_datetime(value, language), with_code=with_code,
                           number=lambda value: format_number(value, language),
                           percent=lambda value: format_percent(value, language),
                           day=lambda value: format_date(value, language),
                           month_name=lambda value: format_month(value, language),
                           other_language=other, switch_url=switch_url, csrf_field=CSRF_FIELD, csrf_token=csrf_token(),
                           user=logged_in_user(), remember_days=auth_settings().remember_days, **context)
    return flask.make_response(html, status)


def login_notice(reason: str | None) -> str | None:
    """Why the login page is shown (`?reason=`), in words; None without a known reason."""
    language = page_language()
    if reason == "expired":
        return text("session_expired", language)
    if reason == "ended":
        hours = round(auth_settings().session_lifetime.total_seconds() / 3600)
        return text("account.session_ended", language, hours=hours)
    if reason == "login":
        return text("login_required", language)
    if reason == "logged_out":
        return text("logged_out", language)
    return None


def safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no host, no `//host`), so login cannot redirect elsewhere."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _wait_message(throttle: Throttle) -> str:
    """How long a throttled attempt waits, in words: seconds below two minutes, else minutes."""
    seconds = throttle.wait_seconds()
    if seconds < 120:
        return text("throttled_seconds", page_language(), seconds=seconds)
    return text("throttled", page_language(), minutes=throttle.wait_minutes())


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> BaseResponse:
    next_target = safe_next(request.values.get("next"))
    if request.method == "GET":
        if logged_in_user() is not None:
            return flask.redirect(next_target)
        return render("login.html", next_target=next_target, notice=login_notice(request.args.get("reason")),
                      error=None, username="")
    engine = auth_settings().engine
    username = normalise_username(request.form.get("username", ""))[:80]
    if not csrf_valid():
        return render("login.html", 400, next_target=next_target, notice=None,
                      error=text("form_expired", page_language()), username=username)
    # Written down before anything is checked, so that parallel attempts count against each other (auth.throttle).
    attempt_id, throttle = begin_login(engine, username, client_address())
    if throttle.blocked:
        audit.settle(engine, attempt_id, "login_throttled", detail=f"rule {throttle.rule}")
        response = render("login.html", 429, next_target=next_target, notice=None, error=_wait_message(throttle),
                          username=username)
        response.headers["Retry-After"] = str(throttle.wait_seconds())
        return response
    user = authenticate(engine, username, request.form.get("password", ""))
    if user is None:
        # The same answer for an unknown user, a wrong password and a disabled account.
        audit.settle(engine, attempt_id, "login_failure")
        return render("login.html", 401, next_target=next_target, notice=None,
                      error=text("bad_credentials", page_language()), username=username)
    start_session(user, remember=request.form.get("remember") == "on")
    audit.settle(engine, attempt_id, "login_success")
    return flask.redirect(next_target, code=303)


@blueprint.route("/logout", methods=["GET", "POST"])
def logout() -> BaseResponse:
    user = logged_in_user()
    if user is None:
        return flask.redirect(flask.url_for("auth.login", reason="logged_out"), code=303)
    if request.method == "GET":
        return render("logout.html")
    if not csrf_valid():
        return render("logout.html", 400, error=text("form_expired", page_language()))
    engine = auth_settings().engine
    audit.record(engine, "logout", actor=user.username, address=client_address())
    language = session.get("lang")
    # Every session and remember-me cookie of the account ends, so a copy of this browser's cookie is worth nothing.
    end_all_sessions(engine, user)
    end_session()
    return flask.redirect(flask.url_for("auth.login", reason="logged_out", lang=language), code=303)


def _account_page(status: int = 200, **notices: object) -> flask.Response:
    engine = auth_settings().engine
    user = required_user()
    # The one notice /account shows after a redirect (`?notice=`); never text from the address.
    if request.args.get("notice") == "password_changed" and "message" not in notices:
        notices["message"] = text("account.password_changed", page_language())
    return render("account.html", status, tokens=tokens_of(engine, user), token_days=TOKEN_LIFETIME_DAYS,
                  default_token_days=DEFAULT_TOKEN_DAYS, organisations=permitted_organisations(engine, user), **notices)


@blueprint.get("/account")
def account() -> flask.Response:
    return _account_page()


@blueprint.post("/account/tokens")
def new_token() -> flask.Response:
    if not csrf_valid():
        return _account_page(400, error=text("form_expired", page_language()))
    days = request.form.get("days", str(DEFAULT_TOKEN_DAYS))
    if days not in {str(choice) for choice in TOKEN_LIFETIME_DAYS}:
        return _account_page(400, error=text("account.token_days_unknown", page_language(),
                                             days=", ".join(map(str, TOKEN_LIFETIME_DAYS))))
    token = create_token(auth_settings().engine, required_user(), request.form.get("label", ""), days=int(days),
                         address=client_address())
    return _account_page(new_token=token)


@blueprint.post("/account/tokens/<int:token_id>/revoke")
def revoke(token_id: int) -> flask.Response:
    if not csrf_valid():
        return _account_page(400, error=text("form_expired", page_language()))
    # A number no token can have (beyond a database integer) is simply not the user's token.
    revoked = token_id < 2**31 and revoke_token(auth_settings().engine, required_user(), token_id,
                                                 address=client_address())
    return _account_page(200 if revoked else 404, message=text("token_revoked", page_language()) if revoked else None)


def _password_problem(problem: str, language: str) -> str:
    """Why a password change was refused (auth.users.PasswordChangeError's problem), in words."""
    if problem == "current_password_wrong":
        return text("account.current_password_wrong", language)
    if problem == "password_too_short":
        return text("account.password_too_short", language, minimum=MINIMUM_LENGTH)
    if problem == "password_unchanged":
        return text("account.password_unchanged", language)
    raise ValueError(f"no words for the password problem {problem!r}")


def _password_page(status: int = 200, error: str | None = None) -> flask.Response:
    user = required_user()
    return render("password.html", status, error=error, one_time=user.must_change_password,
                  minimum_length=MINIMUM_LENGTH)


@blueprint.route("/account/password", methods=["GET", "POST"])
def change_password() -> BaseResponse:
    """The user's own password change (and the forced one after a one-time password): the current password, the
    new one twice. The current password is a guess like one at login: written to the audit log first and throttled
    by the same rules (auth.throttle), so a stolen session cannot try passwords. Every other session of the account
    ends; this browser goes on in a new one."""
    if request.method == "GET":
        return _password_page()
    language = page_language()
    if not csrf_valid():
        return _password_page(400, text("form_expired", language))
    new = request.form.get("new_password", "")
    if new != request.form.get("repeat_password", ""):
        return _password_page(400, text("account.passwords_differ", language))
    engine, user = auth_settings().engine, required_user()
    # Read before the change: the change gives the account a new stamp, which this browser's cookie lacks.
    remembered = remembered_login()
    attempt_id, throttle = begin_login(engine, user.username, client_address())
    if throttle.blocked:
        audit.settle(engine, attempt_id, "login_throttled", detail=f"password form; rule {throttle.rule}")
        response = _password_page(429, _wait_message(throttle))
        response.headers["Retry-After"] = str(throttle.wait_seconds())
        return response
    try:
        user, revoked = change_user_password(engine, user, request.form.get("current_password", ""), new,
                                       revoke_tokens=request.form.get("revoke_tokens") == "on")
    except PasswordChangeError as refused:
        wrong = refused.problem == "current_password_wrong"
        audit.settle(engine, attempt_id, "login_failure" if wrong else "password_change_refused",
                     detail=f"password form: {refused.problem}")
        return _password_page(400, _password_problem(refused.problem, language))
    audit.settle(engine, attempt_id, "password_change", detail=tokens_mention(revoked))
    # The change ended every session of the account, this one too: it goes on in a new one, and a browser that was
    # remembered stays remembered until the same day as before (not renewed by the change).
    start_session(user, remember=remembered is not None,
                  remembered_since=remembered.issued_at if remembered else None)
    return flask.redirect(flask.url_for("auth.account", notice="password_changed"), code=303)
