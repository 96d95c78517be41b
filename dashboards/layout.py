"""The frame every page shares — header (logged-in user, organisation, data version, language), navigation, main
landmark, footer — its callbacks, and small building blocks (tables, sections) that pages compose.

The pages register themselves with Dash Pages (dashboards/pages/); the navigation is built from `dash.page_registry`
(`navigation_pages`), and links to another page name it (`page_path`). Which organisation a page shows is decided
on the server for the logged-in user (`shown_organisation`, through `auth.permitted_organisations()`), the same way
for the page and for each of its callbacks (dashboards/indicator_access.py); the header offers only organisations
the user may choose.

Everything is rendered from the view state in the URL; the frame's callbacks write a new URL (organisation) or
follow the `view-search` store that the filter panel updates in place (links). They run in the browser
(assets/perispiegel.js), with the constants they need as data in the app frame's store (`frame_constants`), and
are declared here as Dash hooks, which Dash adds to every app it creates in the process (`dash.callback` would
reach only the first app to serve a request).
Text from the data (organisation names, messages) is passed to components as plain strings, which React
renders as text, never as HTML. The page heading (`h1.page-title`) takes focus after navigation within the app
(assets/perispiegel.js); how the frame prints: assets/print.css.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import dash
import dash_bootstrap_components as dbc
import polars as pl
from dash import MATCH, Input, Output, State, dcc, hooks, html
from sqlalchemy import Engine

import auth
from auth.users import User
from dashboards.charts import CHART_TABLE
from dashboards.clientside import FRAME_CONSTANTS, VIEW_SEARCH, clientside
from dashboards.context import database_engine
from dashboards.filters import filter_constants
from dashboards.view_state import ViewState, view_from_query, within_data
from queries.filters import DIMENSIONS, FILTER_PARAMETERS, PERIOD_PARAMETER, PeriodOutsideData
from queries.scope import Viewer
from queries.status import DataStatus, data_status, organisation_register
from texts import DEFAULT_LANGUAGE, code_label, code_parts, text
from texts.formatting import format_date, format_month

ROUTER_LOCATION = "_pages_location"  # the dcc.Location Dash Pages routes on; writing its search navigates
NATIONAL_CHOICE = "*"  # the dropdown's "national view" (a researcher's own view): no organisation in the URL


def registered_page(name: str) -> dict:
    """The page that registered itself under `name` (`dash.register_page(__name__, name=...)` in its module)."""
    for page in dash.page_registry.values():
        if page["name"] == name:
            return page
    raise KeyError(f"no page registered as {name!r}")


def page_path(name: str, **variables: str) -> str:
    """The path of page `name`, with its path template's variables filled in (`indicator_id=...`)."""
    page = registered_page(name)
    path = page["path_template"] or page["path"]
    for variable, value in variables.items():
        path = path.replace(f"<{variable}>", value)
    return path


NOT_FOUND_PAGE = "not_found"  # the page Dash Pages shows for a path no page has (dashboards/pages/not_found_404.py)


def page_found(path: str) -> bool:
    """Whether `path` shows one of perispiegel's pages (not the "page not found" page): a page's path, or its path
    template with variables the page knows (a page may register `known=callable(**variables) -> bool`, as the
    indicator page does for its indicator id). The server answers any other path with status 404 (app.py).

    The same match as Dash Pages' router (`dash._pages._path_to_page`): slashes at either end do not count.
    """
    wanted = path.strip("/")
    for page in dash.page_registry.values():
        if page["name"] == NOT_FOUND_PAGE:
            continue
        template = page.get("path_template")
        if template:
            names = re.findall(r"<(\w+)>", template)
            pattern = re.escape(template.strip("/"))
            for name in names:
                pattern = pattern.replace(re.escape(f"<{name}>"), "([^/]+)")
            match = re.fullmatch(pattern, wanted)
            if match:
                known = page.get("known")
                return known is None or bool(known(**dict(zip(names, match.groups(), strict=True))))
        if wanted == page["path"].strip("/"):
            return True
    return False


def navigation_pages() -> list[dict]:
    """The pages of the header's navigation, in their registered order (a page registered with
    `in_navigation=False`, such as an indicator's detail page, is reached through links only)."""
    return [page for page in dash.page_registry.values() if page.get("in_navigation", True)]


def navigation_link_id(page: dict) -> str:
    return f"nav-{page['name']}"


