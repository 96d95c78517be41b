"""A meeting report (queries.meeting_report.MeetingReport) as one HTML document with inline SVG charts, and that
document as an A4 PDF (WeasyPrint: CSS paged media gives the page breaks, the landscape page of the wide table and
"pagina 3 van 12"; docs/architecture.md says why this route).

Every figure is a cell of the engine's answers, written as the pages write it (wording/); every text is a
key of texts/ (the template's too, `texts.template_functions`).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import jinja2
from markupsafe import Markup

from queries.filters import parse_filters
from queries.meeting_report import MeetingReport
from reports import charts
from reports.wording import VERDICT_COLOURS, VERDICT_SYMBOLS, VERDICTS, disclosure_notes
from texts import code_label, template_functions, text
from texts.formatting import format_datetime, format_month, format_number, format_rate
from wording.figures import (
    alerts_line,
    counts_text,
    indicator_name,
    judged_against,
    method_line,
    rate_text,
    verdict_key,
    verdict_text,
)
from wording.provisional import provisional_lines
from wording.target_group import selection_texts

TEMPLATES = Path(__file__).resolve().parent / "templates"
_ENVIRONMENT = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                                  undefined=jinja2.StrictUndefined)


@dataclass(frozen=True)
class Column:
    """One organisation of the indicator table: its label and its cell per indicator."""

    label: str
    cells: dict[str, dict | None]


def _css_string(value: str) -> str:
    """A CSS string literal of `value` (for `content:` in the page margins)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def _svg_labelled(svg: str, label: str) -> Markup:
    """An SVG chart as an image of the document, named for assistive technology by `label` (its caption says the
    same in full). An image rather than inline: WeasyPrint then keeps the chart's tens of thousands of nodes out of
    the document's style cascade, which makes a report with many charts about 40% quicker to lay out; it is drawn as
    the same vector graphics with its text as text."""
    encoded = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return Markup(f'<img class="chart-svg" alt="{Markup.escape(label)}" src="data:image/svg+xml;base64,{encoded}">')


def columns_of(report: MeetingReport, language: str) -> list[Column]:
    """The organisations side by side: the subject, its VSV (for a hospital or practice), every member (for a
    VSV), national."""
    rows = report.overview["rows"]
    columns = [Column(report.org_name, {row["indicator"]["id"]: row["organisation"] for row in rows})]
    if report.org_type != "vsv" and any(row.get("vsv") for row in rows):
        label = next(row["vsv"]["label"] for row in rows if row.get("vsv"))
        columns.append(Column(f"{text('vsv', language)}: {label}",
                              {row["indicator"]["id"]: row.get("vsv") for row in rows}))
    for member in report.members:
        columns.append(Column(f"{member.name} ({code_label('org_type', member.org_type, language)})",
                              {row["indicator"]["id"]: row["organisation"] for row in member.overview["rows"]}))
    columns.append(Column(text("national", language), {row["indicator"]["id"]: row["national"] for row in rows}))
    return columns


def _table_cell(cell: dict | None, indicator: dict, report: MeetingReport, language: str) -> dict:
    judged = bool(cell and cell.get("verdict"))
    key = verdict_key(cell)
    rate = rate_text(cell, indicator["unit"], language, report.minimum)
    counts = counts_text(cell, language, bool(indicator.get("woman_level"))) if cell else ""
    return {"rate": rate,
            "counts": "" if counts == rate else counts,  # a withheld figure's reason once, not under itself again
            "verdict": code_label("verdict", key, language) if judged else "",
            "flag": code_label("flag", cell["flag"], language) if judged and cell and cell.get("flag") else "",
            "symbol": VERDICT_SYMBOLS[key], "colour": VERDICT_COLOURS[key]}


def _alerts_row(label: str, alerts: dict | None, language: str) -> dict:
    alerts = alerts or {}
    return {"label": label, "judged": format_number(alerts.get("judged"), language),
            "alerts": format_number(alerts.get("alerts"), language),
            "alarms": format_number(alerts.get("alarms"), language),
            "expected": text("report.expected_value", language,
                             alerts=format_number(alerts.get("expected_alerts"), language, 1),
                             alarms=format_number(alerts.get("expected_alarms"), language, 2))}


def _judgement_lines(report: MeetingReport, language: str) -> list[str]:
    """The overview's judgement lines (how the verdicts were made, alerts against chance), in the same words."""
    alerts = report.overview.get("alerts")
    if not alerts:
        return []
    return [method_line(alerts, report.org_type, report.overdispersion, language), alerts_line(alerts, language)]


def _spine(report: MeetingReport, language: str) -> dict | None:
    """The subject's spine chart (every judged indicator with a standardised position) and its summary."""
    organisations = code_label("org_type_plural", report.org_type, language)
    rows, outside = [], []
    for row in report.overview["rows"]:
        cell = row["organisation"]
        if not cell or not cell.get("verdict") or cell.get("standardised") is None:
            continue
        name = indicator_name(row["indicator"], language)
        rows.append({"label": name, "standardised": cell["standardised"], "verdict": verdict_key(cell)})
        if cell.get("flag"):
            outside.append(f"{name} ({verdict_text(cell, language)})")
    if not rows:
        return None
    title = text("spine_title", language, organisation=report.org_name, organisations=organisations)
    summary = text("spine_summary", language, count=format_number(len(rows), language),
                   organisation=report.org_name, organisations=organisations,
                   outside="; ".join(outside) if outside else text("spine_none_outside", language))
    return {"svg": _svg_labelled(charts.spine_svg(rows, title, language), title), "summary": summary}


