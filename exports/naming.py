"""An export's file name: it says what is in the file, and two different questions never share one.

`perispiegel_<level>_<indicators>_<from>_<to>_<hash>_v<data version>.<extension>`, e.g.
`perispiegel_hospital_caesarean_2024-01_2024-12_3f9c1a07_v12.csv`. The level, indicators, period and version
let a researcher tell files apart in a folder; the hash (of the whole question but its language) tells apart
questions that those do not (another target group, breakdown or grain). The name is plain ASCII letters, digits,
`_`, `-` and one `.`, so it needs no quoting or encoding in a Content-Disposition header or a shell.
"""

from __future__ import annotations

import hashlib
import json
import re

from exports.formats import EXTENSIONS, checked_format
from queries.answers import ExportAbout, ExportQuestion

PREFIX = "perispiegel"
HASH_DIGITS = 8  # 32 bits: two questions of one researcher share a hash with a chance of about 1 in 4 billion
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def question_hash(question: ExportQuestion) -> str:
    """The first HASH_DIGITS hex digits of the SHA-256 of the question as canonical JSON (sorted keys, no spaces,
    ASCII), without its language: the same rows with labels in another language are the same question."""
    asked = {name: value for name, value in question.items() if name != "language"}
    canonical = json.dumps(asked, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()[:HASH_DIGITS]


def _safe(part: str) -> str:
    """A part of the name in the safe characters only (anything else becomes `-`)."""
    return _UNSAFE.sub("-", part).strip("-") or "-"


def _indicators_part(indicators: list[str]) -> str:
    """The indicator's id when there is one; `<k>-indicators` for several; `all-indicators` when the question
    names none (it asks for every indicator)."""
    if len(indicators) == 1:
        return indicators[0]
    return f"{len(indicators)}-indicators" if indicators else "all-indicators"


def _period_parts(about: ExportAbout) -> list[str]:
    """The first and last month: the question's period filter (`YYYY-MM..YYYY-MM`), else the data version's."""
    period = about["question"]["filters"].get("period")
    if period:
        start, _, end = period.partition("..")
        return [start, end or start]
    first, last = about["data_version"].get("period_from"), about["data_version"].get("period_to")
    return [str(month) for month in (first, last) if month]


def file_name(about: ExportAbout, format: str) -> str:
    """The file name of the export `about` describes, in `format` (see the module's docstring)."""
    question = about["question"]
    number = about["data_version"].get("number")
    if number is None:
        raise ValueError("an export's data version has no number: a file must say which version it holds")
    parts = [PREFIX, question["level"], _indicators_part(question["indicators"]), *_period_parts(about),
             question_hash(question), f"v{number}"]
    return "_".join(_safe(part) for part in parts) + "." + EXTENSIONS[checked_format(format)]
