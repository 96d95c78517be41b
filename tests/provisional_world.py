"""The small world of the provisional-months tests (tests/test_provisional.py, tests/browser/test_provisional.py):
deliveries written as files and loaded by the real loader.

VSV V001 with hospital H001 and practices P0001 "De Linde" and P0002 "Het Anker" (tests/fixtures/organisations.csv).
All three deliver April 2023 (so each is an expected sender); for May, P0001's midwife file (lvr1) has not arrived.
The months are in 2023, so the world keeps them open with a closing period of many years
(PERISPIEGEL_MONTH_CLOSES_AFTER_DAYS), never by the date the suite happens to run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.delivery_files import (
    ORGANISATIONS_FILE,
    POSTCODE_FILE,
    child_of,
    obstetrician_record,
    write_delivery,
)
from sqlalchemy import Engine

from loader.refresh import run_refresh
from queries.delivery_calendar import CLOSING_DAYS_VARIABLE, DeliveryCalendar

APRIL, MAY = "2023-04", "2023-05"
#: Long enough that May 2023 is still open whenever the suite runs (and its closing day is known: see CLOSES).
OPEN_DAYS = 40_000
CLOSES = DeliveryCalendar(closing_days=OPEN_DAYS).closes(MAY).date().isoformat()
PRACTICE, OTHER_PRACTICE, HOSPITAL, VSV = "P0001", "P0002", "H001", "V001"
PRACTICE_NAME = "Verloskundigenpraktijk De Linde"
CLOSES_WRITTEN = f"{CLOSES[8:10]}-{CLOSES[5:7]}-{CLOSES[:4]}"  # as Dutch pages write a date
OWN_NOTICE = ("Voorlopig: mei 2023 — de levering van de verloskundigen (LVR-1) ontbreekt nog; "
              f"definitief na {CLOSES_WRITTEN}")
COUNT_NOTICE = f"Voorlopig: mei 2023 — 1 levering ontbreekt nog; definitief na {CLOSES_WRITTEN}"


def births(org_code: str, month: str, first: int, count: int = 12) -> list[dict[str, str]]:
    """`count` distinct midwife births of `org_code` in `month` (dossiers D<first>…)."""
    return [child_of(number, org_code=org_code, child_birth_date=f"{month}-{1 + number % 28:02d}")
            for number in range(first, first + count)]


def hospital_births(month: str, first: int, count: int = 3) -> list[dict[str, str]]:
    """`count` distinct obstetrician births of H001 in `month` (dossiers O<first>…)."""
    return [obstetrician_record(dossier_id=f"O{number}",
                                mother_birth_date=f"19{70 + number % 20}-06-{1 + number % 28:02d}",
                                child_birth_date=f"{month}-{1 + number % 28:02d}",
                                child_birth_time=f"{number % 24:02d}:41")
            for number in range(first, first + count)]


def deliver(folder: Path, discipline: str, org_code: str, month: str, rows: list[dict[str, str]]) -> None:
    write_delivery(folder / month, f"{discipline}_{org_code}_{month}.csv", rows)


def refresh(folder: Path, engine: Engine) -> None:
    summary = run_refresh(folder, engine, organisations_file=ORGANISATIONS_FILE, postcode_file=POSTCODE_FILE)
    assert summary.status == "published", summary


def deliver_all_but_one(folder: Path, first: str, second: str) -> None:
    """Month `first` delivered by all three; month `second` by P0002 and H001 only (P0001's file still awaited)."""
    deliver(folder, "lvr1", PRACTICE, first, births(PRACTICE, first, 1))
    deliver(folder, "lvr1", OTHER_PRACTICE, first, births(OTHER_PRACTICE, first, 21))
    deliver(folder, "lvr2", HOSPITAL, first, hospital_births(first, 41))
    deliver(folder, "lvr1", OTHER_PRACTICE, second, births(OTHER_PRACTICE, second, 61))
    deliver(folder, "lvr2", HOSPITAL, second, hospital_births(second, 81))


def publish_world(engine: Engine, folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """April delivered by all three; May by P0002 and H001 only; published. The delivery folder."""
    monkeypatch.setenv(CLOSING_DAYS_VARIABLE, str(OPEN_DAYS))
    deliver_all_but_one(folder, APRIL, MAY)
    refresh(folder, engine)
    return folder
