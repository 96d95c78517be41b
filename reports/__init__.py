"""reports — the meeting report (issue 13): an engine's `MeetingReport` (queries/meeting_report.py) as an A4 PDF or
an HTML page, with its charts as SVG, cached per data version.

Public interface:

    reports.FORMATS, reports.MEDIA_TYPES             "pdf" (the default) and "html"
    reports.ReportCache(folder)                      the made reports, as files per data version (reports/cache.py)
    reports.meeting_report_file(build, ...)          -> ReportFile: the stored file, or `build()` made into one
    reports.file_name(org_code, period_from, period_to, data_version, language, file_format)

A layer beside auth/ and exports/: it knows the engine's answers and the texts, never who is logged in (the caller
names who generated the report) nor the pages. The API serves it (`GET /api/v1/report`, api/routes.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from queries.meeting_report import MeetingReport
from reports.cache import ReportCache
from reports.document import report_html, report_pdf
from texts import text

__all__ = ["FORMATS", "MEDIA_TYPES", "ReportCache", "ReportFile", "file_name", "meeting_report_file"]

Format = Literal["pdf", "html"]
FORMATS: tuple[Format, ...] = ("pdf", "html")
MEDIA_TYPES: dict[str, str] = {"pdf": "application/pdf", "html": "text/html; charset=utf-8"}


@dataclass(frozen=True)
class ReportFile:
    """A made report: its bytes, its file name, and whether it came from the cache."""

    content: bytes
    name: str
    media_type: str
    data_version: int
    cached: bool


def file_name(org_code: str, period_from: str | None, period_to: str | None, data_version: int, language: str,
              file_format: Format) -> str:
    """"perispiegel_vergaderrapport_V01_2024-01_2024-12_v3.pdf": organisation, period and data version."""
    return (f"perispiegel_{text('report.file_word', language)}_{org_code}_{period_from or 'begin'}_"
            f"{period_to or 'end'}_v{data_version}.{file_format}")


def meeting_report_file(build: Callable[[], MeetingReport], *, cache: ReportCache | None, question: dict,
                        data_version: dict, file_format: Format, language: str, generated_by: str,
                        generated_at: datetime) -> ReportFile:
    """The report of `question` (org_code, filters, overdispersion) as `file_format` for `generated_by`: the
    stored file of this data version when there is one, else `build()` made into one and stored. `data_version`
    is the published version's info (number, period_from, period_to) the question is asked of."""
    filters = question.get("filters") or {}
    period = str(filters.get("period", "")).split("..")
    period_from = period[0] if period[0] else data_version.get("period_from")
    period_to = period[-1] if period[0] else data_version.get("period_to")
    key = ReportCache.key(**question, language=language, generated_by=generated_by, file_format=file_format)
    number = int(data_version["number"])
    if cache is not None and (stored := cache.get(number, key, file_format)) is not None:
        return ReportFile(stored, file_name(question["org_code"], period_from, period_to, number, language,
                                            file_format), MEDIA_TYPES[file_format], number, cached=True)
    report = build()
    number = int(report.data_version["number"])  # a refresh published in between: the report names its own
    html = report_html(report, language, generated_by, generated_at)
    content = report_pdf(html) if file_format == "pdf" else html.encode()
    if cache is not None:
        cache.put(number, key, file_format, content)
    return ReportFile(content, file_name(question["org_code"], report.period_from, report.period_to, number,
                                         language, file_format), MEDIA_TYPES[file_format], number, cached=False)
