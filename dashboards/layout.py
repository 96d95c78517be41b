"""The frame every page shares — header (viewer, organisation, data version, language), navigation, main
landmark, footer — and small building blocks (tables, sections) that pages compose.

Everything is rendered from the view state in the URL; the only callbacks are the ones that write a new URL.
Text from the data (organisation names, messages) is passed to components as plain strings, which React
renders as text, never as HTML.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import dash_bootstrap_components as dbc
import polars as pl
from dash import Dash, Input, Output, State, dcc, html
from sqlalchemy import Engine

from dashboards.context import database_engine
from dashboards.i18n import code_label, format_date, text
from dashboards.view_state import ViewState, view_from_query, view_from_search
from queries.status import DataStatus, data_status, organisation_register

ROUTER_LOCATION = "_pages_location"  # the dcc.Location Dash Pages routes on; writing its search navigates


@dataclass(frozen=True)
class Page:
    key: str
    path: str  # a Dash Pages path, or a path template such as "/indicator/<indicator_id>"
    title_key: str
    in_navigation: bool = True


PAGES: tuple[Page, ...] = (
    Page("home", "/", "page_home"),
    Page("overview", "/mijn-organisatie", "page_overview"),
    Page("indicator", "/indicator/<indicator_id>", "page_indicator", in_navigation=False),
    Page("compare", "/vergelijken", "page_compare"),
    Page("data_quality", "/datakwaliteit", "page_data_quality"),
    Page("definitions", "/definities", "page_definitions"),
)
PAGE_BY_KEY = {page.key: page for page in PAGES}


@dataclass(frozen=True)
class PageContext:
    """What every page needs besides the view: the database, the published version, the organisations."""

    engine: Engine
    status: DataStatus | None
    register: pl.DataFrame

    def organisation_name(self, org_code: str | None) -> str:
        match = self.register.filter(pl.col("org_code") == org_code)
        return match["name"][0] if match.height else (org_code or "—")

    def organisation_type(self, org_code: str | None) -> str | None:
        match = self.register.filter(pl.col("org_code") == org_code)
        return match["org_type"][0] if match.height else None


def default_organisation(register: pl.DataFrame) -> str | None:
    """Until login exists the demo admin starts at the first hospital (else the first organisation)."""
    hospitals = register.filter(pl.col("org_type") == "hospital")
    chosen = hospitals if hospitals.height else register
    return chosen["org_code"][0] if chosen.height else None


def render_page(page_key: str, query: dict, build_content: Callable[[ViewState, PageContext], list],
                path: str | None = None, title: str | None = None) -> html.Div:
    """A page: the shared frame around the content that `build_content(view, context)` returns.

    `path` is the page's actual path when its route is a template (the language switch links to it);
    `title` replaces the page's generic title (e.g. the indicator's name on the detail page).
    """
    engine = database_engine()
    context = PageContext(engine=engine, status=data_status(engine), register=organisation_register(engine))
    view = view_from_query(query)
    if view.org_code not in set(context.register["org_code"]):
        view = view.with_changes(org_code=default_organisation(context.register))
    page = PAGE_BY_KEY[page_key]
    title = title or text(page.title_key, view.language)
    return html.Div(
        [
            dcc.Store(id="view-meta", data={"lang": view.language, "title": f"{title} · perispiegel"}),
            html.A(text("skip_to_content", view.language), href="#main-content", className="skip-link"),
            header(page, view, context, path),
            html.Main(
                dbc.Container([html.H1(title, className="page-title"), *build_content(view, context)]),
                id="main-content",
                tabIndex="-1",
            ),
            html.Footer(dbc.Container(text("footer", view.language)), className="site-footer"),
        ],
        lang=view.language,
    )


def header(page: Page, view: ViewState, context: PageContext, path: str | None = None) -> html.Header:
    language = view.language
    other_language = "en" if language == "nl" else "nl"
    options = [
        {"label": f"{name} — {code_label('org_type', org_type, language)}", "value": code}
        for code, name, org_type in context.register.select("org_code", "name", "org_type").iter_rows()
    ]
    return html.Header(
        [
            dbc.Container(
                [
                    html.Div(
                        [
                            html.Span("perispiegel", className="brand-name"),
                            html.Span(text("tagline", language), className="brand-tagline"),
                        ],
                        className="brand",
                    ),
                    html.Div(
                        [
                            html.Span(f"{text('viewer', language)}: ", className="label"),
                            html.Span(text("demo_admin", language), id="viewer"),
                        ],
                        className="viewer",
                    ),
                    html.Div(
                        [
                            html.Label(text("organisation", language), htmlFor="org-select", className="label"),
                            dbc.Select(id="org-select", options=options, value=view.org_code,
                                       className="org-select", disabled=not options),
                        ],
                        className="org-choice",
                    ),
                    data_version_notice(context.status, language),
                    dcc.Link(
                        html.Span(text("language_switch", language), lang=other_language),
                        href=(path or page.path) + view.with_changes(language=other_language).query_string(),
                        id="language-switch",
                        title=text("language_switch_label", language),
                        className="language-switch",
                    ),
                ],
                className="header-bar",
            ),
            html.Nav(
                dbc.Container(
                    html.Ul(
                        [
                            html.Li(
                                dcc.Link(
                                    text(target.title_key, language),
                                    href=target.path + view.query_string(),
                                    className="nav-link active" if target.key == page.key else "nav-link",
                                    id=f"nav-{target.key}",
                                )
                            )
                            for target in PAGES if target.in_navigation
                        ],
                        className="nav",
                    )
                ),
                **{"aria-label": text("main_navigation", language)},
                className="site-nav",
            ),
        ],
        className="site-header",
    )


def data_version_notice(status: DataStatus | None, language: str) -> html.Div:
    if status is None:
        return html.Div(with_code(text("no_data", language)), id="data-version", className="data-version missing",
                        role="status")
    return html.Div(
        [
            html.Span(f"{text('data_version', language)} "),
            html.Strong(status.label, id="data-version-label"),
            html.Span(f" · {text('refreshed', language)} {format_date(status.published_at, language)}"),
        ],
        id="data-version",
        className="data-version",
    )


def with_code(message: str) -> list:
    """Text with `backticked` parts shown as code."""
    parts = message.split("`")
    return [html.Code(part) if index % 2 else part for index, part in enumerate(parts) if part]


def nowrap(value: str) -> html.Span:
    """A value that must not break over lines (file names, dates)."""
    return html.Span(value, className="text-nowrap")


def section(title: str, *children, section_id: str | None = None) -> html.Section:
    heading_id = f"{section_id}-heading" if section_id else None
    props = {"id": section_id} if section_id else {}
    if heading_id:
        props["aria-labelledby"] = heading_id
    return html.Section([html.H2(title, id=heading_id), *children], className="page-section", **props)


def data_table(caption: str, headers: Sequence[str], rows: Sequence[Sequence[object]],
               numeric_columns: Sequence[int] = (), table_id: str | None = None,
               footer: Sequence[object] | None = None) -> html.Table:
    """A plain, accessible table: caption, column headers with scope, numbers right-aligned.

    Cells are strings or components; strings are rendered as text.
    """
    numeric = set(numeric_columns)

    def cell_class(index: int) -> str:
        return "text-end numeric" if index in numeric else ""

    body = [html.Tr([html.Td(value, className=cell_class(i)) for i, value in enumerate(row)]) for row in rows]
    parts = [
        html.Caption(caption, className="visually-hidden"),  # the section heading shows it
        html.Thead(html.Tr([html.Th(h, scope="col", className=cell_class(i)) for i, h in enumerate(headers)])),
        html.Tbody(body),
    ]
    if footer is not None:
        parts.append(html.Tfoot(html.Tr([html.Th(value, scope="row", className=cell_class(0))
                                         if i == 0 else html.Td(value, className=cell_class(i))
                                         for i, value in enumerate(footer)])))
    props = {"id": table_id} if table_id else {}
    return html.Table(parts, className="table table-sm table-striped data-table", **props)


def register_frame_callbacks(app: Dash) -> None:
    """The header's organisation choice writes the URL; the document language and title follow the view."""

    @app.callback(
        Output(ROUTER_LOCATION, "search", allow_duplicate=True),
        Input("org-select", "value"),
        State(ROUTER_LOCATION, "search"),
        prevent_initial_call=True,
    )
    def choose_organisation(org_code: str | None, search: str | None) -> str:
        return view_from_search(search).with_changes(org_code=org_code).query_string()

    # Dash Pages sets document.title from its own store in the same round; defer so the translated title wins.
    app.clientside_callback(
        """
        function(meta) {
            if (!meta) { return window.dash_clientside.no_update; }
            document.documentElement.lang = meta.lang;
            setTimeout(function () { document.title = meta.title; }, 0);
            return meta.lang;
        }
        """,
        Output("document-language", "children"),
        Input("view-meta", "data"),
    )

