"""Read-only questions about what is loaded: the published data version, the data versions still kept, the
refresh history, national counts per year and the organisation register.

These read the loader's bookkeeping tables (`tables/schema.py`); they never compute indicators (that is the
engine's job) and never build layout (that is `dashboards/`). Aggregation happens in the database: the
`births` table holds ten years of national data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl
from polars.datatypes import DataTypeClass
from sqlalchemy import Engine, func, or_, select

from tables.database import as_utc, current_data_version
from tables.register import read_register
from tables.schema import births, data_version_current, data_versions, deliveries, refreshes


@dataclass(frozen=True)
class DataStatus:
    """The published data version as readers see it."""

    data_version: int
    label: str
    published_at: datetime  # timezone-aware, UTC
    births: int
    period_from: str | None
    period_to: str | None


def data_status(engine: Engine) -> DataStatus | None:
    """The published data version, or None when nothing has been loaded yet."""
    row = current_data_version(engine)
    if row is None:
        return None
    return DataStatus(
        data_version=row["data_version"],
        label=row["label"],
        published_at=as_utc(row["published_at"]),
        births=row["births"],
        period_from=row["period_from"],
        period_to=row["period_to"],
    )


def kept_versions(db_engine: Engine) -> list[dict]:
    """The data versions still kept, newest first: `number`, `label`, `published_at` (UTC), `births`,
    `period_from`, `period_to` and `current` (the one `data_version_current` points at). Empty before the first
    refresh.

    Kept means its `births` rows are still there: the refresh deletes the rows of older versions
    (`loader.refresh`, `PERISPIEGEL_KEEP_VERSIONS`, none at all after an objection) and keeps their
    `data_versions` row as history, so the rows themselves say which versions can be loaded again — no bookkeeping
    column that could disagree with them. The current version counts as kept even with no births at all; an older
    version without births has nothing to load and is not listed.
    """
    current = select(data_version_current.c.data_version).where(data_version_current.c.id == 1).scalar_subquery()
    has_births = select(births.c.data_version).where(births.c.data_version == data_versions.c.data_version).exists()
    query = (
        select(data_versions, (data_versions.c.data_version == current).label("current"))
        .where(or_(data_versions.c.data_version == current, has_births))
        .order_by(data_versions.c.data_version.desc())
    )
    with db_engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    return [
        {"number": row["data_version"], "label": row["label"], "published_at": as_utc(row["published_at"]),
         "births": row["births"], "period_from": row["period_from"], "period_to": row["period_to"],
         "current": bool(row["current"])}
        for row in rows
    ]


_RECORD_COUNTS = ("records_read", "records_accepted", "records_rejected", "records_objected")


def _record_sums() -> list:
    return [func.coalesce(func.sum(deliveries.c[name]), 0).label(name) for name in _RECORD_COUNTS]


def refresh_history(engine: Engine, limit: int = 24) -> pl.DataFrame:
    """The latest refreshes, newest first, with the delivery counts each one read.

    Counts come from the `deliveries` table (not the loader's free-form `summary`), so they always balance:
    records_read = accepted + rejected + objected per delivery.
    """
    per_refresh = (
        select(
            deliveries.c.refresh_id,
            func.count().label("deliveries"),
            *_record_sums(),
        )
        .group_by(deliveries.c.refresh_id)
        .subquery()
    )
    query = (
        select(
            refreshes.c.refresh_id,
            refreshes.c.started_at,
            refreshes.c.finished_at,
            refreshes.c.status,
            refreshes.c.data_version,
            func.coalesce(per_refresh.c.deliveries, 0).label("deliveries"),
            *[func.coalesce(per_refresh.c[name], 0).label(name) for name in _RECORD_COUNTS],
        )
        .outerjoin(per_refresh, per_refresh.c.refresh_id == refreshes.c.refresh_id)
        .order_by(refreshes.c.refresh_id.desc())
        .limit(limit)
    )
    with engine.connect() as connection:
        rows = [dict(row) for row in connection.execute(query).mappings()]
    for row in rows:
        row["started_at"] = as_utc(row["started_at"])
        row["finished_at"] = as_utc(row["finished_at"])
    schema: dict[str, pl.DataType | DataTypeClass] = {
        "refresh_id": pl.Int64,
        "started_at": pl.Datetime("us", "UTC"),
        "finished_at": pl.Datetime("us", "UTC"),
        "status": pl.String,
        "data_version": pl.Int64,
        "deliveries": pl.Int64,
        **dict.fromkeys(_RECORD_COUNTS, pl.Int64),
    }
    return pl.DataFrame(rows, schema=schema)


def counts_per_year(engine: Engine) -> pl.DataFrame:
    """National counts per birth year: births in the published version and records received in deliveries.

    `births` counts children in the processed table of the current data version. The record counts sum every
    delivery received for a birth month of that year (a resent dossier counts once per delivery that carried
    it), so accepted + rejected + objected = read, as the loader guarantees per delivery.
    """
    status = data_status(engine)
    births_per_year = pl.DataFrame(schema={"year": pl.Int64, "births": pl.Int64})
    with engine.connect() as connection:
        if status is not None:
            births_query = (
                select(births.c.birth_year.label("year"), func.count().label("births"))
                .where(births.c.data_version == status.data_version)
                .group_by(births.c.birth_year)
            )
            births_per_year = pl.DataFrame(
                [dict(row) for row in connection.execute(births_query).mappings()],
                schema={"year": pl.Int64, "births": pl.Int64},
            )
        year = func.substr(deliveries.c.month, 1, 4)
        records_query = (
            select(year.label("year"), *_record_sums())
            .where(deliveries.c.month.is_not(None))
            .group_by(year)
        )
        record_rows = [dict(row) for row in connection.execute(records_query).mappings()]
    records_per_year = pl.DataFrame(
        record_rows, schema={"year": pl.String, **dict.fromkeys(_RECORD_COUNTS, pl.Int64)}
    ).with_columns(pl.col("year").cast(pl.Int64))
    return (
        births_per_year.join(records_per_year, on="year", how="full", coalesce=True)
        .with_columns(pl.col("births", *_RECORD_COUNTS).fill_null(0))
        .sort("year")
    )


# The register only changes in a refresh (refresh.upsert_organisations, also when nothing new is published), yet
# every page and callback reads it: one copy per data version and finished refresh, not a full read per request.
# A refresh's log row is committed when it starts, its register and its finish together at the end: keyed on the
# last *finished* refresh, a copy read while a refresh runs is not kept once that refresh has finished.
_REGISTER_CACHE: dict[tuple[str, int, int | None], pl.DataFrame] = {}
_REGISTER_CACHE_SIZE = 8


def organisation_register(engine: Engine) -> pl.DataFrame:
    """The organisation register (`tables.register.read_register`), read once per data version and finished
    refresh: what pages, callbacks and account permissions ask."""
    version = current_data_version(engine)
    if version is None:
        return read_register(engine)
    with engine.connect() as connection:
        last_refresh = connection.execute(select(func.max(refreshes.c.refresh_id))
                                          .where(refreshes.c.finished_at.is_not(None))).scalar()
    key = (engine.url.render_as_string(hide_password=False), version["data_version"], last_refresh)
    register = _REGISTER_CACHE.get(key)
    if register is None:
        register = read_register(engine)
        if len(_REGISTER_CACHE) >= _REGISTER_CACHE_SIZE:
            _REGISTER_CACHE.pop(next(iter(_REGISTER_CACHE)), None)
        _REGISTER_CACHE[key] = register
    return register
