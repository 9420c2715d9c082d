"""Driving the web console in headless Chromium (Debian's, through Selenium): the browser
fixture and the few moves every console test makes."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SAMPLE = Path(__file__).resolve().parents[3] / "deploy" / "local" / "sample" / "sales.csv"
"""The sample data ``make run`` uses: the screenshots show real answers over it."""


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    """Headless Chromium; the Debian packages are required (``.ci/run`` installs them)."""
    for program in (CHROMIUM, CHROMEDRIVER):
        assert program.exists(), f"{program}: apt-get install chromium chromium-driver"
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1600"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def shot(browser: WebDriver, name: str) -> None:
    """With SEXTANT_CONSOLE_SHOTS set (``make console-shots``), the screen as a PNG there."""
    directory = os.environ.get("SEXTANT_CONSOLE_SHOTS")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(Path(directory) / f"{name}.png"))


def wait(browser: WebDriver, seconds: float = 120) -> WebDriverWait[WebDriver]:
    """Polls; an element the page re-rendered meanwhile is looked up again next poll."""
    return WebDriverWait(
        browser, seconds, poll_frequency=0.2, ignored_exceptions=[StaleElementReferenceException]
    )


def status_is(browser: WebDriver, *statuses: str) -> None:
    seen: list[str] = []

    def shown(b: WebDriver) -> bool:
        status = b.find_element(By.ID, "run-status").text
        if not seen or seen[-1] != status:
            seen.append(status)
        return status in statuses

    try:
        wait(browser).until(shown)
    except TimeoutException as error:
        raise AssertionError(f"status never became {statuses}; the page showed {seen}") from error


def sign_in(browser: WebDriver, url: str, api_key: str) -> None:
    browser.get(url)
    browser.find_element(By.ID, "api-key").send_keys(api_key)
    browser.find_element(By.ID, "key-form").submit()


def ask(browser: WebDriver, question: str, *, csv: Path | None, clarify: bool = False) -> str:
    """Ask (uploading ``csv`` first, else over the dataset already uploaded); the new
    analysis's id once the page shows it."""
    if csv is not None:
        browser.find_element(By.ID, "dataset-file").send_keys(str(csv))
    field = browser.find_element(By.ID, "question")
    field.clear()
    field.send_keys(question)
    box = browser.find_element(By.ID, "clarify")
    if box.is_selected() != clarify:
        box.click()
    before = browser.find_element(By.ID, "run-id").text
    browser.find_element(By.ID, "ask-button").click()
    wait(browser).until(lambda b: b.find_element(By.ID, "run-id").text not in ("", before))
    return str(browser.find_element(By.ID, "run-id").text)


def marks(chart: WebElement, kind: str = "bar") -> int:
    """The marks of ``kind`` (bar, point...) drawn in a chart's SVG."""
    return len(chart.find_elements(By.CSS_SELECTOR, f'[aria-roledescription="{kind}"]'))
