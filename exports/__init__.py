"""Exports: an engine's export table (`queries.answers.ExportTable`) written as a file researchers can read and
cite, in CSV, XLSX or Parquet.

The engine decides every figure and how it is shown (docs/privacy.md); this package only writes what it is given,
chunk by chunk, and says in the file what the rows are: the column labels and meanings, the question, the data
version, who exported it when and by which request, every indicator's definition, the disclosure rules and a
citation (the XLSX About sheet and the Parquet metadata; the CSV is the bare table, named after its question).

- `write(table, format, target, context)`: to a binary file; the number of rows.
- `stream(table, format, context)`: the blocks of a web response, with the number of rows once it is sent.
- `file_name(about, format)`: the file's name (Content-Disposition), different for every question.
- `FORMATS`, `MEDIA_TYPES`, `EXTENSIONS`; `ExportContext`: when, by whom, by which request, in which language.

It imports only the shapes of queries/ (`queries.answers`) and the texts: never the tables, the loader, login, the
pages or the API, which call it.
"""

from exports.chunks import MalformedChunkError
from exports.context import ExportContext
from exports.formats import EXTENSIONS, FORMATS, MEDIA_TYPES, Format
from exports.naming import file_name, question_hash
from exports.writing import ExportStream, stream, write

__all__ = ["EXTENSIONS", "FORMATS", "MEDIA_TYPES", "ExportContext", "ExportStream", "Format", "MalformedChunkError",
           "file_name", "question_hash", "stream", "write"]
