"""The web console in a real browser (Chromium from Debian, driven by Selenium) against
the real stack: upload a dataset, ask, watch the progress arrive, read the answer with
its findings, a rendered chart and a tool call's provenance; answer a clarification in
the page; cancel a waiting analysis from the page; list analyses by status.

The ingress and the orchestrator are processes (the embedded default: the offline
planner), the tools and embeddings services in-process. With SEXTANT_CONSOLE_SHOTS set
(``make console-shots``) each screen is saved there as a PNG.
"""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_contracts import AnalysisResumeRequested, Envelope
from sextant_contracts.catalogue import ANALYSIS_RESUME_REQUESTED
from sextant_embeddings.bootstrap import EmbeddingsApp
from sextant_ingress.infrastructure.postgres_api_keys import PostgresApiKeys
from sextant_platform.settings import KafkaSettings
from sextant_tools.bootstrap import ToolsService
from tests.integration.infrastructure import Infrastructure
from tests.integration.ingress.service import start_ingress
from tests.integration.kafka_helpers import produce_raw
from tests.integration.orchestrator.service import start_orchestrator

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SAMPLE = Path(__file__).resolve().parents[3] / "deploy" / "local" / "sample" / "sales.csv"
"""The sample data ``make run`` uses: the screenshots show real answers over it."""
UNCLEAR = "What is the total profit per region?"
"""No column is "profit": with the box ticked, the analysis asks which column is meant."""


@dataclass
class Console:
    url: str
    api_key: str
    tenant_id: str
    kafka: KafkaSettings


@pytest.fixture(scope="module")
async def console(
    infra: Infrastructure,
    engine: AsyncEngine,
    tools_service: ToolsService,  # the package conftest's: one per package
    embeddings_service: EmbeddingsApp,
) -> AsyncIterator[Console]:
    orchestrator, _ = await start_orchestrator(
        infra,
        name="console-orchestrator",
        group=f"console-orchestrator-{uuid.uuid4().hex[:8]}",
        llm_env={"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "LLM_PROVIDER": "local"},
    )
    ingress, base_url = await start_ingress(infra, name="console-ingress")
    try:
        tenant = f"console-{uuid.uuid4().hex[:8]}"
        key = await PostgresApiKeys(engine).create(tenant_id=tenant)
        yield Console(f"{base_url}/console/", key, tenant, infra.kafka)
    finally:
        ingress.kill()
        orchestrator.kill()


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


def _shot(browser: WebDriver, name: str) -> None:
    directory = os.environ.get("SEXTANT_CONSOLE_SHOTS")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(Path(directory) / f"{name}.png"))


def _wait(browser: WebDriver, seconds: float = 120) -> WebDriverWait[WebDriver]:
    """Polls; an element the page re-rendered meanwhile is looked up again next poll."""
    return WebDriverWait(
        browser, seconds, poll_frequency=0.2, ignored_exceptions=[StaleElementReferenceException]
    )


def _status_is(browser: WebDriver, *statuses: str) -> None:
    _wait(browser).until(
        lambda b: b.find_element(By.ID, "run-status").text in statuses,
        f"status never became {statuses}",
    )


def _ask(browser: WebDriver, question: str, *, csv: Path | None, clarify: bool = False) -> str:
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
    _wait(browser).until(lambda b: b.find_element(By.ID, "run-id").text not in ("", before))
    return str(browser.find_element(By.ID, "run-id").text)


def _marks(chart: WebElement) -> int:
    return len(chart.find_elements(By.CSS_SELECTOR, '[aria-roledescription="bar"]'))


