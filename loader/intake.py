"""Receive one delivery file that came over HTTP (`POST /api/v1/deliveries`) or is checked at the console
(`perispiegel validate FILE`): validate it as a refresh would, and say per dossier what became of it.

The file is validated with the same code as a refresh (`loader.validate.validate_deliveries`) against the register as
it is in the database now, so the feedback is the refresh's. Storing it (`store_received`) only writes its bytes
into the `received/` folder below the delivery folder, atomically (a temporary file in `received/_incoming/`, a folder
the refresh does not look into, then a rename), so a refresh never reads half a file; the next refresh loads it
(and writes its `deliveries` row). Nothing here writes a table.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from contracts.delivery_format import DISCIPLINE_ORGANISATION_TYPE, FILE_EXTENSIONS, FILE_NAME_PATTERN, RESENDS
from loader.fhir import READ_RESOURCES
from loader.finding import received
from loader.messages import MESSAGE_SEPARATOR
from loader.results import DeliveryFile, ValidationResult
from loader.validate import validate_deliveries
from tables.register import read_register, register_by_code
from texts import text

#: The folder below the delivery folder where received files are stored, and its folder of files being written.
RECEIVED_FOLDER = "received"
INCOMING_FOLDER = "_incoming"
MONTH_PATTERN = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
#: `Bundle.entry[3].resource.valueQuantity.code: …`: a message that begins with the FHIR element it is about (a Bundle
#: path, or a resource named by its profile where the field is missing).
ELEMENT_PATTERN = re.compile(r"^((?:Bundle|" + "|".join(READ_RESOURCES) + r")(?:[.\[ (][^:]*)?): ")


class IntakeError(ValueError):
    """A request that cannot be validated at all (a bad parameter): `parameter` names it."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


@dataclass
class DossierFeedback:
    """What became of one record (a child of a dossier; in FHIR one Bundle, `line_number` its place in the file)."""

    dossier_id: str | None
    line_number: int | None
    status: str  # accepted | rejected | objected
    errors: list[dict[str, str | None]] = field(default_factory=list)
    hints: list[dict[str, str | None]] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"dossier_id": self.dossier_id, "line_number": self.line_number, "status": self.status,
                "errors": self.errors, "hints": self.hints}


@dataclass
class Feedback:
    """The technical feedback on one delivery file, in one language."""

    file_name: str
    status: str  # accepted | partially_accepted | rejected (loader.results.DeliveryStatus)
    rejected_whole: bool
    error_code: str | None
    records_read: int
    records_accepted: int
    records_rejected: int
    records_objected: int
    message: str
    dossiers: list[DossierFeedback]
    stored: bool = False

    @property
    def anything_rejected(self) -> bool:
        return self.rejected_whole or self.records_rejected > 0

    def as_dict(self) -> dict:
        return {"file_name": self.file_name, "stored": self.stored, "status": self.status,
                "error_code": self.error_code, "records_read": self.records_read,
                "records_accepted": self.records_accepted, "records_rejected": self.records_rejected,
                "records_objected": self.records_objected, "message": self.message,
                "dossiers": [dossier.as_dict() for dossier in self.dossiers]}


def element_of(message: str) -> str | None:
    """The FHIR element a message begins with (`Bundle.entry[3].resource.valueQuantity.code: …`), else None."""
    match = ELEMENT_PATTERN.match(message or "")
    return match.group(1) if match else None


def default_discipline(engine: Engine, org_code: str) -> str | None:
    """The one discipline the organisation's type may send (a practice: lvr1), or None when it may send more (a
    hospital: lvr2 or lnr) or is not in the register."""
    row = register_by_code(read_register(engine)).get(org_code)
    if row is None:
        return None
    disciplines = [str(discipline) for discipline, org_type in DISCIPLINE_ORGANISATION_TYPE.items()
                   if org_type == row["org_type"]]
    return disciplines[0] if len(disciplines) == 1 else None


def checked_month(month: str | None) -> str:
    if not month:
        raise IntakeError("month", "missing parameter 'month': the month the delivery is about, as YYYY-MM "
                                   "(e.g. month=2023-04)")
    if not MONTH_PATTERN.match(month):
        raise IntakeError("month", f"parameter 'month' must be a month as YYYY-MM (e.g. 2023-04), not {month!r}")
    return month


