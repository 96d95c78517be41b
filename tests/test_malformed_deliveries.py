"""A corpus of malformed deliveries, each loaded by the real refresh next to one good file, on SQLite and PostgreSQL.

For every case: the refresh does not fail; the good file's child is in the published births; the bad file has a
deliveries row whose messages (the file's, and its rejected records') say in Dutch and English what a sender needs
to put it right; and the counts balance against what the file really holds: records read = the records a careful
reader finds = accepted + rejected + objected.

Each case is its own delivery folder and its own refresh. The database is shared by the cases of one engine (one
per module, on each of SQLite and PostgreSQL): every case has its own dossier numbers and its own good child, so
that nothing one case stores touches another, and a fresh database per case would only add seconds.
"""

from __future__ import annotations

import codecs
import errno
import gzip
import io
import os
import random
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import fresh_postgres_database
from fixtures.delivery_files import ORGANISATIONS_FILE, POSTCODE_FILE, csv_text, midwife_record
from sqlalchemy import Engine, select

from contracts.delivery_format import COLUMNS
from loader import finding
from loader.refresh import RefreshSummary, run_refresh
from tables.database import current_data_version, make_engine
from tables.schema import births, deliveries, objections, rejected_records

HEADER = ",".join(COLUMNS)
BAD = "lvr1_P0002_2023-04.csv"  # the usual name of a case's bad file (another practice than the good file's)


# ----------------------------------------------------------------------------------------------------------
# Building the files
# ----------------------------------------------------------------------------------------------------------

def records(tag: str, count: int = 5, **changes: str) -> list[dict[str, str]]:
    """`count` valid midwife records of practice P0002, April 2023, with the case's own dossier numbers."""
    return [midwife_record(**{"dossier_id": f"{tag}D{number}", "org_code": "P0002", "mother_birth_date": "1991-06-15",
                              "child_birth_date": f"2023-04-{number + 1:02d}", **changes})
            for number in range(1, count + 1)]


def body(tag: str, count: int = 5, **changes: str) -> str:
    return csv_text(records(tag, count, **changes))


def line_of(record: dict[str, str]) -> str:
    return ",".join(record[name] for name in COLUMNS)