@dataclass(frozen=True)
class PageContext:
    """What every page needs besides the view: the database, the published version, the organisations, and who
    is looking — the logged-in user, the organisations it may choose (None: all) and its viewer (auth/)."""

    engine: Engine
    status: DataStatus | None
    register: pl.DataFrame
    user: User | None = None
    permitted: list[str] | None = None
    viewer: Viewer | None = None

    def _row(self, org_code: str | None) -> pl.DataFrame:
        return self.register.filter(pl.col("org_code") == org_code) if org_code else self.register.clear()

    def organisation_name(self, org_code: str | None) -> str:
        match = self._row(org_code)
        return match["name"][0] if match.height else (org_code or "—")

    def organisation_type(self, org_code: str | None) -> str | None:
        match = self._row(org_code)
        return match["org_type"][0] if match.height else None

    def choosable(self) -> list[str]:
        """The organisation codes the user may choose in the header, in the register's order for an admin."""
        known = set(self.register["org_code"])
        if self.permitted is None:
            return list(self.register["org_code"])
        return [code for code in self.permitted if code in known]


def default_organisation(register: pl.DataFrame) -> str | None:
    """Where an administrator (who has no organisation of its own) starts: the first hospital, else the first
    organisation."""
    hospitals = register.filter(pl.col("org_type") == "hospital")
    chosen = hospitals if hospitals.height else register
    return chosen["org_code"][0] if chosen.height else None


def shown_organisation(requested: str | None, register: pl.DataFrame) -> str | None:
    """The organisation a page and each of its callbacks show the logged-in user: `requested` (`?org=`, the header's
    choice) when `auth.permitted_organisations()` allows it, else the user's own organisation; an administrator
    without a choice starts at `default_organisation`, a researcher without one gets the national view (None).

    Only a permitted organisation is ever chosen here; the indicator engine checks the viewer again anyway.
    """
    permitted = auth.permitted_organisations()  # 401 without a logged-in user
    known = set(register["org_code"])
    if requested in known and (permitted is None or requested in permitted):
        return requested
    user = auth.current_user()
    if user is not None and user.org_code in known:
        return user.org_code
    if user is not None and user.role == "admin":
        return default_organisation(register)
    return None


def render_page(page_key: str, query: dict, build_content: Callable[[ViewState, PageContext], list],
                path: str | None = None, title: str | None = None) -> html.Div:
    """A page: the shared frame around the content that `build_content(view, context)` returns.

    `path` is the page's actual path when its route is a template (the language switch links to it);
    `title` replaces the page's generic title (e.g. the indicator's name on the detail page).
    """
    engine = database_engine()
    register = organisation_register(engine)
    status = data_status(engine)
    asked = view_from_query(query)
    view = asked.with_changes(org_code=shown_organisation(asked.org_code, register), ignored=())
    view, period_outside = within_data(view, status.period_from if status else None,
                                       status.period_to if status else None)
    context = PageContext(engine=engine, status=status, register=register, user=auth.current_user(),
                          permitted=auth.permitted_organisations(), viewer=auth.current_viewer(view.org_code))
    notices = address_notices(asked, view, period_outside, context)
    page = registered_page(page_key)
    title = title or code_label("page", page["name"], view.language)
    return html.Div(
        [
            # `org` is the organisation shown (`shown_organisation`), which the header's choice compares with;
            # `corrected` the view's own parameters as they should read when the address said something else
            # (the browser writes them into the address: `correctAddress` in assets/perispiegel.js).
            dcc.Store(id="view-meta", data={"lang": view.language, "title": f"{title} · perispiegel",
                                            "org": view.org_code,
                                            "corrected": view.query_string() if notices else None}),
            dcc.Store(id=VIEW_SEARCH, data=view.query_string()),
            html.A(text("skip_to_content", view.language), href="#main-content", className="skip-link"),
            header(page, view, context, path),
            html.Main(
                # The heading takes focus after navigation (assets/perispiegel.js, showDocumentLanguage).
                dbc.Container([html.H1(title, className="page-title", tabIndex="-1"),
                               *address_notice(notices, view.language), *build_content(view, context)]),
                id="main-content",
                tabIndex="-1",
            ),
            html.Footer(dbc.Container(text("footer", view.language)), className="site-footer"),
        ],
        lang=view.language,
    )


def _written_period(first: str, last: str, language: str) -> str:
    return f"{format_month(first, language)} – {format_month(last, language)}"


