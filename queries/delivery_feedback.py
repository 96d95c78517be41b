"""Read-only questions behind the registry's feedback to a care organisation: its deliveries, the records that
were rejected and why, the improvement hints, the completeness of important fields and the linkage rate.

For a VSV the answers cover its member organisations (a VSV sends no deliveries itself). Texts coming from
deliveries are returned as stored; the dashboard renders them as text, never as HTML.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl
from polars.datatypes import DataTypeClass
from sqlalchemy import ColumnElement, Engine, Label, RowMapping, Select, func, select

from contracts.delivery_format import FIELDS, Discipline
from queries.status import data_status, organisation_register
from tables.database import as_utc
from tables.schema import deliveries, hints, linkage_summary, records, rejected_records

NATIONAL = "*"  # the org_code of national rows in linkage_summary


def sender_codes(engine: Engine, org_code: str) -> list[str]:
    """The organisations whose deliveries belong to `org_code`: itself, or a VSV's member organisations."""
    register = organisation_register(engine)
    member = (pl.col("vsv_code") == org_code) & (pl.col("org_type") != "vsv")
    own_or_member = (pl.col("org_code") == org_code) | member
    return sorted(register.filter(own_or_member)["org_code"].to_list())


def deliveries_of(engine: Engine, org_code: str) -> pl.DataFrame:
    """Every delivery received from the organisation (or a VSV's members), newest birth month first."""
    query = (
        select(
            deliveries.c.delivery_id,
            deliveries.c.file_name,
            deliveries.c.org_code,
            deliveries.c.discipline,
            deliveries.c.month,
            deliveries.c.resend,
            deliveries.c.status,
            deliveries.c.message_nl,
            deliveries.c.message_en,
            deliveries.c.records_read,
            deliveries.c.records_accepted,
            deliveries.c.records_rejected,
            deliveries.c.records_objected,
            deliveries.c.received_at,
        )
        .where(deliveries.c.org_code.in_(sender_codes(engine, org_code)))
        .order_by(deliveries.c.month.desc(), deliveries.c.file_name)
    )
    with engine.connect() as connection:
        rows = [dict(row) for row in connection.execute(query).mappings()]
    for row in rows:
        row["received_at"] = as_utc(row["received_at"])
    schema: dict[str, pl.DataType | DataTypeClass] = {
        "delivery_id": pl.Int64, "file_name": pl.String, "org_code": pl.String, "discipline": pl.String,
        "month": pl.String, "resend": pl.Int64, "status": pl.String, "message_nl": pl.String,
        "message_en": pl.String, "records_read": pl.Int64, "records_accepted": pl.Int64,
        "records_rejected": pl.Int64, "records_objected": pl.Int64, "received_at": pl.Datetime("us", "UTC"),
    }
    return pl.DataFrame(rows, schema=schema)


@dataclass(frozen=True)
class Listing:
    """The first `rows` of a longer list, and how long the whole list is."""

    rows: pl.DataFrame
    total: int


def rejected_records_of(engine: Engine, org_code: str, limit: int = 200) -> Listing:
    """The rejected records of the organisation's deliveries: file, line, dossier and the readable reason."""
    condition = deliveries.c.org_code.in_(sender_codes(engine, org_code))
    joined = rejected_records.join(deliveries, deliveries.c.delivery_id == rejected_records.c.delivery_id)
    query = (
        select(
            deliveries.c.file_name,
            rejected_records.c.line_number,
            rejected_records.c.dossier_id,
            rejected_records.c.error_codes,
            rejected_records.c.message_nl,
            rejected_records.c.message_en,
        )
        .select_from(joined)
        .where(condition)
        .order_by(deliveries.c.month.desc(), deliveries.c.file_name, rejected_records.c.line_number)
        .limit(limit)
    )
    total_query = select(func.count()).select_from(joined).where(condition)
    with engine.connect() as connection:
        rows = [dict(row) for row in connection.execute(query).mappings()]
        total = connection.execute(total_query).scalar_one()
    schema = {
        "file_name": pl.String, "line_number": pl.Int64, "dossier_id": pl.String, "error_codes": pl.String,
        "message_nl": pl.String, "message_en": pl.String,
    }
    return Listing(pl.DataFrame(rows, schema=schema), total)


def hint_summary_of(engine: Engine, org_code: str) -> pl.DataFrame:
    """Improvement hints grouped by field and kind, most frequent first, with one example message each."""
    query = (
        select(
            hints.c.field,
            hints.c.hint_code,
            func.count().label("hints"),
            func.count(func.distinct(hints.c.dossier_id)).label("dossiers"),
            func.min(hints.c.message_nl).label("example_nl"),
            func.min(hints.c.message_en).label("example_en"),
        )
        .select_from(hints.join(deliveries, deliveries.c.delivery_id == hints.c.delivery_id))
        .where(deliveries.c.org_code.in_(sender_codes(engine, org_code)))
        .group_by(hints.c.field, hints.c.hint_code)
    )
    with engine.connect() as connection:
        rows = [dict(row) for row in connection.execute(query).mappings()]
    schema = {
        "field": pl.String, "hint_code": pl.String, "hints": pl.Int64, "dossiers": pl.Int64,
        "example_nl": pl.String, "example_en": pl.String,
    }
    return pl.DataFrame(rows, schema=schema).sort(["hints", "field"], descending=[True, False])