def write(folder: Path, name: str, content: str | bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def lines_with(tag: str, special: str, count: int = 5) -> str:
    """A file of `count` records whose third is `special` (a line as written)."""
    lines = [line_of(record) for record in records(tag, count)]
    lines[2] = special
    return HEADER + "\n" + "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Case:
    """One malformed delivery and what the sender should be told about it."""

    name: str
    write: Callable[[Path, str], object]  # (case folder, tag): writes the bad file(s)
    read: int  # the records a careful reader finds in the bad file
    status: str
    error_code: str | None = None  # the whole-file rejection, if any
    accepted: int = 0
    objected: int = 0
    nl: tuple[str, ...] = ()  # words the Dutch messages must hold
    en: tuple[str, ...] = ()  # ... and the English ones
    record_codes: tuple[str, ...] = ()  # error codes among its rejected records
    file_name: str = BAD  # the bad file's name as stored
    objections_stored: int = 0  # objection rows this file adds
    during_read: Callable[[Path], None] | None = None  # done to the case folder after listing, before reading

    @property
    def rejected(self) -> int:
        return self.read - self.accepted - self.objected


def case(name: str, write: Callable[[Path, str], object], read: int, status: str, **expected: object) -> Case:
    return Case(name, write, read, status, **expected)  # type: ignore[arg-type]


def whole(name: str, write: Callable[[Path, str], object], read: int, error_code: str, nl: tuple[str, ...],
          en: tuple[str, ...], **expected: object) -> Case:
    """A file rejected as a whole."""
    return Case(name, write, read, "rejected", error_code, nl=nl, en=en, **expected)  # type: ignore[arg-type]


def _utf16_without_bom(folder: Path, tag: str) -> None:
    write(folder, BAD, body(tag).encode("utf-16-le"))


def _symlink(folder: Path, name: str, target: str | Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).symlink_to(target)


def _outside_target(folder: Path, tag: str) -> None:
    target = write(folder.parent / f"outside-{tag}", BAD, body(tag))
    _symlink(folder, BAD, target)


def _fifo(folder: Path, _tag: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    os.mkfifo(folder / BAD)


def _zipped(folder: Path, tag: str) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("lvr1_P0002_2023-04.csv", body(tag))
    write(folder, BAD, buffer.getvalue())


def _junk(folder: Path, tag: str) -> None:
    generator = random.Random(tag)
    write(folder, BAD, bytes(generator.randrange(256) for _ in range(4000)) + b"\x00\x00")


def _permission_denied(folder: Path, tag: str) -> None:
    path = write(folder, BAD, body(tag))
    path.chmod(0)


def _lower_version_resend(folder: Path, tag: str) -> None:
    write(folder, BAD, body(tag, 3, dossier_version="2"))
    write(folder, "lvr1_P0002_2023-04_resend1.csv", body(tag, 3, dossier_version="1"))


def _vanish(folder: Path) -> None:
    (folder / BAD).unlink()


def _many_errors(tag: str) -> str:
    record = records(tag, 1)[0]
    broken = {name: "?" * 30 for name in COLUMNS if name not in {"dossier_id", "org_code", "objection"}}
    return csv_text([{**record, **broken}])


def _objection_line(tag: str, number: int, dossier_id: str | None = None) -> str:
    values = {name: "" for name in COLUMNS}
    values.update(dossier_id=dossier_id if dossier_id is not None else f"{tag}X{number}", dossier_version="1",
                  org_code="P0002", objection="1")
    return ",".join(values[name] for name in COLUMNS)


LONG_NAME = "lvr1_P0002_2023-04_" + "x" * 230 + ".csv"
UNDECODABLE_NAME = "lvr1_P0002_2023-04_caf\udce9.csv"  # the byte 0xE9 (Latin-1 é) in a file name

CASES: tuple[Case, ...] = (
    # --- line ends, byte-order marks, encodings ---
    case("cr_only_line_ends", lambda f, t: write(f, BAD, body(t).replace("\n", "\r")), 5, "accepted", accepted=5),
    case("crlf_line_ends", lambda f, t: write(f, BAD, body(t).replace("\n", "\r\n")), 5, "accepted", accepted=5),
    case("mixed_line_ends", lambda f, t: write(f, BAD, body(t).replace("\n", "\r\n", 3)), 5, "accepted", accepted=5),
    whole("stray_cr_in_header", lambda f, t: write(f, BAD, body(t).replace("child_sex,", "child_sex\r,", 1)), 5,
          "wrong_columns", ("CR", "child_sex"), ("CR", "child_sex")),
    case("stray_cr_in_a_value", lambda f, t: write(f, BAD, body(t).replace(f"{t}D3,", f"{t}D3\rX,")), 5,
         "partially_accepted", accepted=4, record_codes=("control_character:dossier_id",),
         nl=("besturingsteken", "0x0D"), en=("control character", "0x0D")),
    case("utf8_bom", lambda f, t: write(f, BAD, b"\xef\xbb\xbf" + body(t).encode()), 5, "accepted", accepted=5),
    whole("utf16_le_bom", lambda f, t: write(f, BAD, body(t).encode("utf-16")), 5, "not_utf8",
          ("UTF-16", "UTF-8"), ("UTF-16", "UTF-8")),
    whole("utf16_be_bom", lambda f, t: write(f, BAD, codecs.BOM_UTF16_BE + body(t).encode("utf-16-be")), 5,
          "not_utf8", ("UTF-16", "UTF-8"), ("UTF-16", "UTF-8")),
    whole("utf16_without_bom", _utf16_without_bom, 5, "not_utf8", ("UTF-16",), ("UTF-16",)),
    whole("latin1", lambda f, t: write(f, BAD, body(t).replace("3511", "3511é").encode("latin-1")), 5, "not_utf8",
          ("UTF-8", "positie"), ("UTF-8", "position")),
    whole("gzip", lambda f, t: write(f, BAD, gzip.compress(body(t).encode(), mtime=0)), 0, "compressed",
          ("gecomprimeerd", "CSV"), ("compressed", "CSV")),
    whole("zip_or_xlsx", _zipped, 0, "compressed", ("spreadsheet", "CSV"), ("spreadsheet", "CSV")),
    whole("binary_junk", _junk, 0, "binary", ("geen tekstbestand",), ("not a text file",)),
    whole("empty_file", lambda f, t: write(f, BAD, b""), 0, "empty_file", ("leeg", "0 bytes"), ("empty", "0 bytes")),
    whole("header_only", lambda f, t: write(f, BAD, HEADER + "\n"), 0, "empty", ("geen records",), ("no records",)),
    whole("header_and_blank_lines", lambda f, t: write(f, BAD, HEADER + "\n\n  \n\n"), 0, "empty",
          ("geen records",), ("no records",)),
    case("blank_and_space_lines_between_records",
         lambda f, t: write(f, BAD, body(t).replace("\n", "\n\n   \n", 3)), 5, "accepted", accepted=5),
    # --- the header ---
    whole("no_header", lambda f, t: write(f, BAD, body(t).split("\n", 1)[1]), 5, "no_header",
          ("eerste regel", "kopregel"), ("first line is not the header", "looks like a record")),
    whole("trailing_comma_in_header", lambda f, t: write(f, BAD, body(t).replace("death_date\n", "death_date,\n", 1)),
          5, "wrong_columns", ("kolom 33", "geen naam"), ("column 33", "no name")),
    whole("upper_case_column_names", lambda f, t: write(f, BAD, body(t).replace(HEADER, HEADER.upper(), 1)), 5,
          "wrong_columns", ("kleine letters",), ("lower case",)),
    whole("duplicate_column", lambda f, t: write(f, BAD, body(t).replace("death_date\n", "dossier_id\n", 1)), 5,
          "wrong_columns", ("meer dan eens: dossier_id", "ontbrekend: death_date"),
          ("more than once: dossier_id", "missing: death_date")),
    whole("missing_column", lambda f, t: write(f, BAD, csv_text(records(t), COLUMNS[:-1])), 5, "wrong_columns",
          ("ontbrekend: death_date",), ("missing: death_date",)),
    whole("extra_column", lambda f, t: write(f, BAD, csv_text(records(t), [*COLUMNS, "remarks"])), 5,
          "wrong_columns", ("onbekend: remarks",), ("unknown: remarks",)),
    whole("columns_in_another_order",
          lambda f, t: write(f, BAD, csv_text(records(t), [COLUMNS[1], COLUMNS[0], *COLUMNS[2:]])), 5,
          "wrong_columns", ("volgorde",), ("order",)),
    whole("semicolon_separated", lambda f, t: write(f, BAD, body(t).replace(",", ";")), 5, "wrong_columns",
          ("';'", "komma"), ("';'", "comma")),
    whole("tab_separated", lambda f, t: write(f, BAD, body(t).replace(",", "\t")), 5, "wrong_columns",
          ("TAB",), ("TAB",)),
    whole("nul_in_header", lambda f, t: write(f, BAD, body(t).replace("parity", "pa\x00rity", 1)), 5,
          "wrong_columns", ("besturingsteken", "0x00"), ("control character", "0x00")),
    whole("unclosed_quote_in_header", lambda f, t: write(f, BAD, body(t).replace("parity", '"parity', 1)), 5,
          "wrong_columns", ("aanhalingsteken",), ("double quote",)),
    case("quoted_header_names", lambda f, t: write(f, BAD, body(t).replace(
        HEADER, ",".join(f'"{name}"' for name in COLUMNS), 1)), 5, "accepted", accepted=5),
    case("spaces_around_header_names", lambda f, t: write(f, BAD, body(t).replace(HEADER, " , ".join(COLUMNS), 1)),
         5, "accepted", accepted=5),
    # --- quotes ---
    case("unclosed_quote_in_one_record", lambda f, t: write(f, BAD, lines_with(t, line_of(
        records(t)[2]).replace(f"{t}D3,", f'"{t}D3,'))), 5, "partially_accepted", accepted=4,
         record_codes=("unclosed_quote:record",), nl=("aanhalingsteken", "niet wordt gesloten"),
         en=("double quote", "not closed")),
    case("single_record_with_unclosed_quote", lambda f, t: write(f, BAD, HEADER + "\n" + line_of(
        records(t, 1)[0]).replace("spontaneous", '"spontaneous', 1) + "\n"), 1, "rejected",
         record_codes=("unclosed_quote:record",), nl=("Alle records", "aanhalingsteken"),
         en=("Every record", "double quote")),
    case("quote_inside_a_value", lambda f, t: write(f, BAD, lines_with(t, line_of(records(t)[2]).replace(
        "midwife", 'mid"wife', 1))), 5, "partially_accepted", accepted=4, record_codes=("unclosed_quote:record",),
         nl=("aanhalingsteken",), en=("double quote",)),
    case("quoted_value_with_a_comma", lambda f, t: write(f, BAD, lines_with(t, line_of(
        {**records(t)[2], "dossier_id": f'"{t}D3,b"'}))), 5, "accepted", accepted=5),
    case("every_value_quoted", lambda f, t: write(f, BAD, HEADER + "\n" + "\n".join(
        ",".join(f'"{record[name]}"' for name in COLUMNS) for record in records(t)) + "\n"), 5, "accepted",
         accepted=5),
    case("quoted_value_with_a_line_break", lambda f, t: write(f, BAD, lines_with(t, line_of(
        {**records(t)[2], "dossier_id": f'"{t}D3\nsecond line"'}))), 5, "partially_accepted", accepted=4,
         record_codes=("line_break_in_value:record",), nl=("regeleinde", "regels 4–5"),
         en=("line break", "lines 4–5")),
    case("doubled_quotes_inside_quotes", lambda f, t: write(f, BAD, lines_with(t, line_of(
        {**records(t)[2], "dossier_id": f'"{t}D""3"'}))), 5, "accepted", accepted=5),
    # --- fields per line, control characters, NUL, huge values ---
    case("short_line", lambda f, t: write(f, BAD, lines_with(t, ",".join(line_of(records(t)[2]).split(",")[:20]))),
         5, "partially_accepted", accepted=4, record_codes=("wrong_field_count:record",), nl=("20 velden",),
         en=("20 fields",)),
    case("long_line", lambda f, t: write(f, BAD, lines_with(t, line_of(records(t)[2]) + ",extra,more")), 5,
         "partially_accepted", accepted=4, record_codes=("wrong_field_count:record",), nl=("34 velden",),
         en=("34 fields",)),
    case("line_of_only_commas", lambda f, t: write(f, BAD, lines_with(t, "," * (len(COLUMNS) - 1))), 5,
         "partially_accepted", accepted=4, record_codes=("missing_required:dossier_id",), nl=("verplicht",),
         en=("required",)),
    case("control_character_0x1f", lambda f, t: write(f, BAD, lines_with(t, line_of(records(t)[2]).replace(
        "cephalic", "ceph\x1falic"))), 5, "partially_accepted", accepted=4,
         record_codes=("control_character:presentation",), nl=("0x1F", "positie 5", "regel 4"),
         en=("0x1F", "position 5", "line 4")),
    case("nul_in_a_value", lambda f, t: write(f, BAD, lines_with(t, line_of(records(t)[2]).replace(
        "cephalic", "ceph\x00alic"))), 5, "partially_accepted", accepted=4,
         record_codes=("control_character:presentation",), nl=("Ligging", "0x00"), en=("Presentation", "0x00")),
    case("nul_in_a_dossier_number", lambda f, t: write(f, BAD, lines_with(t, line_of(records(t)[2]).replace(
        f"{t}D3", f"{t}D\x003"))), 5, "partially_accepted", accepted=4,
         record_codes=("control_character:dossier_id",), nl=("0x00",), en=("0x00",)),
    case("a_megabyte_value", lambda f, t: write(f, BAD, lines_with(t, line_of(
        {**records(t)[2], "dossier_id": "Z" * 1_000_000}))), 5, "partially_accepted", accepted=4,
         record_codes=("too_long:dossier_id",), nl=("64 tekens", "…"), en=("64 characters", "…")),
    case("a_megabyte_unclosed_quote", lambda f, t: write(f, BAD, lines_with(t, '"' + "Y" * 1_000_000)), 5,
         "partially_accepted", accepted=4, record_codes=("unclosed_quote:record",), nl=("aanhalingsteken",),
         en=("double quote",)),
    case("every_field_wrong", lambda f, t: write(f, BAD, _many_errors(t)), 1, "rejected",
         record_codes=("invalid_integer:birth_weight_g", "invalid_date:child_birth_date", "invalid_code:child_sex"),
         nl=("Alle records",), en=("Every record",)),
    case("two_thousand_junk_lines", lambda f, t: write(f, BAD, HEADER + "\n" + "".join(
        f"junk {number}\n" for number in range(2000))), 2000, "rejected", record_codes=("wrong_field_count:record",),
         nl=("1 velden",), en=("1 fields",)),
    # --- numbers, dates, rules between fields ---
    case("numbers_with_sign_decimals_or_exponent", lambda f, t: write(f, BAD, csv_text(
        [record | {"parity": value} for record, value in zip(records(t, 4), ["+1", "1e3", "5.0", "1 000"],
                                                             strict=True)])), 4, "rejected",
         record_codes=("invalid_integer:parity",), nl=("'+1'", "'1e3'", "'5.0'", "'1 000'", "geheel getal"),
         en=("'+1'", "'1e3'", "'5.0'", "'1 000'", "whole number")),
    case("numbers_minus_zero_and_spaces", lambda f, t: write(f, BAD, csv_text(
        [record | {"parity": value} for record, value in zip(records(t, 3), ["-0", " 2 ", "007"], strict=True)])),
         3, "accepted", accepted=3),
    case("numbers_with_twenty_digits", lambda f, t: write(f, BAD, csv_text(
        records(t, 2, birth_weight_g="9" * 20))), 2, "rejected", record_codes=("out_of_range:birth_weight_g",),
         nl=("buiten het mogelijke bereik", "200–7000"), en=("outside the possible range", "200–7000")),
    case("dates_that_do_not_exist_or_lack_dashes", lambda f, t: write(f, BAD, csv_text(
        [record | {"child_birth_date": value} for record, value in zip(records(t, 3),
                                                                       ["2023-04-31", "20230410", "2023-4-1"],
                                                                       strict=True)])), 3, "rejected",
         record_codes=("invalid_date:child_birth_date",), nl=("'2023-04-31'", "'20230410'", "JJJJ-MM-DD"),
         en=("'2023-04-31'", "'20230410'", "YYYY-MM-DD")),
    case("february_30", lambda f, t: write(f, "lvr1_P0002_2023-02.csv", csv_text(
        records(t, 1, child_birth_date="2023-02-30"))), 1, "rejected", file_name="lvr1_P0002_2023-02.csv",
         record_codes=("invalid_date:child_birth_date",), nl=("'2023-02-30'",), en=("'2023-02-30'",)),
    case("births_in_2031_in_an_april_2023_file", lambda f, t: write(f, BAD, csv_text(
        records(t, 2, child_birth_date="2031-04-10"))), 2, "rejected",
         record_codes=("outside_file_month:child_birth_date",), nl=("2023-04",), en=("2023-04",)),
    case("org_code_differs_in_rows", lambda f, t: write(f, BAD, csv_text(
        records(t, 2) + records(t + "o", 1, org_code="P0001"))), 3, "partially_accepted", accepted=2,
         record_codes=("org_code_mismatch:org_code",), nl=("'P0001'", "P0002"), en=("'P0001'", "P0002")),
    case("duplicate_dossier", lambda f, t: write(f, BAD, csv_text(records(t, 2) + records(t, 1))), 3,
         "partially_accepted", accepted=2, record_codes=("duplicate_dossier:dossier_id",), nl=("eerder",),
         en=("earlier",)),
    case("a_lower_version_resent", _lower_version_resend, 3, "accepted", accepted=3,
         file_name="lvr1_P0002_2023-04_resend1.csv", nl=("3 records niet opgeslagen", "hogere versie"),
         en=("3 records not stored", "higher version")),
    # --- file names ---
    case("extension_in_capitals", lambda f, t: write(f, "lvr1_P0002_2023-04.CSV", body(t)), 5, "accepted",
         accepted=5, file_name="lvr1_P0002_2023-04.CSV"),
    case("resend_extension_mixed_case", lambda f, t: write(f, "lvr1_P0002_2023-04_resend2.Csv", body(t)), 5,
         "accepted", accepted=5, file_name="lvr1_P0002_2023-04_resend2.Csv"),
    case("resend_99", lambda f, t: write(f, "lvr1_P0002_2023-04_resend99.csv", body(t)), 5, "accepted",
         accepted=5, file_name="lvr1_P0002_2023-04_resend99.csv"),
    whole("resend_99999", lambda f, t: write(f, "lvr1_P0002_2023-04_resend99999.csv", body(t)), 5, "bad_file_name",
          ("_resend1", "_resend99"), ("_resend1", "_resend99"), file_name="lvr1_P0002_2023-04_resend99999.csv"),
    whole("resend_with_twenty_digits", lambda f, t: write(f, f"lvr1_P0002_2023-04_resend{'9' * 20}.csv", body(t)),
          5, "bad_file_name", ("_resend99",), ("_resend99",), file_name=f"lvr1_P0002_2023-04_resend{'9' * 20}.csv"),
    whole("resend_0", lambda f, t: write(f, "lvr1_P0002_2023-04_resend0.csv", body(t)), 5, "bad_file_name",
          ("_resend1",), ("_resend1",), file_name="lvr1_P0002_2023-04_resend0.csv"),
    whole("name_longer_than_the_column", lambda f, t: write(f, LONG_NAME, body(t)), 5, "bad_file_name",
          (f"{len(LONG_NAME)} tekens", "200"), (f"{len(LONG_NAME)} characters", "200"),
          file_name=LONG_NAME[:199] + "…"),
    whole("organisation_code_too_long", lambda f, t: write(f, "lvr1_P00000000000000002_2023-04.csv", body(t)), 5,
          "bad_file_name", ("16 tekens",), ("16 characters",), file_name="lvr1_P00000000000000002_2023-04.csv"),
    whole("organisation_code_in_lower_case", lambda f, t: write(f, "lvr1_p0002_2023-04.csv", body(t)), 5,
          "bad_file_name", ("hoofdletters",), ("capitals",), file_name="lvr1_p0002_2023-04.csv"),
    whole("discipline_in_capitals", lambda f, t: write(f, "LVR1_P0002_2023-04.csv", body(t)), 5, "bad_file_name",
          ("lvr1, lvr2 of lnr",), ("lvr1, lvr2 or lnr",), file_name="LVR1_P0002_2023-04.csv"),
    whole("month_00", lambda f, t: write(f, "lvr1_P0002_2023-00.csv", body(t)), 5, "bad_file_name",
          ("JJJJ-MM", "01 tot en met 12"), ("YYYY-MM", "01 to 12"), file_name="lvr1_P0002_2023-00.csv"),
    whole("month_13", lambda f, t: write(f, "lvr1_P0002_2023-13.csv", body(t)), 5, "bad_file_name",
          ("JJJJ-MM",), ("YYYY-MM",), file_name="lvr1_P0002_2023-13.csv"),
    whole("month_without_dash", lambda f, t: write(f, "lvr1_P0002_202304.csv", body(t)), 5, "bad_file_name",
          ("JJJJ-MM",), ("YYYY-MM",), file_name="lvr1_P0002_202304.csv"),
    whole("no_extension", lambda f, t: write(f, "lvr1_P0002_2023-04", body(t)), 5, "bad_file_name",
          (".csv",), (".csv",), file_name="lvr1_P0002_2023-04"),
    whole("txt_extension", lambda f, t: write(f, "lvr1_P0002_2023-04.txt", body(t)), 5, "bad_file_name",
          (".csv",), (".csv",), file_name="lvr1_P0002_2023-04.txt"),
    whole("spaces_instead_of_underscores", lambda f, t: write(f, "lvr1 P0002 2023-04.csv", body(t)), 5,
          "bad_file_name", ("_ (laag streepje)",), ("_ (underscore)",), file_name="lvr1 P0002 2023-04.csv"),
    whole("undecodable_byte_in_the_name", lambda f, t: write(f, UNDECODABLE_NAME, body(t)), 5, "bad_file_name",
          ("_resend1",), ("_resend1",), file_name="lvr1_P0002_2023-04_caf\ufffd.csv"),
    whole("line_break_in_the_name", lambda f, t: write(f, "lvr1_P0002_2023-04\n.csv", body(t)), 5, "bad_file_name",
          ("JJJJ-MM",), ("YYYY-MM",), file_name="lvr1_P0002_2023-04\ufffd.csv"),
    whole("hidden_file", lambda f, t: write(f, ".lvr1_P0002_2023-04.csv", body(t)), 5, "bad_file_name",
          ("lvr1, lvr2 of lnr",), ("lvr1, lvr2 or lnr",), file_name=".lvr1_P0002_2023-04.csv"),
    whole("month_in_the_future", lambda f, t: write(f, "lvr1_P0002_2031-04.csv", csv_text(
        records(t, 2, child_birth_date="2031-04-10"))), 2, "month_in_future", ("2031-04", "na de maand van ontvangst"),
          ("2031-04", "after the month it was received"), file_name="lvr1_P0002_2031-04.csv"),
    # --- the organisation ---
    whole("unknown_organisation", lambda f, t: write(f, "lvr1_P0999_2023-04.csv", csv_text(
        records(t, 2, org_code="P0999"))), 2, "unknown_organisation", ("P0999", "organisatieregister"),
          ("P0999", "organisation register"), file_name="lvr1_P0999_2023-04.csv"),
    whole("unknown_organisation_and_no_header", lambda f, t: write(f, "lvr1_P0999_2023-05.csv", csv_text(
        records(t, 3, org_code="P0999")).split("\n", 1)[1]), 3, "unknown_organisation", ("P0999",), ("P0999",),
          file_name="lvr1_P0999_2023-05.csv"),
    whole("organisation_type_not_allowed", lambda f, t: write(f, "lvr1_H001_2023-04.csv", csv_text(
        records(t, 2, org_code="H001"))), 2, "organisation_type_not_allowed", ("H001",), ("H001",),
          file_name="lvr1_H001_2023-04.csv"),
    # --- objections ---
    whole("objection_in_a_file_with_wrong_columns", lambda f, t: write(f, BAD, csv_text(
        [*records(t, 2), records(t + "x", 1, objection="1")[0]], [*COLUMNS[:-1], "remarks"])), 3, "wrong_columns",
          ("onbekend: remarks",), ("unknown: remarks",), objected=1, objections_stored=1),
    whole("objection_in_a_file_with_a_bad_month", lambda f, t: write(f, "lvr1_P0002_2023-13.csv", HEADER + "\n"
                                                                     + _objection_line(t, 1) + "\n"
                                                                     + line_of(records(t, 1)[0]) + "\n"),
          2, "bad_file_name", ("JJJJ-MM",), ("YYYY-MM",), objected=1, objections_stored=1,
          file_name="lvr1_P0002_2023-13.csv"),
    case("objection_with_a_dossier_number_too_long", lambda f, t: write(f, BAD, HEADER + "\n" + _objection_line(
        t, 1, "Q" * 70) + "\n" + line_of(records(t, 1)[0]) + "\n"), 2, "partially_accepted", accepted=1,
         record_codes=("objection_not_recorded:dossier_id",), nl=("bezwaar", "64 tekens"),
         en=("objection", "64 characters")),
    case("objection_without_a_dossier_number", lambda f, t: write(f, BAD, HEADER + "\n" + _objection_line(t, 1, "")
                                                                  + "\n" + line_of(records(t, 1)[0]) + "\n"), 2,
         "partially_accepted", accepted=1, record_codes=("objection_not_recorded:dossier_id",),
         nl=("bezwaar",), en=("objection",)),
    case("objections_among_records", lambda f, t: write(f, BAD, HEADER + "\n" + _objection_line(t, 1) + "\n"
                                                        + line_of(records(t, 1)[0]) + "\n"), 2, "accepted",
         accepted=1, objected=1, objections_stored=1),
    # --- what lies in the folder ---
    whole("dangling_symlink", lambda f, t: _symlink(f, BAD, f / "nowhere.csv"), 0, "unreadable",
          ("koppeling", "niet bestaat", "opnieuw"), ("link", "does not exist", "again")),
    whole("symlink_loop", lambda f, t: _symlink(f, BAD, f / BAD), 0, "unreadable", ("lus",), ("loop",)),
    case("symlink_to_a_file_outside", _outside_target, 5, "accepted", accepted=5),
    whole("folder_named_like_a_file", lambda f, t: (f / BAD).mkdir(parents=True), 0, "unreadable",
          ("map, geen bestand",), ("folder, not a file",)),
    whole("named_pipe", _fifo, 0, "unreadable", ("geen gewoon bestand",), ("not an ordinary file",)),
    whole("io_error", lambda f, t: _symlink(f, BAD, "/proc/self/mem"), 0, "unreadable", ("leesfout", "I/O"),
          ("read error", "I/O")),
    whole("permission_denied", _permission_denied, 0, "unreadable", ("geen toestemming",), ("permission denied",)),
    whole("vanished_before_it_was_read", lambda f, t: write(f, BAD, body(t)), 0, "unreadable",
          ("was weg",), ("was gone",), during_read=_vanish),
)


# ----------------------------------------------------------------------------------------------------------
# Running a case
# ----------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module", params=[
    # One group per engine: under xdist (`--dist loadgroup`) each database's cases stay on one worker, the two
    # databases on two.
    pytest.param("sqlite", marks=pytest.mark.xdist_group("malformed_deliveries_sqlite")),
    pytest.param("postgres", marks=pytest.mark.xdist_group("malformed_deliveries_postgres")),
])
def corpus_engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """One database per engine for the whole corpus (see the module's docstring)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('corpus-db') / 'perispiegel.db'}")
        yield engine
        engine.dispose()
        return
    with fresh_postgres_database() as url:
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


def deny_to_root(denied: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Root reads every file whatever its mode (the suite may run as root): let opening `denied` fail as it does
    for the registry's own account, with the error the system gives."""
    real_open = os.open

    def open_unless_denied(path: str | Path, flags: int, *args: int) -> int:
        if str(path) == str(denied):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(finding.os, "open", open_unless_denied)


