"""What a refresh reads (SQLite and PostgreSQL): each file once, stored as the bytes it read; a file it could not read
tried again; a file of an organisation the register did not know read again once it does; other files left alone."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import polars as pl
from fixtures.delivery_files import ORGANISATIONS_FILE, POSTCODE_FILE, child_of, csv_text, write_delivery
from sqlalchemy import Engine, select

from loader.finding import received
from loader.refresh import RefreshSummary, run_refresh
from loader.validate import validate_deliveries
from tables.database import current_data_version
from tables.schema import births, deliveries, records

APRIL = "lvr1_P0001_2023-04.csv"


def refresh(folder: Path, engine: Engine, organisations_file: Path = ORGANISATIONS_FILE, **kwargs) -> RefreshSummary:
    return run_refresh(folder, engine, organisations_file=organisations_file, postcode_file=POSTCODE_FILE, **kwargs)


def stored_dossiers(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(connection.execute(select(records.c.dossier_id)).scalars())


def delivery_rows(engine: Engine, file_name: str) -> list[dict]:
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(
            select(deliveries).where(deliveries.c.file_name == file_name).order_by(deliveries.c.delivery_id))
            .mappings()]


def published_weights(engine: Engine) -> list[int]:
    version = current_data_version(engine)["data_version"]
    with engine.connect() as connection:
        return sorted(connection.execute(select(births.c.birth_weight_g).where(births.c.data_version == version))
                      .scalars())


def sha256(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


ORIGINAL = csv_text([child_of(1, birth_weight_g="3101"), child_of(2, birth_weight_g="3102")])
CHANGED = csv_text([child_of(3, birth_weight_g="3303")])


def test_a_file_changed_after_it_was_read_is_stored_as_read(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "delivery" / APRIL
    write_delivery(path.parent, APRIL, [])
    path.write_text(ORIGINAL, encoding="utf-8")

    def change_once_read(stage: str, done: int, total: int) -> None:
        if stage == "read" and done == total:
            path.write_text(CHANGED, encoding="utf-8")

    refresh(path.parent, engine, progress=change_once_read)

    # The hash and the records are those of the bytes read: the original.
    assert [row["sha256"] for row in delivery_rows(engine, APRIL)] == [sha256(ORIGINAL)]
    assert stored_dossiers(engine) == {"D1", "D2"}
    # The changed file is another file: the next refresh loads it.
    again = refresh(path.parent, engine)
    assert (again.status, again.files, again.records_accepted) == ("published", 1, 1)
    assert stored_dossiers(engine) == {"D1", "D2", "D3"}
    assert published_weights(engine) == [3101, 3102, 3303]


def test_a_file_changed_before_it_was_read_is_stored_as_changed_and_the_original_loads_later(
        engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "delivery"
    path = write_delivery(folder, APRIL, [])
    path.write_text(ORIGINAL, encoding="utf-8")

    def change_before_reading(stage: str, done: int, _total: int) -> None:
        if stage == "read" and done == 0:
            path.write_text(CHANGED, encoding="utf-8")

    refresh(folder, engine, progress=change_before_reading)

    assert [row["sha256"] for row in delivery_rows(engine, APRIL)] == [sha256(CHANGED)]
    assert stored_dossiers(engine) == {"D3"}
    # Sending the original again is new (its hash was never stored): its records load.
    path.write_text(ORIGINAL, encoding="utf-8")
    summary = refresh(folder, engine)
    assert (summary.status, summary.files_unchanged, summary.records_accepted) == ("published", 0, 2)
    assert stored_dossiers(engine) == {"D1", "D2", "D3"}


def test_a_vanished_file_is_unreadable_then_loaded_once_restored(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "delivery"
    write_delivery(folder, "lvr1_P0002_2023-04.csv", [child_of(9, org_code="P0002", birth_weight_g="3009")])
    path = write_delivery(folder, APRIL, [])
    path.write_text(ORIGINAL, encoding="utf-8")
    kept = tmp_path / "kept.csv"
    shutil.copy(path, kept)

    def vanish(stage: str, done: int, _total: int) -> None:
        if stage == "read" and done == 0:
            path.unlink()

    first = refresh(folder, engine, progress=vanish)

    assert (first.status, first.files, first.files_unreadable) == ("published", 2, 1)
    [unreadable] = delivery_rows(engine, APRIL)
    assert (unreadable["status"], unreadable["error_code"], unreadable["sha256"]) == ("rejected", "unreadable", None)
    assert "was gone" in unreadable["message_en"] and "tried again" in unreadable["message_en"]
    assert "was weg" in unreadable["message_nl"] and "opnieuw" in unreadable["message_nl"]
    assert published_weights(engine) == [3009]

    shutil.copy(kept, path)
    restored = refresh(folder, engine)

    assert (restored.status, restored.files, restored.files_unchanged, restored.records_accepted) == (
        "published", 1, 1, 2)
    assert [(row["status"], row["sha256"]) for row in delivery_rows(engine, APRIL)] == [
        ("rejected", None), ("accepted", sha256(ORIGINAL))]
    assert published_weights(engine) == [3009, 3101, 3102]
    assert refresh(folder, engine).status == "unchanged"


def test_a_file_of_an_unknown_organisation_is_loaded_once_it_is_registered(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "delivery"
    name = "lvr1_P0003_2023-04.csv"
    write_delivery(folder, name, [child_of(4, org_code="P0003", birth_weight_g="3404")])
    write_delivery(folder, APRIL, [child_of(1, birth_weight_g="3101")])
    register = tmp_path / "organisations.csv"
    shutil.copy(ORGANISATIONS_FILE, register)

    refresh(folder, engine, register)
    assert [(row["status"], row["error_code"]) for row in delivery_rows(engine, name)] == [
        ("rejected", "unknown_organisation")]
    assert refresh(folder, engine, register).status == "unchanged"  # still unknown: not read again

    with register.open("a", encoding="utf-8") as handle:
        handle.write("P0003,Verloskundigenpraktijk De Nieuwe,practice,V001,Utrecht,H001\n")
    summary = refresh(folder, engine, register)

    assert (summary.status, summary.files, summary.files_unchanged, summary.records_accepted) == (
        "published", 1, 1, 1)
    assert [(row["status"], row["error_code"]) for row in delivery_rows(engine, name)] == [
        ("rejected", "unknown_organisation"), ("accepted", None)]
    version = current_data_version(engine)["data_version"]
    with engine.connect() as connection:
        practices = set(connection.execute(select(births.c.practice_code).where(births.c.data_version == version))
                        .scalars())
    assert practices == {"P0001", "P0003"}
    assert refresh(folder, engine, register).status == "unchanged"  # read once more, not every time


def test_files_not_named_as_deliveries_are_counted_not_read(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "delivery"
    write_delivery(folder, APRIL, [child_of(1)])
    (folder / "README.txt").write_text("deliveries of April", encoding="utf-8")
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")

    summary = refresh(folder, engine)

    assert (summary.files, summary.files_not_deliveries) == (1, 2)
    with engine.connect() as connection:
        assert list(connection.execute(select(deliveries.c.file_name)).scalars()) == [APRIL]


def test_the_validator_reads_only_the_bytes_it_is_given(tmp_path: Path) -> None:
    """No file system: the path named need not exist, the bytes given are what is validated and hashed."""
    register = pl.read_csv(ORGANISATIONS_FILE, infer_schema=False)
    nowhere = tmp_path / "not-there" / APRIL
    result = validate_deliveries([received(nowhere, ORIGINAL.encode("utf-8"))], register)
    [delivery] = result.files
    assert (delivery.status, delivery.records_accepted, delivery.sha256) == ("accepted", 2, sha256(ORIGINAL))
    assert not nowhere.exists()


def test_records_not_stored_are_said_on_their_file(engine: Engine, tmp_path: Path) -> None:
    """A lower version than the one stored, and a dossier whose woman objected earlier: accepted, not stored, and
    the file's row says so (not a bare "accepted")."""
    folder = tmp_path / "delivery"
    write_delivery(folder, APRIL, [child_of(1, dossier_version="2"), child_of(2, objection="1"), child_of(3)])
    refresh(folder, engine)
    resend = "lvr1_P0001_2023-04_resend1.csv"
    write_delivery(folder, resend, [child_of(1, dossier_version="1"), child_of(2), child_of(3, dossier_version="1")])

    summary = refresh(folder, engine)

    assert (summary.records_accepted, summary.records_not_stored) == (3, 2)
    [row] = delivery_rows(engine, resend)
    assert (row["status"], row["records_accepted"]) == ("accepted", 3)
    assert "1 records not stored: a higher version of the dossier is already stored (D1)" in row["message_en"]
    assert "1 records not stored: an objection to registration was received earlier" in row["message_en"]
    assert "1 records niet opgeslagen: er is al een hogere versie" in row["message_nl"]
    assert stored_dossiers(engine) == {"D1", "D3"}  # D3 version 1 again: the later file wins a tie