def address_notices(asked: ViewState, view: ViewState, period_outside: PeriodOutsideData | None,
                    context: PageContext) -> list[str]:
    """What the address asked that the page does not show, in words: an organisation the user may not see (or that
    does not exist), a value a parameter does not take, a period outside the data — each with what is shown instead.
    `asked` is the view as the address wrote it, `view` as shown. Empty when the page shows what the address says.
    """
    language = view.language
    notices = []
    requested_org = asked.org_code or next((item.value for item in asked.ignored if item.parameter == "org"), None)
    if requested_org is not None and requested_org != view.org_code:
        shown = (f"{context.organisation_name(view.org_code)} ({view.org_code})" if view.org_code
                 else text("addresses.national_view", language))
        notices.append(text("addresses.organisation_refused", language, requested=requested_org, shown=shown))
    for item in asked.ignored:
        if item.parameter == "org":
            continue
        if item.parameter == PERIOD_PARAMETER:
            notices.append(text("addresses.period_ignored", language, value=item.value))
        else:
            notices.append(text("addresses.value_ignored", language, value=item.value,
                                parameter=DIMENSIONS[item.parameter].label(language)))
    if period_outside is not None:
        data = {"first": format_month(period_outside.data_from, language),
                "last": format_month(period_outside.data_to, language),
                "period": _written_period(*period_outside.requested, language)}
        if period_outside.kept is None:
            notices.append(text("addresses.no_data_in_period", language, **data))
        else:
            notices.append(text("addresses.period_cut", language, kept=_written_period(*period_outside.kept, language),
                                **data))
    return notices


def address_notice(notices: list[str], language: str) -> list:
    """The notices of `address_notices` at the top of the page (a status message: read out, not interrupting), and
    once that the address now says what the page shows."""
    if not notices:
        return []
    return [html.Div([*(html.P(notice) for notice in notices), html.P(text("addresses.corrected", language))],
                     id="address-notices", role="status", className="address-notices")]


def header(page: dict, view: ViewState, context: PageContext, path: str | None = None) -> html.Header:
    language = view.language
    other_language = "en" if language == "nl" else "nl"
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
                    user_menu(context.user, language),
                    organisation_choice(view, context),
                    data_version_notice(context.status, language),
                    dcc.Link(
                        html.Span(text("language_switch", language), lang=other_language),
                        href=(path or page["path"]) + view.with_changes(language=other_language).query_string(),
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
                                    code_label("page", target["name"], language),
                                    href=target["path"] + view.query_string(),
                                    className="nav-link active" if target["name"] == page["name"] else "nav-link",
                                    id=navigation_link_id(target),
                                )
                            )
                            for target in navigation_pages()
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


def user_menu(user: User | None, language: str) -> html.Div:
    """Who is logged in (name and role) with the links to the account, administration (an admin's: users and the
    registry console) and logout pages (plain links: those pages are the server's, not Dash pages)."""
    if user is None:
        return html.Div(className="viewer")
    links = [html.A(text("my_account", language), href="/account", id="account-link")]
    if user.role == "admin":
        links.append(html.A(text("administration", language), href="/admin", id="admin-link"))
        links.append(html.A(text("registry.console_link", language), href="/admin/registry", id="registry-link"))
    links.append(html.A(text("log_out", language), href="/logout", id="logout-link"))
    return html.Div(
        [
            html.Span(f"{text('viewer', language)}: ", className="label"),
            html.Span(f"{user.display_name} ({code_label('role', user.role, language)})", id="viewer"),
            html.Span(links, className="viewer-links"),
        ],
        className="viewer",
    )


def organisation_choice(view: ViewState, context: PageContext) -> html.Div:
    """The organisations the user may choose (admin: all; others: own, VSV members and granted ones). With nothing
    to choose, the organisation shown (or "national view") as text."""
    language = view.language
    codes = context.choosable()
    wanted = set(codes) | {view.org_code}
    labels = {code: f"{name} — {code_label('org_type', org_type, language)}"
              for code, name, org_type in context.register.select("org_code", "name", "org_type").iter_rows()
              if code in wanted}
    options = [{"label": labels[code], "value": code} for code in codes]
    if context.user is not None and context.user.role == "researcher" and options:
        # A researcher's own view is the national one; granted organisations are extra choices.
        options.insert(0, {"label": text("national_view", language), "value": NATIONAL_CHOICE})
    if len(options) > 1:
        control = [html.Label(text("organisation", language), htmlFor="org-select", className="label"),
                   dbc.Select(id="org-select", options=options, value=view.org_code or NATIONAL_CHOICE,
                              className="org-select")]
    else:
        shown = labels.get(view.org_code or "", text("national_view", language))
        control = [html.Span(f"{text('organisation', language)}: ", className="label"),
                   html.Strong(shown, id="org-fixed")]
    return html.Div(control, className="org-choice")


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


