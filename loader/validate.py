"""Receive: validate delivery files against the delivery format (`contracts/delivery_format.py`).

Two levels, as in Perined's receiving process:
- **File level**: a file with a bad name, unreadable or non-UTF-8 bytes, broken CSV, wrong columns, no data rows,
  an organisation that is not in the register or whose type may not send this discipline is rejected as a
  whole, with one message in Dutch and English. The other files of the delivery are unaffected.
- **Record level**: every field against its `Field` spec plus a few cross-field rules. A record with any
  technical error is rejected with all its error codes (`kind:field`) and one readable message per error;
  records of women who objected are counted and only their key is kept. Accepted records get improvement
  hints (`missing_important`, `implausible`) that never reject.

Every message is a `loader.*` text of the catalogue (texts/), stored in Dutch and English (`STORED_LANGUAGES`).

Invariant per file: accepted + rejected + objected = records read (a whole rejected file counts every data line
as rejected). Everything is column-wise polars: the files of a batch are concatenated into one buffer and
parsed once as strings.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeGuard, TypeVar, get_args

import numpy as np
import polars as pl

from contracts.delivery_format import (
    COLUMNS,
    DISCIPLINE_ORGANISATION_TYPE,
    FIELD_BY_NAME,
    FIELDS,
    FILE_NAME_PATTERN,
    Discipline,
    Field,
)
from texts import code_label, text

#: Column types of accepted records (the contract with `loader.linkage.link_records`).
POLARS_TYPE_OF_KIND: dict[str, pl.DataType] = {
    "int": pl.Int64(), "date": pl.Date(), "bool": pl.Boolean(), "str": pl.Utf8(), "code": pl.Utf8(),
    "time": pl.Utf8(),
}
#: Accepted records: the key, then every delivery field except `objection`, typed.
RECORD_COLUMNS: tuple[str, ...] = ("org_code", "discipline", "dossier_id",
                                   *(name for name in COLUMNS if name not in {"org_code", "dossier_id", "objection"}))
RECORD_SCHEMA: dict[str, pl.DataType] = {
    name: pl.Utf8() if name == "discipline" else POLARS_TYPE_OF_KIND[FIELD_BY_NAME[name].kind]
    for name in RECORD_COLUMNS
}
MAX_TEXT_LENGTH = 64  # the width of the text columns of the `records` table
MESSAGE_SEPARATOR = " | "

Message = TypeVar("Message", str, pl.Expr)
#: The languages the tables keep the loader's messages in (`message_nl`, `message_en`), in that order.
STORED_LANGUAGES = ("nl", "en")
#: The int fields whose values have a unit (`code.field_unit` in the catalogue), for messages.
FIELDS_WITH_UNIT = ("birth_weight_g", "gestational_age_days", "booking_gestational_age_days", "blood_loss_ml")


def _both(message: Callable[[str], Message]) -> tuple[Message, Message]:
    """A message in each of the `STORED_LANGUAGES`."""
    return message(STORED_LANGUAGES[0]), message(STORED_LANGUAGES[1])


def _unreadable_message(error: OSError) -> Callable[[str], str]:
    """The message for a file the loader could not read, in a given language."""
    reason = error.strerror or str(error)
    return lambda language: text("loader.unreadable", language, reason=reason)


def label(name: str, language: str) -> str:
    """A delivery field's name in messages (Dutch: its Kernset concept)."""
    return code_label("field", name, language)


def _unit(name: str, language: str) -> str:
    return code_label("field_unit", name, language) if name in FIELDS_WITH_UNIT else ""


# ----------------------------------------------------------------------------------------------------------
# Results
# ----------------------------------------------------------------------------------------------------------

#: What became of a delivery file: every record accepted, some rejected, or the whole file rejected.
DeliveryStatus = Literal["accepted", "partially_accepted", "rejected"]
DELIVERY_STATUSES: tuple[DeliveryStatus, ...] = get_args(DeliveryStatus)


