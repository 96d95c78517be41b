"""A registry that has received two months of deliveries, read by the real loader (tests/fixtures/delivery_files.py's
register: VSV V001, hospital H001, practices P0001 "De Linde" and P0002 "Het Anker"), for the registry console's
tests (tests/test_registry_console.py, tests/test_admin_console.py).

March 2023: everyone delivered on time. April 2023 (due by the end of 30 May, closing at the end of 28 August):
P0001 on time, with one record rejected and a resend after the due date; H001 late; P0002 nothing (missing); and a
file from X9999, an organisation the register does not know (rejected as a whole: outside the calendar).

The loader stamps every file with the moment it read it; `load_registry` then says when each file "arrived" by
setting `received_at`, as a registry that received them over the months would have it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fixtures.delivery_files import ORGANISATIONS_FILE, POSTCODE_FILE, child_of, obstetrician_record, write_delivery
from sqlalchemy import Engine, update

from loader.refresh import run_refresh
from queries.delivery_calendar import DeliveryCalendar
from tables.schema import deliveries

CALENDAR = DeliveryCalendar(due_days=30, closing_days=120)
APRIL_DUE = "2023-05-30"
AFTER_APRIL_DUE = datetime(2023, 8, 1, tzinfo=UTC)


def births_in(month: str, first: int, count: int, **changes: str) -> list[dict[str, str]]:
    return [child_of(number, child_birth_date=f"{month}-{1 + number % 28:02d}", **changes)
            for number in range(first, first + count)]


def hospital_births(month: str, first: int, count: int) -> list[dict[str, str]]:
    return [obstetrician_record(dossier_id=f"O{number}", child_birth_date=f"{month}-{1 + number % 28:02d}",
                                mother_birth_date=f"19{80 + number % 15}-03-{1 + number % 28:02d}",
                                child_birth_time=f"{number % 24:02d}:11") for number in range(first, first + count)]


# file name → when it arrived (UTC)
ARRIVALS = {
    "lvr1_P0001_2023-03.csv": datetime(2023, 4, 12, 9, tzinfo=UTC),
    "lvr1_P0002_2023-03.csv": datetime(2023, 4, 20, 9, tzinfo=UTC),
    "lvr2_H001_2023-03.csv": datetime(2023, 4, 10, 9, tzinfo=UTC),
    "lvr1_P0001_2023-04.csv": datetime(2023, 5, 20, 9, tzinfo=UTC),  # on time, one record rejected
    "lvr1_P0001_2023-04_resend1.csv": datetime(2023, 6, 2, 14, 30, tzinfo=UTC),  # a resend after the due date
    "lvr2_H001_2023-04.csv": datetime(2023, 7, 15, 8, tzinfo=UTC),  # late
    "lvr1_X9999_2023-04.csv": datetime(2023, 5, 2, 9, tzinfo=UTC),  # an organisation the register does not know
    # P0002 sends nothing for April: missing.
}


def load_registry(engine: Engine, folder: Path) -> Engine:
    """Write the deliveries into `folder`, load them into `engine` and date their arrival (ARRIVALS)."""
    write_delivery(folder / "2023-03", "lvr1_P0001_2023-03.csv", births_in("2023-03", 1, 3))
    write_delivery(folder / "2023-03", "lvr1_P0002_2023-03.csv", births_in("2023-03", 10, 2, org_code="P0002"))
    write_delivery(folder / "2023-03", "lvr2_H001_2023-03.csv", hospital_births("2023-03", 20, 2))
    write_delivery(folder / "2023-04", "lvr1_P0001_2023-04.csv",
                   [*births_in("2023-04", 30, 3), *births_in("2023-04", 33, 1, child_sex="X")])
    write_delivery(folder / "2023-04", "lvr1_P0001_2023-04_resend1.csv", births_in("2023-04", 34, 2))
    write_delivery(folder / "2023-04", "lvr2_H001_2023-04.csv", hospital_births("2023-04", 40, 5))
    write_delivery(folder / "2023-04", "lvr1_X9999_2023-04.csv", births_in("2023-04", 50, 1, org_code="X9999"))
    summary = run_refresh(folder, engine, organisations_file=ORGANISATIONS_FILE, postcode_file=POSTCODE_FILE)
    assert summary.status == "published", summary
    with engine.begin() as connection:
        for file_name, moment in ARRIVALS.items():
            changed = connection.execute(update(deliveries).where(deliveries.c.file_name == file_name)
                                         .values(received_at=moment))
            assert changed.rowcount == 1, file_name
    return engine
