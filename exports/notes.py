"""What an export file says about itself besides its rows, in one language: the notes of the About sheet
("Toelichting") and of the Parquet file's metadata, and the line to cite it by.

A researcher who finds the file on a disk a year later must be able to tell from the file alone what it answers
(indicators, level, breakdown, target group in words and as codes), from which data version, when, by whom and
by which request it was made, what each column means, how each indicator is defined, which disclosure rules the
figures passed (docs/privacy.md), and how to cite it. Every word comes from the text catalogue (texts/); codes stay
codes beside their words, so the request can be rebuilt from the notes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from babel import Locale

from exports.context import ExportContext
from queries.answers import ExportAbout, ExportColumn
from texts import LANGUAGES, NO_VALUE, code_label, text
from texts.formatting import format_date, format_datetime, format_month

PERIOD_FILTER = "period"  # the question's period filter (queries.filters.PERIOD_PARAMETER): `YYYY-MM..YYYY-MM`


@dataclass(frozen=True)
class ColumnNote:
    """One column of the rows: its machine name and kind, its label (the spreadsheet's header) and meaning."""

    name: str
    kind: str
    label: str
    meaning: str


@dataclass(frozen=True)
class Section:
    """One part of the notes: a title and its rows, label–value pairs or, with a `header`, a table."""

    title: str
    rows: tuple[tuple[str, ...], ...]
    header: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        return {"title": self.title, "header": list(self.header), "rows": [list(row) for row in self.rows]}


@dataclass(frozen=True)
class Notes:
    """Everything the file says about itself, in `language`."""

    language: str
    title: str
    introduction: str
    sections: tuple[Section, ...]
    columns: tuple[ColumnNote, ...]
    citation: str


def column_label(name: str, language: str) -> str:
    """A column's header in a spreadsheet, e.g. "Noemer" / "Denominator"."""
    return code_label("export_header", name, language)


def column_notes(columns: Sequence[ExportColumn], language: str) -> tuple[ColumnNote, ...]:
    return tuple(ColumnNote(column.name, column.kind, column_label(column.name, language),
                            code_label("export_column", column.name, language)) for column in columns)


def _moment(value: str | None) -> datetime | None:
    """A stored moment (ISO text); a naive one is UTC, as the tables keep them (tables/schema.py)."""
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _month(month: str, language: str) -> str:
    """"2024-03" as "maart 2024" / "March 2024"; anything else as written."""
    if len(month) == 7 and month[4] == "-" and month[:4].isdigit() and month[5:].isdigit():
        return format_month(month, language)
    return month


def _months(first: str | None, last: str | None, language: str) -> str:
    if not first or not last:
        return NO_VALUE
    return text("export_period_range", language, first=_month(first, language), last=_month(last, language))


def _level(level: str, language: str) -> str:
    return text("national", language) if level == "national" else code_label("org_type", level, language)


def _language_name(code: str, language: str) -> str:
    """One of the product's languages by its name in `language` (Babel's locale data), e.g. "Engels (en)"."""
    if code not in LANGUAGES:
        return code
    return f"{Locale.parse(code).get_display_name(Locale.parse(language))} ({code})"


def _indicator_name(indicator: dict, language: str) -> str:
    return str(indicator.get(f"name_{language}") or indicator.get("name_nl") or indicator["id"])


def _question(about: ExportAbout, language: str) -> Section:
    question = about["question"]
    names = {indicator["id"]: _indicator_name(indicator, language) for indicator in about["indicators"]}
    indicators = ("; ".join(f"{names.get(code, code)} ({code})" for code in question["indicators"])
                  or text("export_all_indicators", language))
    breakdown = ("; ".join(f"{code_label('dimension', name, language)} ({name})" for name in question["dimensions"])
                 or text("export_no_breakdown", language))
    grain = (f"{code_label('grain', question['grain'], language)} ({question['grain']})" if question["grain"]
             else text("export_whole_period", language))
    return Section(text("export_section_question", language), (
        (text("export_indicators", language), indicators),
        (text("export_level", language), f"{_level(question['level'], language)} ({question['level']})"),
        (text("export_breakdown", language), breakdown),
        (text("export_grain", language), grain),
        (text("export_overdispersion", language),
         f"{code_label('overdispersion', question['overdispersion'], language)} ({question['overdispersion']})"),
        (text("export_label_language", language), _language_name(question["language"], language)),
    ))


def _filter_row(name: str, value: str, language: str) -> tuple[str, str]:
    """One filter in words with its parameter: ("Pariteit", "Nullipara (parity=nulliparous)")."""
    if name == PERIOD_FILTER:
        first, _, last = value.partition("..")
        return text("period", language), f"{_months(first, last or first, language)} ({name}={value})"
    values = [part.strip() for part in value.split(",") if part.strip()]
    words = ", ".join(code_label("dimension_value", f"{name}.{part}", language) for part in values)
    return code_label("dimension", name, language), f"{words} ({name}={value})"


def _target_group(about: ExportAbout, language: str) -> Section:
    filters = about["question"]["filters"]
    rows = tuple(_filter_row(name, value, language) for name, value in filters.items())
    return Section(text("export_section_target_group", language),
                   rows or ((text("export_no_filters", language),),))


def _published(about: ExportAbout) -> datetime | None:
    return _moment(about["data_version"].get("published_at"))


def _data_version(about: ExportAbout, language: str) -> Section:
    version = about["data_version"]
    published = _published(about)
    asked = about["question"]["data_version"]
    return Section(text("export_section_data_version", language), (
        (text("export_version_number", language), str(version.get("number", NO_VALUE))),
        (text("export_version_label", language), str(version.get("label") or NO_VALUE)),
        (text("export_published_at", language), format_datetime(published, language) if published else NO_VALUE),
        (text("export_version_period", language),
         _months(version.get("period_from"), version.get("period_to"), language)),
        (text("export_version_asked", language),
         str(asked) if asked is not None else text("export_current_version", language)),
    ))


def _viewer(about: ExportAbout, language: str) -> str:
    viewer = about["viewer"]
    organisation = viewer.get("org_code") or viewer.get("vsv_code")
    role = code_label("role", viewer.get("role"), language)
    return f"{role} ({organisation})" if organisation else role


def _export(about: ExportAbout, context: ExportContext, file: str, rows: int | None,
            sheets: Sequence[str]) -> Section:
    language = context.language
    lines = [
        (text("export_exported_at", language), format_datetime(context.exported_at, language)),
        (text("export_exported_by", language), context.exported_by),
        (text("export_made_for", language), _viewer(about, language)),
        (text("export_request", language), context.request),
        (text("export_file", language), file),
    ]
    if rows is not None:
        lines.append((text("export_rows", language), str(rows)))
    if len(sheets) > 1:
        lines.append((text("export_data_sheets", language), ", ".join(sheets)))
    return Section(text("export_section_export", language), tuple(lines))


def _columns(columns: tuple[ColumnNote, ...], language: str) -> Section:
    return Section(text("export_section_columns", language),
                   tuple((column.name, column.label, code_label("export_kind", column.kind, language),
                          column.meaning) for column in columns),
                   header=(text("export_column_name", language), text("export_column_label", language),
                           text("export_column_kind", language), text("export_column_meaning", language)))


def _indicators(about: ExportAbout, language: str) -> Section:
    rows = []
    for indicator in about["indicators"]:
        exclusions = "; ".join(indicator.get("exclusions") or ()) or text("export_no_exclusions", language)
        rows.append((
            str(indicator["id"]), _indicator_name(indicator, language),
            str(indicator.get("numerator") or NO_VALUE), str(indicator.get("denominator") or NO_VALUE), exclusions,
            text("export_unit", language, unit=indicator.get("unit", NO_VALUE),
                 scale=indicator.get("unit_scale", NO_VALUE)),
            code_label("direction", indicator.get("direction"), language),
            str(indicator.get("source") or NO_VALUE),
            str(indicator.get(f"definition_{language}") or indicator.get("definition_nl") or NO_VALUE),
        ))
    return Section(text("export_section_indicators", language), tuple(rows), header=(
        text("export_indicator_id", language), text("export_indicator_name", language),
        text("export_indicator_numerator", language), text("export_indicator_denominator", language),
        text("export_indicator_exclusions", language), text("export_indicator_unit", language),
        text("export_indicator_direction", language), text("export_indicator_source", language),
        text("export_indicator_definition", language)))


def _rules(about: ExportAbout, language: str) -> Section:
    """The disclosure rules in plain words, with the installation's numbers (docs/privacy.md)."""
    rules = about["rules"]
    return Section(text("export_section_rules", language), (
        (text("export_rule_masked", language, mask_from=rules["mask_from"], mask_to=rules["mask_to"]),),
        (text("export_rule_min_denominator", language, min_denominator=rules["min_denominator"]),),
        (text("export_rule_perturbed", language, noise_bound=rules["noise_bound"],
              peer_group_size=rules["peer_group_size"]),),
        (text("export_rule_peers", language, peer_group_size=rules["peer_group_size"]),),
        (text("export_rule_complementary", language),),
        (text("export_rule_empty", language),),
    ))


def citation(about: ExportAbout, context: ExportContext) -> str:
    """The line to cite the file by: "perispiegel, dataversie 2025-01 (1) (nr. 12, gepubliceerd 15-01-2025),
    geëxporteerd 22-11-2026 14:05 CET, /api/v1/export?..."."""
    language = context.language
    version = about["data_version"]
    published = _published(about)
    return text("export_citation", language, label=version.get("label") or NO_VALUE,
                number=version.get("number", NO_VALUE), published=format_date(published, language),
                exported=format_datetime(context.exported_at, language), request=context.request)


def export_notes(about: ExportAbout, columns: Sequence[ExportColumn], context: ExportContext, file: str,
                 rows: int | None = None, sheets: Sequence[str] = ()) -> Notes:
    """The notes of one file (`file`: its name; `rows`: how many it holds, when known as the notes are written;
    `sheets`: a workbook's data sheets, named when the rows take more than one)."""
    language = context.language
    notes = column_notes(columns, language)
    cite = citation(about, context)
    return Notes(language, text("export_title", language), text("export_introduction", language), (
        _question(about, language),
        _target_group(about, language),
        _data_version(about, language),
        _export(about, context, file, rows, sheets),
        _columns(notes, language),
        _indicators(about, language),
        _rules(about, language),
        Section(text("export_section_citation", language), ((cite,),)),
    ), notes, cite)