def good_weight(index: int) -> int:
    return 3000 + index


@dataclass
class Loaded:
    summary: RefreshSummary
    row: dict
    messages_nl: str
    messages_en: str
    record_codes: set[str]
    longest_message: int = 0
    raw_lengths: list[int] = field(default_factory=list)
    objections_stored: int = 0
    weights: list[int] = field(default_factory=list)


def load_case(engine: Engine, folder: Path, index: int, corpus_case: Case, monkeypatch: pytest.MonkeyPatch) -> Loaded:
    tag = f"C{index:02d}"
    good = midwife_record(dossier_id=f"{tag}G", mother_birth_date=f"1980-{1 + index % 12:02d}-{1 + index % 28:02d}",
                          birth_weight_g=str(good_weight(index)), child_birth_date=f"2023-04-{1 + index % 28:02d}")
    write(folder, "lvr1_P0001_2023-04.csv", csv_text([good]))
    corpus_case.write(folder, tag)
    if corpus_case.name == "permission_denied" and os.geteuid() == 0:
        deny_to_root(folder / BAD, monkeypatch)

    def progress(stage: str, done: int, _total: int) -> None:
        if stage == "read" and done == 0 and corpus_case.during_read is not None:
            corpus_case.during_read(folder)

    with engine.connect() as connection:
        objections_before = len(connection.execute(select(objections.c.dossier_id)).all())
    summary = run_refresh(folder, engine, organisations_file=ORGANISATIONS_FILE, postcode_file=POSTCODE_FILE,
                          progress=progress)
    with engine.connect() as connection:
        rows = connection.execute(select(deliveries).where(deliveries.c.refresh_id == summary.refresh_id)
                                  .where(deliveries.c.file_name == corpus_case.file_name)).mappings().all()
        assert len(rows) == 1, f"one deliveries row for {corpus_case.file_name!r}, found {len(rows)}"
        row = dict(rows[0])
        rejections = connection.execute(
            select(rejected_records.c.error_codes, rejected_records.c.message_nl, rejected_records.c.message_en,
                   rejected_records.c.raw).where(rejected_records.c.delivery_id == row["delivery_id"])).all()
        stored = len(connection.execute(select(objections.c.dossier_id)).all()) - objections_before
        version = current_data_version(engine)["data_version"]
        weights = list(connection.execute(select(births.c.birth_weight_g).where(births.c.data_version == version)
                                          .where(births.c.practice_code == "P0001")).scalars())
    return Loaded(
        summary=summary, row=row,
        messages_nl=" ".join([row["message_nl"] or "", *(rejection.message_nl for rejection in rejections)]),
        messages_en=" ".join([row["message_en"] or "", *(rejection.message_en for rejection in rejections)]),
        record_codes={code for rejection in rejections for code in rejection.error_codes.split(";")},
        longest_message=max([len(row["message_en"] or ""), *(len(rejection.message_en) for rejection in rejections)]),
        raw_lengths=[len(rejection.raw) for rejection in rejections], objections_stored=stored, weights=weights,
    )


