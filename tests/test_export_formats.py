"""The export files (exports/) read back with real readers: the csv module and polars for CSV, openpyxl for XLSX,
pyarrow for Parquet. Every value must come back as it went in (a number as a number, a masked cell empty with its
reason), the notes must say what a researcher needs to read and cite the file, the names must tell questions
apart, and a large table must be written chunk by chunk, never held whole.
"""

from __future__ import annotations

import csv
import gc
import io
import json
import math
import tempfile
import tracemalloc
import weakref
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import BinaryIO

import openpyxl
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import exports
from exports import FORMATS, MEDIA_TYPES, ExportContext, MalformedChunkError, file_name, stream, write
from exports.notes import citation
from exports.to_xlsx import write_xlsx
from queries.answers import COLUMN_TYPES, ExportAbout, ExportTable
from queries.catalogue import CATALOGUE
from queries.export_table import EXPORT_COLUMNS
from texts import code_label, text

NAMES = [column.name for column in EXPORT_COLUMNS]
SCHEMA = {column.name: COLUMN_TYPES[column.kind] for column in EXPORT_COLUMNS}
KINDS = {column.name: column.kind for column in EXPORT_COLUMNS}
CONTEXT = ExportContext(exported_at=datetime(2026, 11, 22, 13, 5, 7, tzinfo=UTC), exported_by="onderzoeker1",
                        request="/api/v1/export?indicator=caesarean,perinatal_mortality&level=hospital"
                                "&dimension=parity&grain=year&period=2024-01..2024-12&parity=nulliparous"
                                "&data_version=12&format=csv", language="nl")

# The spreadsheet letter of the last export column (the autofilter spans every column).
LAST_COLUMN = openpyxl.utils.get_column_letter(len(EXPORT_COLUMNS))


def make_about(**question: object) -> ExportAbout:
    asked = {"indicators": ["caesarean", "perinatal_mortality"], "level": "hospital", "dimensions": ["parity"],
             "grain": "year", "overdispersion": "auto",
             "filters": {"period": "2024-01..2024-12", "parity": "nulliparous"}, "language": "nl",
             "data_version": 12}
    asked.update(question)
    return {
        "question": asked,
        "data_version": {"number": 12, "label": "2025-01 (1)", "published_at": "2025-01-15T09:30:00+00:00",
                         "period_from": "2023-01", "period_to": "2024-12"},
        "viewer": {"role": "researcher", "org_code": None, "vsv_code": None},
        "indicators": [CATALOGUE["caesarean"].as_dict(), CATALOGUE["perinatal_mortality"].as_dict()],
        "rules": {"min_denominator": 10, "mask_from": 1, "mask_to": 4, "peer_group_size": 5, "noise_bound": 2},
    }


def row(**values: object) -> dict:
    base: dict[str, object] = dict.fromkeys(NAMES)
    base.update(data_version=12, indicator_id="caesarean", indicator_name="Sectio caesarea", level="hospital",
                named=True, own=False, period="2024", period_start=date(2024, 1, 1), period_end=date(2024, 12, 31),
                dimension_1="parity", value_1="nulliparous", value_1_label="Nullipara", unit_scale=100,
                disclosure="perturbed", suppressed=False)
    base.update(values)
    assert base.keys() == set(NAMES)
    return base