def linkage_of(engine: Engine, org_code: str) -> pl.DataFrame:
    """Linkage per discipline in the published version: the organisation's records and the national rate.

    linkage_rate = linked_expected / expected_links: of the records that should have a partner record of another
    discipline, the share that has one (never above 1), summed over the organisation's senders;
    national_linkage_rate is the same for org '*'. `linked` counts every linked record, expected or not.
    """
    status = data_status(engine)
    schema = {
        "discipline": pl.String, "records": pl.Int64, "linked": pl.Int64, "expected_links": pl.Int64,
        "linked_expected": pl.Int64, "linkage_rate": pl.Float64, "national_linkage_rate": pl.Float64,
    }
    if status is None:
        return pl.DataFrame(schema=schema)
    current = linkage_summary.c.data_version == status.data_version

    def per_discipline(condition: ColumnElement[bool]) -> Select[Any, Any, Any, Any]:
        return (
            select(
                linkage_summary.c.discipline,
                func.sum(linkage_summary.c.records).label("records"),
                func.sum(linkage_summary.c.linked).label("linked"),
                func.sum(linkage_summary.c.expected_links).label("expected_links"),
                func.sum(linkage_summary.c.linked_expected).label("linked_expected"),
            )
            .where(current & condition)
            .group_by(linkage_summary.c.discipline)
        )

    with engine.connect() as connection:
        own = [dict(r) for r in connection.execute(
            per_discipline(linkage_summary.c.org_code.in_(sender_codes(engine, org_code)))).mappings()]
        national = [dict(r) for r in connection.execute(
            per_discipline(linkage_summary.c.org_code == NATIONAL)).mappings()]
    counts = {"discipline": pl.String, "records": pl.Int64, "linked": pl.Int64, "expected_links": pl.Int64,
              "linked_expected": pl.Int64}
    national_rates = pl.DataFrame(national, schema=counts).select(
        "discipline", national_linkage_rate=_rate(pl.col("linked_expected"), pl.col("expected_links"))
    )
    return (
        pl.DataFrame(own, schema=counts)
        .with_columns(linkage_rate=_rate(pl.col("linked_expected"), pl.col("expected_links")))
        .join(national_rates, on="discipline", how="left")
        .sort("discipline")
        .select(list(schema))
    )


def _rate(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    return pl.when(denominator > 0).then(numerator / denominator).otherwise(None)


def completeness_of(engine: Engine, org_code: str) -> pl.DataFrame:
    """Share of accepted records in which each important field is filled, for the organisation and nationally.

    "Important" fields are those whose absence gives an improvement hint for that discipline
    (`important_for` in the delivery format). Computed over the kept (latest) version of each dossier in
    `records`; one row per discipline and field.
    """
    senders = sender_codes(engine, org_code)
    rows: list[dict] = []
    with engine.connect() as connection:
        for discipline in Discipline:
            fields = [f.name for f in FIELDS if discipline in f.important_for]
            if not fields:
                continue
            counts = [func.count(records.c[name]).label(name) for name in fields]

            def filled(condition: ColumnElement[bool], counts: list[Label[int]] = counts) -> RowMapping:
                query = select(func.count().label("_total"), *counts).where(condition)
                return connection.execute(query).mappings().one()

            own = filled((records.c.discipline == str(discipline)) & records.c.org_code.in_(senders))
            national = filled(records.c.discipline == str(discipline))
            for name in fields:
                rows.append({
                    "discipline": str(discipline),
                    "field": name,
                    "records": own["_total"],
                    "filled": own[name],
                    "national_records": national["_total"],
                    "national_filled": national[name],
                })
    schema = {
        "discipline": pl.String, "field": pl.String, "records": pl.Int64, "filled": pl.Int64,
        "national_records": pl.Int64, "national_filled": pl.Int64,
    }
    return (
        pl.DataFrame(rows, schema=schema)
        .filter(pl.col("records") > 0)
        .with_columns(
            completeness=_rate(pl.col("filled"), pl.col("records")),
            national_completeness=_rate(pl.col("national_filled"), pl.col("national_records")),
        )
    )


__all__ = [
    "NATIONAL",
    "Listing",
    "completeness_of",
    "deliveries_of",
    "hint_summary_of",
    "linkage_of",
    "rejected_records_of",
    "sender_codes",
]
