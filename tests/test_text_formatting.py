"""Numbers and dates as the product shows them, pinned byte for byte.

The expected strings were produced by the hand-written formatting that `texts.formatting` (through Babel)
replaced, for negatives, zero, rounding halves and large numbers; any change in what a user reads fails here.
"""

import datetime
import math

import pytest

from texts import code_label
from texts.formatting import (
    format_date,
    format_datetime,
    format_interval,
    format_month,
    format_number,
    format_percent,
    format_period,
    format_rate,
    separators,
)

FIVE_HOURS_WEST = datetime.timezone(datetime.timedelta(hours=-5))

# (value, decimals, Dutch, English): rounding halves to even on the exact binary value, as Python's format() does
NUMBERS = [
    (0, 0, '0', '0'),
    (0, 1, '0,0', '0.0'),
    (0, 2, '0,00', '0.00'),
    (0, 5, '0,00000', '0.00000'),
    (0.0, 0, '0', '0'),
    (0.0, 1, '0,0', '0.0'),
    (0.0, 2, '0,00', '0.00'),
    (0.0, 5, '0,00000', '0.00000'),
    (-0.0, 0, '-0', '-0'),
    (-0.0, 1, '-0,0', '-0.0'),
    (-0.0, 2, '-0,00', '-0.00'),
    (-0.0, 5, '-0,00000', '-0.00000'),
    (1, 0, '1', '1'),
    (1, 1, '1,0', '1.0'),
    (1, 2, '1,00', '1.00'),
    (1, 5, '1,00000', '1.00000'),
    (-1, 0, '-1', '-1'),
    (-1, 1, '-1,0', '-1.0'),
    (-1, 2, '-1,00', '-1.00'),
    (-1, 5, '-1,00000', '-1.00000'),
    (5, 0, '5', '5'),
    (5, 1, '5,0', '5.0'),
    (5, 2, '5,00', '5.00'),
    (5, 5, '5,00000', '5.00000'),
    (12, 0, '12', '12'),
    (12, 1, '12,0', '12.0'),
    (12, 2, '12,00', '12.00'),
    (12, 5, '12,00000', '12.00000'),
    (999, 0, '999', '999'),
    (999, 1, '999,0', '999.0'),
    (999, 2, '999,00', '999.00'),
    (999, 5, '999,00000', '999.00000'),
    (1000, 0, '1.000', '1,000'),
    (1000, 1, '1.000,0', '1,000.0'),
    (1000, 2, '1.000,00', '1,000.00'),
    (1000, 5, '1.000,00000', '1,000.00000'),
    (1234.5, 0, '1.234', '1,234'),
    (1234.5, 1, '1.234,5', '1,234.5'),
    (1234.5, 2, '1.234,50', '1,234.50'),
    (1234.5, 5, '1.234,50000', '1,234.50000'),
    (-1234.5, 0, '-1.234', '-1,234'),
    (-1234.5, 1, '-1.234,5', '-1,234.5'),
    (-1234.5, 2, '-1.234,50', '-1,234.50'),
    (-1234.5, 5, '-1.234,50000', '-1,234.50000'),
    (1234567.891, 0, '1.234.568', '1,234,568'),
    (1234567.891, 1, '1.234.567,9', '1,234,567.9'),
    (1234567.891, 2, '1.234.567,89', '1,234,567.89'),
    (1234567.891, 5, '1.234.567,89100', '1,234,567.89100'),
    (-9876543.21, 0, '-9.876.543', '-9,876,543'),
    (-9876543.21, 1, '-9.876.543,2', '-9,876,543.2'),
    (-9876543.21, 2, '-9.876.543,21', '-9,876,543.21'),
    (-9876543.21, 5, '-9.876.543,21000', '-9,876,543.21000'),
    (0.5, 0, '0', '0'),
    (0.5, 1, '0,5', '0.5'),
    (0.5, 2, '0,50', '0.50'),
    (0.5, 5, '0,50000', '0.50000'),
    (1.5, 0, '2', '2'),
    (1.5, 1, '1,5', '1.5'),
    (1.5, 2, '1,50', '1.50'),
    (1.5, 5, '1,50000', '1.50000'),
    (2.5, 0, '2', '2'),
    (2.5, 1, '2,5', '2.5'),
    (2.5, 2, '2,50', '2.50'),
    (2.5, 5, '2,50000', '2.50000'),
    (-2.5, 0, '-2', '-2'),
    (-2.5, 1, '-2,5', '-2.5'),
    (-2.5, 2, '-2,50', '-2.50'),
    (-2.5, 5, '-2,50000', '-2.50000'),
    (0.125, 0, '0', '0'),
    (0.125, 1, '0,1', '0.1'),
    (0.125, 2, '0,12', '0.12'),
    (0.125, 5, '0,12500', '0.12500'),
    (0.375, 0, '0', '0'),
    (0.375, 1, '0,4', '0.4'),
    (0.375, 2, '0,38', '0.38'),
    (0.375, 5, '0,37500', '0.37500'),
    (0.265, 0, '0', '0'),
    (0.265, 1, '0,3', '0.3'),
    (0.265, 2, '0,27', '0.27'),
    (0.265, 5, '0,26500', '0.26500'),
    (1.005, 0, '1', '1'),
    (1.005, 1, '1,0', '1.0'),
    (1.005, 2, '1,00', '1.00'),
    (1.005, 5, '1,00500', '1.00500'),
    (2.675, 0, '3', '3'),
    (2.675, 1, '2,7', '2.7'),
    (2.675, 2, '2,67', '2.67'),
    (2.675, 5, '2,67500', '2.67500'),
    (0.05, 0, '0', '0'),
    (0.05, 1, '0,1', '0.1'),
    (0.05, 2, '0,05', '0.05'),
    (0.05, 5, '0,05000', '0.05000'),
    (0.15, 0, '0', '0'),
    (0.15, 1, '0,1', '0.1'),
    (0.15, 2, '0,15', '0.15'),
    (0.15, 5, '0,15000', '0.15000'),
    (0.25, 0, '0', '0'),
    (0.25, 1, '0,2', '0.2'),
    (0.25, 2, '0,25', '0.25'),
    (0.25, 5, '0,25000', '0.25000'),
    (-0.04, 0, '-0', '-0'),
    (-0.04, 1, '-0,0', '-0.0'),
    (-0.04, 2, '-0,04', '-0.04'),
    (-0.04, 5, '-0,04000', '-0.04000'),
    (-0.05, 0, '-0', '-0'),
    (-0.05, 1, '-0,1', '-0.1'),
    (-0.05, 2, '-0,05', '-0.05'),
    (-0.05, 5, '-0,05000', '-0.05000'),
    (1000000000.0, 0, '1.000.000.000', '1,000,000,000'),
    (1000000000.0, 1, '1.000.000.000,0', '1,000,000,000.0'),
    (1000000000.0, 2, '1.000.000.000,00', '1,000,000,000.00'),
    (1000000000.0, 5, '1.000.000.000,00000', '1,000,000,000.00000'),
    (123456789012, 0, '123.456.789.012', '123,456,789,012'),
    (123456789012, 1, '123.456.789.012,0', '123,456,789,012.0'),
    (123456789012, 2, '123.456.789.012,00', '123,456,789,012.00'),
    (123456789012, 5, '123.456.789.012,00000', '123,456,789,012.00000'),
    (0.000123, 0, '0', '0'),
    (0.000123, 1, '0,0', '0.0'),
    (0.000123, 2, '0,00', '0.00'),
    (0.000123, 5, '0,00012', '0.00012'),
    (99.95, 0, '100', '100'),
    (99.95, 1, '100,0', '100.0'),
    (99.95, 2, '99,95', '99.95'),
    (99.95, 5, '99,95000', '99.95000'),
    (99.949, 0, '100', '100'),
    (99.949, 1, '99,9', '99.9'),
    (99.949, 2, '99,95', '99.95'),
    (99.949, 5, '99,94900', '99.94900'),
    (None, 0, '—', '—'),
    (None, 1, '—', '—'),
    (None, 2, '—', '—'),
    (None, 5, '—', '—'),
]

