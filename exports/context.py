"""Who made an export, when and how: what a file says about its making besides the engine's answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from texts import LANGUAGES


@dataclass(frozen=True)
class ExportContext:
    """The making of one export file.

    exported_at: the moment it was made, timezone-aware (kept in UTC; the notes show it in Dutch local time).
    exported_by: the user name of the account that asked (the audit log's user).
    request: the API request that reproduces it, e.g. `/api/v1/export?indicator=caesarean&format=csv`: a
        researcher cites it, and anyone with the same rights gets the same rows from the same data version.
    language: the language of the column labels and the notes ("nl" or "en"); the label columns of the rows
        (indicator_name, value_1_label, ...) are in the question's language, which the engine applied.
    """

    exported_at: datetime
    exported_by: str
    request: str
    language: str

    def __post_init__(self) -> None:
        # A naive moment is ambiguous by an hour or two (server time or Dutch time?): a cited file must not be.
        if self.exported_at.tzinfo is None or self.exported_at.utcoffset() is None:
            raise ValueError("exported_at must be timezone-aware")
        if self.language not in LANGUAGES:
            raise ValueError(f"unknown language {self.language!r}; allowed: {', '.join(LANGUAGES)}")
        object.__setattr__(self, "exported_at", self.exported_at.astimezone(UTC))
