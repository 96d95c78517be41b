"""What the browser tests do on every page: open it, wait until Dash has rendered it, read the console,
run axe-core, and save a full-page screenshot."""

from __future__ import annotations

import json
from pathlib import Path

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

RENDER_TIMEOUT = 20
# axe impacts that fail a page (WCAG 2.1 AA: the team's bar is "no serious or critical violations").
BLOCKING_IMPACTS = {"serious", "critical"}


def until_redrawn(driver) -> WebDriverWait:
    """A wait whose condition reads elements that a Dash answer may replace while it looks: an element found and
    then replaced (stale) means "not yet", not a failure."""
    return WebDriverWait(driver, RENDER_TIMEOUT, ignored_exceptions=(StaleElementReferenceException,))


def wait_until_rendered(driver, expected_language: str | None = None) -> None:
    """Until the page frame is there, Dash has no pending callbacks and (optionally) the language is set."""
    wait = WebDriverWait(driver, RENDER_TIMEOUT)
    wait.until(expected_conditions.presence_of_element_located((By.ID, "main-content")))
    wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "[data-dash-is-loading='true']"))
    if expected_language:
        wait.until(lambda d: d.execute_script("return document.documentElement.lang") == expected_language)


def open_page(driver, url: str, expected_language: str | None = None) -> None:
    driver.get_log("browser")  # start each page with an empty console
    driver.get(url)
    wait_until_rendered(driver, expected_language)


def console_errors(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def axe_violations(driver, axe_source: str) -> list[dict]:
    """Serious and critical axe-core violations of the current page (WCAG 2.0/2.1 A and AA rules)."""
    driver.execute_script(axe_source)
    result = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
           .then(r => done(JSON.stringify(r.violations)))
           .catch(e => done(JSON.stringify([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}])));
        """
    )
    violations = json.loads(result)
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"],
         "targets": [node.get("target") for node in v["nodes"]][:5]}
        for v in violations if v["impact"] in BLOCKING_IMPACTS
    ]


def full_page_screenshot(driver, path: Path) -> None:
    width = driver.execute_script("return document.documentElement.scrollWidth")
    height = driver.execute_script("return document.documentElement.scrollHeight")
    original = driver.get_window_size()
    driver.set_window_size(max(width, 1280), min(height + 120, 6000))
    try:
        driver.save_screenshot(str(path))
    finally:
        driver.set_window_size(original["width"], original["height"])


def open_filter_panel(driver) -> None:
    """Press "Wijzig" when the filter panel is collapsed (as it is on every page load), and wait for its fields."""
    toggle = driver.find_element(By.ID, "filter-toggle")
    if toggle.get_attribute("aria-expanded") != "true":
        driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});", toggle)
        toggle.click()
    until_redrawn(driver).until(lambda d: d.find_element(By.ID, "filter-fields").is_displayed())


def text_of(driver, element_id: str) -> str:
    return driver.find_element(By.ID, element_id).text
