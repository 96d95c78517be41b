"""Receive, file level: a delivery file's name, its organisation, its bytes as text and its header.

A file that fails here is rejected as a whole, with one message in Dutch and English that says what to change; the
other files of the delivery are unaffected. In the order checked:
- `unreadable`: nothing could be read (the reason in words; tried again at the next refresh);
- `bad_file_name`: the name does not follow the pattern (the message says which part is wrong), or is too long
  for the register of deliveries;
- `month_in_future`: the name's month is after the month the file was received in;
- `unknown_organisation`, `organisation_type_not_allowed`: the register does not know the sender, or its type does
  not send this discipline (read again once the register does);
- `empty_file`, `compressed`, `binary`, `not_utf8`: the bytes are no UTF-8 text (UTF-16 gets its own message);
- `no_header`, `wrong_columns`, `empty`: the first line is a record, the header is not the format's, or no
  record follows it;
- for a FHIR file (`.json`, `.ndjson`, `.xml`: `loader.fhir`) instead of the header checks: `not_fhir`, the text
  is no JSON or XML at all, and `empty`, it holds no Bundle.

Records read by a rejected file are those a careful reader finds (`loader.parsing`, blank lines not counted): none
when the bytes are no text. Objections in a rejected file are honoured where they can be read
(`loader.objections`). Pure: works on the bytes it is given (`loader.finding.ReceivedFile`).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from contracts.delivery_format import (
    COLUMNS,
    DISCIPLINE_ORGANISATION_TYPE,
    FILE_EXTENSIONS,
    FILE_NAME_PATTERN,
    MAX_ORG_CODE_LENGTH,
    RESENDS,
    Discipline,
)
from loader.fhir import Dossier, is_fhir_name, read_fhir_file
from loader.finding import ReceivedFile
from loader.messages import CONTROL_CHARACTERS, _both, shown
from loader.objections import objections_in_rejected_file, usable_dossier_id
from loader.parsing import parse_bodies
from loader.results import FILE_NAME_WIDTH, DeliveryFile
from texts import code_label, text

Wording = Callable[[str], str]  # a message in a given language
#: Why a whole file is rejected (`deliveries.error_code`), in the order checked (docs/delivery-format.md lists them).
FILE_REJECTIONS = ("unreadable", "bad_file_name", "month_in_future", "unknown_organisation",
                   "organisation_type_not_allowed", "empty_file", "compressed", "binary", "not_utf8", "no_header",
                   "wrong_columns", "not_fhir", "empty")

#: How a compressed file or a spreadsheet begins: gzip, zip (xlsx, ods, docx), OLE2 (xls), bzip2, xz, 7-Zip.
COMPRESSED_MAGIC = (b"\x1f\x8b", b"PK\x03\x04", b"PK\x05\x06", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"BZh91",
                    b"\xfd7zXZ\x00", b"7z\xbc\xaf\x27\x1c")
#: Byte-order marks of UTF-32 and UTF-16 (UTF-32 first: its little-endian mark begins like UTF-16's).
UNICODE_BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe", "utf-16"),
                (b"\xfe\xff", "utf-16"))
DISCIPLINES = tuple(discipline.value for discipline in Discipline)
#: Separators a spreadsheet may have written instead of a comma, as a message names them.
OTHER_SEPARATORS = ((";", "';'"), ("\t", "TAB"), ("|", "'|'"))
#: A CR in the header has a message of its own.
CONTROL_CHARACTERS_BUT_CR = "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]"


@dataclass
class FileCheck:
    """A file after the file-level checks: its deliveries row, the body to read record by record (None when the
    file is rejected as a whole) and the dossier numbers of the objections honoured in a rejected file."""

    delivery: DeliveryFile
    body: str | None = None
    objections: list[str] = field(default_factory=list)
    dossiers: list[Dossier] | None = None  # a FHIR file's Bundles, read (None: a CSV file, or rejected as a whole)


@dataclass(frozen=True)
class Content:
    """A file's bytes as text (LF line ends, no byte-order mark), and why it is not UTF-8 text when it is not:
    `text` is None when the bytes are no text at all."""

    text: str | None
    error_code: str | None = None
    message: Wording | None = None


def check_file(received: ReceivedFile, org_types: dict[str, str]) -> FileCheck:
    """The file-level checks of one received file against the register (`org_code` → `org_type`)."""
    delivery = DeliveryFile(path=received.path, sha256=received.sha256, received_at=received.received_at)
    name_problem = _read_name(delivery)
    if received.data is None:
        reason = received.unreadable or "other"
        system = received.error.strerror if received.error and received.error.strerror else ""

        def unreadable(language: str) -> str:
            return text("loader.unreadable", language,
                        reason=code_label("unreadable_reason", reason, language, error=system))

        delivery.reject("unreadable", *_both(unreadable), 0)
        return FileCheck(delivery)
    content = decode(received.data)
    check = FileCheck(delivery)
    fhir = is_fhir_name(received.path.name)
    # A FHIR file that is text is read whatever becomes of it: also a rejected one's records are counted and its
    # objections honoured.
    fhir_file = (read_fhir_file(content.text, received.path.name.rsplit(".", 1)[-1])
                 if fhir and content.text is not None else None)

    def reject(error_code: str, message: Wording) -> FileCheck:
        """Reject the file as a whole: count its records (its first line among them when that is no header) and
        honour the objections that can be read."""
        if fhir:
            dossiers = fhir_file.dossiers if fhir_file is not None else []
            records = sum(max(len(dossier.records), 1) for dossier in dossiers)
            if delivery.org_code and delivery.discipline:
                check.objections = [str(record["dossier_id"]) for dossier in dossiers for record in dossier.records
                                    if record["objection"] == "1" and usable_dossier_id(record["dossier_id"])]
            delivery.reject(error_code, *_both(message), records, len(check.objections))
            return check
        body, header = "", []
        if content.text is not None:
            first, _, body = content.text.partition("\n")
            header = _header_cells(first)
            if _looks_like_a_record(first):
                body, header = content.text, []
        body = _ending_in_newline(body)
        records = parse_bodies([(0, body)]).height if body.strip() else 0
        if delivery.org_code and delivery.discipline:
            check.objections = objections_in_rejected_file(header, body)
        delivery.reject(error_code, *_both(message), records, len(check.objections))
        return check

    if name_problem is not None:
        return reject("bad_file_name", name_problem)
    if delivery.month is not None and delivery.month > f"{delivery.received_at:%Y-%m}":
        month, received_month = delivery.month, f"{delivery.received_at:%Y-%m}"
        return reject("month_in_future", lambda language: text("loader_files.month_in_future", language,
                                                               month=month, received=received_month))
    organisation_problem = _organisation_problem(delivery, org_types)
    if organisation_problem is not None:
        return reject(*organisation_problem)
    if content.error_code is not None and content.message is not None:
        return reject(content.error_code, content.message)
    assert content.text is not None  # a Content without an error holds text
    header_line, _, body = content.text.partition("\n")
    if not content.text.strip():
        return reject("empty", lambda language: text("loader.empty", language))
    if fhir_file is not None:
        if fhir_file.problem is not None:
            problem = fhir_file.problem
            return reject("not_fhir", lambda language: problem[0] if language == "nl" else problem[1])
        if not fhir_file.dossiers:
            return reject("empty", lambda language: text("loader.empty", language))
        check.dossiers = fhir_file.dossiers
        return check
    if _looks_like_a_record(header_line):
        return reject("no_header", lambda language: text("loader_files.no_header", language, count=len(COLUMNS),
                                                         columns=",".join(COLUMNS)))
    header_problem = _header_problem(header_line)
    if header_problem is not None:
        return reject("wrong_columns", lambda language: text(
            "loader.wrong_columns", language, detail=header_problem(language), count=len(COLUMNS),
            columns=",".join(COLUMNS)))
    if not body.strip():
        return reject("empty", lambda language: text("loader.empty", language))
    check.body = _ending_in_newline(body)
    return check


def _ending_in_newline(body: str) -> str:
    return body if not body or body.endswith("\n") else body + "\n"


# ----------------------------------------------------------------------------------------------------------
# The file name
# ----------------------------------------------------------------------------------------------------------

def _read_name(delivery: DeliveryFile) -> Wording | None:
    """Fill in discipline, organisation, month and resend from the file name; what is wrong with it, if anything.

    A wrong name still gives its discipline and organisation code when those parts can be read: the sender then
    sees the rejection on its own feedback page, and an objection in the file can be honoured."""
    name = delivery.path.name
    detail = _name_detail(name)
    parts = name.split("_")
    if detail is None:
        match = FILE_NAME_PATTERN.match(name)
        assert match is not None  # no detail: the name matches
        delivery.discipline, delivery.org_code, delivery.month = match["discipline"], match["org_code"], match["month"]
        delivery.resend = int(match["resend"] or 0)
        return None
    if len(parts) >= 2 and parts[0] in DISCIPLINES and _is_org_code(parts[1]):
        delivery.discipline, delivery.org_code = parts[0], parts[1]
    file = shown(name)
    return lambda language: text("loader_files.bad_file_name", language, file=file, detail=detail(language))


def _is_org_code(part: str) -> bool:
    return re.fullmatch(r"[A-Z0-9]+", part) is not None and len(part) <= MAX_ORG_CODE_LENGTH


def _name_detail(name: str) -> Wording | None:
    """Which part of a file name is wrong, in words; None when the name is right."""
    if len(name) > FILE_NAME_WIDTH:
        length = len(name)
        return lambda language: text("loader_files.name_too_long", language, length=length, maximum=FILE_NAME_WIDTH)
    stem, dot, extension = name.rpartition(".")
    if not dot or extension.lower() not in FILE_EXTENSIONS:
        return lambda language: text("loader_files.name_extension", language)
    parts = stem.split("_")
    if len(parts) not in (3, 4):
        return lambda language: text("loader_files.name_parts", language)
    discipline, org_code, month, *resend = parts
    if discipline not in DISCIPLINES:
        return lambda language: text("loader_files.name_discipline", language)
    if not _is_org_code(org_code):
        if re.fullmatch(r"[A-Z0-9]+", org_code):
            return lambda language: text("loader_files.name_org_code_long", language, maximum=MAX_ORG_CODE_LENGTH)
        return lambda language: text("loader_files.name_org_code", language)
    if re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month) is None:
        return lambda language: text("loader_files.name_month", language)
    if resend and (re.fullmatch(r"resend\d+", resend[0]) is None or int(resend[0][6:]) not in RESENDS):
        return lambda language: text("loader_files.name_resend", language, maximum=RESENDS[-1])
    if FILE_NAME_PATTERN.match(name) is None:  # every part checked above; should the pattern differ, say so
        return lambda language: text("loader_files.name_parts", language)
    return None


def _organisation_problem(delivery: DeliveryFile, org_types: dict[str, str]) -> tuple[str, Wording] | None:
    organisation, discipline = delivery.org_code or "", delivery.discipline or ""
    org_type = org_types.get(organisation)
    if org_type is None:
        return "unknown_organisation", lambda language: text("loader.unknown_organisation", language,
                                                             organisation=organisation)
    allowed = DISCIPLINE_ORGANISATION_TYPE[Discipline(discipline)]
    if org_type == allowed:
        return None
    return "organisation_type_not_allowed", lambda language: text(
        "loader.organisation_type_not_allowed", language, organisation=organisation,
        org_type=code_label("org_type_with_article", org_type, language),
        allowed=code_label("org_type_with_article", allowed, language),
        discipline=code_label("discipline_plural", discipline, language))


# ----------------------------------------------------------------------------------------------------------
# The bytes as text
# ----------------------------------------------------------------------------------------------------------

def decode(data: bytes) -> Content:
    """The bytes of a delivery file as text, or why they are not UTF-8 text (see `Content`)."""
    if not data:
        return Content(None, "empty_file", lambda language: text("loader_files.empty_file", language))
    if data.startswith(COMPRESSED_MAGIC):
        return Content(None, "compressed", lambda language: text("loader_files.compressed", language))
    wide = _wide_encoding(data)
    if wide is not None:
        return Content(normalised(data.decode(wide, errors="replace")), "not_utf8",
                       lambda language: text("loader_files.utf16", language))
    try:
        return Content(normalised(data.decode("utf-8")))
    except UnicodeDecodeError as error:
        if b"\x00" in data:
            return Content(None, "binary", lambda language: text("loader_files.binary", language))
        position = error.start
        return Content(normalised(data.decode("utf-8", errors="replace")), "not_utf8",
                       lambda language: text("loader.not_utf8", language, position=position))


def _wide_encoding(data: bytes) -> str | None:
    """UTF-16 or UTF-32, by the byte-order mark or, without one, by the zero bytes every other byte."""
    for bom, encoding in UNICODE_BOMS:
        if data.startswith(bom):
            return encoding
    sample = data[:200]
    if len(sample) >= 8:
        even, odd = sample[0::2], sample[1::2]
        if odd.count(0) >= 0.4 * len(odd) and even.count(0) == 0:
            return "utf-16-le"
        if even.count(0) >= 0.4 * len(even) and odd.count(0) == 0:
            return "utf-16-be"
    return None


def normalised(decoded: str) -> str:
    """Without a byte-order mark, with LF line ends: CRLF becomes LF; in a file without any LF, CR is the line end
    (old Mac). A CR elsewhere in a file with LF line ends stays: a control character, rejected where it is."""
    decoded = decoded.removeprefix("\ufeff")
    return decoded.replace("\r\n", "\n") if "\n" in decoded else decoded.replace("\r", "\n")


# ----------------------------------------------------------------------------------------------------------
# The header
# ----------------------------------------------------------------------------------------------------------

def _header_cells(header_line: str) -> list[str]:
    """The header's column names, stripped (a quoted name as CSV reads it)."""
    flat = re.sub(CONTROL_CHARACTERS, "", header_line)
    try:
        cells = next(csv.reader([flat], skipinitialspace=True), [])
    except csv.Error:  # an unclosed quote: its commas still separate
        cells = flat.split(",")
    return [cell.strip() for cell in cells]


