"""What a test needs from the machine (a server, a browser, a tool) and what happens when it is not there.

On a developer's machine a missing server or browser skips the tests that need it, with the reason. In CI
(`.ci/run`) the environment variables below are set, and the same absence fails the test: a suite that
skipped its PostgreSQL, Redis or browser tests must not pass there.
"""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest

REQUIRE_SERVICES = "PERISPIEGEL_REQUIRE_SERVICES"  # PostgreSQL and Redis
REQUIRE_BROWSER = "PERISPIEGEL_REQUIRE_BROWSER"  # Chromium, ChromeDriver, axe-core, poppler-utils (PDFs read back)
PDF_TOOLS = ("pdftotext", "pdftoppm", "pdfinfo")  # poppler-utils: what the tests read a printed page or report with


def require_pdf_tools() -> None:
    """Skip (or, in CI, fail) a test that reads a PDF back when poppler-utils is not installed."""
    missing = [tool for tool in PDF_TOOLS if shutil.which(tool) is None]
    if missing:
        unavailable(f"reading PDFs back needs poppler-utils (apt-get install poppler-utils); missing: "
                    f"{', '.join(missing)}", REQUIRE_BROWSER)


def unavailable(reason: str, required_by: str) -> NoReturn:
    """Skip the test for `reason`, or fail it when the environment variable `required_by` is set."""
    if os.environ.get(required_by, "").strip() not in ("", "0"):
        pytest.fail(f"{required_by} is set but {reason}")
    pytest.skip(reason)
