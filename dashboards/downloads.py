""""Download these figures": links to the export question's files (CSV, Excel, Parquet) for what a table or chart
shows, on every page that shows figures, and the export page's own links; the overview's link to the meeting report
(`GET /api/v1/report`, reports/).

A link is a plain address of the API's `GET /api/v1/export` (the same question, the same rules, the same audit log
as any API client's): the server decides what the user may see, never the page. The browser's script
(assets/perispiegel.js, `a.export-link`) fetches the file itself to show its progress after a second, then saves
it under the name the server gives (`Content-Disposition`).
"""

from __future__ import annotations

from urllib.parse import urlencode

from dash import html

from auth.session import API_PREFIX
from dashboards.view_state import ViewState
from exports import FORMATS
from texts import code_label, text

EXPORT_ADDRESS = f"{API_PREFIX}export"
REPORT_ADDRESS = f"{API_PREFIX}report"


def export_address(view: ViewState, file_format: str, **question: str | list[str] | None) -> str:
    """The API address of the export of `question` (indicator, level, org, dimension, grain, overdispersion;
    lists comma-separated) for the view's target group and language, as `file_format`."""
    pairs: list[tuple[str, str]] = []
    for name, value in question.items():
        if isinstance(value, list | tuple):
            value = ",".join(value)
        if value:
            pairs.append((name, value))
    pairs += list(view.filters.as_params().items())
    pairs += [("lang", view.language), ("format", file_format)]
    return f"{EXPORT_ADDRESS}?{urlencode(pairs, safe='.,')}"


def download_links(view: ViewState, element_id: str, **question: str | list[str] | None) -> html.Div:
    """"Download these figures: CSV · Excel · Parquet" for `question` (see `export_address`)."""
    language = view.language
    links: list = []
    # The script fills in the placeholders as the file arrives.
    busy = text("export_busy", language, megabytes="{megabytes}", seconds="{seconds}")
    failed = text("export_failed", language, message="{message}")
    for file_format in FORMATS:
        if links:
            links.append(" · ")
        links.append(html.A(code_label("export_format", file_format, language),
                            href=export_address(view, file_format, **question), className="export-link",
                            id=f"{element_id}-{file_format}", download="",
                            **{"data-busy": busy, "data-failed": failed}))
    return html.Div([html.Span(text("download_figures", language) + ": "), *links,
                     html.Span(className="export-progress", role="status", **{"aria-live": "polite"})],
                    className="download-links", id=element_id)


def report_address(view: ViewState, org_code: str, overdispersion: str, file_format: str = "pdf") -> str:
    """The API address of the meeting report (`GET /api/v1/report`) of `org_code` for the view's language and target
    group, judged as the page judges (`overdispersion`)."""
    pairs = [("org", org_code), *view.filters.as_params().items(), ("overdispersion", overdispersion),
             ("lang", view.language), ("format", file_format)]
    return f"{REPORT_ADDRESS}?{urlencode(pairs, safe='.,')}"


def report_links(view: ViewState, org_code: str, overdispersion: str) -> html.Div:
    """"Vergaderrapport (PDF) · als webpagina": the meeting report of what the overview shows, one click away. Plain
    links: the server refuses an organisation the user may not see, whatever the address says."""
    language = view.language
    # Fetched by the browser's script as an export is (`a.export-link`): a report with many charts takes seconds to
    # make the first time, and the page says it is being made.
    busy = text("report.busy", language, seconds="{seconds}")
    failed = text("report.failed", language, message="{message}")
    return html.Div([
        html.A(text("report.link", language), href=report_address(view, org_code, overdispersion),
               id="overview-report-link", className="btn btn-outline-primary btn-sm report-link export-link",
               download="", **{"data-busy": busy, "data-failed": failed}),
        " · ",
        html.A(text("report.link_html", language), href=report_address(view, org_code, overdispersion, "html"),
               id="overview-report-html-link", target="_blank", rel="noopener"),
        html.Span(className="export-progress", role="status", **{"aria-live": "polite"}),
        html.P(text("report.link_help", language), className="chart-note"),
    ], className="report-links", id="overview-report")