def _looks_like_a_record(header_line: str) -> bool:
    """The first line is a record, not a header: no format column among its cells, and a record's width."""
    cells = _header_cells(header_line)
    known = {name.lower() for name in COLUMNS}
    return len(cells) >= len(COLUMNS) // 2 and not any(cell.lower() in known for cell in cells)


def _header_problem(header_line: str) -> Wording | None:
    """What is wrong with the header, in words (one part per problem); None when it is the format's."""
    cells = _header_cells(header_line)
    if not header_line.strip():
        return lambda language: text("loader.header_missing", language)
    parts: list[Wording] = []
    if "\r" in header_line:
        before = _header_cells(header_line.split("\r")[0])
        column = shown(before[-1] if before else "")
        parts.append(lambda language: text("loader_files.header_line_break", language, column=column))
    control = re.search(CONTROL_CHARACTERS_BUT_CR, header_line)
    if control is not None:
        code, position = f"0x{ord(control.group()):02X}", control.start() + 1
        parts.append(lambda language: text("loader_files.header_control", language, code=code, position=position))
    if header_line.count('"') % 2:
        parts.append(lambda language: text("loader_files.header_quote", language))
    if cells == list(COLUMNS) and not parts:
        return None
    for separator, shown_as in OTHER_SEPARATORS:
        if len(cells) == 1 and len(set(header_line.split(separator)) & set(COLUMNS)) > len(COLUMNS) // 2:
            return lambda language: text("loader_files.columns_separator", language, separator=shown_as)
    unnamed = [str(position) for position, cell in enumerate(cells, start=1) if not cell]
    named = [cell for cell in cells if cell]
    by_lower = {name.lower(): name for name in COLUMNS}
    cased = [cell for cell in named if cell not in COLUMNS and cell.lower() in by_lower]
    missing = [name for name in COLUMNS if name not in named and name not in {by_lower.get(c.lower()) for c in cased}]
    unknown = [shown(cell) for cell in named if cell not in COLUMNS and cell not in cased]
    twice = sorted({shown(cell) for cell in named if named.count(cell) > 1})
    if cased:
        listed = ", ".join(shown(cell) for cell in cased)
        parts.append(lambda language: text("loader_files.columns_lower_case", language, columns=listed))
    if missing:
        parts.append(lambda language: text("loader_files.columns_missing", language, columns=", ".join(missing)))
    if unknown:
        parts.append(lambda language: text("loader_files.columns_unknown", language, columns=", ".join(unknown)))
    if twice:
        parts.append(lambda language: text("loader_files.columns_twice", language, columns=", ".join(twice)))
    if unnamed:
        parts.append(lambda language: text("loader_files.columns_unnamed", language, positions=", ".join(unnamed)))
    if not parts:
        parts.append(lambda language: text("loader.columns_order", language))
    return lambda language: "; ".join(part(language) for part in parts)