ROWS = [
    row(row_kind="national", level=None, org_label="national", numerator=12345, denominator=45678,
        rate=12345 / 45678, ci_low=0.2662, ci_high=0.2743, provisional=True, provisional_months="2024-11,2024-12"),
    row(row_kind="comparator", org_label="all_hospital", numerator=12001, denominator=44321,
        rate=12001 / 44321, ci_low=0.2666, ci_high=0.2749),
    row(row_kind="organisation", org_code="H0001", org_label='Ziekenhuis "Sint-Jansdal", Harderwijk–Lelystad',
        own=True, numerator=40, denominator=150, rate=40 / 150, ci_low=0.2, ci_high=0.3447, position="within",
        verdict="within", disclosure="exact", expected=36.4, oe_ratio=40 / 36.4, oe_low=0.785, oe_high=1.497,
        adjusted_rate=0.295),
    # the viewer's own figure with a count of 3: masked in an export, reason given
    row(row_kind="organisation", org_code="H0001", org_label="Ziekenhuis Één", own=True, value_1="multiparous",
        value_1_label="Multipara", disclosure="exact", suppressed=True, suppression_reason="count_masked"),
    # a peer: no name, no counts, a rounded rate and a size band
    row(row_kind="organisation", org_label="H-3F9C1A07", named=False, rate=0.284, size_band_low=140,
        size_band_high=210, position="above_95", verdict="higher", disclosure="peer", oe_ratio=1.21,
        adjusted_rate=0.301),
    row(row_kind="organisation", org_label="=HYPERLINK(\"x\")", named=False, numerator=5, denominator=8,
        size_band_low=1, size_band_high=20, disclosure="peer", suppressed=True,
        suppression_reason="denominator_below_minimum"),
    # a per-mille indicator
    row(row_kind="national", level=None, org_label="national", indicator_id="perinatal_mortality",
        indicator_name="Perinatale sterfte", unit_scale=1000, numerator=211, denominator=46890,
        rate=211 / 46890, ci_low=0.003934, ci_high=0.005142, period="2023", period_start=date(2023, 1, 1),
        period_end=date(2023, 12, 31), dimension_1=None, value_1=None, value_1_label=None),
]


def frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=SCHEMA)


def make_table(rows: list[dict] = ROWS, sizes: tuple[int, ...] = (3, 0, 2, 2), about: ExportAbout | None = None,
               ) -> ExportTable:
    """The rows in chunks of `sizes` (an empty chunk included: the engine may yield one)."""
    assert sum(sizes) == len(rows)
    starts = [sum(sizes[:index]) for index in range(len(sizes))]

    def chunks() -> Iterator[pl.DataFrame]:
        for start, size in zip(starts, sizes, strict=True):
            yield frame(rows[start:start + size])

    return ExportTable(about or make_about(), EXPORT_COLUMNS, chunks)


def written(table: ExportTable, format: str, context: ExportContext = CONTEXT) -> tuple[bytes, int]:
    target = io.BytesIO()
    rows = write(table, format, target, context)
    return target.getvalue(), rows


# ---- CSV ---------------------------------------------------------------------------------------------------------

def test_csv_reads_back_value_for_value() -> None:
    data, rows = written(make_table(), "csv")
    assert rows == len(ROWS)
    assert not data.startswith(b"\xef\xbb\xbf")  # no BOM: the first column is `data_version`, not "\ufeffdata_version"
    lines = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert lines[0] == NAMES and len(lines) == len(ROWS) + 1  # one header row, whatever the chunks
    for expected, values in zip(ROWS, lines[1:], strict=True):
        for name, value in zip(NAMES, values, strict=True):
            wanted = expected[name]
            kind = KINDS[name]
            if wanted is None:
                assert value == "", (name, value)
            elif kind == "integer":
                assert value == str(wanted)  # no ".0"
            elif kind == "number":
                assert value[0].isdigit() and float(value) == wanted  # full precision, never a word
            elif kind == "boolean":
                assert value == ("true" if wanted else "false")
            elif kind == "date":
                assert value == wanted.isoformat()
            elif wanted.startswith("="):  # a formula to a spreadsheet: neutralised (OWASP, "CSV Injection")
                assert value == f"'{wanted}"
            else:
                assert value == wanted
    masked = lines[1 + 3]
    assert [masked[NAMES.index(name)] for name in ("numerator", "denominator", "rate", "suppression_reason")] == [
        "", "", "", "count_masked"]


def test_csv_reads_back_in_polars_with_its_types() -> None:
    data, _ = written(make_table(), "csv")
    back = pl.read_csv(io.BytesIO(data), schema=SCHEMA)
    # The one difference: a text a spreadsheet would run as a formula has its leading "'" (OWASP).
    label = pl.col("org_label")
    expected = frame(ROWS).with_columns(pl.when(label.str.starts_with("=")).then(pl.lit("'") + label).otherwise(label)
                                        .alias("org_label"))
    assert back.equals(expected, null_equal=True)
    inferred = pl.read_csv(io.BytesIO(data), try_parse_dates=True)
    assert inferred.schema["numerator"] == pl.Int64 and inferred.schema["rate"] == pl.Float64
    assert inferred.schema["named"] == pl.Boolean and inferred.schema["period_start"] == pl.Date