def test_the_corpus_is_large_and_every_case_named_once() -> None:
    assert len(CASES) >= 60
    assert len({corpus_case.name for corpus_case in CASES}) == len(CASES)


@pytest.mark.parametrize("index", range(len(CASES)), ids=[corpus_case.name for corpus_case in CASES])
def test_a_malformed_delivery_is_handled_next_to_a_good_one(corpus_engine: Engine, tmp_path: Path, index: int,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    corpus_case = CASES[index]
    loaded = load_case(corpus_engine, tmp_path / "delivery", index, corpus_case, monkeypatch)

    assert loaded.summary.status == "published"
    assert good_weight(index) in loaded.weights, "the good file next to it is published"
    row = loaded.row
    assert (row["status"], row["error_code"]) == (corpus_case.status, corpus_case.error_code)
    counts = (row["records_read"], row["records_accepted"], row["records_rejected"], row["records_objected"])
    assert counts == (corpus_case.read, corpus_case.accepted, corpus_case.rejected, corpus_case.objected)
    assert (row["sha256"] is None) == (corpus_case.error_code == "unreadable")
    summary = loaded.summary
    assert summary.records_read == summary.records_accepted + summary.records_rejected + summary.records_objected
    for word in corpus_case.nl:
        assert word in loaded.messages_nl, f"{word!r} not in the Dutch feedback: {loaded.messages_nl[:500]}"
    for word in corpus_case.en:
        assert word in loaded.messages_en, f"{word!r} not in the English feedback: {loaded.messages_en[:500]}"
    if corpus_case.status != "accepted" or corpus_case.nl:
        assert loaded.messages_nl.strip() and loaded.messages_en.strip() and loaded.messages_nl != loaded.messages_en
    assert set(corpus_case.record_codes) <= loaded.record_codes
    # nothing received is repeated whole: a message quotes at most a few dozen characters of each value
    assert loaded.longest_message < 4000
    assert all(length <= 3600 for length in loaded.raw_lengths)
    assert loaded.objections_stored == corpus_case.objections_stored
