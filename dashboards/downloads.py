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
from texts import text

EXPORT_ADDRESS = f"{API_PREFIX}export"
#: The formats a link offers, with their texts.
FORMAT_TEXTS = (("csv", "export_format_csv"), ("xlsx", "export_format_xlsx"), ("parquet", "export_format_parquet"))


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
    for file_format, key in FORMAT_TEXTS:
        if links:
            links.append(" · ")
        links.append(html.A(text(key, language), href=export_address(view, file_format, **question),
                            className="export-link", id=f"{element_id}-{file_format}", download="",
                            **{"data-busy": text("export_busy", language), "data-failed": text("export_failed",
                                                                                               language)}))
    return html.Div([html.Span(text("download_figures", language) + ": "), *links,
                     html.Span(className="export-progress", role="status", **{"aria-live": "polite"})],
                    className="download-links", id=element_id)