def test_a_table_without_rows_is_its_header() -> None:
    table = ExportTable(make_about(), EXPORT_COLUMNS, lambda: iter(()))
    data, rows = written(table, "csv")
    assert rows == 0 and data.decode() == ",".join(NAMES) + "\n"
    assert pq.read_table(io.BytesIO(written(table, "parquet")[0])).num_rows == 0
    sheet = openpyxl.load_workbook(io.BytesIO(written(table, "xlsx")[0]))["Gegevens"]
    assert sheet.max_row == 1 and sheet.freeze_panes == "A2"


# ---- XLSX --------------------------------------------------------------------------------------------------------

def test_xlsx_cells_are_typed_and_labelled() -> None:
    data, rows = written(make_table(), "xlsx")
    assert rows == len(ROWS)
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Gegevens", "Toelichting"]
    sheet = book["Gegevens"]
    assert sheet.freeze_panes == "A2"  # the header row stays in view
    assert sheet.auto_filter.ref == f"A1:{LAST_COLUMN}{len(ROWS) + 1}"
    assert [cell.value for cell in sheet[1]] == [code_label("export_header", name, "nl") for name in NAMES]
    assert sheet.cell(1, NAMES.index("denominator") + 1).value == "Noemer"
    for line, expected in enumerate(ROWS, start=2):
        for index, name in enumerate(NAMES, start=1):
            cell, wanted, kind = sheet.cell(line, index), expected[name], KINDS[name]
            if wanted is None:
                assert cell.value is None, (line, name, cell.value)  # empty, never a word
            elif kind == "integer":
                assert cell.data_type == "n" and isinstance(cell.value, int) and cell.value == wanted
            elif kind == "number":  # 16 significant digits (XlsxWriter; Excel shows 15): the CSV has all 17
                assert cell.data_type == "n" and isinstance(cell.value, float)
                assert math.isclose(cell.value, wanted, rel_tol=1e-15), (name, cell.value, wanted)
            elif kind == "boolean":
                assert cell.data_type == "b" and cell.value is wanted
            elif kind == "date":
                assert cell.is_date and cell.value.date() == wanted and cell.number_format == "yyyy-mm-dd"
            else:
                assert cell.data_type == "s" and cell.value == wanted  # "=HYPERLINK(...)" stays text ...
                # ... also when someone edits the cell: Excel's quote prefix, not part of the value.
                assert cell.quotePrefix == wanted.startswith("="), (name, wanted)
    column = {name: index for index, name in enumerate(NAMES, start=1)}
    assert sheet.cell(2, column["rate"]).number_format == "0.0%"
    assert sheet.cell(8, column["rate"]).number_format == "0.00%"  # per mille: 4.5‰ shown as 0.45%
    assert sheet.cell(8, column["ci_low"]).number_format == "0.00%"
    assert sheet.cell(2, column["numerator"]).number_format == "#,##0"
    assert sheet.cell(2, column["data_version"]).number_format == "0"
    assert sheet.cell(2, column["unit_scale"]).number_format == "0"
    widths = {letter: dimension.width for letter, dimension in sheet.column_dimensions.items()}
    assert widths["G"] > widths["A"] >= 10  # org_label (long names) wider than data_version


def about_sheet_text(data: bytes, sheet: str = "Toelichting") -> str:
    rows = openpyxl.load_workbook(io.BytesIO(data))[sheet].iter_rows(values_only=True)
    return "\n".join(" | ".join(str(value) for value in line if value is not None) for line in rows)


