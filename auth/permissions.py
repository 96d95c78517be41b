"""An account's permissions: the organisations a logged-in user may choose, and the one place that turns an
account into the engine's `Viewer`.

Every Dash callback, API route and download asks `current_viewer()` (auth/__init__.py); the indicator engine
then returns only what that viewer may see (queries/scope.py). The rules:

- provider: its own practice or hospital (`users.org_code`), plus organisations an admin granted;
- vsv: its own VSV and the VSV's member organisations, plus granted ones;
- researcher: national and anonymised figures, plus granted organisations;
- admin: every organisation.

Choosing an organisation (the header's dropdown, `?org=` in a URL, a crafted callback) can only narrow the
view to one of these; anything else falls back to the user's own view.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import Engine

from auth.users import SENDER_ROLE, User
from queries.scope import NotPermittedError, Viewer
from queries.status import organisation_register
from tables.register import register_by_code


def _register_rows(engine: Engine, codes: tuple[str, ...], vsv_code: str | None) -> dict[str, dict]:
    """org_code → {org_type, vsv_code, …} for the given organisations and (if any) the members of a VSV."""
    register = organisation_register(engine)
    chosen = pl.col("org_code").is_in(list(codes))
    if vsv_code:
        chosen |= pl.col("vsv_code") == vsv_code
    return register_by_code(register.filter(chosen))


def permitted_organisations(engine: Engine, user: User) -> list[str] | None:
    """The organisation codes `user` may choose, own first; None means every organisation (admin)."""
    if user.role == "admin":
        return None
    if user.role == SENDER_ROLE:
        return []
    own_vsv = user.org_code if user.role == "vsv" else None
    rows = _register_rows(engine, user.organisations, own_vsv)
    members = sorted(code for code, row in rows.items() if own_vsv and row["vsv_code"] == own_vsv
                     and code != own_vsv)
    ordered = [code for code in user.organisations if code in rows] + members
    return list(dict.fromkeys(ordered))


def base_viewer(user: User) -> Viewer:
    """The user's own view, before choosing any granted organisation. A sender has none: it sees no figures (the
    guard, auth.server, already refuses it everything but delivering)."""
    if user.role == SENDER_ROLE:
        raise NotPermittedError("a sender account delivers files and sees no figures")
    if user.role == "provider":
        return Viewer("provider", org_code=user.org_code)
    if user.role == "vsv":
        return Viewer("vsv", vsv_code=user.org_code)
    return Viewer(user.role)


def viewer_of(engine: Engine, user: User, org_code: str | None = None) -> Viewer:
    """The viewer for `user` looking at `org_code` (or at its own view when None or not permitted).

    A granted organisation is seen as its own users see it: a practice or hospital as its provider, a VSV as
    its VSV user; by a researcher as that one organisation, exact, without its VSV. A VSV user looking at a
    member organisation stays a VSV viewer (it sees all members by name).
    """
    if user.role == "admin":
        return Viewer("admin")
    if user.role == SENDER_ROLE:
        return base_viewer(user)
    if not org_code or org_code == user.org_code:
        return base_viewer(user)
    if org_code not in user.granted:
        return base_viewer(user)  # a VSV member, or an organisation the user may not see: its own view
    row = _register_rows(engine, (org_code,), None).get(org_code)
    if row is None:
        return base_viewer(user)
    if user.role == "researcher":
        # A researcher's grant is about the organisation itself: not its VSV (docs/privacy.md).
        return Viewer("researcher", org_code=org_code)
    if row["org_type"] == "vsv":
        return Viewer("vsv", vsv_code=org_code)
    return Viewer("provider", org_code=org_code)