def counted_terms(definition: dict, language: str, none: str | None = None) -> list[tuple[str, str]]:
    """What an indicator (`Indicator.as_dict()`) counts, in words: its numerator, denominator and exclusions
    (`code.indicator_numerator` etc.; the conditions on the columns are for docs/indicators.md and the API). Without
    exclusions, none are listed, or `none` is given as their value."""
    indicator_id = definition["id"]
    terms = [(text("numerator", language), code_label("indicator_numerator", indicator_id, language)),
             (text("denominator", language), code_label("indicator_denominator", indicator_id, language))]
    if definition["exclusions"]:
        terms.append((text("exclusions", language), code_label("indicator_exclusions", indicator_id, language)))
    elif none is not None:
        terms.append((text("exclusions", language), none))
    return terms


def with_code(message: str) -> list:
    """Text with `backticked` parts shown as code (`texts.code_parts`)."""
    return [html.Code(part) if is_code else part for part, is_code in code_parts(message)]


def nowrap(value: str) -> html.Span:
    """A value that must not break over lines (file names, dates)."""
    return html.Span(value, className="text-nowrap")


def viewing_as_note(view: ViewState, context: PageContext, element_id: str) -> html.P:
    """What the logged-in user sees by name here, by the role of its viewer (auth.current_viewer)."""
    role = context.viewer.role if context.viewer else "researcher"
    return html.P(code_label("viewing_as", role, view.language, name=context.organisation_name(view.org_code)),
                  className="viewing-as", id=element_id)


def organisation_heading(view: ViewState, context: PageContext, element_id: str) -> html.P:
    """The organisation the page shows, with its code; "Landelijk beeld" when it shows national figures."""
    if not view.org_code:
        return html.P(text("national_view", view.language), id=element_id)
    return html.P([html.Strong(context.organisation_name(view.org_code)), f" ({view.org_code})"], id=element_id)


def loading(child: object) -> dcc.Loading:
    """`child` with the pages' loading indicator: shown only after 300 ms, over the old content (kept visible)."""
    return dcc.Loading(child, type="dot", delay_show=300, overlay_style={"visibility": "visible", "opacity": 0.5})


def section(title: str, *children, section_id: str | None = None) -> html.Section:
    heading_id = f"{section_id}-heading" if section_id else None
    props = {"id": section_id} if section_id else {}
    if heading_id:
        props["aria-labelledby"] = heading_id
    return html.Section([html.H2(title, id=heading_id), *children], className="page-section", **props)


def table_data(caption: str, headers: Sequence[str], rows: Sequence[Sequence[str]], numeric_columns: Sequence[int] = (),
               table_id: str | None = None, notes: Sequence[str] = ()) -> dict:
    """A table of strings as data, for a table the browser draws itself (`charts.accessible_chart`); the markup
    is that of `data_table`, followed by `notes` (e.g. why others' figures are banded or marked "≈") as
    paragraphs."""
    return {"caption": caption, "headers": list(headers), "rows": [list(row) for row in rows],
            "numeric": list(numeric_columns), "id": table_id, "notes": list(notes)}


def data_table(caption: str, headers: Sequence[str], rows: Sequence[Sequence[object]],
               numeric_columns: Sequence[int] = (), table_id: str | None = None,
               footer: Sequence[object] | None = None) -> html.Div:
    """A plain, accessible table: caption, column headers with scope, numbers right-aligned.

    Cells are strings or components; strings are rendered as text. The table scrolls sideways inside its own box
    when it is wider than the page (numbers do not wrap; a suppressed figure's reason is long), rather than being
    cut off or widening the whole page.
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
    return scroll_box(html.Table(parts, className="table table-sm table-striped data-table", **props), caption)


def scroll_box(table: html.Table, caption: str, class_name: str = "table-scroll") -> html.Div:
    """`table` in a box of its own that scrolls sideways when the table is wider than the page (on a narrow screen
    with the first column pinned, assets/responsive.css), rather than widening the page; `class_name` is the box's
    style (the compare matrix's also keeps its header in view). A box that can scroll is a named region reachable
    from the keyboard (WCAG 2.1.1; axe scrollable-region-focusable)."""
    return html.Div(table, className=class_name, role="region", tabIndex="0", **{"aria-label": caption})


def frame_constants() -> dict:
    """The names and values the browser's scripts share with the server (assets/perispiegel.js reads them from the
    `FRAME_CONSTANTS` store): Python's own tables, so both sides agree on names and values.

    The links that carry the view (navigation, "back to the overview") take only the view's own parameters
    (`view_parameters`): a detail page's grain or breakdown stays on that page."""
    return {
        "view_parameters": ["lang", "org", *FILTER_PARAMETERS],
        "default_language": DEFAULT_LANGUAGE,
        "national_choice": NATIONAL_CHOICE,
        "navigation": [{"id": navigation_link_id(page), "path": page["path"]} for page in navigation_pages()],
        **filter_constants(),
    }