def test_xlsx_about_sheet_says_what_the_file_holds_and_how_to_cite_it() -> None:
    about = make_about()
    notes = about_sheet_text(written(make_table(about=about), "xlsx")[0])
    # the question and target group in words, with their codes
    assert "Sectio caesarea (caesarean); Perinatale sterfte (perinatal_mortality)" in notes
    assert "Ziekenhuis (hospital)" in notes and "Pariteit (parity)" in notes and "jaar (year)" in notes
    assert "Periode | januari 2024 t/m december 2024 (period=2024-01..2024-12)" in notes
    assert "Pariteit | Nullipara (parity=nulliparous)" in notes
    # the data version: number, label, publication, period
    assert "Nummer | 12" in notes and "Label | 2025-01 (1)" in notes
    assert "Gepubliceerd op | 15-01-2025 10:30 CET" in notes
    assert "januari 2023 t/m december 2024" in notes
    # the export: when (Dutch time, with its zone), by whom, by which request, which file, how many rows
    assert "Geëxporteerd op | 22-11-2026 14:05 CET" in notes
    assert "onderzoeker1" in notes and CONTEXT.request in notes and "onderzoeker" in notes
    assert file_name(about, "xlsx") in notes and f"Aantal rijen | {len(ROWS)}" in notes
    # every column with its label and meaning
    for column in EXPORT_COLUMNS:
        assert (f"{column.name} | {code_label('export_header', column.name, 'nl')} | "
                f"{code_label('export_kind', column.kind, 'nl')} | "
                f"{code_label('export_column', column.name, 'nl')}") in notes
    # every indicator's definition: numerator, denominator, exclusions, unit, direction, source, text
    for indicator in about["indicators"]:
        assert f"{indicator['id']} | {indicator['name_nl']} | {indicator['numerator']} | {indicator['denominator']}" \
            in notes
        assert indicator["definition_nl"] in notes and indicator["source"] in notes
    assert "perinatal_death is missing" in notes and "‰ (per 1000)" in notes and "Hoger is slechter" in notes
    # the rules in words, with this installation's numbers
    rules = about["rules"]
    assert text("export_rule_masked", "nl", mask_from=1, mask_to=4) in notes
    assert "Aantallen van 1 tot en met 4 worden niet getoond" in notes
    assert text("export_rule_min_denominator", "nl", min_denominator=rules["min_denominator"]) in notes
    assert "hoogstens 2 af van het exacte aantal" in notes and "ten minste 5 organisaties" in notes
    # the citation
    cite = citation(about, CONTEXT)
    assert cite in notes
    assert cite == ("perispiegel, dataversie 2025-01 (1) (nr. 12, gepubliceerd 15-01-2025), geëxporteerd "
                    f"22-11-2026 14:05 CET, {CONTEXT.request}")


def test_xlsx_in_english() -> None:
    english = ExportContext(CONTEXT.exported_at, "researcher1", CONTEXT.request, "en")
    data, _ = written(make_table(), "xlsx", english)
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Data", "About"]
    assert book["Data"].cell(1, NAMES.index("denominator") + 1).value == "Denominator"
    notes = about_sheet_text(data, "About")
    assert "Parity | Nulliparous (parity=nulliparous)" in notes and "January 2024 to December 2024" in notes
    assert "Exported on | 2026-11-22 14:05 CET" in notes  # Dutch local time in both languages, with its zone
    assert "Counts from 1 to 4 are not shown" in notes and "perispiegel, data version 2025-01 (1)" in notes
    assert CATALOGUE["caesarean"].as_dict()["definition_en"] in notes


def test_xlsx_continues_on_a_next_sheet_when_a_sheet_is_full() -> None:
    target = io.BytesIO()
    steps = list(write_xlsx(make_table(), target, CONTEXT, rows_per_sheet=3))
    assert steps[-1] == len(ROWS)
    book = openpyxl.load_workbook(io.BytesIO(target.getvalue()))
    assert book.sheetnames == ["Gegevens", "Toelichting", "Gegevens 2", "Gegevens 3"]
    data_sheets = [book[name] for name in ("Gegevens", "Gegevens 2", "Gegevens 3")]
    assert [sheet.max_row - 1 for sheet in data_sheets] == [3, 3, 1]
    for sheet in data_sheets:
        assert sheet.freeze_panes == "A2" and sheet.cell(1, 1).value == "Dataversie"
        assert sheet.auto_filter.ref == f"A1:{LAST_COLUMN}{sheet.max_row}"
    assert "Tabbladen met de rijen | Gegevens, Gegevens 2, Gegevens 3" in about_sheet_text(target.getvalue())
    back = [line for sheet in data_sheets for line in sheet.iter_rows(min_row=2, values_only=True)]
    assert [line[NAMES.index("org_label")] for line in back] == [expected["org_label"] for expected in ROWS]


# ---- Parquet -----------------------------------------------------------------------------------------------------

