"""The web console in a real browser (Chromium from Debian, driven by Selenium) against
the real stack: upload a dataset, ask, watch the progress arrive, read the answer with
its findings, a rendered chart and a tool call's provenance; see a relation as a scatter;
answer a clarification in the page; cancel a waiting analysis from the page; list
analyses by status.

The ingress and the orchestrator are processes (the embedded default: the offline
planner), the tools and embeddings services in-process. With SEXTANT_CONSOLE_SHOTS set
(``make console-shots``) each screen is saved there as a PNG.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pandas as pd
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
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
from tests.integration.ingress.browser import (  # noqa: F401 - browser: a fixture
    SAMPLE,
    ask,
    browser,
    marks,
    shot,
    sign_in,
    status_is,
    wait,
)
from tests.integration.ingress.service import start_ingress
from tests.integration.kafka_helpers import produce_raw
from tests.integration.orchestrator.service import start_orchestrator

pytestmark = pytest.mark.slow

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


async def test_ask_watch_and_read_the_answer_with_its_chart_and_provenance(
    console: Console,
    browser: WebDriver,  # noqa: F811 - the fixture imported above
) -> None:
    csv = SAMPLE

    def scenario() -> None:
        sign_in(browser, console.url, console.api_key)
        # asked before any dataset: the page says what is missing and submits nothing
        browser.find_element(By.ID, "question").send_keys("What are the total sales?")
        browser.find_element(By.ID, "ask-button").click()
        wait(browser).until(
            lambda b: "choose a dataset file" in b.find_element(By.ID, "ask-error").text
        )
        assert not browser.find_element(By.ID, "run").is_displayed()
        shot(browser, "1-ask")
        first = ask(browser, "What are the total sales per region?", csv=csv)
        status_is(browser, "completed")
        assert browser.find_element(By.ID, "dataset-state").text == "uploaded: 48 rows, 5 columns"
        wait(browser).until(ready.visibility_of_element_located((By.CSS_SELECTOR, "#charts svg")))
        shot(browser, "2-answer")

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
        assert marks(chart) == len(totals)  # one bar per region, from the query's result

        # provenance: the chart's caption links to the tool call; opening it shows it
        chart.find_element(By.CSS_SELECTOR, "figcaption a").click()
        call = browser.find_element(By.CSS_SELECTOR, "#calls details[open]")
        arguments = call.find_element(By.CSS_SELECTOR, "pre.arguments").text
        assert '"group_by"' in arguments
        assert call.find_element(By.CSS_SELECTOR, "pre.result").is_displayed()
        shot(browser, "3-provenance")

        # a follow-up in the same conversation: the last question again, for one region
        browser.find_element(By.ID, "follow-up").send_keys("And for the north only?")
        browser.find_element(By.ID, "follow-up-form").submit()
        wait(browser).until(lambda b: b.find_element(By.ID, "run-id").text != first)
        status_is(browser, "completed")
        turns = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#turns li")]
        assert len(turns) == 1, turns
        assert turns[0].startswith("What are the total sales per region?"), turns
        followed = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#findings li")]
        assert any(f"{totals['north']:.2f}" in f for f in followed), followed
        assert not any(f"{totals['south']:.2f}" in f for f in followed), followed
        shot(browser, "4-follow-up")

        # a relation between two columns, over the dataset picked from the list: a scatter,
        # a point per row (48 < 200 sampled)
        dataset_id = browser.find_element(By.ID, "dataset-id")
        dataset_id.clear()
        picker = Select(browser.find_element(By.ID, "dataset-pick"))
        picker.select_by_value("")
        (uploaded,) = [o for o in picker.options if o.text.startswith("sales.csv, ")]
        assert uploaded.text.startswith("sales.csv, 48 rows, 5 columns"), uploaded.text
        picker.select_by_visible_text(uploaded.text)
        assert dataset_id.get_attribute("value") == uploaded.get_attribute("value")
        ask(browser, "How are sales and units related?", csv=None)
        status_is(browser, "completed")
        wait(browser).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#charts figure svg"))
        (scatter,) = [
            figure
            for figure in browser.find_elements(By.CSS_SELECTOR, "#charts figure")
            if "against" in figure.find_element(By.TAG_NAME, "figcaption").text
        ]
        assert marks(scatter, "point") == len(pd.read_csv(SAMPLE))
        browser.execute_script("arguments[0].scrollIntoView()", scatter)
        shot(browser, "5-scatter")

        # a clarification answered in the page
        asked = ask(browser, UNCLEAR, csv=None, clarify=True)
        assert asked != first
        status_is(browser, "interrupted")
        prompt = browser.find_element(By.ID, "interrupt-prompt").text
        assert '"profit"' in prompt
        offered = browser.find_elements(By.CSS_SELECTOR, "#interrupt-options button")
        assert sorted(b.text for b in offered) == ["discount", "sales", "units"]  # numeric
        shot(browser, "6-clarification")
        browser.find_element(By.CSS_SELECTOR, '#interrupt-options [data-choice="sales"]').click()
        status_is(browser, "completed")
        wait(browser).until(lambda b: marks(b.find_element(By.ID, "charts")) == len(totals))

        # a waiting analysis cancelled from the page
        waiting = ask(browser, UNCLEAR, csv=None, clarify=True)
        status_is(browser, "interrupted")
        browser.find_element(By.ID, "cancel-button").click()
        status_is(browser, "cancelled")

        # operate: the analyses list, by status
        browser.find_element(By.ID, "tab-analyses").click()
        Select(browser.find_element(By.ID, "status-filter")).select_by_visible_text("cancelled")
        browser.find_element(By.ID, "filter-form").submit()
        wait(browser).until(
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
        shot(browser, "7-analyses")

        # phone width: one column, nothing wider than the screen
        browser.set_window_size(390, 844)
        browser.find_element(By.ID, "tab-ask").click()
        width = browser.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390 + 1
        shot(browser, "8-phone")

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
