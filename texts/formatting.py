"""How each language writes numbers and dates, through Babel.

The language code is the Babel locale: it gives the decimal and group symbols ("1.234,5" / "1,234.5"), the
minus sign, month names ("maart 2024" / "March 2024") and quarter names ("K1" / "Q1"). Where the product shows
something else than the locale's default, the language's file says so in its `[format]` table: `date` and
`datetime` (Dutch "22-11-2026 14:05", English ISO "2026-11-22 14:05") and `quarter` ("2024 K1"). Times are shown
in Dutch local time (Europe/Amsterdam) with the zone ("CET"/"CEST", `format_datetime`); the tables store UTC, and a
moment without a time zone is UTC.

Numbers are rounded half to even on the exact binary value, as Python's `format()` does. "—" stands for no
value in every language. tests/test_text_formatting.py pins what a user reads.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.dates import format_skeleton
from babel.numbers import NumberPattern, format_decimal, get_decimal_symbol, get_group_symbol, parse_pattern

from texts import FORMATS, NO_VALUE, language_of

DISPLAY_TIMEZONE = ZoneInfo("Europe/Amsterdam")
#: A text cell a spreadsheet would take for a formula (OWASP, "CSV Injection"): it starts with one of these.
FORMULA_PATTERN = r"^[=+\-@\t\r]"
#: ... unless it is a number as the product writes one ("-1,5", "-3", "-0.25%"), which no spreadsheet runs.
NUMBER_PATTERN = r"^-?\d[\d.,\u202f\u00a0 ]*%?$"
_FORMULA = re.compile(FORMULA_PATTERN)
_NUMBER = re.compile(NUMBER_PATTERN)
#: The units indicator rates are shown in, and what a proportion is multiplied by for each.
UNIT_SCALE = {"%": 100, "‰": 1000}


@cache
def _locale(language: str) -> Locale:
    return Locale.parse(language)


@cache
def _number_pattern(decimals: int) -> NumberPattern:
    """Grouped digits and exactly `decimals` decimals; the locale supplies the symbols."""
    return parse_pattern("#,##0" + ("." + "0" * decimals if decimals else ""))


def separators(language: str | None) -> str:
    """The decimal and the group symbol, in that order: ",." in Dutch, ".," in English (plotly's `separators`)."""
    locale = _locale(language_of(language))
    return get_decimal_symbol(locale) + get_group_symbol(locale)


def format_number(value: float | None, language: str | None, decimals: int = 0) -> str:
    """1234.5 as "1.234,5" in Dutch and "1,234.5" in English; "—" for no value (None, NaN or infinite)."""
    if value is None or not math.isfinite(value):
        return NO_VALUE
    exact = Decimal(value) if isinstance(value, float) else value  # the binary value itself, not its shortest repr
    return format_decimal(exact, _number_pattern(decimals), locale=_locale(language_of(language)))


def format_percent(fraction: float | None, language: str | None, decimals: int = 1) -> str:
    """0.753 as "75,3%" in Dutch and "75.3%" in English."""
    if fraction is None or not math.isfinite(fraction):
        return NO_VALUE
    return f"{format_number(fraction * 100, language, decimals)}%"


def format_rate(rate: float | None, unit: str, language: str | None, decimals: int = 1) -> str:
    """A proportion in the indicator's unit: 0.158 as "15,8%", 0.0045 with unit ‰ as "4,5‰"."""
    if rate is None or not math.isfinite(rate):
        return NO_VALUE
    return f"{format_number(rate * UNIT_SCALE[unit], language, decimals)}{unit}"


def format_interval(low: float | None, high: float | None, unit: str, language: str | None,
                    decimals: int = 1) -> str:
    """A 95% interval in the indicator's unit: "14,2–17,5%"."""
    if low is None or high is None or not math.isfinite(low) or not math.isfinite(high):
        return NO_VALUE
    scale = UNIT_SCALE[unit]
    return f"{format_number(low * scale, language, decimals)}–{format_number(high * scale, language, decimals)}{unit}"


def format_period(period: str | None, language: str | None) -> str:
    """A trend period as shown on an axis: "2024-03", "2024 K1" / "2024 Q1", "2024"."""
    if not period:
        return NO_VALUE
    if "-Q" in period:
        year, quarter = period.split("-Q")
        language = language_of(language)
        first_day = date(int(year), 3 * int(quarter) - 2, 1)
        return babel_format_date(first_day, FORMATS[language]["quarter"], locale=_locale(language))
    return period


def format_date(day: date | datetime | None, language: str | None) -> str:
    """22-11-2026 in Dutch, 2026-11-22 (ISO) in English; a moment is shown on its day in Dutch local time."""
    if day is None:
        return NO_VALUE
    if isinstance(day, datetime):
        day = day.astimezone(DISPLAY_TIMEZONE).date() if day.tzinfo else day.date()
    language = language_of(language)
    return babel_format_date(day, FORMATS[language]["date"], locale=_locale(language))


def format_datetime(moment: datetime | None, language: str | None) -> str:
    """A moment in Dutch local time (Europe/Amsterdam) with its zone: "22-11-2026 14:05 CET" in Dutch,
    "2026-11-22 14:05 CET" in English ("CEST" in summer). A moment without a time zone is UTC, as the tables store
    every moment (SQLite hands them back naive, tables/database.py `as_utc`).

    The zone is the abbreviation of the zone database (the same in both languages; Babel's English would write
    "+0100"), so a reader never has to guess whether a time is UTC or local."""
    if moment is None:
        return NO_VALUE
    local = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(DISPLAY_TIMEZONE)
    language = language_of(language)
    written = babel_format_datetime(local, FORMATS[language]["datetime"], tzinfo=DISPLAY_TIMEZONE,
                                    locale=_locale(language))
    return f"{written} {local.tzname()}"


def format_month(month: str | None, language: str | None) -> str:
    """"2024-03" as "maart 2024" / "March 2024" (the locale's year-and-month)."""
    if not month:
        return NO_VALUE
    year, number = month.split("-")
    language = language_of(language)
    return format_skeleton("yMMMM", date(int(year), int(number), 1), locale=_locale(language))


def starts_a_formula(value: str) -> bool:
    """Whether a spreadsheet would read the text `value` as a formula: it starts with `=`, `+`, `-`, `@`, a tab or a
    carriage return, and is not a plain (negative) number (OWASP, "CSV Injection")."""
    return bool(_FORMULA.match(value)) and not _NUMBER.match(value)


def spreadsheet_text(value: object) -> str:
    """A cell of a CSV file that people open in a spreadsheet: the text, with a leading `'` when it would start a
    formula (OWASP's advice), so `=HYPERLINK(…)` shows as text; numbers as they are; no value empty."""
    written = "" if value is None else str(value)
    return f"'{written}" if not isinstance(value, int | float) and starts_a_formula(written) else written
