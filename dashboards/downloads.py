""""Download these figures": links to the export question's files (CSV, Excel, Parquet) for what a table or chart
shows, on every page that shows figures, and the export page's own links.

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
