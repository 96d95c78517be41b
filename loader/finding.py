"""Finding and reading the delivery files below a delivery folder, in the order a refresh processes them.

A delivery file is anything below the folder whose name ends in `.csv` (in any case) or begins with a discipline
code (`lvr1_`, `lvr2_`, `lnr_`, in any case): a file (a wrong name is a rejection with a message, e.g. `.txt` or
no extension, not a file passed over), a symbolic link (followed; a dangling one or a loop is *unreadable*) or a
folder (where a file was meant; its files are looked at too). Other files (a README, a database, `.DS_Store`) are
not deliveries: they are not read, only counted (`FoundFiles.others`). Folders whose name starts with `_` (e.g.
`_truth`) are not looked into; symbolic links to folders are not followed (no loops, nothing outside).

Each file is read once per refresh (`read_delivery_file`): the bytes read are the bytes hashed and the bytes
validated, so a file that changes while a refresh runs is stored as what was read. A file that cannot be read
becomes a `ReceivedFile` without bytes and with the reason (`UnreadableReason`), never an exception: it gets a
deliveries row and is tried again at the next refresh. `DeliveryReader` reads the files batch by batch, skipping
those whose SHA-256 is already known, so that memory holds one batch at a time.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, get_args

from contracts.delivery_format import FILE_NAME_PATTERN

#: Why a file could not be read (`code.unreadable_reason` in texts/ says it in words).
UnreadableReason = Literal["vanished", "dangling_link", "link_loop", "permission_denied", "folder", "not_a_file",
                           "io_error", "too_large", "other"]
UNREADABLE_REASONS: tuple[UnreadableReason, ...] = get_args(UnreadableReason)
#: A month's delivery of the largest hospital is a few megabytes; a file this large is not a delivery and is not
#: read into memory.
MAX_FILE_BYTES = 256 * 1024 * 1024
#: A name beginning like a delivery's (`lvr1_…`, in any case) is a delivery, whatever its extension.
DELIVERY_NAME_START = re.compile(r"(?i)(lvr1|lvr2|lnr)_")
#: A batch holds at most this many bytes of files (besides `batch_size` files): a month of FHIR files is some fifty
#: times the bytes of the same records as CSV, and a batch's bytes are in memory together.
MAX_BATCH_BYTES = 64 * 1024 * 1024
#: How often `DeliveryReader` reports the `read` stage.
REPORT_EVERY_FILES = 500


def _delivery_order(path: Path) -> tuple:
    """Month, sender, discipline, then resend number: a resend is always processed after what it corrects."""
    match = FILE_NAME_PATTERN.match(path.name)
    if match is None:
        return ("~", str(path), "", "", 0)
    return (match["month"], match["org_code"], match["discipline"], int(match["resend"] or 0), str(path))


def is_delivery_name(name: str) -> bool:
    """Whether a name below the delivery folder is meant as a delivery (see the module's docstring)."""
    return name.lower().endswith(".csv") or DELIVERY_NAME_START.match(name) is not None


@dataclass(frozen=True)
class FoundFiles:
    """What lies below a delivery folder: the delivery files in delivery order, and the other files."""

    deliveries: list[Path]
    others: list[Path]


def find_files(source_dir: Path) -> FoundFiles:
    """Everything below `source_dir`, delivery files (see the module's docstring) apart from the others.

    Folders whose name starts with `_` are skipped, and so is a folder that cannot be listed (`os.walk` passes
    over it): there is no file name to report.
    """
    deliveries: list[Path] = []
    others: list[Path] = []
    for folder, folder_names, file_names in os.walk(source_dir):
        here = Path(folder)
        folder_names[:] = [name for name in folder_names if not name.startswith("_")]
        for name in file_names:
            (deliveries if is_delivery_name(name) else others).append(here / name)
        deliveries += [here / name for name in folder_names if is_delivery_name(name)]
    return FoundFiles(sorted(deliveries, key=_delivery_order), sorted(others))


def find_delivery_files(source_dir: Path) -> list[Path]:
    """The delivery files below `source_dir`, in delivery order (`find_files`)."""
    return find_files(source_dir).deliveries


@dataclass(frozen=True)
class ReceivedFile:
    """One file as a refresh read it: its bytes and their SHA-256, or why it could not be read."""

    path: Path
    data: bytes | None
    received_at: datetime
    unreadable: UnreadableReason | None = None
    error: OSError | None = None

    @property
    def sha256(self) -> str | None:
        """SHA-256 of the bytes read (None when nothing was read): the same file is processed once."""
        return None if self.data is None else hashlib.sha256(self.data).hexdigest()


def received(path: Path, data: bytes, received_at: datetime | None = None) -> ReceivedFile:
    """A file received as `data` (e.g. bytes that came otherwise than from the folder, or a test's)."""
    return ReceivedFile(path=path, data=data, received_at=received_at or datetime.now(UTC))


def read_delivery_file(path: Path) -> ReceivedFile:
    """Read `path` once; a file that cannot be read comes back without bytes and with the reason.

    Opened without blocking and checked to be a regular file before anything is read: a named pipe or a device
    in the folder must not hang the refresh.
    """
    received_at = datetime.now(UTC)
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(descriptor, "rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            if stat.S_ISDIR(mode):
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
            if not stat.S_ISREG(mode):
                raise OSError(errno.ENODEV, "not a regular file", str(path))
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        return ReceivedFile(path=path, data=None, received_at=received_at, unreadable=_reason(path, error),
                            error=error)
    if len(data) > MAX_FILE_BYTES:
        limit = OSError(errno.EFBIG, f"more than {MAX_FILE_BYTES // 2 ** 20} MB", str(path))
        return ReceivedFile(path=path, data=None, received_at=received_at, unreadable="too_large", error=limit)
    return ReceivedFile(path=path, data=data, received_at=received_at)


def _reason(path: Path, error: OSError) -> UnreadableReason:
    if error.errno == errno.ENOENT:
        return "dangling_link" if path.is_symlink() else "vanished"
    by_number: dict[int, UnreadableReason] = {
        errno.ELOOP: "link_loop", errno.EACCES: "permission_denied", errno.EPERM: "permission_denied",
        errno.EISDIR: "folder", errno.ENODEV: "not_a_file", errno.ENXIO: "not_a_file", errno.EIO: "io_error",
    }
    return by_number.get(error.errno or 0, "other")


Progress = Callable[[str, int, int], None]


class DeliveryReader:
    """The new files among `paths`, read once each and handed out in batches of at most `batch_size` files and
    `MAX_BATCH_BYTES` bytes (a single larger file is a batch of its own).

    A file whose SHA-256 is in `known` (or that came earlier in this folder: the same bytes twice count once) is
    counted in `unchanged` and dropped. An unreadable file has no hash to be known by: it is handed out every
    time (it gets a deliveries row with its reason and is tried again), but it is not news —
    `has_readable_news` is true only when a new file could be read, so a folder whose only new entries are
    unreadable does not make a new version.
    """

    def __init__(self, paths: Sequence[Path], known: set[str], batch_size: int, progress: Progress | None = None):
        self._paths, self._known, self._batch_size = list(paths), set(known), batch_size
        self._report = progress or (lambda _stage, _done, _total: None)
        self._next = 0  # index of the next path to read
        self._pending: list[ReceivedFile] = []
        self._pending_bytes = 0
        self._readable_seen = False
        self.unchanged = 0

    @property
    def read(self) -> int:
        """How many of the paths have been read so far."""
        return self._next

    def _fill(self, *, until_readable: bool = False) -> None:
        """Read on until a batch of new files is pending (with `until_readable`: and one of them could be read; an
        unreadable file holds no bytes, so a long run of them costs no memory) or every path is read."""
        total = len(self._paths)
        if self._next == 0:
            self._report("read", 0, total)
        while self._next < total and ((len(self._pending) < self._batch_size
                                       and self._pending_bytes < MAX_BATCH_BYTES)
                                      or (until_readable and not self._readable_seen)):
            found = read_delivery_file(self._paths[self._next])
            self._next += 1
            digest = found.sha256
            if digest is not None and digest in self._known:
                self.unchanged += 1
            else:
                if digest is not None:
                    self._known.add(digest)
                    self._readable_seen = True
                self._pending.append(found)
                self._pending_bytes += len(found.data or b"")
            if self._next % REPORT_EVERY_FILES == 0 or self._next == total:
                self._report("read", self._next, total)

    def has_readable_news(self) -> bool:
        """Whether at least one new file could be read (reading ahead as far as needed to know)."""
        self._fill(until_readable=True)
        return self._readable_seen

    def batches(self) -> Iterator[list[ReceivedFile]]:
        """The new files, readable or not, batch by batch; each batch's bytes are let go when the next is read."""
        while True:
            if not self._pending:
                self._fill()
            if not self._pending:
                return
            batch, self._pending, self._pending_bytes = self._pending, [], 0
            yield batch
