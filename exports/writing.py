"""Write an export table in one of the FORMATS: to a file (`write`) or as the blocks of a web response (`stream`).

Each format's writer is a generator that writes one chunk of the table and then yields the rows written so far
(the last value, once the file is complete, is the total). `write` runs it to the end; `stream` hands out what was
written after each step, so a CSV or Parquet response starts with the first chunk and never holds more than one.
An XLSX file is a zip whose parts are complete only at the end: it is written to a spooled temporary file (in
memory while small, on disk beyond SPOOL_BYTES) and then sent in blocks of BLOCK_BYTES.
"""

from __future__ import annotations

import io
import tempfile
from collections import deque
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, BinaryIO, cast

from exports.context import ExportContext
from exports.formats import Format, checked_format
from exports.to_csv import write_csv
from exports.to_parquet import write_parquet
from exports.to_xlsx import write_xlsx
from queries.answers import ExportTable

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

BLOCK_BYTES = 64 * 1024  # an XLSX response's blocks
SPOOL_BYTES = 8 * 1024 * 1024  # an XLSX response beyond this waits on disk, not in memory


class _Sink(io.RawIOBase):
    """A write-only stream that knows how many bytes went through it (Parquet's writer asks where it is), and
    either passes them on to `target` or keeps them until `take()`."""

    def __init__(self, target: BinaryIO | None = None) -> None:
        super().__init__()
        self.target = target
        self.position = 0
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: ReadableBuffer) -> int:
        block = bytes(data)
        if self.target is not None:
            self.target.write(block)
        else:
            self.parts.append(block)
        self.position += len(block)
        return len(block)

    def tell(self) -> int:
        return self.position

    def take(self) -> bytes:
        """The bytes written since the last `take`."""
        block = b"".join(self.parts)
        self.parts.clear()
        return block


def _steps(table: ExportTable, format: Format, target: BinaryIO, context: ExportContext) -> Iterator[int]:
    if format == "csv":
        return write_csv(table, target)
    if format == "xlsx":
        return write_xlsx(table, target, context)
    return write_parquet(table, target, context)


def _run(steps: Iterator[int]) -> int:
    """A writer run to the end: its last value, the rows written (every writer yields once its file is complete)."""
    return deque(steps, maxlen=1)[0]


def write(table: ExportTable, format: str, target: BinaryIO, context: ExportContext) -> int:
    """Write `table` as `format` to `target` (a binary file, opened for writing; not closed here), chunk by
    chunk; the number of rows written. `ValueError` for an unknown format, before anything is written."""
    checked = checked_format(format)
    # XlsxWriter's zip file handles any target itself; the others learn their position from the sink.
    sink = target if checked == "xlsx" else cast(BinaryIO, _Sink(target))
    return _run(_steps(table, checked, sink, context))


class ExportStream:
    """The bytes of one export file, block by block, for a web response (`flask.Response(stream, ...)`).

    `rows` is None until the last block has been handed out, then the number of rows written (for the audit
    log: the request's `call_on_close`, or the `on_complete` given to `stream`, reads it). A response abandoned
    halfway (the client went away) leaves it None: no complete file was sent. `close()` ends the writing and frees
    its temporary files; WSGI servers call it when the response ends, read to the end or not."""

    def __init__(self, blocks: Callable[[ExportStream], Generator[bytes, None, None]],
                 on_complete: Callable[[int], None] | None = None) -> None:
        self.rows: int | None = None
        self._on_complete = on_complete
        self._blocks = blocks(self)

    def __iter__(self) -> ExportStream:
        return self

    def __next__(self) -> bytes:
        return next(self._blocks)

    def close(self) -> None:
        self._blocks.close()

    def _complete(self, rows: int) -> None:
        self.rows = rows
        if self._on_complete is not None:
            self._on_complete(rows)


def _streamed(table: ExportTable, format: Format,
              context: ExportContext) -> Callable[[ExportStream], Generator[bytes, None, None]]:
    def blocks(stream: ExportStream) -> Generator[bytes, None, None]:
        if format == "xlsx":
            with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
                rows = _run(_steps(table, format, cast(BinaryIO, spool), context))
                spool.seek(0)
                while block := spool.read(BLOCK_BYTES):
                    yield block
        else:
            sink = _Sink()
            rows = 0
            for rows in _steps(table, format, cast(BinaryIO, sink), context):  # noqa: B007  # the last is the total
                if block := sink.take():
                    yield block
        stream._complete(rows)

    return blocks


def stream(table: ExportTable, format: str, context: ExportContext,
           on_complete: Callable[[int], None] | None = None) -> ExportStream:
    """`table` as `format`, as the blocks of a response body (see ExportStream); `on_complete(rows)` is called once
    the last block has been handed out. `ValueError` for an unknown format, at once, before the response starts."""
    checked = checked_format(format)
    return ExportStream(_streamed(table, checked, context), on_complete)
