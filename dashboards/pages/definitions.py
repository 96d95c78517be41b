"""Definitions: every indicator's definition, unit, direction and source (from the indicator catalogue), the data
dictionary of the national table in plain words, and the refresh history."""

from __future__ import annotations

import dash
from dash import html

from dashboards.layout import PageContext, counted_terms, data_table, nowrap, render_page, section
from dashboards.view_state import ViewState
from queries.catalogue import INDICATORS
from queries.dictionary import births_dictionary
from queries.status import refresh_history
from texts import code_label, text
from texts.formatting import format_datetime, format_number


def layout(**query: object) -> html.Div:
    return render_page("definitions", query, content)


dash.register_page(__name__, path="/definities", name="definitions", order=5, layout=layout)


def content(view: ViewState, context: PageContext) -> list:
    language = view.language
    return [
        html.P(text("definitions_intro", language), className="lead"),
        indicator_definitions_section(language),
        data_dictionary_section(language),
        refresh_history_section(view, context),
    ]


def indicator_definitions_section(language: str) -> html.Section:
    """One row per catalogue indicator; each name is an anchor (`#indicator-<id>`) the detail pages link to."""
    rows = []
    for indicator in INDICATORS:
        definition = indicator.as_dict()
        terms = counted_terms(definition, language)
        rows.append([
            html.Span([html.Strong(indicator.name(language)), html.Br(), html.Code(definition["id"])],
                      id=f"indicator-{definition['id']}"),
            html.Div([html.P(indicator.definition(language), className="mb-1"),
                      html.Ul([html.Li(f"{term}: {value}") for term, value in terms],
                              className="definition-terms")]),
            definition["unit"],
            code_label("direction", definition["direction"], language),
            text("per_woman", language) if definition["woman_level"] else text("per_child", language),
            definition["source"],
        ])
    headers = [text("indicator", language), text("definition", language), text("unit", language),
               text("direction", language), text("counted_per", language), text("source", language)]
    return section(text("indicators", language), html.P(text("indicator_definitions_intro", language)),
                   data_table(text("indicators", language), headers, rows, table_id="indicator-definitions"),
                   section_id="indicators")


def data_dictionary_section(language: str) -> html.Section:
    # The Dutch registry term comes from the column definitions (queries/dictionary.py), the meaning in the page's
    # language from the texts (`code.births_column`).
    rows = [[entry.term, html.Code(entry.column), code_label("births_column", entry.column, language)]
            for entry in births_dictionary()]
    headers = [text("term", language), text("column", language), text("meaning", language)]
    return section(text("data_dictionary", language), html.P(text("meaning_language_note", language)),
                   data_table(text("data_dictionary", language), headers, rows, table_id="data-dictionary"),
                   section_id="dictionary")


def refresh_history_section(view: ViewState, context: PageContext) -> html.Section:
    language = view.language
    history = refresh_history(context.engine)
    if history.is_empty():
        return section(text("refresh_history", language), html.P(text("no_refreshes", language)),
                       section_id="refreshes")
    rows = [
        [str(row["refresh_id"]), nowrap(format_datetime(row["started_at"], language)),
         nowrap(format_datetime(row["finished_at"], language)), code_label("refresh_status", row["status"], language),
         "—" if row["data_version"] is None else str(row["data_version"]),
         *(format_number(row[name], language) for name in
           ("deliveries", "records_read", "records_accepted", "records_rejected", "records_objected"))]
        for row in history.iter_rows(named=True)
    ]
    headers = [text("refresh", language), text("started", language), text("finished", language),
               text("status", language), text("data_version", language), text("deliveries", language),
               text("records_read", language), text("records_accepted", language), text("records_rejected", language),
               text("records_objected", language)]
    return section(text("refresh_history", language),
                   data_table(text("refresh_history", language), headers, rows, numeric_columns=range(5, 10),
                              table_id="refresh-history"),
                   section_id="refreshes")
