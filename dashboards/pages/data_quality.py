"""Data quality and deliveries: the registry's feedback to one organisation (issue 4).

Only for an organisation the logged-in user may see by name (provider: own and granted; VSV: own VSV and its
members; admin: any): the page shows the organisation `layout.render_page` chose through
`auth.permitted_organisations()`; a researcher without a granted organisation gets a message instead.

Per delivery the accepted / rejected / objected counts; the rejected records with file, line and dossier
number so the provider can find and fix them in their own system; improvement hints; completeness of the
important fields next to the national figure; and the linkage rate. Messages come from the loader in both
languages and are rendered as text.
"""

from __future__ import annotations

import dash
from dash import html

from contracts.delivery_format import FIELD_BY_NAME
from dashboards.layout import PageContext, data_table, nowrap, render_page, section
from dashboards.view_state import ViewState
from queries.delivery_feedback import (
    completeness_of,
    deliveries_of,
    hint_summary_of,
    linkage_of,
    rejected_records_of,
)
from texts import code_label, text
from texts.formatting import format_datetime, format_month, format_number, format_percent

REJECTED_SHOWN = 200
DELIVERIES_SHOWN = 150  # the newest birth months first; ten years of a VSV's members would be thousands of rows


def layout(**query: object) -> html.Div:
    return render_page("data_quality", query, content)


dash.register_page(__name__, path="/datakwaliteit", name="data_quality", order=4, layout=layout)


def field_label(name: str, language: str) -> str:
    """A delivery field's label in the page's language (`code.field`, as the loader's messages name it: the Kernset
    concept in Dutch); a name that is no delivery field as it is."""
    if name not in FIELD_BY_NAME:
        return name
    return code_label("field", name, language)


def content(view: ViewState, context: PageContext) -> list:
    language = view.language
    org_code = view.org_code
    if org_code is None:
        # No organisation the user may see by name (a researcher): render_page chose it through
        # auth.permitted_organisations, the same rule as the header's dropdown and the indicator callbacks.
        return [html.P(text("dq_not_permitted", language), id="dq-not-permitted", className="lead")]
    parts: list = [
        html.P(text("dq_intro", language), className="lead"),
        html.P([html.Strong(context.organisation_name(org_code)), f" ({org_code})"], id="dq-organisation"),
    ]
    if context.organisation_type(org_code) == "vsv":
        parts.append(html.P(text("dq_members_note", language)))
    return [*parts, deliveries_section(view, context), rejected_section(view, context), hints_section(view, context),
            completeness_section(view, context), linkage_section(view, context)]


def deliveries_section(view: ViewState, context: PageContext) -> html.Section:
    language = view.language
    frame = deliveries_of(context.engine, view.org_code)
    if frame.is_empty():
        return section(text("deliveries", language), html.P(text("no_deliveries", language)),
                       section_id="deliveries")
    message_column = f"message_{language}"
    total = frame.height
    frame = frame.head(DELIVERIES_SHOWN)
    note = []
    if total > frame.height:
        note = [html.P(text("shown_of", language, shown=format_number(frame.height, language),
                            total=format_number(total, language)), id="deliveries-shown-of")]
    rows = [
        [
            html.Span([nowrap(row["file_name"]), *([html.Br(), html.Small(row[message_column])] if row[message_column]
                                           else [])]),
            code_label("discipline", row["discipline"], language),
            format_month(row["month"], language),
            code_label("delivery_status", row["status"], language),
            *(format_number(row[name], language) for name in
              ("records_read", "records_accepted", "records_rejected", "records_objected")),
            nowrap(format_datetime(row["received_at"], language)),
        ]
        for row in frame.iter_rows(named=True)
    ]
    headers = [text("file", language), text("discipline", language), text("month", language),
               text("status", language), text("records_read", language), text("records_accepted", language),
               text("records_rejected", language), text("records_objected", language), text("received", language)]
    return section(text("deliveries", language), *note,
                   data_table(text("deliveries", language), headers, rows, numeric_columns=range(4, 8),
                              table_id="deliveries-table"),
                   section_id="deliveries")


