"""Start page: which data version is published, and the national counts per year of birth."""

from __future__ import annotations

import dash
from dash import html

from dashboards.layout import PageContext, data_table, render_page, section, with_code
from dashboards.view_state import ViewState
from queries.status import counts_per_year
from texts import text
from texts.formatting import format_date, format_month, format_number


def layout(**query: object) -> html.Div:
    return render_page("home", query, content)


dash.register_page(__name__, path="/", name="home", order=0, layout=layout)


def content(view: ViewState, context: PageContext) -> list:
    language = view.language
    status = context.status
    if status is None:
        return [html.P(with_code(text("no_data", language)), className="lead", id="empty-state")]
    counts = counts_per_year(context.engine)
    number_columns = ("births", "records_read", "records_accepted", "records_rejected", "records_objected")
    rows = [
        [str(row["year"]), *(format_number(row[name], language) for name in number_columns)]
        for row in counts.iter_rows(named=True)
    ]
    totals = [text("total", language), *(format_number(counts[name].sum(), language) for name in number_columns)]
    facts = [
        (text("data_version", language), status.label),
        (text("refreshed", language).capitalize(), format_date(status.published_at, language)),
        (text("period", language), f"{format_month(status.period_from, language)} – "
                                    f"{format_month(status.period_to, language)}"),
        (text("births_in_version", language), format_number(status.births, language)),
    ]
    return [
        html.P(text("home_intro", language), className="lead"),
        html.Dl([part for term, value in facts for part in (html.Dt(term), html.Dd(value))],
                className="facts", id="version-facts"),
        section(
            text("counts_per_year", language),
            data_table(
                text("counts_per_year", language),
                [text("year", language), text("births", language), text("records_read", language),
                 text("records_accepted", language), text("records_rejected", language),
                 text("records_objected", language)],
                rows,
                numeric_columns=range(1, 6),
                table_id="counts-per-year",
                footer=totals,
            ),
            section_id="counts",
        ),
    ]