# (fraction, decimals, Dutch, English)
PERCENTS = [
    (None, 0, '—', '—'),
    (None, 1, '—', '—'),
    (0, 0, '0%', '0%'),
    (0, 1, '0,0%', '0.0%'),
    (0.753, 0, '75%', '75%'),
    (0.753, 1, '75,3%', '75.3%'),
    (1, 0, '100%', '100%'),
    (1, 1, '100,0%', '100.0%'),
    (0.0005, 0, '0%', '0%'),
    (0.0005, 1, '0,1%', '0.1%'),
    (0.00049, 0, '0%', '0%'),
    (0.00049, 1, '0,0%', '0.0%'),
    (0.99951, 0, '100%', '100%'),
    (0.99951, 1, '100,0%', '100.0%'),
    (-0.012, 0, '-1%', '-1%'),
    (-0.012, 1, '-1,2%', '-1.2%'),
    (12.3456, 0, '1.235%', '1,235%'),
    (12.3456, 1, '1.234,6%', '1,234.6%'),
    (0.158, 0, '16%', '16%'),
    (0.158, 1, '15,8%', '15.8%'),
    (0.3333333333333333, 0, '33%', '33%'),
    (0.3333333333333333, 1, '33,3%', '33.3%'),
    (0.6666666666666666, 0, '67%', '67%'),
    (0.6666666666666666, 1, '66,7%', '66.7%'),
]