def test_parquet_has_typed_columns_and_reads_back_value_for_value() -> None:
    data, rows = written(make_table(), "parquet")
    assert rows == len(ROWS)
    file = pq.ParquetFile(io.BytesIO(data))
    assert file.metadata.num_row_groups == 3  # one per chunk with rows, written as they came
    table = file.read()
    expected_types = {"string": pa.string(), "integer": pa.int64(), "number": pa.float64(), "boolean": pa.bool_(),
                      "date": pa.date32()}
    assert table.schema.names == NAMES
    assert [field.type for field in table.schema] == [expected_types[KINDS[name]] for name in NAMES]
    assert table.to_pylist() == ROWS
    assert pl.read_parquet(io.BytesIO(data)).equals(frame(ROWS), null_equal=True)
    field = table.schema.field("suppression_reason")
    assert field.metadata[b"label"].decode() == "Reden onderdrukking"
    assert "count_masked" in field.metadata[b"meaning"].decode()


def test_parquet_metadata_holds_the_notes() -> None:
    about = make_about()
    data, _ = written(make_table(about=about), "parquet")
    metadata = {key.decode(): value.decode() for key, value in pq.read_schema(io.BytesIO(data)).metadata.items()}
    assert metadata["data_version"] == "12" and metadata["data_version_label"] == "2025-01 (1)"
    assert metadata["data_version_published_at"] == "2025-01-15T09:30:00+00:00"
    assert json.loads(metadata["filters"]) == {"period": "2024-01..2024-12", "parity": "nulliparous"}
    assert json.loads(metadata["question"]) == about["question"]
    assert metadata["exported_at"] == "2026-11-22T13:05:07+00:00" and metadata["exported_by"] == "onderzoeker1"
    assert metadata["request"] == CONTEXT.request and metadata["citation"] == citation(about, CONTEXT)
    document = json.loads(metadata["perispiegel"])
    assert document["about"] == json.loads(json.dumps(about))
    assert document["context"] == {"exported_at": "2026-11-22T13:05:07+00:00", "exported_by": "onderzoeker1",
                                   "request": CONTEXT.request, "language": "nl"}
    assert [column["name"] for column in document["columns"]] == NAMES
    assert document["columns"][NAMES.index("rate")]["meaning"] == code_label("export_column", "rate", "nl")
    sections = {section["title"]: section for section in document["notes"]["sections"]}
    assert ["Periode", "januari 2024 t/m december 2024 (period=2024-01..2024-12)"] in sections[
        "Doelgroep (filters)"]["rows"]
    assert [text("export_rule_masked", "nl", mask_from=1, mask_to=4)] in sections["Regels voor openbaarmaking"]["rows"]
    assert document["citation"] == citation(about, CONTEXT)


# ---- names -------------------------------------------------------------------------------------------------------

def test_file_names_say_what_the_file_holds_and_differ_per_question() -> None:
    about = make_about()
    name = file_name(about, "csv")
    assert name.startswith("perispiegel_hospital_2-indicators_2024-01_2024-12_") and name.endswith("_v12.csv")
    assert file_name(make_about(indicators=["caesarean"]), "xlsx").startswith("perispiegel_hospital_caesarean_")
    assert "_all-indicators_" in file_name(make_about(indicators=[]), "csv")
    others = {file_name(make_about(filters={"period": "2024-01..2024-12", "parity": "multiparous"}), "csv"),
              file_name(make_about(filters={"period": "2024-01..2024-12"}), "csv"),
              file_name(make_about(grain="month"), "csv"), file_name(make_about(dimensions=[]), "csv"),
              file_name(make_about(level="vsv"), "csv"), name}
    assert len(others) == 6  # another question, another name
    assert file_name(make_about(language="en"), "csv") == name  # the same rows with English labels
    # without a period filter: the data version's period
    assert "_2023-01_2024-12_" in file_name(make_about(filters={"parity": "nulliparous"}), "parquet")
    for format in FORMATS:
        candidate = file_name(about, format)
        assert candidate.isascii() and candidate.count(".") == 1 and not set(candidate) & set(' "\';,/\\')
    newer = make_about()
    newer["data_version"] = {**newer["data_version"], "number": 13}
    assert file_name(newer, "csv").endswith("_v13.csv") and file_name(newer, "csv") != name
    with pytest.raises(ValueError, match="unknown export format"):
        file_name(about, "pdf")


