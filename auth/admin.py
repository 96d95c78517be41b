"""The admin pages (`/admin`): users, their grants and the audit log. Server-rendered forms with CSRF tokens;
only admins get in (everyone else a 403, which is logged). The same operations as `perispiegel users`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flask
from flask import Blueprint, request

from auth import audit
from auth.pages import page_language, render
from auth.session import auth_settings, client_address, csrf_valid, logged_in_user, required_user
from auth.users import UserError, add_user, grant, list_users, reset_password, set_active
from queries.scope import ROLES
from texts import text

blueprint = Blueprint("admin", __name__, url_prefix="/admin")
AUDIT_ROWS = 300


@blueprint.before_request
def _admins_only() -> flask.Response | None:
    user = logged_in_user()
    if user is None or user.role != "admin":
        audit.record(auth_settings().engine, "access_denied", actor=user.username if user else None,
                     target=request.path[:200], address=client_address())
        language = page_language()
        return render("message.html", 403, title=text("forbidden", language), message=text("forbidden", language))
    if request.method == "POST" and not csrf_valid():
        return _users_page(400, error=text("form_expired", page_language()))
    return None


def _users_page(status: int = 200, /, **notices: object) -> flask.Response:
    return render("admin.html", status, users=list_users(auth_settings().engine), roles=ROLES, **notices)


@blueprint.get("")
def users_page() -> flask.Response:
    return _users_page()


def _administer(operation: Callable[..., Any], *,
                done: Callable[[Any], dict[str, object]] | dict[str, object] | None = None) -> flask.Response:
    """Run one user operation as the logged-in admin; a UserError is shown on the page with status 400."""
    try:
        result = operation(actor=required_user().username, address=client_address())
    except UserError as error:
        return _users_page(400, problem=str(error))
    return _users_page(**(done(result) if callable(done) else done or {"message": text("done", page_language())}))


@blueprint.post("/users")
def add() -> flask.Response:
    form = request.form
    return _administer(
        lambda **who: add_user(auth_settings().engine, form.get("username", ""), form.get("role", ""),
                               org_code=form.get("org_code"), display_name=form.get("display_name") or None, **who),
        done=lambda result: {"shown_once": (text("user_added", page_language(), username=result[0].username),
                                            result[1])},
    )


@blueprint.post("/users/<username>/disable")
def disable(username: str) -> flask.Response:
    return _administer(lambda **who: set_active(auth_settings().engine, username, False, **who))


@blueprint.post("/users/<username>/enable")
def enable(username: str) -> flask.Response:
    return _administer(lambda **who: set_active(auth_settings().engine, username, True, **who))


@blueprint.post("/users/<username>/reset-password")
def new_password(username: str) -> flask.Response:
    return _administer(lambda **who: reset_password(auth_settings().engine, username, **who),
                       done=lambda password: {"shown_once": (text("new_password_for", page_language(),
                                                                  username=username), password)})


@blueprint.post("/users/<username>/grant")
def grant_organisation(username: str) -> flask.Response:
    revoke = request.form.get("revoke") == "1"
    return _administer(lambda **who: grant(auth_settings().engine, username, request.form.get("org_code", ""),
                                           revoke=revoke, **who))


@blueprint.get("/audit")
def audit_page() -> flask.Response:
    action = request.args.get("action") or None
    if action not in audit.ACTIONS:
        action = None
    return render("audit.html", entries=audit.recent(auth_settings().engine, AUDIT_ROWS, action), actions=audit.ACTIONS,
                  chosen_action=action)
