"""Receiving deliveries over HTTP, as a registry does (docs/api.md, "Deliveries"):

- `POST /api/v1/deliveries`: a sender account's token (auth.users.SENDER_ROLE, bound to one practice or hospital)
  sends one delivery file as the request body; it is validated as a refresh validates it and, unless rejected as a
  whole, stored in the delivery folder's `received/` (202; rejected as a whole: 422, nothing stored). The next refresh
  loads it. Only a sender may deliver, and only for its own organisation (the file is named after it).
- `POST /api/v1/deliveries/validate`: the same feedback, nothing stored (200; rejected as a whole: 422). A sender
  validates for its own organisation; any other account names the organisation with `org=` (a vendor testing).

The answer is JSON, or a FHIR R4 OperationOutcome for `Accept: application/fhir+json`. The validating and storing is
the loader's (loader.intake): the one place where the API calls into the loader.
"""

from __future__ import annotations

from pathlib import Path

import flask
from fhir.resources.R4B.operationoutcome import OperationOutcome
from flask import current_app, jsonify, request

import auth
from api.routes import _engine, _error, blueprint
from auth.users import SENDER_ROLE
from contracts.delivery_format import FILE_EXTENSIONS, Discipline
from loader.intake import (
    Feedback,
    IntakeError,
    checked_month,
    default_discipline,
    delivery_name,
    element_of,
    store_received,
    validate_received,
)
from settings import deliveries_folder
from texts import DEFAULT_LANGUAGE, LANGUAGES, text

#: A test (or an embedder) may name the delivery folder on the server; else `PERISPIEGEL_DELIVERIES_DIR`.
DELIVERIES_FOLDER_CONFIG_KEY = "PERISPIEGEL_DELIVERIES_DIR"
FHIR_JSON = "application/fhir+json"
#: The body's format from its Content-Type (without parameters), when `format=` does not say it.
FORMAT_OF_MEDIA_TYPE = {
    "application/fhir+json": "json", "application/json": "json",
    "application/fhir+ndjson": "ndjson", "application/x-ndjson": "ndjson", "application/ndjson": "ndjson",
    "application/fhir+xml": "xml", "application/xml": "xml", "text/xml": "xml",
    "text/csv": "csv",
}
FORMATS = FILE_EXTENSIONS
PARAMETERS = ("discipline", "month", "format", "lang")
#: How often a store is tried again with the next resend number when another request took the name meanwhile.
STORE_ATTEMPTS = 5


def _bad(parameter: str, message: str, allowed: object = None) -> flask.Response:
    return _error(400, message, parameter=parameter, allowed=allowed)


def _language() -> str:
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return asked
    return request.accept_languages.best_match(list(LANGUAGES)) or DEFAULT_LANGUAGE


def _format() -> str | None:
    written = request.args.get("format")
    if written:
        return written if written in FORMATS else None
    return FORMAT_OF_MEDIA_TYPE.get(request.mimetype)


def _folder() -> Path:
    configured = current_app.config.get(DELIVERIES_FOLDER_CONFIG_KEY)
    return Path(configured) if configured else deliveries_folder()


