"""An export as Parquet (pyarrow): typed columns for analysis software, with the notes in the file itself.

Each column has the Arrow type of its kind: string, int64, float64 (rates as proportions), bool, date32; every
column is nullable, and an empty cell is null. Each chunk of the table is one row group, written as it comes
(`ParquetWriter`), so a large export never sits in memory.

The file's key-value metadata holds what the XLSX file's About sheet says, for software and for people:

- `perispiegel`: JSON of the engine's `about` (question, data version, viewer, indicator definitions, rules), the
  context (exported at in UTC, by, request, language), the columns (name, kind, label, meaning) and the notes as
  the About sheet shows them (sections of rows, in the context's language), and the citation;
- a few flat keys for a quick look (`pyarrow.parquet.read_metadata(path).metadata`, `arrow::read_parquet`'s
  schema, DuckDB's `parquet_kv_metadata`): `data_version`, `data_version_label`, `data_version_published_at`,
  `question`, `filters`, `exported_at`, `exported_by`, `request`, `citation`;

and each field's own metadata its `label` and `meaning`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from exports.chunks import checked_chunks
from exports.context import ExportContext
from exports.naming import file_name
from exports.notes import Notes, export_notes
from queries.answers import ExportTable

#: The Arrow type of each kind of column (queries.answers.COLUMN_TYPES gives the polars type).
ARROW_TYPES: dict[str, pa.DataType] = {"string": pa.string(), "integer": pa.int64(), "number": pa.float64(),
                                       "boolean": pa.bool_(), "date": pa.date32()}
METADATA_KEY = "perispiegel"


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def file_metadata(table: ExportTable, context: ExportContext, notes: Notes) -> dict[str, str]:
    """The key-value metadata of the file (see the module's docstring)."""
    about = table.about
    version = about["data_version"]
    document = {
        "about": about,
        "context": {"exported_at": context.exported_at.isoformat(), "exported_by": context.exported_by,
                    "request": context.request, "language": context.language},
        "columns": [{"name": column.name, "kind": column.kind, "label": column.label, "meaning": column.meaning}
                    for column in notes.columns],
        "notes": {"title": notes.title, "introduction": notes.introduction,
                  "sections": [section.as_dict() for section in notes.sections]},
        "citation": notes.citation,
    }
    return {
        METADATA_KEY: _json(document),
        "data_version": str(version.get("number")),
        "data_version_label": str(version.get("label")),
        "data_version_published_at": str(version.get("published_at")),
        "question": _json(about["question"]),
        "filters": _json(about["question"]["filters"]),
        "exported_at": context.exported_at.isoformat(),
        "exported_by": context.exported_by,
        "request": context.request,
        "citation": notes.citation,
    }


def arrow_schema(table: ExportTable, context: ExportContext, notes: Notes) -> pa.Schema:
    fields = [pa.field(column.name, ARROW_TYPES[column.kind], nullable=True,
                       metadata={"label": note.label, "meaning": note.meaning})
              for column, note in zip(table.columns, notes.columns, strict=True)]
    return pa.schema(fields, metadata=file_metadata(table, context, notes))


def write_parquet(table: ExportTable, target: BinaryIO, context: ExportContext) -> Iterator[int]:
    """Write `table` to `target` one row group per chunk, yielding the rows written so far after each; the last
    value, after the file's footer, is the total."""
    notes = export_notes(table.about, table.columns, context, file_name(table.about, "parquet"))
    schema = arrow_schema(table, context, notes)
    writer = pq.ParquetWriter(target, schema)
    rows = 0
    for chunk in checked_chunks(table):
        if chunk.height:
            # polars' Arrow export may use other string and list layouts (large_string, string_view): cast to the
            # file's schema, which also puts the field metadata on every row group.
            arrays = [chunk[field.name].to_arrow().cast(field.type) for field in schema]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            rows += chunk.height
        yield rows
    writer.close()
    yield rows