def app_frame() -> html.Div:
    """What every page is drawn into: Dash Pages' container, the document's language (a frame callback sets it)
    and the constants store."""
    return html.Div([dash.page_container, html.Div(id="document-language", hidden=True),
                     html.Div(id="address-correction", hidden=True),
                     dcc.Store(id=FRAME_CONSTANTS, data=frame_constants())])


# The frame's callbacks, for every page: Dash hooks, which Dash adds to every app it creates in this process (see
# the module docstring). The header's organisation choice writes the URL; links, document language and title follow
# the view; a chart's table is drawn when asked for.

# Runs in the browser so that the rest of the address (target group, a detail page's grain or breakdown) is kept as
# it is now, not as the page was first drawn. The server shows only a permitted organisation anyway
# (`shown_organisation`), whatever the address says.
hooks.clientside_callback(
    clientside("chooseOrganisation"),
    Output(ROUTER_LOCATION, "search", allow_duplicate=True),
    Input("org-select", "value"),
    State("view-meta", "data"),
    State(FRAME_CONSTANTS, "data"),
    prevent_initial_call=True,
)

# After "Toepassen" the navigation leads to the same target group; the language switch keeps the whole address.
hooks.clientside_callback(
    clientside("followNavigation"),
    Output("language-switch", "href"),
    Input(VIEW_SEARCH, "data"),
    State(FRAME_CONSTANTS, "data"),
    prevent_initial_call=True,
)

hooks.clientside_callback(
    clientside("showDocumentLanguage"),
    Output("document-language", "children"),
    Input("view-meta", "data"),
)

# An address that asked for something the page does not show (`address_notices`) is replaced by the one it shows,
# so that a copied link or a reload gives the same page and message-free view.
hooks.clientside_callback(
    clientside("correctAddress"),
    Output("address-correction", "children"),
    Input("view-meta", "data"),
    State(FRAME_CONSTANTS, "data"),
)

# Whichever page shows a chart (charts.accessible_chart): its table, drawn when its summary is first opened.
hooks.clientside_callback(
    clientside("drawChartTable"),
    Output({"type": f"{CHART_TABLE}-body", "chart": MATCH}, "children"),
    Input({"type": f"{CHART_TABLE}-summary", "chart": MATCH}, "n_clicks"),
    State({"type": f"{CHART_TABLE}-data", "chart": MATCH}, "data"),
    prevent_initial_call=True,
)


def radio_group(control_id: str, legend: str, options: list[tuple[str, str]], value: str,
                help_text: str | None = None, inline: bool = True) -> html.Fieldset:
    """A page's own choice: a radio group with a visible legend (the accessible name of the group, WCAG 1.3.1)."""
    return html.Fieldset(
        [html.Legend(legend, className="form-label"),
         *([html.P(help_text, className="control-help")] if help_text else []),
         dbc.RadioItems(id=control_id, options=[{"label": label, "value": key} for key, label in options],
                        value=value, inline=inline)],
        className="page-control",
    )


def checklist_group(control_id: str, legend: str, options: list[tuple[str, str]], value: list[str],
                    help_text: str | None = None, columns: bool = False) -> html.Fieldset:
    """A page's own choice of several: checkboxes under a visible legend (as `radio_group`); `columns` lays a long
    list out in columns."""
    return html.Fieldset(
        [html.Legend(legend, className="form-label"),
         *([html.P(help_text, className="control-help")] if help_text else []),
         dbc.Checklist(id=control_id, options=[{"label": label, "value": key} for key, label in options],
                       value=value, className="checklist-columns" if columns else None)],
        className="page-control",
    )
