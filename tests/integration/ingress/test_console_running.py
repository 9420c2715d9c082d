"""The web console while an analysis runs, in a real browser against the real stack:
its event stream survives the ingress being killed (-9) and started again - the page
resumes with Last-Event-ID and shows every event exactly once - and a running analysis
is cancelled from the page.

A loopback model (the only double: it stands in for a paid remote API) holds each
analysis's answering call open until the test lets it go, so the analysis is caught
running; the ingress and the orchestrator are processes.
"""

import asyncio
import uuid

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from sextant_cli.rest import sse_events
from sqlalchemy.ext.asyncio import AsyncEngine

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
from tests.integration.ingress.conftest import Stack
from tests.integration.orchestrator.fake_openai import Scripted, completion
from tests.integration.orchestrator.service import (
    ANSWER,
    plan_then_answer,
    saw_tool_results,
    wait_cancel_flagged,
)

pytestmark = pytest.mark.slow

QUESTION = "Which region sells the most, and are sales and units related?"


async def server_progress_ids(stack: Stack, analysis_id: str) -> list[int]:
    """The ids of the analysis's progress events as the API replays them to a new client."""
    async with (
        httpx.AsyncClient(base_url=stack.base_url, headers=stack.headers, timeout=60) as client,
        client.stream("GET", f"/v1/analyses/{analysis_id}/events") as response,
    ):
        return [int(f.id or -1) async for f in sse_events(response) if f.event == "progress"]


async def test_the_stream_resumes_after_an_ingress_crash_and_a_running_analysis_is_cancelled(
    stack: Stack,
    engine: AsyncEngine,
    browser: WebDriver,  # noqa: F811 - the fixture imported above
) -> None:
    loop = asyncio.get_running_loop()
    gates: list[asyncio.Event] = []

    def held_answer(body: dict[str, object]) -> Scripted:
        """Round 1 plans (a total per region, a correlation); the answer waits for its gate."""
        if not saw_tool_results(body):
            return plan_then_answer(body)
        held = completion(ANSWER)
        held.held_until = gates[-1]
        return held

    def answering_calls() -> int:
        return sum(1 for request in list(stack.fake.requests) if saw_tool_results(request))

    def run_until_held(question: str, *, upload: bool) -> str:
        """Ask; return once the analysis is running and its answering call is held."""
        gates.append(asyncio.Event())
        before = answering_calls()
        analysis_id = ask(browser, question, csv=SAMPLE if upload else None)
        wait(browser).until(lambda _: answering_calls() > before, "the answering call")
        status_is(browser, "running")
        return analysis_id

    def release() -> None:
        loop.call_soon_threadsafe(gates[-1].set)

    def scenario() -> tuple[str, list[int], str]:
        sign_in(browser, f"{stack.base_url}/console/", stack.api_key)

        # 1. the ingress dies while the page follows a running analysis, and comes back
        followed = run_until_held(QUESTION, upload=True)
        stack.ingress.kill()
        wait(browser).until(
            lambda b: b.find_element(By.ID, "stream-state").text.startswith("connection lost"),
            "the page never noticed the dropped stream",
        )
        stack.ingress.start()
        stack.ingress.wait_http(f"{stack.base_url}/readyz")
        wait(browser).until(
            lambda b: b.find_element(By.ID, "stream-state").text.startswith(
                "stream resumed after event"
            ),
            "the page never resumed its stream",
        )
        release()
        status_is(browser, "completed")
        shown = [
            int(item.get_attribute("data-event-id") or -1)
            for item in browser.find_elements(By.CSS_SELECTOR, "#progress li")
        ]
        assert ANSWER.split(" [T1]")[0] in browser.find_element(By.ID, "answer").text

        # 2. a running analysis cancelled from the page
        running = run_until_held(QUESTION, upload=False)
        shot(browser, "9-running")
        browser.find_element(By.ID, "cancel-button").click()
        status_is(browser, "cancelling")
        # the answer is let go only once the orchestrator holds the cancel: else the run
        # may rightly finish first (the command travels the outbox and Kafka)
        asyncio.run_coroutine_threadsafe(
            wait_cancel_flagged(engine, uuid.UUID(running)), loop
        ).result()
        release()  # the step in flight ends; the run stops at the step boundary
        status_is(browser, "cancelled")
        return followed, shown, running

    stack.fake.responder = held_answer
    try:
        followed, shown, running = await asyncio.to_thread(scenario)
    finally:
        for gate in gates:
            gate.set()
        stack.fake.responder = plan_then_answer

    # every event once, in order, none missed: what the page shows is what the API holds
    assert shown == await server_progress_ids(stack, followed)
    assert len(shown) > 4
    async with httpx.AsyncClient(base_url=stack.base_url, headers=stack.headers) as client:
        cancelled = (await client.get(f"/v1/analyses/{uuid.UUID(running)}")).json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["error"]["reason"] == "cancelled from the console"
