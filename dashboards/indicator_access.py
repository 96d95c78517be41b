"""How the indicator pages ask the indicator engine: which engine, as which viewer, and what a cell says.

Pages never compute statistics: every number they show is a cell of an engine answer (queries/engine.py). This
module only picks the engine of the app's database, decides who is asking, and reads the engine's flags.

Who is asking is the logged-in user, never the browser: every callback rebuilds its request on the server from
the URL's query string, shows the organisation `dashboards.layout.shown_organisation` allows (the `?org=` asked
for when `auth.permitted_organisations()` has it, else the user's own), and asks the engine as
`auth.current_viewer(org_code)`. The engine then answers only what that viewer may see: peers anonymised for a
provider, a VSV's members by name for the VSV, everything for an admin. A crafted callback with another
organisation's code therefore gets the user's own view.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from sqlalchemy import Engine

import auth
from dashboards.context import database_engine
from dashboards.layout import shown_organisation
from dashboards.view_state import ViewState, view_from_search
from queries.engine import LEVELS, IndicatorEngine, get_engine
from queries.filters import Filters, readable_grain
from queries.scope import Viewer
from queries.status import organisation_register


def indicator_engine(db_engine: Engine | None = None) -> IndicatorEngine:
    """The process-wide engine of the database the app (or `db_engine`) reads."""
    engine = db_engine or database_engine()
    return get_engine(engine.url.render_as_string(hide_password=False))


def has_rate(cell: dict | None) -> bool:
    """Whether the engine gave this cell a rate (not suppressed, not empty)."""
    return bool(cell) and not cell.get("suppressed") and cell.get("rate") is not None


@dataclass(frozen=True)
class IndicatorRequest:
    """What a page callback needs to ask the engine: the view, the engine, the viewer and its organisation."""

    view: ViewState
    engine: IndicatorEngine
    viewer: Viewer
    org_code: str | None
    org_type: str | None
    org_name: str | None

    @property
    def level(self) -> str:
        """The level the organisation is compared among (its type: all hospitals, all practices or all VSVs);
        hospitals for a national view, whose funnel shows the hospitals."""
        return self.org_type if self.org_type in LEVELS else "hospital"

    @property
    def minimum(self) -> int:
        """The engine's minimum denominator for showing a rate (configuration, not a page literal)."""
        return self.engine.config.min_denominator


def indicator_request(search: str | None) -> IndicatorRequest:
    """The request a page callback serves, rebuilt on the server from the URL's query string and the logged-in
    user (see the module docstring); the same organisation the page itself shows (`layout.render_page`)."""
    db_engine = database_engine()
    register = organisation_register(db_engine)
    view = view_from_search(search)
    org_code = shown_organisation(view.org_code, register)
    view = view.with_changes(org_code=org_code)
    match = register.filter(pl.col("org_code") == org_code) if org_code else register.clear()
    org_type = match["org_type"][0] if match.height else None
    org_name = match["name"][0] if match.height else None
    return IndicatorRequest(view=view, engine=indicator_engine(db_engine), viewer=auth.current_viewer(org_code),
                            org_code=org_code if match.height else None, org_type=org_type, org_name=org_name)


def default_grain(filters: Filters, version_from: str | None, version_to: str | None) -> str:
    """The trend grain for the chosen period (the filter's, else the published version's): `readable_grain`."""
    return readable_grain(filters.period_from or version_from, filters.period_to or version_to)