def _flagged(report: MeetingReport, language: str) -> list[dict]:
    items = []
    for item in report.flagged:
        indicator, cell = item.indicator, item.cell
        unit = indicator["unit"]
        name = indicator_name(indicator, language)
        verdict = verdict_text(cell, language)
        grain = code_label("grain", report.grain, language)
        trend_caption = (text("report.trend_caption", language, indicator=name, organisation=item.label, grain=grain)
                         if charts.national_shown(item.trend) else
                         text("report.trend_caption_without_national", language, indicator=name,
                              organisation=item.label, grain=grain))
        funnel_caption = text("report.funnel_caption", language, indicator=name, organisation=item.label,
                              rate=format_rate(cell.get("rate"), unit, language),
                              counts=counts_text(cell, language, bool(indicator.get("woman_level"))),
                              organisations=code_label("comparator_group", item.org_type, language))
        if not item.funnel.get("limits"):  # beside fewer than five peers the engine gives no limits
            funnel_caption += " " + text("funnel_few_peers", language,
                                         comparator=code_label("comparator_group", item.org_type, language))
        items.append({
            "heading": text("report.flagged_item", language, indicator=name, organisation=item.label),
            "verdict": verdict, "comparator": judged_against(cell, unit, language),
            "trend_svg": _svg_labelled(charts.trend_svg(item.trend, unit, item.label, language), trend_caption),
            "trend_caption": trend_caption,
            "funnel_svg": _svg_labelled(charts.funnel_svg(item.funnel, unit, item.org_code, item.label, language),
                                        funnel_caption),
            "funnel_caption": funnel_caption})
    return items


def report_html(report: MeetingReport, language: str, generated_by: str, generated_at: datetime) -> str:
    """The report as one HTML document (A4 pages when printed or made a PDF; a readable page on screen)."""
    columns = columns_of(report, language)
    table_rows = [{"name": indicator_name(indicator, language),
                   "cells": [_table_cell(column.cells.get(indicator["id"]), indicator, report, language)
                             for column in columns]} for indicator in report.indicators]
    alert_rows = [_alerts_row(report.org_name, report.overview.get("alerts"), language)]
    alert_rows += [_alerts_row(column.label, member.overview.get("alerts"), language)
                   for column, member in zip(columns[1:], report.members, strict=False)]
    cells = [cell for column in columns for cell in column.cells.values()]
    cells += [row for item in report.flagged for row in item.funnel["rows"]]
    cells += [point for item in report.flagged for series in item.trend["series"] for point in series["points"]]
    version = report.data_version
    published = version.get("published_at")
    data_version = text("report.data_version_value", language, label=version["label"],
                        number=format_number(version["number"], language),
                        published=format_datetime(datetime.fromisoformat(published), language) if published else "—")
    footer = f"perispiegel · {report.org_name} · {version['label']}"
    page_number = text("report.page_number", language, page='" counter(page) "', pages='" counter(pages) "')
    template = _ENVIRONMENT.get_template("report/meeting.html")
    return template.render(
        **template_functions(language), language=language, report=report, generated_by=generated_by,
        generated_at=format_datetime(generated_at, language),  # in the Netherlands, with its zone
        period=f"{format_month(report.period_from, language)} – {format_month(report.period_to, language)}",
        target_group="; ".join(selection_texts(parse_filters(report.filters).selections, language))
        or text("report.all_births", language),
        data_version=data_version, judgement_lines=_judgement_lines(report, language),
        # The provisional months of the organisations' figures (as the overview page says them), on the summary page.
        provisional=provisional_lines([(column.label, cell) for column in columns for cell in column.cells.values()],
                                      language),
        spine=_spine(report, language), alert_rows=alert_rows, columns=columns, table_rows=table_rows,
        legend=[{"symbol": VERDICT_SYMBOLS[key], "colour": VERDICT_COLOURS[key],
                 "words": code_label("verdict", key, language)} for key in VERDICTS],
        flagged=_flagged(report, language),
        definitions=[{"name": indicator_name(indicator, language),
                      "definition": code_label("indicator_definition", indicator["id"], language)}
                     for indicator in report.indicators],
        notes=disclosure_notes(cells, language),
        page_number_css=Markup(f'"{page_number}"'), footer_css=Markup(_css_string(footer)))


def report_pdf(html: str) -> bytes:
    """The HTML document as an A4 PDF (WeasyPrint; SVG charts stay vector graphics, their text stays text)."""
    import weasyprint  # imported when a PDF is made: a server that only answers JSON never loads it

    pdf = weasyprint.HTML(string=html, base_url=str(TEMPLATES)).write_pdf()
    if pdf is None:
        raise RuntimeError("WeasyPrint wrote no PDF")
    return bytes(pdf)