def delivery_name(folder: Path | None, discipline: str, org_code: str, month: str, extension: str) -> str:
    """`<discipline>_<org>_<month>.<ext>`, or with `_resendN` (the next free N) when that month's delivery of the
    organisation and discipline is already in the received folder (in any format)."""
    if extension not in FILE_EXTENSIONS:
        raise IntakeError("format", f"format must be one of {', '.join(FILE_EXTENSIONS)}, not {extension!r}")
    base = f"{discipline}_{org_code}_{month}"
    taken: set[int] = set()
    here = folder / RECEIVED_FOLDER if folder is not None else None
    if here is not None and here.is_dir():
        for path in here.iterdir():
            match = FILE_NAME_PATTERN.match(path.name)
            if match and (match["discipline"], match["org_code"], match["month"]) == (discipline, org_code, month):
                taken.add(int(match["resend"] or 0))
    if not taken:
        return f"{base}.{extension}"
    resend = max(taken) + 1
    if resend not in RESENDS:
        raise IntakeError("month", f"{base} has been resent {max(taken)} times: no further resend is possible")
    return f"{base}_resend{resend}.{extension}"


def validate_received(engine: Engine, name: str, data: bytes, language: str) -> tuple[Feedback, ValidationResult]:
    """Validate `data` as the delivery file `name` against the register in the database; its feedback in
    `language`."""
    result = validate_deliveries([received(Path(name), data)], read_register(engine))
    return feedback_of(result, language), result


def _split(codes: str | None, messages: str | None) -> list[dict[str, str | None]]:
    code_list = [code for code in (codes or "").split(";") if code]
    message_list = (messages or "").split(MESSAGE_SEPARATOR) if messages else []
    if len(code_list) == len(message_list):
        return [{"code": code, "message": message} for code, message in zip(code_list, message_list, strict=True)]
    return [{"code": ";".join(code_list) or None, "message": messages}]


def feedback_of(result: ValidationResult, language: str, file_index: int = 0) -> Feedback:
    """The feedback on file `file_index` of `result`, per record, in `language` (nl or en)."""
    delivery: DeliveryFile = result.files[file_index]
    suffix = "nl" if language == "nl" else "en"
    dossiers: list[DossierFeedback] = []
    hints: dict[str | None, list[dict[str, str | None]]] = {}
    for row in result.hints.filter(result.hints["file_index"] == file_index).iter_rows(named=True):
        hints.setdefault(row["dossier_id"], []).append(
            {"code": row["hint_code"], "field": row["field"], "message": row[f"message_{suffix}"]})
    for row in result.accepted.filter(result.accepted["file_index"] == file_index).iter_rows(named=True):
        dossiers.append(DossierFeedback(row["dossier_id"], row["line_number"], "accepted",
                                        hints=hints.get(row["dossier_id"], [])))
    for row in result.rejected.filter(result.rejected["file_index"] == file_index).iter_rows(named=True):
        dossiers.append(DossierFeedback(row["dossier_id"], row["line_number"], "rejected",
                                        errors=_split(row["error_codes"], row[f"message_{suffix}"])))
    for row in result.objections.filter(result.objections["file_index"] == file_index).iter_rows(named=True):
        dossiers.append(DossierFeedback(row["dossier_id"], None, "objected"))
    dossiers.sort(key=lambda dossier: (dossier.line_number is None, dossier.line_number or 0))
    file_message = delivery.message_nl if language == "nl" else delivery.message_en
    if delivery.rejected_whole:
        reason = (file_message or delivery.error_code or "").rstrip(".")  # the sentence ends once
        message = text("api_deliveries.rejected_whole", language, reason=reason)
    else:
        message = text("api_deliveries.summary", language, read=delivery.records_read,
                       accepted=delivery.records_accepted, rejected=delivery.records_rejected,
                       objected=delivery.records_objected)
        if file_message:
            message = f"{message} {file_message}"
    return Feedback(file_name=delivery.file_name, status=delivery.status, rejected_whole=delivery.rejected_whole,
                    error_code=delivery.error_code, records_read=delivery.records_read,
                    records_accepted=delivery.records_accepted, records_rejected=delivery.records_rejected,
                    records_objected=delivery.records_objected, message=message, dossiers=dossiers)


def store_received(folder: Path, name: str, data: bytes) -> Path:
    """Write `data` as `received/<name>` below the delivery folder, atomically: written and synced under
    `received/_incoming/` (never read by a refresh: its name starts with `_`), then renamed into place. A name
    already taken is never overwritten (FileExistsError)."""
    target_folder = folder / RECEIVED_FOLDER
    incoming = target_folder / INCOMING_FOLDER
    incoming.mkdir(parents=True, exist_ok=True)
    target = target_folder / name
    descriptor, temporary = tempfile.mkstemp(dir=incoming, prefix=".", suffix=".part")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        # A hard link does not replace an existing file (a concurrent request that took the same name): it fails.
        os.link(temporary, target)
    finally:
        os.unlink(temporary)
    return target