# (rate, unit, Dutch, English)
RATES = [
    (None, '%', '—', '—'),
    (None, '‰', '—', '—'),
    (0, '%', '0,0%', '0.0%'),
    (0, '‰', '0,0‰', '0.0‰'),
    (0.158, '%', '15,8%', '15.8%'),
    (0.158, '‰', '158,0‰', '158.0‰'),
    (0.0045, '%', '0,4%', '0.4%'),
    (0.0045, '‰', '4,5‰', '4.5‰'),
    (0.00045, '%', '0,0%', '0.0%'),
    (0.00045, '‰', '0,5‰', '0.5‰'),
    (0.00055, '%', '0,1%', '0.1%'),
    (0.00055, '‰', '0,6‰', '0.6‰'),
    (0.12345, '%', '12,3%', '12.3%'),
    (0.12345, '‰', '123,5‰', '123.5‰'),
    (1, '%', '100,0%', '100.0%'),
    (1, '‰', '1.000,0‰', '1,000.0‰'),
    (0.999999, '%', '100,0%', '100.0%'),
    (0.999999, '‰', '1.000,0‰', '1,000.0‰'),
    (0.14285714285714285, '%', '14,3%', '14.3%'),
    (0.14285714285714285, '‰', '142,9‰', '142.9‰'),
    (0.0125, '%', '1,2%', '1.2%'),
    (0.0125, '‰', '12,5‰', '12.5‰'),
    (0.0135, '%', '1,4%', '1.4%'),
    (0.0135, '‰', '13,5‰', '13.5‰'),
]

# (low, high, unit, Dutch, English)
INTERVALS = [
    (None, 0.2, '%', '—', '—'),
    (None, 0.2, '‰', '—', '—'),
    (0.1, None, '%', '—', '—'),
    (0.1, None, '‰', '—', '—'),
    (0.142, 0.175, '%', '14,2–17,5%', '14.2–17.5%'),
    (0.142, 0.175, '‰', '142,0–175,0‰', '142.0–175.0‰'),
    (0, 1, '%', '0,0–100,0%', '0.0–100.0%'),
    (0, 1, '‰', '0,0–1.000,0‰', '0.0–1,000.0‰'),
    (0.00123, 0.0456, '%', '0,1–4,6%', '0.1–4.6%'),
    (0.00123, 0.0456, '‰', '1,2–45,6‰', '1.2–45.6‰'),
    (0.0125, 0.0135, '%', '1,2–1,4%', '1.2–1.4%'),
    (0.0125, 0.0135, '‰', '12,5–13,5‰', '12.5–13.5‰'),
]

# (trend period, Dutch, English)
PERIODS = [
    (None, '—', '—'),
    ('', '—', '—'),
    ('2024', '2024', '2024'),
    ('2024-03', '2024-03', '2024-03'),
    ('2024-Q1', '2024 K1', '2024 Q1'),
    ('2023-Q4', '2023 K4', '2023 Q4'),
]

# (month, Dutch, English)
MONTHS = [
    (None, '—', '—'),
    ('', '—', '—'),
    ('2024-01', 'januari 2024', 'January 2024'),
    ('2024-02', 'februari 2024', 'February 2024'),
    ('2024-03', 'maart 2024', 'March 2024'),
    ('2024-04', 'april 2024', 'April 2024'),
    ('2024-05', 'mei 2024', 'May 2024'),
    ('2024-06', 'juni 2024', 'June 2024'),
    ('2024-07', 'juli 2024', 'July 2024'),
    ('2024-08', 'augustus 2024', 'August 2024'),
    ('2024-09', 'september 2024', 'September 2024'),
    ('2024-10', 'oktober 2024', 'October 2024'),
    ('2024-11', 'november 2024', 'November 2024'),
    ('2024-12', 'december 2024', 'December 2024'),
    ('1999-12', 'december 1999', 'December 1999'),
]

