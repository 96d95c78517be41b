"""Made reports kept as files, one folder per data version, so every server process (gunicorn's workers) serves
the same file for the same question and a new data version starts afresh.

`<folder>/v<data version>/<key>.<format>`: the key hashes everything a report depends on besides the data version
(the question, the language, who made it — the cover names them — and the source of the code that makes it, so a
new release never serves an old layout). A file is written to a temporary name and renamed into place, so a reader
never sees half a file; storing a report of a version removes the folders of older versions (a refresh has published,
their reports are stale).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import texts
from queries import meeting_report
from reports import charts, document, wording
from texts import LANGUAGES
from wording import figures, target_group

TEXTS_FOLDER = Path(str(texts.__file__)).parent

#: What a report is made of besides the data: the modules that ask the engine and write the report, its template,
#: and the texts its words come from — a release that changes any of them makes new reports (a kept one would show
#: the old words or layout until the next refresh).
FINGERPRINTED_FILES: tuple[Path, ...] = (
    *(Path(str(module.__file__)) for module in (meeting_report, charts, document, wording, figures, target_group)),
    document.TEMPLATES / "report" / "meeting.html",
    *(TEXTS_FOLDER / f"{language}.toml" for language in LANGUAGES),
)
_CODE_FINGERPRINT = hashlib.sha256(b"".join(path.read_bytes() for path in FINGERPRINTED_FILES)).hexdigest()[:16]


class ReportCache:
    """Report files under `folder`, per data version (see the module docstring)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @staticmethod
    def key(**question: object) -> str:
        """A stable name for a report of `question` (org, filters, overdispersion, language, user, format)."""
        canonical = json.dumps({"question": question, "code": _CODE_FINGERPRINT}, sort_keys=True, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]

    def path(self, data_version: int, key: str, suffix: str) -> Path:
        return self.folder / f"v{data_version}" / f"{key}.{suffix}"

    def get(self, data_version: int, key: str, suffix: str) -> bytes | None:
        """The stored report, or None when there is none for this data version."""
        try:
            return self.path(data_version, key, suffix).read_bytes()
        except FileNotFoundError:
            return None

    def put(self, data_version: int, key: str, suffix: str, content: bytes) -> Path:
        """Store a report of `data_version` (atomically) and remove the reports of older versions."""
        target = self.path(data_version, key, suffix)
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=".writing-")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(content)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        for folder in self.folder.glob("v*"):
            # Older versions only: a slow report of the version before must not remove the new version's.
            if folder.is_dir() and folder.name[1:].isdigit() and int(folder.name[1:]) < data_version:
                shutil.rmtree(folder, ignore_errors=True)
        return target