@dataclass
class DeliveryFile:
    """One delivery file and what became of it (one row of the `deliveries` table)."""

    path: Path
    sha256: str
    org_code: str | None = None
    discipline: str | None = None
    month: str | None = None
    resend: int = 0
    status: DeliveryStatus = "accepted"
    error_code: str | None = None  # why the whole file was rejected
    message_nl: str | None = None
    message_en: str | None = None
    records_read: int = 0
    records_accepted: int = 0
    records_rejected: int = 0
    records_objected: int = 0

    @property
    def file_name(self) -> str:
        return self.path.name

    def reject(self, error_code: str, message_nl: str, message_en: str, data_lines: int) -> None:
        """Reject the whole file: every data line counts as read and rejected."""
        self.status, self.error_code = "rejected", error_code
        self.message_nl, self.message_en = message_nl, message_en
        self.records_read = self.records_rejected = data_lines
        self.records_accepted = self.records_objected = 0


if TYPE_CHECKING:
    class NamedDeliveryFile(DeliveryFile):
        """A DeliveryFile whose name `_check_name` accepted: discipline, organisation and month are known."""

        discipline: str
        org_code: str
        month: str


def _empty(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


ACCEPTED_SCHEMA = {"file_index": pl.Int64(), "line_number": pl.Int64(), **RECORD_SCHEMA}
REJECTED_SCHEMA = {"file_index": pl.Int64(), "line_number": pl.Int64(), "dossier_id": pl.Utf8(),
                   "error_codes": pl.Utf8(), "message_nl": pl.Utf8(), "message_en": pl.Utf8(), "raw": pl.Utf8()}
OBJECTION_SCHEMA = {"file_index": pl.Int64(), "org_code": pl.Utf8(), "discipline": pl.Utf8(),
                    "dossier_id": pl.Utf8()}
HINT_SCHEMA = {"file_index": pl.Int64(), "dossier_id": pl.Utf8(), "field": pl.Utf8(), "hint_code": pl.Utf8(),
               "message_nl": pl.Utf8(), "message_en": pl.Utf8()}


@dataclass
class ValidationResult:
    """The outcome of validating a batch of delivery files. `file_index` in the frames indexes `files`."""

    files: list[DeliveryFile]
    accepted: pl.DataFrame = field(default_factory=lambda: _empty(ACCEPTED_SCHEMA))
    rejected: pl.DataFrame = field(default_factory=lambda: _empty(REJECTED_SCHEMA))
    objections: pl.DataFrame = field(default_factory=lambda: _empty(OBJECTION_SCHEMA))
    hints: pl.DataFrame = field(default_factory=lambda: _empty(HINT_SCHEMA))

    def rejected_by_reason(self) -> dict[str, int]:
        """Rejected records per error code (`kind:field`); a whole rejected file counts as `file:<kind>`."""
        counts: dict[str, int] = {}
        for delivery in self.files:
            if delivery.status == "rejected":
                key = f"file:{delivery.error_code}"
                counts[key] = counts.get(key, 0) + delivery.records_rejected
        if self.rejected.height:
            exploded = self.rejected.select(pl.col("error_codes").str.split(";")).explode("error_codes")
            for code, count in exploded.group_by("error_codes").len().iter_rows():
                counts[code] = counts.get(code, 0) + count
        return dict(sorted(counts.items()))


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


# ----------------------------------------------------------------------------------------------------------
# Parsing a batch
# ----------------------------------------------------------------------------------------------------------

def _parse_fields(body: bytes) -> pl.DataFrame:
    return pl.read_csv(io.BytesIO(body), has_header=False, new_columns=list(COLUMNS), infer_schema=False,
                       truncate_ragged_lines=True, raise_if_empty=False,
                       schema={name: pl.Utf8 for name in COLUMNS})


def _parse_lines(body: bytes) -> pl.Series:
    # Separator and quote off: one column holding each line as received.
    return pl.read_csv(io.BytesIO(body), has_header=False, separator="\x1f", quote_char=None, infer_schema=False,
                       truncate_ragged_lines=True, raise_if_empty=False, new_columns=["line"])["line"]


def _parse_batch(bodies: list[tuple[int, bytes]], files: list[DeliveryFile]) -> pl.DataFrame:
    """Parse the bodies of the files as one CSV: string columns + `file_index`, `line_number`, `field_count`.

    Files whose values hold line breaks (or that polars cannot parse) are retried one by one so that only
    they are rejected.
    """
    if not bodies:
        return pl.DataFrame(schema={name: pl.Utf8 for name in COLUMNS})
    line_counts = np.array([body.count(b"\n") for _, body in bodies], dtype=np.int64)
    buffer = b"".join(body for _, body in bodies)
    try:
        fields, lines = _parse_fields(buffer), _parse_lines(buffer)
        aligned = fields.height == lines.len() == int(line_counts.sum())
    except pl.exceptions.PolarsError:
        aligned = False
    if not aligned:
        parsed = [_parse_single(index, body, files[index]) for index, body in bodies]
        kept = [frame for frame in parsed if frame is not None]
        return pl.concat(kept) if kept else pl.DataFrame(schema={name: pl.Utf8 for name in COLUMNS})
    file_index = np.repeat(np.array([index for index, _ in bodies], dtype=np.int64), line_counts)
    starts = np.repeat(np.cumsum(line_counts) - line_counts, line_counts)
    line_number = np.arange(len(file_index), dtype=np.int64) - starts + 2  # the header is line 1
    return fields.with_columns(
        pl.Series("file_index", file_index), pl.Series("line_number", line_number), _field_count(lines),
    )


def _parse_single(index: int, body: bytes, delivery: DeliveryFile) -> pl.DataFrame | None:
    line_count = body.count(b"\n")
    try:
        fields, lines = _parse_fields(body), _parse_lines(body)
    except pl.exceptions.PolarsError as error:
        reason = str(error).split("\n")[0]
        delivery.reject("not_csv", *_both(lambda language: text("loader.not_csv", language, error=reason)),
                        _data_lines(body))
        return None
    if not fields.height == lines.len() == line_count:
        delivery.reject("line_break_in_value", *_both(lambda language: text("loader.line_break_in_value", language)),
                        _data_lines(body))
        return None
    return fields.with_columns(
        pl.lit(index, dtype=pl.Int64).alias("file_index"),
        pl.int_range(2, pl.len() + 2, dtype=pl.Int64).alias("line_number"),
        _field_count(lines),
    )


def _field_count(lines: pl.Series) -> pl.Series:
    """Fields on each line: commas outside quoted values, plus one (0 for a blank line)."""
    unquoted = lines.str.replace_all(r'"[^"]*"', "")
    count = unquoted.str.count_matches(",") + 1
    return pl.select(
        pl.when(lines.str.strip_chars().str.len_bytes().fill_null(0) == 0).then(0).otherwise(count)
        .cast(pl.Int64).alias("field_count")
    ).to_series()


# ----------------------------------------------------------------------------------------------------------
# Record level
# ----------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Check:
    """One rule: rows where `condition` holds get `code` and the two messages."""

    code: str
    field_name: str
    condition: pl.Expr
    message_nl: pl.Expr
    message_en: pl.Expr


def typed(name: str) -> str:
    """The column holding the typed value of a field during validation."""
    return f"__{name}"


def _value(name: str) -> pl.Expr:
    return pl.col(name).fill_null("")


def row_value(column: str) -> str:
    """A placeholder value that `_row_message` fills in per row: `text(key, language, value=row_value("value"))`."""
    return f"\x00{column}\x00"


def _row_message(message: str, **values: pl.Expr) -> pl.Expr:
    """`message` with each `row_value(name)` in it replaced by the row's `values[name]`.

    concat_str, not pl.format: polars 2.1 panics on pl.format after a filter ("i < self.len()")."""
    parts = re.split("\x00(\\w+)\x00", message)
    return pl.concat_str([values[part] if index % 2 else pl.lit(part) for index, part in enumerate(parts)
                          if part or index % 2])


def _received(name: str, message: Callable[[str], str]) -> tuple[pl.Expr, pl.Expr]:
    """Per stored language, `message(language)` with the value received for field `name` as {value}."""
    return _both(lambda language: _row_message(message(language), value=_value(name)))


VALUE = row_value("value")


def _range_text(spec: Field, low: int | None, high: int | None, language: str) -> str:
    bounds = f"{low}–{high}" if low is not None and high is not None else (f"≥ {low}" if high is None else f"≤ {high}")
    return f"{bounds} {_unit(spec.name, language)}".rstrip()


def _disciplines(names: frozenset[Discipline]) -> list[str]:
    return sorted(discipline.value for discipline in names)


def field_checks(spec: Field) -> list[Check]:
    """The technical checks of one field: required, format (kind/codes) and the possible range."""
    name, value = spec.name, pl.col(spec.name)
    checks: list[Check] = []
    if spec.required_for:
        checks.append(Check(
            "missing_required", name,
            value.is_null() & pl.col("_discipline").is_in(_disciplines(spec.required_for)),
            *_both(lambda language: pl.lit(text("loader.missing_required", language, field=label(name, language)))),
        ))
    if spec.kind == "int":

        def not_a_whole_number(language: str) -> str:
            unit = _unit(name, language)
            expected = _range_text(spec, spec.low, spec.high, language).removesuffix(" " + unit)
            if unit:
                return text("loader.invalid_integer_unit", language, field=label(name, language), value=VALUE,
                            unit=unit, expected=expected)
            return text("loader.invalid_integer", language, field=label(name, language), value=VALUE,
                        expected=expected)

        checks.append(Check(
            "invalid_integer", name, value.is_not_null() & pl.col(typed(name)).is_null(),
            *_received(name, not_a_whole_number),
        ))
        out_of_range = pl.lit(False)
        if spec.low is not None:
            out_of_range = out_of_range | (pl.col(typed(name)) < spec.low)
        if spec.high is not None:
            out_of_range = out_of_range | (pl.col(typed(name)) > spec.high)
        checks.append(Check(
            "out_of_range", name, out_of_range,
            *_received(name, lambda language: text("loader.out_of_range", language, field=label(name, language),
                                                   value=VALUE,
                                                   expected=_range_text(spec, spec.low, spec.high, language))),
        ))
    elif spec.kind == "date":
        checks.append(Check(
            "invalid_date", name, value.is_not_null() & pl.col(typed(name)).is_null(),
            *_received(name, lambda language: text("loader.invalid_date", language, field=label(name, language),
                                                   value=VALUE)),
        ))
    elif spec.kind == "time":
        checks.append(Check(
            "invalid_time", name, value.is_not_null() & pl.col(typed(name)).is_null(),
            *_received(name, lambda language: text("loader.invalid_time", language, field=label(name, language),
                                                   value=VALUE)),
        ))
    elif spec.kind == "bool":
        checks.append(Check(
            "invalid_boolean", name, value.is_not_null() & pl.col(typed(name)).is_null(),
            *_received(name, lambda language: text("loader.invalid_boolean", language, field=label(name, language),
                                                   value=VALUE)),
        ))
    elif spec.kind == "code":
        allowed = ", ".join(spec.codes)
        checks.append(Check(
            "invalid_code", name, value.is_not_null() & ~value.is_in(list(spec.codes)),
            *_received(name, lambda language: text("loader.invalid_code", language, field=label(name, language),
                                                   value=VALUE, allowed=allowed)),
        ))
    elif spec.kind == "str":
        checks.append(Check(
            "too_long", name, value.str.len_chars() > MAX_TEXT_LENGTH,
            *_received(name, lambda language: text("loader.too_long", language, field=label(name, language),
                                                   value=VALUE, maximum=MAX_TEXT_LENGTH)),
        ))
    return checks


def _cross_field_checks() -> list[Check]:
    """Technical rules between fields (and between a record and its file)."""
    t = typed
    return [
        Check("wrong_field_count", "record", pl.col("field_count") != len(COLUMNS),
              *_both(lambda language: _row_message(
                  text("loader.wrong_field_count", language, count=row_value("count"), expected=len(COLUMNS)),
                  count=pl.col("field_count")))),
        Check("invalid_postcode", "mother_postcode4",
              pl.col("mother_postcode4").is_not_null() & ~pl.col("mother_postcode4").str.contains(r"^[1-9]\d{3}$"),
              *_received("mother_postcode4", lambda language: text(
                  "loader.invalid_postcode", language, field=label("mother_postcode4", language), value=VALUE))),
        Check("org_code_mismatch", "org_code",
              pl.col("org_code").is_not_null() & (pl.col("org_code") != pl.col("_org")),
              *_both(lambda language: _row_message(
                  text("loader.org_code_mismatch", language, field=label("org_code", language), value=VALUE,
                       file_organisation=row_value("file_organisation")),
                  value=_value("org_code"), file_organisation=pl.col("_org")))),
        Check("birth_order_exceeds_plurality", "birth_order", pl.col(t("birth_order")) > pl.col(t("plurality")),
              *_both(lambda language: _row_message(
                  text("loader.birth_order_exceeds_plurality", language, field=label("birth_order", language),
                       value=VALUE, plurality=row_value("plurality")),
                  value=_value("birth_order"), plurality=_value("plurality")))),
        Check("outside_file_month", "child_birth_date",
              (pl.col(t("child_birth_date")).dt.year() != pl.col("_year"))
              | (pl.col(t("child_birth_date")).dt.month() != pl.col("_month_number")),
              *_both(lambda language: _row_message(
                  text("loader.outside_file_month", language, field=label("child_birth_date", language), value=VALUE,
                       month=row_value("month")),
                  value=_value("child_birth_date"), month=pl.col("_month")))),
        Check("born_before_mother", "child_birth_date",
              pl.col(t("child_birth_date")) <= pl.col(t("mother_birth_date")),
              *_both(lambda language: _row_message(
                  text("loader.born_before_mother", language, field=label("child_birth_date", language), value=VALUE,
                       mother_birth_date=row_value("mother_birth_date")),
                  value=_value("child_birth_date"), mother_birth_date=_value("mother_birth_date")))),
        Check("death_before_birth", "death_date", pl.col(t("death_date")) < pl.col(t("child_birth_date")),
              *_both(lambda language: _row_message(
                  text("loader.death_before_birth", language, field=label("death_date", language), value=VALUE,
                       birth_date=row_value("birth_date")),
                  value=_value("death_date"), birth_date=_value("child_birth_date")))),
        Check("duplicate_dossier", "dossier_id",
              pl.col("dossier_id").is_not_null()
              # By line number, not row order: the earliest line of a dossier is the one kept, whatever the row order.
              & (pl.col("line_number").rank("ordinal").over(["file_index", "dossier_id"]) > 1),
              *_received("dossier_id", lambda language: text(
                  "loader.duplicate_dossier", language, field=label("dossier_id", language), value=VALUE))),
    ]


RECORD_CHECKS: tuple[Check, ...] = (*(check for spec in FIELDS for check in field_checks(spec)),
                                    *_cross_field_checks())


def _typed_value(spec: Field) -> pl.Expr:
    """The field parsed to its type; null when empty or malformed (malformed is caught by a check)."""
    value = pl.col(spec.name)
    if spec.kind == "int":
        parsed = pl.when(value.str.contains(r"^-?\d{1,9}$")).then(value).cast(pl.Int64, strict=False)
    elif spec.kind == "date":
        parsed = (pl.when(value.str.contains(r"^\d{4}-\d{2}-\d{2}$")).then(value)
                  .str.to_date("%Y-%m-%d", strict=False))
    elif spec.kind == "time":
        parsed = pl.when(value.str.contains(r"^([01]\d|2[0-3]):[0-5]\d$")).then(value)
    elif spec.kind == "bool":
        parsed = value.replace_strict({"0": False, "1": True}, default=None, return_dtype=pl.Boolean)
    elif spec.kind == "code":
        parsed = pl.when(value.is_in(list(spec.codes))).then(value)
    else:
        parsed = value
    return parsed.alias(typed(spec.name))


# ----------------------------------------------------------------------------------------------------------
# Improvement hints
# ----------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Hint:
    code: str
    field_name: str
    condition: pl.Expr
    message_nl: pl.Expr
    message_en: pl.Expr


def _not_expected_empty(name: str) -> pl.Expr:
    """Where an empty important field is a real gap (not a field that does not apply to this birth)."""
    live = pl.col("vital_status_birth") == "live"
    caesarean = pl.col("mode_of_birth") == "caesarean"
    exemptions = {
        "apgar_5min": live, "first_feed": live,
        "referral_during_labour": (pl.col("care_level_onset") == "midwife")
        & (pl.col("onset_of_labour") != "prelabour_caesarean"),
        "episiotomy": ~caesarean, "perineal_tear": ~caesarean,
        "epidural": pl.col("onset_of_labour") != "prelabour_caesarean",
    }
    return exemptions.get(name, pl.lit(True)).fill_null(True)


def field_hints(spec: Field) -> list[Hint]:
    name, value = spec.name, pl.col(spec.name)
    hints: list[Hint] = []
    if spec.important_for:
        hints.append(Hint(
            "missing_important", name,
            value.is_null() & pl.col("discipline").is_in(_disciplines(spec.important_for)) & _not_expected_empty(name),
            *_both(lambda language: pl.lit(text("loader.missing_important", language, field=label(name, language)))),
        ))
    if spec.plausible_low is not None or spec.plausible_high is not None:
        low = spec.plausible_low if spec.plausible_low is not None else spec.low
        high = spec.plausible_high if spec.plausible_high is not None else spec.high
        condition = pl.lit(False)
        if spec.plausible_low is not None:
            condition = condition | (value < spec.plausible_low)
        if spec.plausible_high is not None:
            condition = condition | (value > spec.plausible_high)
        hints.append(Hint(
            "implausible", name, condition.fill_null(False),
            *_both(lambda language: _row_message(
                text("loader.implausible", language, field=label(name, language), value=VALUE,
                     usual=_range_text(spec, low, high, language)),
                value=value.cast(pl.Utf8))),
        ))
    return hints


def _combination_hint(name: str, condition: pl.Expr, message: Callable[[str], str]) -> Hint:
    return Hint("implausible", name, condition.fill_null(False), *_both(lambda language: pl.lit(message(language))))


def _cross_field_hints() -> list[Hint]:
    caesarean = pl.col("mode_of_birth") == "caesarean"
    stillborn = pl.col("vital_status_birth").is_in(["antepartum_death", "intrapartum_death"])
    prelabour = pl.col("onset_of_labour") == "prelabour_caesarean"
    mother_age = (pl.col("child_birth_date") - pl.col("mother_birth_date")).dt.total_days() / 365.25
    return [
        _combination_hint("episiotomy", caesarean & pl.col("episiotomy"),
                          lambda language: text("loader.episiotomy_with_caesarean", language)),
        _combination_hint("perineal_tear", caesarean & pl.col("perineal_tear").is_in(["1", "2", "3", "4"]),
                          lambda language: text("loader.tear_with_caesarean", language)),
        _combination_hint("apgar_5min", stillborn & (pl.col("apgar_5min") > 0),
                          lambda language: text("loader.apgar_of_stillborn", language)),
        _combination_hint("death_date", stillborn & pl.col("death_date").is_not_null(),
                          lambda language: text("loader.death_date_of_stillborn", language)),
        _combination_hint("epidural", prelabour & pl.col("epidural"),
                          lambda language: text("loader.epidural_without_labour", language)),
        _combination_hint("mode_of_birth", prelabour & ~caesarean,
                          lambda language: text("loader.prelabour_caesarean_not_caesarean", language)),
        _combination_hint("referral_during_labour",
                          (pl.col("care_level_onset") == "obstetrician") & pl.col("referral_during_labour"),
                          lambda language: text("loader.referral_obstetrician_led", language)),
        _combination_hint("booking_gestational_age_days",
                          pl.col("booking_gestational_age_days") > pl.col("gestational_age_days"),
                          lambda language: text("loader.booking_after_birth", language)),
        _combination_hint("mother_birth_date", (mother_age < 13) | (mother_age > 55),
                          lambda language: text("loader.mother_age_unusual", language)),
    ]


RECORD_HINTS: tuple[Hint, ...] = (*(hint for spec in FIELDS for hint in field_hints(spec)), *_cross_field_hints())


# ----------------------------------------------------------------------------------------------------------
# Putting it together
# ----------------------------------------------------------------------------------------------------------

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
