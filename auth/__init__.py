"""Login, roles and what each role may see — enforced on the server (issue 5).

Public interface:

    auth.install(server, engine)            put a Flask server (the Dash app's, API included) behind login
    auth.login_installed()                  -> bool: whether this server is behind login
    auth.current_viewer(org_code=None)      -> queries.scope.Viewer of the logged-in user (401 without one)
    auth.permitted_organisations()          -> list[str] | None: organisation codes the user may choose (None: all)
    auth.current_user()                     -> auth.users.User | None
    auth.audit_event(action, target, detail)  log an export or download by the current user
    auth.audit_later(action, target)        -> log(detail): the same, written after the request (a streamed file)

Every Dash callback, API route and download asks `current_viewer()`; the indicator engine answers only what
that viewer may see. Accounts: auth.users (and `perispiegel users ...`, auth.commands); API tokens: auth.tokens;
throttling: auth.throttle; the audit log: auth.audit. docs/security.md describes roles, mechanism and defences.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app, g

from auth import audit
from auth.permissions import permitted_organisations as _permitted_organisations
from auth.permissions import viewer_of
from auth.server import install
from auth.session import EXTENSION, auth_settings, client_address, logged_in_user, required_user
from auth.users import User
from queries.scope import Viewer

__all__ = ["audit_event", "audit_later", "current_user", "current_viewer", "install", "login_installed",
           "permitted_organisations"]


def login_installed() -> bool:
    """Whether `install` put the serving app behind login (a server that mounted the API without it refuses)."""
    return EXTENSION in current_app.extensions


def current_user() -> User | None:
    """The logged-in account of the current request (session or API token), or None."""
    return logged_in_user()


def current_viewer(org_code: str | None = None) -> Viewer:
    """The viewer of the current request: the logged-in user's permissions, looking at `org_code` when the user may
    (own, granted, a VSV member, or anything for an admin), else at its own view. See auth/permissions.py."""
    return viewer_of(auth_settings().engine, required_user(), org_code)


def permitted_organisations() -> list[str] | None:
    """The organisation codes the current user may choose, own first; None for an admin (every organisation).

    Asked once per request: a page asks it for the header, the organisation shown and the viewer."""
    user = required_user()
    cached: tuple[int, list[str] | None] | None = g.get("permitted_organisations")
    if cached is not None and cached[0] == user.user_id:
        return cached[1]
    permitted = _permitted_organisations(auth_settings().engine, user)
    g.permitted_organisations = (user.user_id, permitted)
    return permitted


def audit_event(action: str, target: str | None = None, detail: str | None = None) -> None:
    """Write `action` (e.g. "export", "download") by the current user, from the request's address, to the log."""
    user = logged_in_user()
    audit.record(auth_settings().engine, action, actor=user.username if user else None, target=target, detail=detail,
                 address=client_address())


def audit_later(action: str, target: str | None = None) -> Callable[[str | None], None]:
    """`audit_event` for the current user and address, written when the returned function is called — after the
    request has ended, e.g. once a streamed file's last row is sent (its detail then says how many)."""
    user = logged_in_user()
    engine, actor, address = auth_settings().engine, user.username if user else None, client_address()

    def log(detail: str | None) -> None:
        audit.record(engine, action, actor=actor, target=target, detail=detail, address=address)

    return log
