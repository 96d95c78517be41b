"""Overview ("Mijn organisatie"): the viewer's organisation for the chosen target group and period.

The indicator tiles come from the indicator engine (queries/engine.py) once it exists; the filter panel and its
URL state already work, so links made now keep working when the tiles arrive.
"""

from __future__ import annotations

from dash import html

from dashboards.filters import filter_panel
from dashboards.i18n import text
from dashboards.layout import PageContext, render_page, section
from dashboards.view_state import ViewState


def layout(**query: object) -> html.Div:
    return render_page("overview", query, content)


def content(view: ViewState, context: PageContext) -> list:
    language = view.language
    return [
        html.P([html.Strong(context.organisation_name(view.org_code)), f" ({view.org_code})"]
               if view.org_code else text("choose_organisation", language), id="overview-organisation"),
        filter_panel(view, context.status),
        section(text("indicators", language), html.P(text("overview_pending", language), id="indicators-pending"),
                section_id="overview-indicators"),
    ]