async def test_ask_watch_and_read_the_answer_with_its_chart_and_provenance(
    console: Console, browser: WebDriver
) -> None:
    csv = SAMPLE

    def scenario() -> None:
        browser.get(console.url)
        browser.find_element(By.ID, "api-key").send_keys(console.api_key)
        browser.find_element(By.ID, "key-form").submit()
        _shot(browser, "1-ask")
        first = _ask(browser, "What are the total sales per region?", csv=csv)
        _status_is(browser, "completed")
        assert browser.find_element(By.ID, "dataset-state").text == "uploaded: 48 rows, 5 columns"
        _wait(browser).until(ready.visibility_of_element_located((By.CSS_SELECTOR, "#charts svg")))
        _shot(browser, "2-answer")

        steps = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#progress li")]
        assert any(step.startswith("profile") for step in steps), steps
        assert any(step.startswith("finalize") for step in steps), steps
        answer = browser.find_element(By.ID, "answer").text
        totals = pd.read_csv(SAMPLE).groupby("region")["sales"].sum()
        findings = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#findings li")]
        for region, total in totals.items():
            assert any(f"region = {region}" in f and f"{total:.2f}" in f for f in findings), (
                findings
            )
        assert answer
        chart = browser.find_element(By.CSS_SELECTOR, "#charts figure")
        assert _marks(chart) == len(totals)  # one bar per region, from the query's result

        # provenance: the chart's caption links to the tool call; opening it shows it
        chart.find_element(By.CSS_SELECTOR, "figcaption a").click()
        call = browser.find_element(By.CSS_SELECTOR, "#calls details[open]")
        arguments = call.find_element(By.CSS_SELECTOR, "pre.arguments").text
        assert '"group_by"' in arguments
        assert call.find_element(By.CSS_SELECTOR, "pre.result").is_displayed()
        _shot(browser, "3-provenance")

        # a clarification answered in the page
        asked = _ask(browser, UNCLEAR, csv=None, clarify=True)
        assert asked != first
        _status_is(browser, "interrupted")
        prompt = browser.find_element(By.ID, "interrupt-prompt").text
        assert '"profit"' in prompt
        offered = browser.find_elements(By.CSS_SELECTOR, "#interrupt-options button")
        assert sorted(b.text for b in offered) == ["discount", "sales", "units"]  # numeric
        _shot(browser, "4-clarification")
        browser.find_element(By.CSS_SELECTOR, '#interrupt-options [data-choice="sales"]').click()
        _status_is(browser, "completed")
        _wait(browser).until(lambda b: _marks(b.find_element(By.ID, "charts")) == len(totals))

        # a waiting analysis cancelled from the page
        waiting = _ask(browser, UNCLEAR, csv=None, clarify=True)
        _status_is(browser, "interrupted")
        browser.find_element(By.ID, "cancel-button").click()
        _status_is(browser, "cancelled")

        # operate: the analyses list, by status
        browser.find_element(By.ID, "tab-analyses").click()
        Select(browser.find_element(By.ID, "status-filter")).select_by_visible_text("cancelled")
        browser.find_element(By.ID, "filter-form").submit()
        _wait(browser).until(
            lambda b: (
                (lines := b.find_element(By.ID, "analyses-rows").text.splitlines())
                and all("cancelled" in line for line in lines)
            )
        )
        assert waiting[:8] in browser.find_element(By.ID, "analyses-rows").text

        # operate: a resume the orchestrator refused, in the dead letters with its reason
        refused_resume(asked)
        Select(browser.find_element(By.ID, "letters-topic")).select_by_visible_text(
            ANALYSIS_RESUME_REQUESTED.name
        )

        def letters_show_the_refusal(b: WebDriver) -> bool:
            """The orchestrator refuses the resume in its own time: show again until then."""
            if "NotWaitingForThis" in b.find_element(By.ID, "letters-rows").text:
                return True
            b.find_element(By.ID, "letters-form").submit()
            return False

        WebDriverWait(browser, 60, poll_frequency=2).until(letters_show_the_refusal)
        _shot(browser, "5-analyses")

        # phone width: one column, nothing wider than the screen
        browser.set_window_size(390, 844)
        browser.find_element(By.ID, "tab-ask").click()
        width = browser.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390 + 1
        _shot(browser, "6-phone")

    loop = asyncio.get_running_loop()

    def refused_resume(analysis_id: str) -> None:
        """An answer, over Kafka, to an analysis that no longer waits: dead-lettered."""
        resume = AnalysisResumeRequested(
            analysis_id=uuid.UUID(analysis_id), response={"choice": "sales"}
        )
        record = Envelope.wrap(resume, tenant_id=console.tenant_id).model_dump_json().encode()
        asyncio.run_coroutine_threadsafe(
            produce_raw(console.kafka, ANALYSIS_RESUME_REQUESTED.name, [record], key=b"k"), loop
        ).result(timeout=30)

    await asyncio.to_thread(scenario)  # the loop keeps serving the in-process services
