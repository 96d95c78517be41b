"""Receive: validate delivery files against the delivery format (`contracts/delivery_format.py`).

Two levels, as in Perined's receiving process:
- **File level** (`loader.files`): a file that cannot be read, with a bad name, no UTF-8 text, a wrong header, no
  records, an organisation that is not in the register or whose type may not send this discipline is rejected as
  a whole, with one message in Dutch and English. The other files of the delivery are unaffected.
- **Record level** (`loader.records`): every field against its `Field` spec plus a few cross-field rules. A record
  with any technical error is rejected with all its error codes (`kind:field`) and one readable message per error;
  a line that cannot be split into fields (`loader.parsing`) is rejected with that reason alone. Records of women
  who objected are counted and only their key is kept (`loader.objections`). Accepted records get improvement
  hints (`loader.hints`: `missing_important`, `implausible`) that never reject.

Every message is a text of the catalogue (texts/), stored in Dutch and English (`loader.messages`).

Invariant per file: accepted + rejected + objected = records read = the records a careful reader finds in it (a
whole rejected file counts every record in it as rejected, but for the objections it honours). A file whose every
record is rejected is `rejected` too. Pure: validates the bytes it is given (`loader.finding.ReceivedFile`), so
that what is stored is what was read. Everything is column-wise polars: the files of a batch are parsed together.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import concurrent.futures.process
import itertools
import multiprocessing
import os
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from contracts.delivery_format import COLUMNS, FIELDS
from loader.fhir import dossier_rows, element_column, is_fhir_name
from loader.files import FileCheck, check_file
from loader.finding import ReceivedFile, read_delivery_file
from loader.hints import RECORD_HINTS
from loader.messages import (
    MAX_RAW_LINE,
    MAX_RAW_VALUE,
    MAX_TEXT_LENGTH,
    MESSAGE_SEPARATOR,
    STORED_LANGUAGES,
    _both,
    _received,
    _row_message,
    cut,
    label,
    row_value,
    storable,
)
from loader.objections import OBJECTED, usable_key
from loader.parsing import parse_bodies
from loader.records import RECORD_CHECKS, _typed_value, typed
from loader.results import (
    HINT_SCHEMA,
    OBJECTION_SCHEMA,
    RECORD_COLUMNS,
    REJECTED_SCHEMA,
    DeliveryFile,
    ValidationResult,
    _empty,
)
from settings import whole_number_from_environment
from texts import text


def validate_deliveries(received: Sequence[ReceivedFile], organisations: pl.DataFrame,
                        processes: int = 1) -> ValidationResult:
    """Validate a batch of received delivery files against the delivery format and the organisation register.

    `organisations` needs `org_code` and `org_type`. `processes`: how many processes may read the files (the
    refresh gives `reading_processes()`; reading FHIR is slow, and each file is read on its own): with more than
    one, a batch with at least `PARALLEL_FROM_BYTES` of FHIR is read by a pool of that many worker processes.
    """
    org_types = dict(zip(organisations["org_code"].to_list(), organisations["org_type"].to_list(), strict=True))
    checks = _checked(received, org_types, processes)
    files = [check.delivery for check in checks]
    parsed = parse_bodies([(index, check.body) for index, check in enumerate(checks) if check.body is not None])
    fhir_records, fhir_hints = dossier_rows([(index, check.dossiers) for index, check in enumerate(checks)
                                             if check.dossiers])
    if fhir_records.height:
        parsed = pl.concat([parsed, fhir_records], how="diagonal_relaxed")
    result = _validate_records(parsed, files, fhir_hints)
    result.objections = pl.concat([result.objections, _objections_of_rejected_files(checks)])
    read = parsed.group_by("file_index").len() if parsed.height else None
    _count_per_file(result, dict(read.iter_rows()) if read is not None else {})
    return result


#: A batch is read in parallel when its FHIR files hold at least this many bytes (a pool costs a second to start).
PARALLEL_FROM_BYTES = 4 * 1024 * 1024
#: The environment variable for how many processes a refresh reads delivery files with (default: the CPUs).
READING_PROCESSES_VARIABLE = "PERISPIEGEL_READING_PROCESSES"


def reading_processes() -> int:
    """How many processes a refresh reads delivery files with: `PERISPIEGEL_READING_PROCESSES`, default the number
    of CPUs this process may use (1: no worker processes)."""
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return whole_number_from_environment(READING_PROCESSES_VARIABLE, available, minimum=1)


def _checked(received: Sequence[ReceivedFile], org_types: dict[str, str], processes: int) -> list[FileCheck]:
    """The file-level checks (and, for FHIR, the reading of every Bundle) of each file, in the order given: in a
    pool of `processes` worker processes when that is worth it, else here. A pool that cannot be started (no
    semaphores in a container) reads here too."""
    fhir_bytes = sum(len(file.data or b"") for file in received if is_fhir_name(file.path.name))
    if processes > 1 and fhir_bytes >= PARALLEL_FROM_BYTES:
        pool = _reading_pool(processes)
        if pool is not None:
            try:
                return list(pool.map(check_file, received, itertools.repeat(org_types), chunksize=4))
            except concurrent.futures.process.BrokenProcessPool:
                # A worker could not start (e.g. a main module a spawned process cannot import) or died: read here,
                # and from now on (the pure checks give the same answer wherever they run).
                pool.shutdown(wait=False, cancel_futures=True)
                _POOLS[processes] = None
    return [check_file(file, org_types) for file in received]


_POOLS: dict[int, concurrent.futures.ProcessPoolExecutor | None] = {}  # None: could not be used


def _reading_pool(processes: int) -> concurrent.futures.ProcessPoolExecutor | None:
    """One pool of worker processes per size, started once and kept for the next batches (spawned: a fork of a
    process holding database connections and polars' threads is not safe), shut down when the process ends."""
    if processes not in _POOLS:
        try:
            pool = concurrent.futures.ProcessPoolExecutor(max_workers=processes,
                                                          mp_context=multiprocessing.get_context("spawn"))
        except (OSError, NotImplementedError, ImportError):
            _POOLS[processes] = None
            return None
        atexit.register(pool.shutdown)
        _POOLS[processes] = pool
    return _POOLS[processes]


def _objections_of_rejected_files(checks: list[FileCheck]) -> pl.DataFrame:
    rows = [(index, check.delivery.org_code, check.delivery.discipline, dossier_id)
            for index, check in enumerate(checks) for dossier_id in check.objections]
    return pl.DataFrame(rows, schema=OBJECTION_SCHEMA, orient="row")


def _at_element(field_name: str, message: pl.Expr, columns: list[str]) -> pl.Expr:
    """A message about a field of a record read from FHIR begins with the element the field is at."""
    at = element_column(field_name)
    if at not in columns:
        return message
    return pl.when(pl.col(at).is_not_null()).then(pl.concat_str(pl.col(at), pl.lit(": "), message)).otherwise(message)


def _not_said_by_fhir(field_name: str, columns: list[str]) -> pl.Expr:
    """A check does not repeat what the FHIR reading already said of the field (or of the whole record): a unit
    that is not UCUM leaves the weight empty, and the weight is not then also said to be missing."""
    if "fhir_error_codes" not in columns:
        return pl.lit(True)
    said = pl.col("fhir_error_codes").str.contains(f":({field_name}|record)(;|$)")
    return ~said.fill_null(False)


def _validate_records(parsed: pl.DataFrame, files: list[DeliveryFile],
                      fhir_hints: pl.DataFrame | None = None) -> ValidationResult:
    if parsed.height == 0:
        return ValidationResult(files=files)
    columns = parsed.columns
    fhir = "fhir_error_codes" in columns
    file_info = pl.DataFrame({
        "file_index": [index for index in range(len(files))],
        "_discipline": [delivery.discipline for delivery in files],
        "_org": [delivery.org_code for delivery in files],
        "_month": [delivery.month for delivery in files],
    }, schema={"file_index": pl.Int64, "_discipline": pl.Utf8, "_org": pl.Utf8, "_month": pl.Utf8}).with_columns(
        _year=pl.col("_month").str.slice(0, 4).cast(pl.Int32, strict=False),
        _month_number=pl.col("_month").str.slice(5, 2).cast(pl.Int8, strict=False),
    )
    cleaned = (
        parsed.lazy()
        .with_columns(pl.when(pl.col(name).str.strip_chars().str.len_bytes() > 0)
                      .then(pl.col(name).str.strip_chars()).alias(name) for name in COLUMNS)
        .join(file_info.lazy(), on="file_index", how="left", maintain_order="left")  # records stay in file order
    )
    split = pl.col("line_problem").is_null()
    is_objection = pl.col("objection") == OBJECTED
    # Only the key of an objected record is kept: its other fields are dropped before anything looks at them.
    objected = cleaned.filter(split & is_objection).select(
        "file_index", "line_number", pl.col("_org").alias("org_code"), pl.col("_discipline").alias("discipline"),
        "dossier_id",
    ).collect()
    objections = objected.filter(usable_key(pl.col("dossier_id"))).drop("line_number")
    checked = (
        cleaned.filter(split & (~is_objection | pl.col("objection").is_null()))
        .with_columns(_typed_value(spec) for spec in FIELDS)
        .with_columns((check.condition.fill_null(False) & _not_said_by_fhir(check.field_name, columns))
                      .alias(f"__check{i}") for i, check in enumerate(RECORD_CHECKS))
        .with_columns(pl.any_horizontal(*(f"__check{i}" for i in range(len(RECORD_CHECKS))),
                                        *([pl.col("fhir_error_codes").is_not_null()] if fhir else []))
                      .alias("__rejected"))
        .collect()
    )
    rejected_rows = checked.filter(pl.col("__rejected"))
    rejected = pl.concat([
        rejected_rows.select(
            "file_index", "line_number", _stored_dossier_id(),
            pl.concat_str([*([pl.col("fhir_error_codes")] if fhir else []),
                           *(pl.when(pl.col(f"__check{i}")).then(pl.lit(f"{check.code}:{check.field_name}"))
                             for i, check in enumerate(RECORD_CHECKS))], separator=";", ignore_nulls=True)
            .alias("error_codes"),
            *(pl.concat_str([*([pl.col(f"fhir_message_{language}")] if fhir else []),
                             *(pl.when(pl.col(f"__check{i}")).then(
                                 _at_element(check.field_name, getattr(check, f"message_{language}"), columns))
                               for i, check in enumerate(RECORD_CHECKS))], separator=MESSAGE_SEPARATOR,
                            ignore_nulls=True).alias(f"message_{language}") for language in STORED_LANGUAGES),
            _raw(COLUMNS),
        ),
        _unsplit_lines(cleaned.filter(~split).collect()),
        _unrecorded_objections(objected.filter(~usable_key(pl.col("dossier_id")))),
    ]).select(*REJECTED_SCHEMA).sort("file_index", "line_number")
    elements = [element_column(name) for name in COLUMNS] if fhir else []
    accepted = checked.filter(~pl.col("__rejected")).select(
        "file_index", "line_number",
        *(pl.col("_discipline").alias(name) if name == "discipline" else pl.col(typed(name)).alias(name)
          for name in RECORD_COLUMNS), *elements,
    )
    hints = _hints(accepted)
    accepted = accepted.drop(elements)
    if fhir_hints is not None and fhir_hints.height and accepted.height:
        # The FHIR reading's hints, for the records accepted (a rejected record's problems are its rejection).
        kept = fhir_hints.join(accepted.select("file_index", "dossier_id"), on=["file_index", "dossier_id"],
                               how="semi")
        hints = pl.concat([hints, kept]).sort("file_index", "dossier_id", "field")
    return ValidationResult(files=files, accepted=accepted, rejected=rejected, objections=objections, hints=hints)


def _stored_dossier_id() -> pl.Expr:
    """A rejected record's dossier number as stored: within the column, control characters shown."""
    return storable(pl.col("dossier_id").str.slice(0, MAX_TEXT_LENGTH)).alias("dossier_id")


def _raw(columns: tuple[str, ...]) -> pl.Expr:
    """The record as received, for the sender to find it: its values as JSON, each cut to `MAX_RAW_VALUE`."""
    return (pl.struct([storable(cut(pl.col(name), MAX_RAW_VALUE)).alias(name) for name in columns])
            .struct.json_encode().alias("raw"))


def _unsplit_lines(rows: pl.DataFrame) -> pl.DataFrame:
    """Records that could not be split into fields (`loader.parsing.LineProblem`): rejected with that reason."""
    unclosed = pl.col("line_problem") == "unclosed_quote"
    line_break = _both(lambda language: _row_message(
        text("loader_files.line_break_in_value", language, first=row_value("first"), last=row_value("last")),
        first=pl.col("line_number").cast(pl.Utf8), last=pl.col("last_line_number").cast(pl.Utf8)))
    unclosed_quote = _both(lambda language: pl.lit(text("loader_files.unclosed_quote", language)))
    line_as_received = pl.struct(storable(cut(pl.col("line"), MAX_RAW_LINE)).alias("line")).struct.json_encode()
    return rows.select(
        "file_index", "line_number", _stored_dossier_id(),
        pl.concat_str(pl.col("line_problem"), pl.lit(":record")).alias("error_codes"),
        *(pl.when(unclosed).then(unclosed_quote[index]).otherwise(line_break[index]).alias(f"message_{language}")
          for index, language in enumerate(STORED_LANGUAGES)),
        pl.when(unclosed).then(line_as_received).otherwise(_raw(COLUMNS)).alias("raw"),
    )


def _unrecorded_objections(rows: pl.DataFrame) -> pl.DataFrame:
    """Objections whose dossier number cannot be kept as their key: rejected, asking for the objection again.
    Their line is not kept: only the key fields, as an honoured objection would."""
    messages = _received("dossier_id", lambda language: text(
        "loader_files.objection_not_recorded", language, field=label("dossier_id", language),
        value=row_value("value"), maximum=MAX_TEXT_LENGTH))
    return rows.with_columns(objection=pl.lit(OBJECTED)).select(
        "file_index", "line_number", _stored_dossier_id(),
        pl.lit("objection_not_recorded:dossier_id").alias("error_codes"),
        messages[0].alias("message_nl"), messages[1].alias("message_en"),
        _raw(("dossier_id", "objection")),
    )


def _hints(accepted: pl.DataFrame) -> pl.DataFrame:
    if accepted.height == 0:
        return _empty(HINT_SCHEMA)
    lazy = accepted.lazy()
    columns = accepted.columns
    frames = [
        lazy.filter(hint.condition.fill_null(False)).select(
            "file_index", "dossier_id", pl.lit(hint.field_name).alias("field"), pl.lit(hint.code).alias("hint_code"),
            _at_element(hint.field_name, hint.message_nl, columns).alias("message_nl"),
            _at_element(hint.field_name, hint.message_en, columns).alias("message_en"),
        )
        for hint in RECORD_HINTS
    ]
    return pl.concat(pl.collect_all(frames)).sort("file_index", "dossier_id", "field")


def _count_per_file(result: ValidationResult, read: dict[int, int]) -> None:
    def counts(frame: pl.DataFrame) -> dict[int, int]:
        return dict(frame.group_by("file_index").len().iter_rows())

    accepted, rejected, objected = counts(result.accepted), counts(result.rejected), counts(result.objections)
    for index, delivery in enumerate(result.files):
        if delivery.rejected_whole:
            continue
        delivery.records_accepted = accepted.get(index, 0)
        delivery.records_rejected = rejected.get(index, 0)
        delivery.records_objected = objected.get(index, 0)
        delivery.records_read = read.get(index, 0)
        if delivery.records_rejected == 0:
            delivery.status = "accepted"
        elif delivery.records_accepted or delivery.records_objected:
            delivery.status = "partially_accepted"
        else:  # nothing of it is used: the file is rejected, its records' rejections say why
            delivery.status = "rejected"
            delivery.message_nl, delivery.message_en = _both(
                lambda language: text("loader_files.all_records_rejected", language))


def validate_file(path: Path, organisations: pl.DataFrame) -> ValidationResult:
    """Read and validate one delivery file (see `validate_deliveries`)."""
    return validate_deliveries([read_delivery_file(path)], organisations)
