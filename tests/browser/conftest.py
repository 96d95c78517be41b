"""Browser fixtures: the app served on a free loopback port with the demo database, headless Chromium, and a
user account per role that a test logs the browser in with — through the real login form, as a person does.

Chromium and chromedriver are the Debian packages (/usr/bin/chromium, /usr/bin/chromedriver); nothing is
downloaded. Without them every browser test is skipped with the reason.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest
from app_server import serving
from machine_needs import REQUIRE_BROWSER, unavailable
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import Engine

from auth.users import add_user, grant
from tables.database import make_engine

from .demo_data import Planted, fill_demo_database
from .helpers import RENDER_TIMEOUT, wait_until_rendered

LOGIN_TIMEOUT = 60  # seconds for a submitted login form to lead away from the login page
PASSWORD = "geheim-wachtwoord-voor-tests"  # every test account's (at least 12 characters)
# Hospitals of another VSV in the demo data (demo_data.py): a provider's hospital then has six peers, shown by size
# band; in May and June, when they have no births, one (and the engine shows no peer beside fewer than five).
OTHER_HOSPITALS = 5


@dataclass(frozen=True)
class Account:
    """A user of the demo database, tied to organisations of tests/browser/demo_data.py."""

    username: str
    role: str
    display_name: str
    org_code: str | None = None
    granted: tuple[str, ...] = ()


ACCOUNTS = {
    "admin": Account("beheerder", "admin", "Bea Beheer"),
    # The provider of the planted hospital: nothing granted, so nothing to choose.
    "provider": Account("zorgverlener", "provider", "Zeno Zorg", org_code="H0001"),
    # The provider of the planted practice, granted one other practice: the dropdown offers exactly those two.
    "practice": Account("verloskundige", "provider", "Vera Verlos", org_code="P0001", granted=("P0002",)),
    "vsv": Account("vsv-rivierenland", "vsv", "Victor Vsv", org_code="V01"),
    "researcher": Account("onderzoeker", "researcher", "Olga Onderzoek"),
}


def add_accounts(engine: Engine, accounts: dict[str, Account]) -> None:
    for account in accounts.values():
        add_user(engine, account.username, account.role, org_code=account.org_code,
                 display_name=account.display_name, password=PASSWORD, actor="tests")
        for org_code in account.granted:
            grant(engine, account.username, org_code, actor="tests")

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
    planted = fill_demo_database(engine, other_hospitals=OTHER_HOSPITALS)
    add_accounts(engine, ACCOUNTS)
    engine.dispose()
    return url, planted


@pytest.fixture(scope="session")
def empty_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('browser-empty') / 'empty.db'}"
    engine = make_engine(url)
    add_accounts(engine, {"admin": ACCOUNTS["admin"]})
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def app_url(planted_database: tuple[str, Planted]) -> Iterator[str]:
    with serving(planted_database[0]) as url:
        yield url


@pytest.fixture(scope="session")
def empty_app_url(empty_database_url: str) -> Iterator[str]:
    with serving(empty_database_url) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not Path(path).exists()]
    if missing:
        unavailable(f"headless browser tests need Debian chromium and chromium-driver; missing: {', '.join(missing)}",
                    REQUIRE_BROWSER)
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
        unavailable(f"axe-core is not installed: run `npm ci` in {BROWSER_DIR}", REQUIRE_BROWSER)
    return AXE_SCRIPT.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def downloads(browser, tmp_path: Path) -> Path:
    """Where the browser saves a downloaded file (the page's script saves exports and reports)."""
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    return tmp_path


def log_in_through_the_form(driver, base_url: str, account: Account, password: str = PASSWORD,
                            open_login_page: bool = True) -> None:
    """Open the login page (unless the browser is on it), type name and password, press the button; wait for the
    dashboard to be rendered."""
    if open_login_page:
        driver.get(f"{base_url}/login")
    wait = WebDriverWait(driver, RENDER_TIMEOUT)
    try:
        field = wait.until(expected_conditions.element_to_be_clickable((By.ID, "username")))
    except TimeoutException as timeout:
        raise AssertionError(f"no login form at {driver.current_url} (still logged in?)") from timeout
    field.send_keys(account.username)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "login-submit").click()
    try:
        # A patient wait: a full suite keeps two CPUs busy.
        WebDriverWait(driver, LOGIN_TIMEOUT).until(lambda d: urlparse(d.current_url).path != "/login")
    except TimeoutException as timeout:
        # Say what the login page says (a refusal, a throttle) rather than only that it did not move on.
        errors = [element.text for element in driver.find_elements(By.ID, "login-error")]
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / f"login-stuck-{account.username}.png"))
        raise AssertionError(f"logging in as {account.username} did not leave {driver.current_url} within "
                             f"{LOGIN_TIMEOUT} s; the page says: {errors or 'nothing'}") from timeout
    wait_until_rendered(driver)


class BrowserLogin:
    """Which account the shared browser is logged in as, and on which server: a test asks for an account and
    gets a fresh login only when that differs (cookies ignore the port, so one login serves one server at a time)."""

    def __init__(self, driver) -> None:
        self.driver = driver
        self.current: tuple[str, str] | None = None

    def __call__(self, base_url: str, role: str) -> Account:
        account = ACCOUNTS[role]
        if self.current != (base_url, account.username):
            self.forget()
            log_in_through_the_form(self.driver, base_url, account)
            self.current = (base_url, account.username)
        return account

    def forget(self) -> None:
        """Start over without any session (also after a test logged out). The page is left first: a request of the
        last test's page still on its way would otherwise bring back the session cookie it answers with (every
        answer renews the session), and the login page then finds the browser logged in — or its form's CSRF token
        no longer matching the session."""
        self.driver.get("about:blank")
        self.driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
        self.current = None


@pytest.fixture(scope="session")
def browser_login(browser) -> BrowserLogin:
    return BrowserLogin(browser)


@pytest.fixture
def sign_in(browser_login: BrowserLogin, app_url: str) -> Callable[[str], Account]:
    """`sign_in(role)` logs the browser in on the demo app as that role's account (ACCOUNTS)."""
    return lambda role: browser_login(app_url, role)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "login(role): the account (tests/browser/conftest.py ACCOUNTS) a browser test "
                                       "runs as; login(None): no login. Without the marker: the admin.")


@pytest.fixture(autouse=True)
def logged_in(request: pytest.FixtureRequest) -> Account | None:
    """Every browser test runs logged in — as the admin unless marked `@pytest.mark.login("provider")` etc. — on
    the server it uses (the empty database's when it asks for `empty_app_url`)."""
    if "browser" not in request.fixturenames:
        return None
    marker = request.node.get_closest_marker("login")
    role = marker.args[0] if marker else "admin"
    login = request.getfixturevalue("browser_login")
    if role is None:
        login.forget()
        return None
    server = "empty_app_url" if "empty_app_url" in request.fixturenames else "app_url"
    return login(request.getfixturevalue(server), role)
