"""The page for an address that is no page of perispiegel: in the frame (header, navigation, language switch), saying
so in the page's language and leading back to the start and the overview.

Dash Pages shows the module named `not_found_404` for every path no page registered (and for `/404` itself); the
server answers such a path with HTTP status 404 (`layout.page_found`, checked in app.py), so a link checker or a
script learns it too. The view in the address (language, organisation, target group) is kept in its links.
"""

from __future__ import annotations

import dash
from dash import dcc, html

from dashboards.layout import PageContext, page_path, render_page
from dashboards.view_state import ViewState
from texts import text


def layout(**query: object) -> html.Div:
    return render_page("not_found", query, content)


dash.register_page(__name__, path="/404", name="not_found", in_navigation=False, layout=layout)


def content(view: ViewState, context: PageContext) -> list:
    language = view.language
    return [
        html.P(text("addresses.not_found", language), className="lead", id="not-found", role="alert"),
        html.Ul([
            html.Li(dcc.Link(text("addresses.to_overview", language), href=page_path("overview") + view.query_string(),
                             id="not-found-overview")),
            html.Li(dcc.Link(text("addresses.to_start", language), href=page_path("home") + view.query_string(),
                             id="not-found-home")),
        ]),
    ]
