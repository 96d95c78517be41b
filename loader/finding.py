"""Finding the delivery files below a delivery folder, in the order a refresh processes them."""

from __future__ import annotations

from pathlib import Path

from contracts.delivery_format import FILE_NAME_PATTERN


def _delivery_order(path: Path) -> tuple:
    """Month, sender, discipline, then resend number: a resend is always processed after what it corrects."""
    match = FILE_NAME_PATTERN.match(path.name)
    if match is None:
        return ("~", str(path), "", "", 0)
    return (match["month"], match["org_code"], match["discipline"], int(match["resend"] or 0), str(path))


def find_delivery_files(source_dir: Path) -> list[Path]:
    """Every `*.csv` below `source_dir`, except in folders whose name starts with `_` (e.g. `_truth`)."""
    found = [
        path for path in source_dir.rglob("*.csv")
        if path.is_file() and not any(part.startswith("_") for part in path.relative_to(source_dir).parts[:-1])
    ]
    return sorted(found, key=_delivery_order)