def test_the_formats_and_their_media_types() -> None:
    assert FORMATS == ("csv", "xlsx", "parquet") and set(MEDIA_TYPES) == set(FORMATS)
    with pytest.raises(ValueError, match="allowed: csv, xlsx, parquet"):
        write(make_table(), "json", io.BytesIO(), CONTEXT)
    with pytest.raises(ValueError, match="allowed"):
        stream(make_table(), "json", CONTEXT)


def test_the_context_is_a_moment_in_utc() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ExportContext(datetime(2026, 11, 22, 14, 5), "x", "/api/v1/export", "nl")
    with pytest.raises(ValueError, match="language"):
        ExportContext(CONTEXT.exported_at, "x", "/api/v1/export", "fr")
    dutch = ExportContext(datetime(2026, 6, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))), "x", "/", "nl")
    assert dutch.exported_at == datetime(2026, 6, 1, 12, 0, tzinfo=UTC) and dutch.exported_at.tzinfo is UTC


def test_a_chunk_that_does_not_match_the_columns_stops_the_export() -> None:
    def table(bad: pl.DataFrame) -> ExportTable:
        return ExportTable(make_about(), EXPORT_COLUMNS, lambda: iter([frame(ROWS[:2]), bad]))

    wrong_type = frame(ROWS[:1]).with_columns(pl.col("numerator").cast(pl.Int32))
    with pytest.raises(MalformedChunkError, match="numerator is Int32"):
        write(table(wrong_type), "csv", io.BytesIO(), CONTEXT)
    with pytest.raises(MalformedChunkError, match="columns"):
        write(table(frame(ROWS[:1]).drop("own")), "parquet", io.BytesIO(), CONTEXT)
    not_a_number = frame(ROWS[:1]).with_columns(rate=pl.lit(math.nan))
    with pytest.raises(MalformedChunkError, match="not finite"):
        write(table(not_a_number), "xlsx", io.BytesIO(), CONTEXT)


# ---- streaming ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("format", FORMATS)
def test_a_stream_is_the_file_and_counts_its_rows_when_done(format: str) -> None:
    completed: list[int] = []
    streamed = stream(make_table(), format, CONTEXT, on_complete=completed.append)
    assert streamed.rows is None
    blocks = []
    for block in streamed:
        assert streamed.rows is None  # not before the last block has been handed out
        blocks.append(block)
    assert streamed.rows == len(ROWS) and completed == [len(ROWS)]
    body = b"".join(blocks)
    if format == "csv":
        assert len(blocks) == 3  # a block per chunk with rows: the response starts with the first chunk
        assert body == written(make_table(), "csv")[0]
    elif format == "parquet":
        assert pq.read_table(io.BytesIO(body)).equals(pq.read_table(io.BytesIO(written(make_table(), format)[0])))
    else:
        assert zipfile.ZipFile(io.BytesIO(body)).testzip() is None
        assert openpyxl.load_workbook(io.BytesIO(body))["Gegevens"].max_row == len(ROWS) + 1


def test_a_stream_closed_halfway_counts_no_rows() -> None:
    completed: list[int] = []
    streamed = stream(make_table(), "csv", CONTEXT, on_complete=completed.append)
    next(streamed)
    streamed.close()
    assert streamed.rows is None and completed == []
    with pytest.raises(StopIteration):
        next(streamed)


def test_the_package_says_what_it_offers() -> None:
    assert set(exports.__all__) >= {"FORMATS", "MEDIA_TYPES", "EXTENSIONS", "ExportContext", "file_name", "write",
                                    "stream", "ExportStream"}


# ---- a large export, chunk by chunk ------------------------------------------------------------------------------

