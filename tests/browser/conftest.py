"""Browser fixtures: the app served on a free loopback port with the demo database, and headless Chromium.

Chromium and chromedriver are the Debian packages (/usr/bin/chromium, /usr/bin/chromedriver); nothing is
downloaded. Without them every browser test is skipped with the reason.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tables.database import make_engine

from .demo_data import Planted, fill_demo_database

BROWSER_DIR = Path(__file__).resolve().parent
ARTIFACTS = BROWSER_DIR.parent / "artifacts"
AXE_SCRIPT = BROWSER_DIR / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).parent == BROWSER_DIR:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def planted_database(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Planted]:
    url = f"sqlite:///{tmp_path_factory.mktemp('browser-db') / 'demo.db'}"
    engine = make_engine(url)
    planted = fill_demo_database(engine)
    engine.dispose()
    return url, planted


@pytest.fixture(scope="session")
def empty_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('browser-empty') / 'empty.db'}"
    make_engine(url).dispose()
    return url


def serve(database_url: str) -> Iterator[str]:
    from app import create_app

    server = make_server("127.0.0.1", 0, create_app(database_url).server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="perispiegel-test-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def app_url(planted_database: tuple[str, Planted]) -> Iterator[str]:
    yield from serve(planted_database[0])


@pytest.fixture(scope="session")
def empty_app_url(empty_database_url: str) -> Iterator[str]:
    yield from serve(empty_database_url)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not Path(path).exists()]
    if missing:
        pytest.skip(f"headless browser tests need Debian chromium and chromium-driver; missing: {', '.join(missing)}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="perispiegel-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", f"--user-data-dir={profile}", "--window-size=1280,1000", "--lang=nl-NL"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE_SCRIPT.exists():
        pytest.skip(f"axe-core is not installed: run `npm ci` in {BROWSER_DIR}")
    return AXE_SCRIPT.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
