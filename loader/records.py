"""Receive, record level: every field against its `Field` spec plus the rules between fields. A record with any
technical error is rejected with all its error codes (`kind:field`) and one readable message per error.

Every check is on the values as received (stripped of surrounding spaces), before the database sees them: a value
that would not fit a column or could not be stored (a control character, a NUL) is a rejection here, the same on
SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from contracts.delivery_format import COLUMNS, FIELDS, Field
from loader.messages import (
    CONTROL_CHARACTERS,
    MAX_TEXT_LENGTH,
    VALUE,
    _both,
    _disciplines,
    _range_text,
    _received,
    _row_message,
    _unit,
    _value,
    label,
    row_value,
)
from texts import text


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


#: A whole number as the format writes it: digits, perhaps a minus sign (no plus, no decimals, no exponent).
WHOLE_NUMBER = r"^-?\d+$"
#: More digits than any range of the format allows: out of range, without parsing it.
TOO_MANY_DIGITS = r"^-?\d{10,}$"


def _control_character_check(name: str) -> Check:
    """A control character (a NUL, a stray CR, 0x1F, ...) in a value: where it is, which it is."""
    value = pl.col(name)
    code = pl.concat_str(pl.lit("0x"), value.str.extract(f"({CONTROL_CHARACTERS})", 1).str.encode("hex")
                         .str.to_uppercase())
    position = (value.str.extract(f"^([^{CONTROL_CHARACTERS[1:]}*)", 1).str.len_chars() + 1).cast(pl.Utf8)
    return Check(
        "control_character", name, value.str.contains(CONTROL_CHARACTERS),
        *_both(lambda language: _row_message(
            text("loader_files.control_character", language, field=label(name, language), code=row_value("code"),
                 position=row_value("position"), line=row_value("line")),
            code=code, position=position, line=pl.col("line_number").cast(pl.Utf8))),
    )


def field_checks(spec: Field) -> list[Check]:
    """The technical checks of one field: no control character, required, format (kind/codes), possible range."""
    name, value = spec.name, pl.col(spec.name)
    checks: list[Check] = [_control_character_check(name)]
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
            "invalid_integer", name, value.is_not_null() & ~value.str.contains(WHOLE_NUMBER),
            *_received(name, not_a_whole_number),
        ))
        out_of_range = value.str.contains(TOO_MANY_DIGITS)
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
        parsed = pl.when(value.str.contains(r"^-?\d{1,9}$")).then(value).cast(pl.Int64, strict=False)  # 9 digits fit
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
