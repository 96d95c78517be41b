"""A missing server or browser skips a test on a developer's machine and fails it in CI (tests/machine_needs.py)."""

from __future__ import annotations

import pytest
from machine_needs import REQUIRE_BROWSER, unavailable


def test_a_missing_browser_skips_the_test_where_it_is_not_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REQUIRE_BROWSER, raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium is missing"):
        unavailable("chromium is missing", REQUIRE_BROWSER)


def test_a_requirement_set_to_0_is_not_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REQUIRE_BROWSER, "0")
    with pytest.raises(pytest.skip.Exception):
        unavailable("chromium is missing", REQUIRE_BROWSER)


def test_a_missing_browser_fails_the_test_where_ci_requires_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REQUIRE_BROWSER, "1")
    with pytest.raises(pytest.fail.Exception, match="PERISPIEGEL_REQUIRE_BROWSER is set but chromium is missing"):
        unavailable("chromium is missing", REQUIRE_BROWSER)