def rejected_section(view: ViewState, context: PageContext) -> html.Section:
    language = view.language
    listing = rejected_records_of(context.engine, view.org_code, limit=REJECTED_SHOWN)
    if listing.total == 0:
        return section(text("rejected_records", language), html.P(text("no_rejections", language)),
                       section_id="rejected")
    rows = [
        [nowrap(row["file_name"]), format_number(row["line_number"], language), row["dossier_id"] or "—",
         row[f"message_{language}"], row["error_codes"]]
        for row in listing.rows.iter_rows(named=True)
    ]
    headers = [text("file", language), text("line", language), text("dossier", language), text("reason", language),
               text("error_codes", language)]
    note = []
    if listing.total > listing.rows.height:
        note = [html.P(text("shown_of", language, shown=format_number(listing.rows.height, language),
                            total=format_number(listing.total, language)))]
    return section(text("rejected_records", language), *note,
                   data_table(text("rejected_records", language), headers, rows, numeric_columns=[1],
                              table_id="rejected-table"),
                   section_id="rejected")


def hints_section(view: ViewState, context: PageContext) -> html.Section:
    language = view.language
    summary = hint_summary_of(context.engine, view.org_code)
    if summary.is_empty():
        return section(text("hints", language), html.P(text("no_hints", language)), section_id="hints")
    rows = [
        [field_label(row["field"], language), code_label("hint_code", row["hint_code"], language),
         format_number(row["hints"], language), format_number(row["dossiers"], language),
         row[f"example_{language}"]]
        for row in summary.iter_rows(named=True)
    ]
    headers = [text("field", language), text("kind", language), text("count", language), text("dossiers", language),
               text("example", language)]
    return section(text("hints", language),
                   data_table(text("hints", language), headers, rows, numeric_columns=[2, 3], table_id="hints-table"),
                   section_id="hints")


def completeness_section(view: ViewState, context: PageContext) -> html.Section:
    language = view.language
    frame = completeness_of(context.engine, view.org_code)
    if frame.is_empty():
        return section(text("completeness", language), html.P(text("no_deliveries", language)),
                       section_id="completeness")
    rows = [
        [code_label("discipline", row["discipline"], language), field_label(row["field"], language),
         f"{format_percent(row['completeness'], language)} "
         f"({format_number(row['filled'], language)} / {format_number(row['records'], language)})",
         format_percent(row["national_completeness"], language)]
        for row in frame.iter_rows(named=True)
    ]
    # The organisation's column by its name (an administrator or a VSV looks at another's, not its own).
    own = context.organisation_name(view.org_code) if view.org_code else text("compare.organisation", language)
    headers = [text("discipline", language), text("field", language), own, text("national", language)]
    return section(text("completeness", language),
                   data_table(text("completeness", language), headers, rows, numeric_columns=[2, 3],
                              table_id="completeness-table"),
                   section_id="completeness")


def linkage_section(view: ViewState, context: PageContext) -> html.Section:
    language = view.language
    frame = linkage_of(context.engine, view.org_code)
    if frame.is_empty():
        return section(text("linkage", language), html.P(text("no_linkage", language)), section_id="linkage")
    rows = [
        [code_label("discipline", row["discipline"], language),
         *(format_number(row[name], language) for name in ("records", "linked", "expected_links",
                                                           "linked_expected")),
         format_percent(row["linkage_rate"], language), format_percent(row["national_linkage_rate"], language)]
        for row in frame.iter_rows(named=True)
    ]
    headers = [text("discipline", language), text("records", language), text("linked", language),
               text("expected_links", language), text("linked_expected", language), text("linkage_rate", language),
               text("national_linkage_rate", language)]
    return section(text("linkage", language), html.P(text("linkage_intro", language)),
                   data_table(text("linkage", language), headers, rows, numeric_columns=range(1, 7),
                              table_id="linkage-table"),
                   section_id="linkage")
