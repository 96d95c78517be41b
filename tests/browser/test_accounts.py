"""An account's life cycle as the people click it (issue 15): the admin adds a colleague and reads the one-time
password off the page; the colleague logs in with it, is taken to the password form, chooses their own, makes a
30-day API token on /account, and logs out everywhere. Looked at: the screenshots in tests/artifacts."""

from __future__ import annotations

import re
from urllib.parse import urlparse

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from .helpers import RENDER_TIMEOUT, axe_violations, full_page_screenshot, open_page, text_of, wait_until_rendered

COLLEAGUE = "nieuwe-collega"
OWN_PASSWORD = "een zin die alleen ik ken"


def type_into(browser, element_id: str, value: str) -> None:
    field = browser.find_element(By.ID, element_id)
    field.clear()
    field.send_keys(value)


def press(browser, button_id: str, *, leads_to: str) -> None:
    browser.find_element(By.ID, button_id).click()
    WebDriverWait(browser, RENDER_TIMEOUT).until(lambda driver: urlparse(driver.current_url).path == leads_to)


def test_a_new_colleague_replaces_the_admins_password_and_makes_a_token(browser, browser_login, app_url, artifacts,
                                                                       axe_source):
    browser_login(app_url, "admin")
    open_page(browser, f"{app_url}/admin?lang=nl")
    type_into(browser, "new-username", COLLEAGUE)
    type_into(browser, "new-display-name", "Nina Nieuw")
    Select(browser.find_element(By.ID, "new-role")).select_by_visible_text("zorgverlener")
    type_into(browser, "new-org", "H0001")
    browser.find_element(By.CSS_SELECTOR, "form[action$='/admin/users'] button[type=submit]").click()
    shown = WebDriverWait(browser, RENDER_TIMEOUT).until(lambda driver: driver.find_elements(By.ID, "shown-once"))
    one_time = shown[0].text
    notice = shown[0].find_element(By.XPATH, "..").text
    assert "bij de eerste keer inloggen kiest nieuwe-collega een eigen wachtwoord" in notice
    row = next(row for row in browser.find_elements(By.CSS_SELECTOR, "#users-table tbody tr")
               if row.text.startswith(COLLEAGUE))
    assert "eenmalig wachtwoord, nog niet gewijzigd" in row.text and "Rol wijzigen" in row.text
    full_page_screenshot(browser, artifacts / "admin-one-time-password.png")

    browser_login.forget()
    browser.get(f"{app_url}/login")
    type_into(browser, "username", COLLEAGUE)
    type_into(browser, "password", one_time)
    press(browser, "login-submit", leads_to="/account/password")
    assert "is eenmalig" in text_of(browser, "one-time-notice")
    full_page_screenshot(browser, artifacts / "one-time-password-form.png")
    assert not axe_violations(browser, axe_source)
    # A dashboard page is not reachable before the password is changed.
    browser.get(f"{app_url}/mijn-organisatie")
    assert urlparse(browser.current_url).path == "/account/password"

    type_into(browser, "current-password", one_time)
    type_into(browser, "new-password", OWN_PASSWORD)
    type_into(browser, "repeat-password", OWN_PASSWORD + "!")
    press(browser, "change-password-submit", leads_to="/account/password")
    assert "niet gelijk" in text_of(browser, "password-error")
    type_into(browser, "current-password", one_time)
    type_into(browser, "new-password", OWN_PASSWORD)
    type_into(browser, "repeat-password", OWN_PASSWORD)
    press(browser, "change-password-submit", leads_to="/account")
    assert "Uw wachtwoord is gewijzigd" in browser.find_element(By.CSS_SELECTOR, "p.notice").text

    type_into(browser, "token-label", "maandrapport")
    Select(browser.find_element(By.ID, "token-days")).select_by_visible_text("30 dagen")
    browser.find_element(By.CSS_SELECTOR, "form[action$='/account/tokens'] button[type=submit]").click()
    WebDriverWait(browser, RENDER_TIMEOUT).until(lambda driver: driver.find_elements(By.ID, "new-token"))
    assert text_of(browser, "new-token").startswith("psp_")
    headers = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "#tokens-table thead th")]
    assert headers[:4] == ["Omschrijving", "Begint met", "Aangemaakt", "Verloopt"]
    cells = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "#tokens-table tbody tr:first-child td")]
    assert cells[0] == "maandrapport" and re.fullmatch(r"\d\d-\d\d-\d{4} \d\d:\d\d CET", cells[3])
    full_page_screenshot(browser, artifacts / "account-password-and-tokens.png")
    assert not axe_violations(browser, axe_source)

    open_page(browser, f"{app_url}/mijn-organisatie")
    wait_until_rendered(browser)
    browser.get(f"{app_url}/logout")
    assert "ook op uw andere apparaten" in text_of(browser, "logout-everywhere")
    press(browser, "logout-submit", leads_to="/login")
    browser_login.forget()