def big_chunk(start: int, size: int) -> pl.DataFrame:
    """Rows `start` .. `start + size` of a large export, made by polars (outside the Python heap tracemalloc sees)."""
    index = pl.int_range(start, start + size, eager=True, dtype=pl.Int64).alias("index")
    return pl.DataFrame(index).select(
        data_version=pl.lit(12, pl.Int64), indicator_id=pl.lit("caesarean"), indicator_name=pl.lit("Sectio caesarea"),
        row_kind=pl.lit("organisation"), level=pl.lit("practice"),
        org_code=pl.format("P{}", pl.col("index") % 600), org_label=pl.format("Praktijk {}", pl.col("index") % 600),
        named=pl.lit(True), own=pl.col("index") % 600 == 0, period=pl.lit("2024-03"),
        period_start=pl.lit(date(2024, 3, 1)), period_end=pl.lit(date(2024, 3, 31)),
        dimension_1=pl.lit("robson"), value_1=pl.format("{}", pl.col("index") % 10),
        value_1_label=pl.format("Robson {}", pl.col("index") % 10), dimension_2=pl.lit("parity"),
        value_2=pl.lit("nulliparous"), value_2_label=pl.lit("Nullipara"),
        numerator=pl.col("index") % 97 + 5, denominator=pl.col("index") % 997 + 200,
        rate=(pl.col("index") % 97 + 5) / (pl.col("index") % 997 + 200), ci_low=pl.lit(0.01), ci_high=pl.lit(0.5),
        unit_scale=pl.lit(100, pl.Int64), size_band_low=pl.lit(None, pl.Int64), size_band_high=pl.lit(None, pl.Int64),
        expected=pl.lit(None, pl.Float64), oe_ratio=pl.lit(None, pl.Float64), oe_low=pl.lit(None, pl.Float64),
        oe_high=pl.lit(None, pl.Float64), adjusted_rate=pl.lit(None, pl.Float64), position=pl.lit("within"),
        verdict=pl.lit("within"), disclosure=pl.lit("perturbed"), suppressed=pl.lit(False),
        suppression_reason=pl.lit(None, pl.String), provisional=pl.col("index") % 12 == 0,
        provisional_months=pl.when(pl.col("index") % 12 == 0).then(pl.lit("2024-03")),
    ).cast(SCHEMA)


def content_size(format: str, file: BinaryIO) -> int:
    """The bytes of rows in a written file before compression: the CSV text, the Parquet row groups' uncompressed
    size, the XML of the workbook's sheets."""
    file.seek(0)
    if format == "csv":
        return file.seek(0, io.SEEK_END)
    if format == "parquet":
        metadata = pq.ParquetFile(file).metadata
        return sum(metadata.row_group(index).total_byte_size for index in range(metadata.num_row_groups))
    return sum(member.file_size for member in zipfile.ZipFile(file).infolist()
               if member.filename.startswith("xl/worksheets/"))


def watched_table(rows: int, chunks: int) -> tuple[ExportTable, Callable[[], int]]:
    """A table whose chunks check, as each is made, that the writer let go of all but the one before it: a writer
    that keeps chunks (or concatenates them) fails here, whatever its memory use. Also the most chunks alive."""
    size = rows // chunks
    alive: list[weakref.ref] = []
    most = [0]

    def generate() -> Iterator[pl.DataFrame]:
        alive.clear()
        for number in range(chunks):
            gc.collect()
            held = sum(reference() is not None for reference in alive)
            most[0] = max(most[0], held)
            assert held <= 1, f"{held} earlier chunks still held when chunk {number} is asked for"
            chunk = big_chunk(number * size, size)
            alive.append(weakref.ref(chunk))
            yield chunk
            del chunk

    return ExportTable(make_about(), EXPORT_COLUMNS, generate), lambda: most[0]


@pytest.mark.parametrize(("format", "rows", "chunks"), [
    ("csv", 200_000, 20),
    ("parquet", 200_000, 20),
    ("xlsx", 5_000, 20),  # Excel cells are written one by one in Python: fewer rows keep the test quick
])
def test_a_large_export_is_written_chunk_by_chunk(format: str, rows: int, chunks: int,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def no_concat(*args: object, **kwargs: object) -> pl.DataFrame:
        raise AssertionError("the writer concatenated the chunks")

    write(make_table(), format, io.BytesIO(), CONTEXT)  # once before measuring: imports and caches are not rows
    monkeypatch.setattr(pl, "concat", no_concat)
    table, most_alive = watched_table(rows, chunks)
    with tempfile.TemporaryFile() as target:  # on disk: the file written is not in the memory measured
        tracemalloc.start()
        try:
            written_rows = write(table, format, target, CONTEXT)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        size = content_size(format, target)
    assert written_rows == rows and most_alive() == 1
    # What the writer held at its peak against the rows it wrote (uncompressed): a writer that kept the rows or the
    # file (XlsxWriter without constant_memory keeps every cell) holds at least about that much. Measured: 5-9%.
    assert peak < 0.25 * size, (peak, size)