# (day or moment, Dutch, English): aware moments on their day in Europe/Amsterdam
DATES = [
    (None, '—', '—'),
    (datetime.date(2026, 11, 22), '22-11-2026', '2026-11-22'),
    (datetime.date(2024, 1, 5), '05-01-2024', '2024-01-05'),
    (datetime.datetime(2026, 11, 22, 14, 5), '22-11-2026', '2026-11-22'),
    (datetime.datetime(2026, 11, 22, 13, 5, tzinfo=datetime.UTC), '22-11-2026', '2026-11-22'),
    (datetime.datetime(2024, 7, 1, 12, 30, 59, tzinfo=datetime.UTC), '01-07-2024', '2024-07-01'),
    (datetime.datetime(2024, 3, 31, 23, 30, tzinfo=datetime.UTC), '01-04-2024', '2024-04-01'),
    (datetime.datetime(2024, 12, 31, 23, 59, tzinfo=datetime.UTC), '01-01-2025', '2025-01-01'),
    (datetime.datetime(2024, 6, 30, 22, 0, tzinfo=datetime.UTC), '01-07-2024', '2024-07-01'),
    (datetime.datetime(2025, 1, 1, 0, 0, tzinfo=FIVE_HOURS_WEST), '01-01-2025', '2025-01-01'),
]

# (moment, Dutch, English): naive moments are taken as Dutch local time
DATETIMES = [
    (None, '—', '—'),
    # A moment without a zone is UTC, as the tables store it.
    (datetime.datetime(2026, 11, 22, 13, 5), '22-11-2026 14:05 CET', '2026-11-22 14:05 CET'),
    (datetime.datetime(2026, 11, 22, 13, 5, tzinfo=datetime.UTC), '22-11-2026 14:05 CET', '2026-11-22 14:05 CET'),
    (datetime.datetime(2024, 7, 1, 12, 30, 59, tzinfo=datetime.UTC), '01-07-2024 14:30 CEST', '2024-07-01 14:30 CEST'),
    (datetime.datetime(2024, 3, 31, 23, 30, tzinfo=datetime.UTC), '01-04-2024 01:30 CEST', '2024-04-01 01:30 CEST'),
    (datetime.datetime(2024, 12, 31, 23, 59, tzinfo=datetime.UTC), '01-01-2025 00:59 CET', '2025-01-01 00:59 CET'),
    (datetime.datetime(2024, 6, 30, 22, 0, tzinfo=datetime.UTC), '01-07-2024 00:00 CEST', '2024-07-01 00:00 CEST'),
    (datetime.datetime(2025, 1, 1, 0, 0, tzinfo=FIVE_HOURS_WEST), '01-01-2025 06:00 CET', '2025-01-01 06:00 CET'),
]


@pytest.mark.parametrize(("value", "decimals", "dutch", "english"), NUMBERS)
def test_numbers(value, decimals, dutch, english):
    assert format_number(value, "nl", decimals) == dutch
    assert format_number(value, "en", decimals) == english


@pytest.mark.parametrize(("fraction", "decimals", "dutch", "english"), PERCENTS)
def test_percentages(fraction, decimals, dutch, english):
    assert format_percent(fraction, "nl", decimals) == dutch
    assert format_percent(fraction, "en", decimals) == english


@pytest.mark.parametrize(("rate", "unit", "dutch", "english"), RATES)
def test_rates(rate, unit, dutch, english):
    assert format_rate(rate, unit, "nl") == dutch
    assert format_rate(rate, unit, "en") == english


@pytest.mark.parametrize(("low", "high", "unit", "dutch", "english"), INTERVALS)
def test_intervals(low, high, unit, dutch, english):
    assert format_interval(low, high, unit, "nl") == dutch
    assert format_interval(low, high, unit, "en") == english


@pytest.mark.parametrize(("period", "dutch", "english"), PERIODS)
def test_periods(period, dutch, english):
    assert format_period(period, "nl") == dutch
    assert format_period(period, "en") == english


@pytest.mark.parametrize(("month", "dutch", "english"), MONTHS)
def test_months(month, dutch, english):
    assert format_month(month, "nl") == dutch
    assert format_month(month, "en") == english


@pytest.mark.parametrize(("day", "dutch", "english"), DATES)
def test_dates(day, dutch, english):
    assert format_date(day, "nl") == dutch
    assert format_date(day, "en") == english


@pytest.mark.parametrize(("moment", "dutch", "english"), DATETIMES)
def test_datetimes(moment, dutch, english):
    assert format_datetime(moment, "nl") == dutch
    assert format_datetime(moment, "en") == english


def test_unknown_language_is_dutch_and_no_code_is_a_dash():
    assert format_number(1234.5, "xx", 1) == "1.234,5"
    assert format_month("2024-03", None) == "maart 2024"
    assert code_label("role", None, "nl") == "—"


def test_plotly_separators():
    assert separators("nl") == ",." and separators("en") == ".,"


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_number_that_is_not_finite_is_shown_as_no_value(value):
    # Before Babel the string formatting showed "nan"/"inf"; Babel would show "NaN,0". Neither is a figure.
    assert format_number(value, "nl", 1) == "—" and format_rate(value, "%", "en") == "—"
