"""The loader's messages: every one a `loader.*` text of the catalogue (texts/), stored in Dutch and English
(`STORED_LANGUAGES`), with the received values filled in per row (`row_value`, `_row_message`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

import polars as pl

from contracts.delivery_format import Discipline, Field
from texts import code_label

MAX_TEXT_LENGTH = 64  # the width of the text columns of the `records` table
MESSAGE_SEPARATOR = " | "
#: A value received is echoed in a message up to this many characters, then "…" (a 1 MB value is not repeated).
MAX_ECHOED = 60
#: The `raw` column of a rejected record keeps each value up to this many characters (every valid value fits), and
#: a line that could not be split into values up to `MAX_RAW_LINE`.
MAX_RAW_VALUE = 100
MAX_RAW_LINE = 1000
#: Control characters (C0 and DEL, but tab and line feed) are shown as this in messages and stored lines: PostgreSQL
#: text cannot hold a NUL, and the others are invisible.
CONTROL_CHARACTERS = "[\x00-\x08\x0b-\x1f\x7f]"
SHOWN_FOR_CONTROL = "\ufffd"


Message = TypeVar("Message", str, pl.Expr)
#: The languages the tables keep the loader's messages in (`message_nl`, `message_en`), in that order.
STORED_LANGUAGES = ("nl", "en")
#: The int fields whose values have a unit (`code.field_unit` in the catalogue), for messages.
FIELDS_WITH_UNIT = ("birth_weight_g", "gestational_age_days", "booking_gestational_age_days", "blood_loss_ml")


def _both(message: Callable[[str], Message]) -> tuple[Message, Message]:
    """A message in each of the `STORED_LANGUAGES`."""
    return message(STORED_LANGUAGES[0]), message(STORED_LANGUAGES[1])


def label(name: str, language: str) -> str:
    """A delivery field's name in messages (Dutch: its Kernset concept)."""
    return code_label("field", name, language)


def _unit(name: str, language: str) -> str:
    return code_label("field_unit", name, language) if name in FIELDS_WITH_UNIT else ""


def cut(value: pl.Expr, length: int) -> pl.Expr:
    """`value` cut to `length` characters, the last of them "…" when anything was cut."""
    return (pl.when(value.str.len_chars() > length).then(pl.concat_str(value.str.slice(0, length - 1), pl.lit("…")))
            .otherwise(value))


def storable(value: pl.Expr) -> pl.Expr:
    """`value` with its control characters made visible (and storable: no NUL)."""
    return value.str.replace_all(CONTROL_CHARACTERS, SHOWN_FOR_CONTROL)


def echoed(value: pl.Expr) -> pl.Expr:
    """A received value as a message repeats it: cut to `MAX_ECHOED` characters, control characters shown."""
    return storable(cut(value, MAX_ECHOED))


def shown(value: str, length: int = MAX_ECHOED) -> str:
    """A received text (a file name, a header) as a message repeats it: cut, control characters shown."""
    value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")  # a file name's undecodable bytes
    value = re.sub("[\x00-\x1f\x7f]", SHOWN_FOR_CONTROL, value)  # a line break in a name too
    return value if len(value) <= length else value[:length - 1] + "…"


def _value(name: str) -> pl.Expr:
    return echoed(pl.col(name).fill_null(""))


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