def _receive(store: bool) -> flask.Response:
    user = auth.current_user()
    if user is None:  # the blueprint's guard already refused it
        return _error(401, "login required")
    sender = user.role == SENDER_ROLE
    allowed = PARAMETERS if sender or store else (*PARAMETERS, "org")
    for name in request.args:
        if name not in allowed:
            return _bad(name, f"unknown parameter '{name}'; allowed parameters: {', '.join(allowed)}", allowed)
    if store and not sender:
        return _error(403, "only a sender account delivers files (an admin makes one: perispiegel users add NAME "
                           "--role sender --org CODE); POST /api/v1/deliveries/validate checks a file")
    org_code = user.org_code if sender else request.args.get("org")
    if not org_code:
        return _bad("org", "missing parameter 'org': the code of the organisation the file is from (e.g. org=P0001)")
    if "lang" in request.args and request.args["lang"] not in LANGUAGES:
        return _bad("lang", f"parameter 'lang' must be one of {', '.join(LANGUAGES)}", LANGUAGES)
    file_format = _format()
    if file_format is None:
        if request.args.get("format"):
            return _bad("format", f"parameter 'format' must be one of {', '.join(FORMATS)}", FORMATS)
        return _error(415, "say the file's format: Content-Type application/fhir+json, application/x-ndjson, "
                           "application/fhir+xml or text/csv, or the parameter format=json|ndjson|xml|csv",
                      parameter="format", allowed=FORMATS)
    engine = _engine().store.engine
    discipline = request.args.get("discipline") or default_discipline(engine, org_code)
    disciplines = tuple(str(value) for value in Discipline)
    if discipline not in disciplines:
        return _bad("discipline", "parameter 'discipline' must be one of " + ", ".join(disciplines)
                    + (f", not {discipline!r}" if discipline else
                       " (a hospital sends lvr2 or lnr; an organisation the register does not have, none)"),
                    disciplines)
    language = _language()
    folder = _folder()
    try:
        month = checked_month(request.args.get("month"))
        # Only a sender's own deliveries are looked at to number a resend: to anyone else the name would tell
        # whether, and how often, another organisation delivered that month.
        name = delivery_name(folder if sender else None, discipline, org_code, month, file_format)
    except IntakeError as error:
        return _bad(error.parameter, str(error))
    data = request.get_data(cache=False)
    feedback, _ = validate_received(engine, name, data, language)
    if store and not feedback.rejected_whole:
        feedback = _stored(feedback, folder, discipline, org_code, month, file_format, data)
        feedback.message += " " + text("api_deliveries.stored", language, file=feedback.file_name)
    elif store:
        feedback.message += " " + text("api_deliveries.not_stored", language)
    else:
        feedback.message += " " + text("api_deliveries.validated", language)
    auth.audit_event("delivery_received" if store else "delivery_validated", target=feedback.file_name,
                     detail=f"{feedback.status}: {feedback.records_read} read, {feedback.records_accepted} accepted, "
                            f"{feedback.records_rejected} rejected, {feedback.records_objected} objected; "
                            + ("stored" if feedback.stored else "not stored"))
    status = 422 if feedback.rejected_whole else (202 if store else 200)
    if request.accept_mimetypes.best_match(["application/json", FHIR_JSON]) == FHIR_JSON and \
            request.accept_mimetypes[FHIR_JSON] > request.accept_mimetypes["application/json"]:
        return flask.Response(operation_outcome(feedback).model_dump_json(), status=status, content_type=FHIR_JSON)
    response = jsonify(feedback.as_dict())
    response.status_code = status
    return response


def _stored(feedback: Feedback, folder: Path, discipline: str, org_code: str, month: str, file_format: str,
            data: bytes) -> Feedback:
    """Store the validated bytes; when another request took the name meanwhile, as the next resend."""
    name = feedback.file_name
    for _attempt in range(STORE_ATTEMPTS):
        try:
            store_received(folder, name, data)
        except FileExistsError:
            name = delivery_name(folder, discipline, org_code, month, file_format)
            continue
        feedback.file_name, feedback.stored = name, True
        return feedback
    raise RuntimeError(f"could not store {name}: the name was taken {STORE_ATTEMPTS} times")


def _issue(severity: str, code: str, message: str, where: str | None, error_code: str | None) -> dict:
    issue: dict = {"severity": severity, "code": code, "diagnostics": message}
    element = element_of(message)
    if element:
        issue["expression"] = [element]
    details: dict[str, object] = {"text": where} if where else {}
    if error_code:
        details["coding"] = [{"system": "https://perispiegel.nl/fhir/CodeSystem/delivery-feedback",
                              "code": error_code}]
    if details:
        issue["details"] = details
    return issue


def operation_outcome(feedback: Feedback) -> OperationOutcome:
    """The feedback as a FHIR R4 OperationOutcome: the summary (information, or error for a file rejected as a
    whole), an error per rejection reason and a warning per hint, each naming its dossier in `details.text` and its
    FHIR element in `expression` when the message begins with one."""
    issues = [_issue("error" if feedback.rejected_whole else "information",
                     "invalid" if feedback.rejected_whole else "informational", feedback.message, feedback.file_name,
                     feedback.error_code and f"file:{feedback.error_code}")]
    for dossier in feedback.dossiers:
        where = f"dossier {dossier.dossier_id}" + (f", Bundle/line {dossier.line_number}"
                                                    if dossier.line_number is not None else "")
        for error in dossier.errors:
            issues.append(_issue("error", "invalid", error["message"] or "", where, error["code"]))
        for hint in dossier.hints:
            issues.append(_issue("warning", "informational", hint["message"] or "", where, hint["code"]))
    return OperationOutcome.model_validate({"resourceType": "OperationOutcome", "issue": issues})


@blueprint.post("/deliveries")
def receive_delivery() -> flask.Response:
    """A sender's delivery file: validated, stored for the next refresh unless rejected as a whole."""
    return _receive(store=True)


@blueprint.post("/deliveries/validate")
def validate_delivery() -> flask.Response:
    """The same feedback as `POST /deliveries`, nothing stored."""
    return _receive(store=False)
