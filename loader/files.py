"""Receive, file level: a delivery file's name, its organisation, its encoding and its header. A file that fails
here is rejected as a whole, with one message in Dutch and English; the other files of the delivery are unaffected."""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeGuard

from contracts.delivery_format import COLUMNS, DISCIPLINE_ORGANISATION_TYPE, FILE_NAME_PATTERN, Discipline
from loader.messages import _both
from loader.results import DeliveryFile
from texts import code_label, text

if TYPE_CHECKING:
    from loader.results import NamedDeliveryFile


def _unreadable_message(error: OSError) -> Callable[[str], str]:
    """The message for a file the loader could not read, in a given language."""
    reason = error.strerror or str(error)
    return lambda language: text("loader.unreadable", language, reason=reason)


# ----------------------------------------------------------------------------------------------------------
# File level
# ----------------------------------------------------------------------------------------------------------

def sha256_of(path: Path) -> str:
    """SHA-256 of a file's bytes: the same file is processed once."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _data_lines(data: bytes) -> int:
    """Non-blank lines after the header: what a reader would count as records of a broken file."""
    return sum(1 for line in data.splitlines()[1:] if line.strip())


def _check_name(delivery: DeliveryFile, data: bytes) -> TypeGuard[NamedDeliveryFile]:
    match = FILE_NAME_PATTERN.match(delivery.file_name)
    month_ok = match is not None and 1 <= int(match["month"][5:7]) <= 12
    if not match or not month_ok:
        delivery.reject(
            "bad_file_name", *_both(lambda language: text("loader.bad_file_name", language, file=delivery.file_name)),
            _data_lines(data),
        )
        return False
    delivery.discipline, delivery.org_code, delivery.month = match["discipline"], match["org_code"], match["month"]
    delivery.resend = int(match["resend"] or 0)
    return True


def _check_organisation(delivery: NamedDeliveryFile, org_types: dict[str, str], data: bytes) -> bool:
    org_type = org_types.get(delivery.org_code or "")
    if org_type is None:
        delivery.reject(
            "unknown_organisation",
            *_both(lambda language: text("loader.unknown_organisation", language, organisation=delivery.org_code)),
            _data_lines(data),
        )
        return False
    allowed = DISCIPLINE_ORGANISATION_TYPE[Discipline(delivery.discipline)]
    if org_type != allowed:
        delivery.reject(
            "organisation_type_not_allowed",
            *_both(lambda language: text(
                "loader.organisation_type_not_allowed", language, organisation=delivery.org_code,
                org_type=code_label("org_type_with_article", org_type, language),
                allowed=code_label("org_type_with_article", allowed, language),
                discipline=code_label("discipline_plural", delivery.discipline, language))),
            _data_lines(data),
        )
        return False
    return True


def _check_content(delivery: DeliveryFile, data: bytes) -> tuple[list[str], bytes] | None:
    """Decode and check the header; the header's columns and the body (LF line ends, final newline)."""
    try:
        decoded = data.decode("utf-8")
    except UnicodeDecodeError as error:
        position = error.start
        delivery.reject("not_utf8", *_both(lambda language: text("loader.not_utf8", language, position=position)),
                        _data_lines(data))
        return None
    decoded = decoded.removeprefix("\ufeff").replace("\r\n", "\n")
    header_line, _, body = decoded.partition("\n")
    header = [name.strip() for name in next(csv.reader([header_line]), [])]
    if header != list(COLUMNS):
        missing = [name for name in COLUMNS if name not in header]
        unknown = [name for name in header if name not in COLUMNS]
        listed = {"missing": ", ".join(missing) or "-", "unknown": ", ".join(unknown) or "-"}

        def detail(language: str) -> str:
            if not header_line.strip():
                return text("loader.header_missing", language)
            if len(header) != len(set(header)):
                return text("loader.columns_differ_duplicates", language, **listed)
            if missing or unknown:
                return text("loader.columns_differ", language, **listed)
            return text("loader.columns_order", language)

        delivery.reject(
            "wrong_columns",
            *_both(lambda language: text("loader.wrong_columns", language, detail=detail(language),
                                         count=len(COLUMNS), columns=",".join(COLUMNS))),
            _data_lines(data),
        )
        return None
    if not body.strip():
        delivery.reject("empty", *_both(lambda language: text("loader.empty", language)), 0)
        return None
    if not body.endswith("\n"):
        body += "\n"
    return header, body.encode("utf-8")
