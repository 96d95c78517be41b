"""Receive: validate delivery files against the delivery format (`contracts/delivery_format.py`).

Two levels, as in Perined's receiving process:
- **File level** (`loader.files`): a file with a bad name, unreadable or non-UTF-8 bytes, broken CSV, wrong columns,
  no data rows, an organisation that is not in the register or whose type may not send this discipline is rejected
  as a whole, with one message in Dutch and English. The other files of the delivery are unaffected.
- **Record level** (`loader.records`): every field against its `Field` spec plus a few cross-field rules. A record
  with any technical error is rejected with all its error codes (`kind:field`) and one readable message per error;
  records of women who objected are counted and only their key is kept. Accepted records get improvement hints
  (`loader.hints`: `missing_important`, `implausible`) that never reject.

Every message is a `loader.*` text of the catalogue (texts/), stored in Dutch and English (`loader.messages`).

Invariant per file: accepted + rejected + objected = records read (a whole rejected file counts every data line
as rejected). Everything is column-wise polars: the files of a batch are concatenated into one buffer and
parsed once as strings (`loader.parsing`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from contracts.delivery_format import COLUMNS, FIELDS
from loader.files import _check_content, _check_name, _check_organisation, _unreadable_message
from loader.hints import RECORD_HINTS
from loader.messages import MAX_TEXT_LENGTH, MESSAGE_SEPARATOR, _both
from loader.parsing import _parse_batch
from loader.records import RECORD_CHECKS, _typed_value, typed
from loader.results import HINT_SCHEMA, RECORD_COLUMNS, DeliveryFile, ValidationResult, _empty


def validate_deliveries(paths: Sequence[Path], organisations: pl.DataFrame,
                        sha256s: Sequence[str] | None = None) -> ValidationResult:
    """Validate a batch of delivery files against the delivery format and the organisation register.

    `organisations` needs `org_code` and `org_type`. `sha256s` (optional) are the files' known hashes.
    """
    org_types = dict(zip(organisations["org_code"].to_list(), organisations["org_type"].to_list(), strict=True))
    files: list[DeliveryFile] = []
    bodies: list[tuple[int, bytes]] = []
    for index, path in enumerate(paths):
        try:
            data = path.read_bytes()
        except OSError as error:
            delivery = DeliveryFile(path=path, sha256=sha256s[index] if sha256s else "")
            files.append(delivery)
            _check_name(delivery, b"")
            delivery.reject("unreadable", *_both(_unreadable_message(error)), 0)
            continue
        delivery = DeliveryFile(path=path, sha256=sha256s[index] if sha256s else hashlib.sha256(data).hexdigest())
        files.append(delivery)
        if not _check_name(delivery, data) or not _check_organisation(delivery, org_types, data):
            continue
        content = _check_content(delivery, data)
        if content is not None:
            bodies.append((index, content[1]))
    parsed = _parse_batch(bodies, files)
    result = _validate_records(parsed, files)
    read = parsed.filter(pl.col("field_count") > 0).group_by("file_index").len() if parsed.height else None
    _count_per_file(result, dict(read.iter_rows()) if read is not None else {})
    return result


def _validate_records(parsed: pl.DataFrame, files: list[DeliveryFile]) -> ValidationResult:
    if parsed.height == 0:
        return ValidationResult(files=files)
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
        .filter(pl.col("field_count") > 0)  # blank lines are not records
        .with_columns(pl.when(pl.col(name).str.strip_chars().str.len_bytes() > 0)
                      .then(pl.col(name).str.strip_chars()).alias(name) for name in COLUMNS)
        .join(file_info.lazy(), on="file_index", how="left", maintain_order="left")  # records stay in file order
    )
    is_objection = pl.col("objection") == "1"
    # Only the key of an objected record is kept: its other fields are dropped before anything looks at them.
    objections = cleaned.filter(is_objection).select(
        "file_index", pl.col("_org").alias("org_code"), pl.col("_discipline").alias("discipline"), "dossier_id",
    ).collect()
    checked = (
        cleaned.filter(~is_objection | pl.col("objection").is_null())
        .with_columns(_typed_value(spec) for spec in FIELDS)
        .with_columns(check.condition.fill_null(False).alias(f"__check{i}") for i, check in enumerate(RECORD_CHECKS))
        .with_columns(pl.any_horizontal(f"__check{i}" for i in range(len(RECORD_CHECKS))).alias("__rejected"))
        .collect()
    )
    rejected_rows = checked.filter(pl.col("__rejected"))
    rejected = rejected_rows.select(
        "file_index", "line_number", pl.col("dossier_id").str.slice(0, MAX_TEXT_LENGTH),
        pl.concat_str([pl.when(pl.col(f"__check{i}")).then(pl.lit(f"{check.code}:{check.field_name}"))
                       for i, check in enumerate(RECORD_CHECKS)], separator=";", ignore_nulls=True)
        .alias("error_codes"),
        pl.concat_str([pl.when(pl.col(f"__check{i}")).then(check.message_nl) for i, check in enumerate(RECORD_CHECKS)],
                      separator=MESSAGE_SEPARATOR, ignore_nulls=True).alias("message_nl"),
        pl.concat_str([pl.when(pl.col(f"__check{i}")).then(check.message_en) for i, check in enumerate(RECORD_CHECKS)],
                      separator=MESSAGE_SEPARATOR, ignore_nulls=True).alias("message_en"),
        pl.struct(list(COLUMNS)).struct.json_encode().alias("raw"),
    )
    accepted = checked.filter(~pl.col("__rejected")).select(
        "file_index", "line_number",
        *(pl.col("_discipline").alias(name) if name == "discipline" else pl.col(typed(name)).alias(name)
          for name in RECORD_COLUMNS),
    )
    hints = _hints(accepted)
    return ValidationResult(files=files, accepted=accepted, rejected=rejected, objections=objections, hints=hints)


def _hints(accepted: pl.DataFrame) -> pl.DataFrame:
    if accepted.height == 0:
        return _empty(HINT_SCHEMA)
    lazy = accepted.lazy()
    frames = [
        lazy.filter(hint.condition.fill_null(False)).select(
            "file_index", "dossier_id", pl.lit(hint.field_name).alias("field"), pl.lit(hint.code).alias("hint_code"),
            hint.message_nl.alias("message_nl"), hint.message_en.alias("message_en"),
        )
        for hint in RECORD_HINTS
    ]
    return pl.concat(pl.collect_all(frames)).sort("file_index", "dossier_id", "field")


def _count_per_file(result: ValidationResult, read: dict[int, int]) -> None:
    def counts(frame: pl.DataFrame) -> dict[int, int]:
        return dict(frame.group_by("file_index").len().iter_rows())

    accepted, rejected, objected = counts(result.accepted), counts(result.rejected), counts(result.objections)
    for index, delivery in enumerate(result.files):
        if delivery.status == "rejected":
            continue
        delivery.records_accepted = accepted.get(index, 0)
        delivery.records_rejected = rejected.get(index, 0)
        delivery.records_objected = objected.get(index, 0)
        delivery.records_read = read.get(index, 0)
        delivery.status = "accepted" if delivery.records_rejected == 0 else "partially_accepted"


def validate_file(path: Path, organisations: pl.DataFrame) -> ValidationResult:
    """Validate one delivery file (see `validate_deliveries`)."""
    return validate_deliveries([path], organisations)
