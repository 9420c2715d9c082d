"""Interrupts through the real stack: an analysis that asks which column a question
means, answered over REST and over Kafka, across kill -9 of the orchestrator and the
ingress while it waits; bad answers are refused with a reason and change nothing.

The ingress and the orchestrator are processes (the embedded default: the packaged
local model, the offline planner); the tools and embeddings services run in-process.
Nobody tells the planner which column is meant but the answer; the expected figures are
computed here with pandas.
"""

import asyncio
import io
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_contracts import AnalysisRequested, AnalysisResumeRequested, Envelope
from sextant_contracts.catalogue import ANALYSIS_REQUESTED, ANALYSIS_RESUME_REQUESTED
from sextant_embeddings.bootstrap import EmbeddingsApp
from sextant_ingress.infrastructure.postgres_api_keys import PostgresApiKeys
from sextant_orchestrator.infrastructure.postgres_lifecycle import PostgresLifecycleStore
from sextant_tools.bootstrap import ToolsService
from tests.integration.infrastructure import Infrastructure
from tests.integration.ingress.service import sextant, start_ingress
from tests.integration.kafka_helpers import produce_raw, read_all
from tests.integration.orchestrator.service import (
    analysis_row,
    start_orchestrator,
    wait_terminal,
)
from tests.integration.processes import ServiceProcess

pytestmark = pytest.mark.slow

SALES = (
    "region,sales,units\n"
    "west,10,1\nwest,20,2\neast,30,3\neast,40,4\nnorth,3,1\nnorth,9,2\nwest,5,1\n"
)
QUESTION = "What is the total profit per region?"
"""No column is "profit" (nor close enough in meaning to stand for it): the analysis asks."""
LOCAL_MODEL = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "LLM_PROVIDER": "local"}


@dataclass
class InterruptStack:
    infra: Infrastructure
    group: str
    orchestrator: ServiceProcess
    ingress: ServiceProcess
    base_url: str
    api_key: str
    tenant_id: str
    approver_key: str
    """A tenant whose policy asks for approval before any tool over more than 5 rows."""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    orchestrator_env: dict[str, str]
    impatient_keys: dict[str, str]
    """By ``on_timeout``: tenants whose policy asks for clarification and waits 1 s."""

    async def restart_both(self, *, killed: bool) -> None:
        """kill -9 (or stop) the orchestrator and the ingress, then start them again."""
        for process in (self.orchestrator, self.ingress):
            if killed:
                process.kill()
            else:
                await asyncio.to_thread(process.stop)
        self.orchestrator, _ = await start_orchestrator(
            self.infra,
            name="interrupts-orchestrator",
            group=self.group,
            llm_env=self.orchestrator_env,
            new_group=False,
        )
        self.ingress, self.base_url = await start_ingress(self.infra, name="interrupts-ingress")


@pytest.fixture(scope="module")
async def stack(
    infra: Infrastructure,
    engine: AsyncEngine,
    tools_service: ToolsService,  # the package conftest's: one per package
    embeddings_service: EmbeddingsApp,
) -> AsyncIterator[InterruptStack]:
    group = f"interrupts-orchestrator-{uuid.uuid4().hex[:8]}"
    tenant, approver, failing, defaulting = (f"interrupts-{uuid.uuid4().hex[:8]}" for _ in range(4))
    policies: dict[str, Any] = {approver: {"approve_rows_over": 5, "timeout_s": 3600}}
    for impatient, on_timeout in ((failing, "fail"), (defaulting, "default")):
        policies[impatient] = {"clarify": True, "timeout_s": 1, "on_timeout": on_timeout}
    env = {**LOCAL_MODEL, "SEXTANT_ORCHESTRATOR_INTERRUPT_POLICIES": json.dumps(policies)}
    orchestrator, _ = await start_orchestrator(
        infra, name="interrupts-orchestrator", group=group, llm_env=env
    )
    ingress, base_url = await start_ingress(infra, name="interrupts-ingress")
    keys = PostgresApiKeys(engine)
    running = InterruptStack(
        infra,
        group,
        orchestrator,
        ingress,
        base_url,
        await keys.create(tenant_id=tenant),
        tenant,
        await keys.create(tenant_id=approver),
        env,
        {
            "fail": await keys.create(tenant_id=failing),
            "default": await keys.create(tenant_id=defaulting),
        },
    )
    try:
        yield running
    finally:
        running.ingress.kill()
        running.orchestrator.kill()


def _expected_totals() -> dict[str, float]:
    frame = pd.read_csv(io.StringIO(SALES))
    return {k: float(v) for k, v in frame.groupby("region")["sales"].sum().items()}


def _totals(tool_calls: list[dict[str, Any]]) -> dict[str, float]:
    (query,) = [c for c in tool_calls if c["tool_name"] == "query"]
    result = query["result"]
    column = result["aggregates"][0]
    return {r["region"]: float(r[column]) for r in result["table"]}


async def _upload(client: httpx.AsyncClient) -> str:
    upload = await client.post("/v1/datasets", content=SALES, headers={"Content-Type": "text/csv"})
    assert upload.status_code == 201, upload.text
    return str(upload.json()["dataset_id"])


async def _ask_unclear(client: httpx.AsyncClient) -> str:
    """Upload the data and ask QUESTION, letting the analysis ask back; its id."""
    dataset_id = await _upload(client)
    submitted = await client.post(
        "/v1/analyses",
        json={"question": QUESTION, "dataset_id": dataset_id, "options": {"clarify": True}},
    )
    assert submitted.status_code == 202, submitted.text
    return str(submitted.json()["analysis_id"])


async def _interrupted(client: httpx.AsyncClient, analysis_id: str) -> dict[str, Any]:
    """The analysis as the API shows it once it waits for an answer."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        shown = (await client.get(f"/v1/analyses/{analysis_id}")).json()
        assert shown["status"] not in ("completed", "failed", "cancelled"), shown
        if shown["status"] == "interrupted":
            return dict(shown)
        await asyncio.sleep(0.3)
    raise AssertionError(f"analysis {analysis_id} never paused")


async def _dead_letters(stack: InterruptStack, api_key: str, topic: str) -> list[dict[str, Any]]:
    """``GET /v1/dead-letters`` for the tenant of ``api_key``."""
    async with httpx.AsyncClient(
        base_url=stack.base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=60
    ) as client:
        listed = await client.get("/v1/dead-letters", params={"topic": topic})
    assert listed.status_code == 200, listed.text
    items: list[dict[str, Any]] = listed.json()["items"]
    return items


async def _stream_says_interrupted(client: httpx.AsyncClient, analysis_id: str) -> dict[str, Any]:
    """The interrupted frame of the analysis's SSE stream."""
    async with asyncio.timeout(30):
        async with client.stream("GET", f"/v1/analyses/{analysis_id}/events") as stream:
            event = ""
            async for line in stream.aiter_lines():
                if line.startswith("event: "):
                    event = line.removeprefix("event: ")
                elif line.startswith("data: ") and event == "interrupted":
                    return dict(json.loads(line.removeprefix("data: ")))
    raise AssertionError("the stream ended without saying the analysis waits")


async def test_a_clarification_answered_over_rest_survives_kill_9_of_both_services(
    stack: InterruptStack, engine: AsyncEngine
) -> None:
    async with httpx.AsyncClient(
        base_url=stack.base_url, headers=stack.headers, timeout=60
    ) as client:
        analysis_id = await _ask_unclear(client)
        shown = await _interrupted(client, analysis_id)
        streamed = await _stream_says_interrupted(client, analysis_id)

    asked = shown["interrupt"]
    assert asked["kind"] == "clarification"
    assert '"profit"' in asked["prompt"]
    assert set(asked["options"]) == {"sales", "units"}  # the numeric columns
    assert asked["response_schema"]["properties"]["choice"]["enum"] == asked["options"]
    assert asked["step"] == "plan"
    assert streamed["payload"]["interrupt_id"] == asked["interrupt_id"]

    await stack.restart_both(killed=True)  # while it waits: nothing runs it

    async with httpx.AsyncClient(
        base_url=stack.base_url, headers=stack.headers, timeout=60
    ) as client:
        assert (await _interrupted(client, analysis_id))["interrupt"] == asked
        refusals = {
            "profit": ({"choice": "profit"}, "is not one of the options: sales, units"),
            "extra field": ({"choice": "sales", "also": 1}, "does not ask for: ['also']"),
            "no choice": ({"pick": "sales"}, "does not ask for: ['pick']"),
        }
        for bad, reason in refusals.values():
            refused = await client.post(
                f"/v1/analyses/{analysis_id}/resume", json={"response": bad}
            )
            assert refused.status_code == 422, refused.text
            assert reason in refused.json()["detail"]
        stale = await client.post(
            f"/v1/analyses/{analysis_id}/resume",
            json={"interrupt_id": str(uuid.uuid4()), "response": {"choice": "sales"}},
        )
        assert stale.status_code == 409, stale.text
        assert (await client.get(f"/v1/analyses/{analysis_id}")).json()["status"] == "interrupted"

        resumed = await client.post(
            f"/v1/analyses/{analysis_id}/resume", json={"response": {"choice": "sales"}}
        )
        assert resumed.status_code == 202, resumed.text
        assert resumed.json()["interrupt_id"] == asked["interrupt_id"]
        row = await wait_terminal(
            engine, uuid.UUID(analysis_id), timeout_s=240, process=stack.orchestrator
        )
        again = await client.post(
            f"/v1/analyses/{analysis_id}/resume", json={"response": {"choice": "units"}}
        )

    assert row.status == "completed", row.error
    assert _totals(row.tool_calls) == _expected_totals()
    assert [c["tool_name"] for c in row.tool_calls].count("profile_dataset") == 1  # not re-run
    assert again.status_code == 409  # it no longer waits


async def test_a_clarification_answered_over_kafka_after_a_bad_answer_went_to_the_dlq(
    stack: InterruptStack, engine: AsyncEngine
) -> None:
    async with httpx.AsyncClient(
        base_url=stack.base_url, headers=stack.headers, timeout=60
    ) as client:
        dataset_id = await _upload(client)
    request = AnalysisRequested.model_validate(
        {
            "analysis_id": str(uuid.uuid4()),
            "question": QUESTION,
            "dataset_id": dataset_id,
            "options": {"clarify": True},
        }
    )
    analysis_id = request.analysis_id
    key = str(analysis_id).encode()
    envelope = Envelope.wrap(request, tenant_id=stack.tenant_id)
    await produce_raw(
        stack.infra.kafka, ANALYSIS_REQUESTED.name, [envelope.model_dump_json().encode()], key=key
    )
    async with httpx.AsyncClient(
        base_url=stack.base_url, headers=stack.headers, timeout=60
    ) as client:
        asked = (await _interrupted(client, str(analysis_id)))["interrupt"]

    def resume(response: dict[str, Any]) -> bytes:
        answer = AnalysisResumeRequested(
            analysis_id=analysis_id,
            interrupt_id=uuid.UUID(asked["interrupt_id"]),
            response=response,
        )
        return Envelope.wrap(answer, tenant_id=stack.tenant_id).model_dump_json().encode()

    topic = ANALYSIS_RESUME_REQUESTED
    await produce_raw(stack.infra.kafka, topic.name, [resume({"choice": "revenue"})], key=key)
    letters = [
        json.loads(r.value)
        for r in await read_all(stack.infra.kafka, topic.dlq_topic, expected=1, key=key)
    ]
    assert len(letters) == 1
    assert letters[0]["error_type"] == "InvalidResponse"
    assert "'revenue' is not one of the options" in letters[0]["error_message"]
    stored = await analysis_row(engine, analysis_id)
    assert stored is not None
    assert stored.status == "interrupted"
    mine = await _dead_letters(stack, stack.api_key, topic.name)
    theirs = await _dead_letters(stack, stack.approver_key, topic.name)
    (letter,) = [item for item in mine if item["original"].find(str(analysis_id)) >= 0]
    assert letter["error_type"] == "InvalidResponse"
    assert "'revenue' is not one of the options" in letter["error_message"]
    assert letter["topic"] == topic.name
    assert theirs == []  # another tenant sees none of it

    await produce_raw(stack.infra.kafka, topic.name, [resume({"choice": "sales"})], key=key)
    row = await wait_terminal(engine, analysis_id, timeout_s=240, process=stack.orchestrator)
    assert row.status == "completed", row.error
    assert _totals(row.tool_calls) == _expected_totals()


async def test_a_tenants_approval_policy_pauses_before_the_tools_run(
    stack: InterruptStack, engine: AsyncEngine
) -> None:
    """Declined: the calls are not run and the analysis ends saying so; approved: they run."""
    headers = {"Authorization": f"Bearer {stack.approver_key}"}
    question = "What are the total sales per region?"
    async with httpx.AsyncClient(base_url=stack.base_url, headers=headers, timeout=60) as client:
        dataset_id = await _upload(client)
        outcomes = []
        for answer in ({"approved": False, "note": "too much data"}, {"approved": True}):
            submitted = await client.post(
                "/v1/analyses", json={"question": question, "dataset_id": dataset_id}
            )
            analysis_id = submitted.json()["analysis_id"]
            asked = (await _interrupted(client, analysis_id))["interrupt"]
            assert asked["kind"] == "approval"
            assert "7 rows" in asked["prompt"]
            assert asked["default_response"] == {
                "approved": False,
                "note": "no answer before the timeout",
            }
            assert asked["expires_at"] is not None
            refused = await client.post(
                f"/v1/analyses/{analysis_id}/resume", json={"response": {"approved": "yes"}}
            )
            assert refused.status_code == 422, refused.text
            resumed = await client.post(
                f"/v1/analyses/{analysis_id}/resume", json={"response": answer}
            )
            assert resumed.status_code == 202, resumed.text
            outcomes.append(await wait_terminal(engine, uuid.UUID(analysis_id), timeout_s=240))

    declined, approved = outcomes
    assert declined.status == "completed", declined.error
    planned = [c for c in declined.tool_calls if c["tool_name"] != "profile_dataset"]
    assert planned
    assert all(c["result"] is None for c in planned)
    assert all(c["error"] == "not run: a person declined it: too much data" for c in planned)
    assert approved.status == "completed", approved.error
    assert _totals(approved.tool_calls) == _expected_totals()


async def test_cancelling_a_waiting_analysis_ends_it_cancelled(
    stack: InterruptStack, engine: AsyncEngine
) -> None:
    async with httpx.AsyncClient(
        base_url=stack.base_url, headers=stack.headers, timeout=60
    ) as client:
        analysis_id = await _ask_unclear(client)
        await _interrupted(client, analysis_id)
        cancelled = await client.post(
            f"/v1/analyses/{analysis_id}/cancel", json={"reason": "asked the wrong thing"}
        )
        assert cancelled.status_code == 202, cancelled.text
        row = await wait_terminal(engine, uuid.UUID(analysis_id), timeout_s=120)

    assert row.status == "cancelled"
    assert row.error is not None
    assert row.error["reason"] == "asked the wrong thing"
    assert row.error["step"] == "plan"


async def test_the_cli_shows_what_an_analysis_asks_and_answers_it(
    stack: InterruptStack, engine: AsyncEngine, tmp_path: Path
) -> None:
    csv = tmp_path / "sales.csv"
    csv.write_text(SALES)
    asked = await sextant(
        stack, stack.infra, "submit", QUESTION, "--csv", str(csv), "--clarify", "--follow"
    )
    analysis_id = json.loads(asked.splitlines()[0])["analysis_id"]
    assert f"{analysis_id} INTERRUPTED waiting for an answer (clarification)" in asked
    assert "options: sales, units" in asked
    assert f"answer: sextant resume {analysis_id} CHOICE" in asked
    assert f"analysis {analysis_id}: interrupted" in asked

    answered = await sextant(stack, stack.infra, "resume", analysis_id, "sales")
    assert f"analysis {analysis_id}: completed" in answered
    row = await wait_terminal(engine, uuid.UUID(analysis_id), timeout_s=60)
    assert _totals(row.tool_calls) == _expected_totals()


@pytest.mark.parametrize("on_timeout", ["fail", "default"])
async def test_a_wait_that_runs_out_ends_as_the_tenants_policy_says(
    stack: InterruptStack, engine: AsyncEngine, on_timeout: str
) -> None:
    """Clarification by the tenant's policy (not asked by the request), a wait of 1 s:
    once it runs out, the sweep's wake ends the analysis interrupt_timed_out, or takes
    the pause's default (the closest column) and completes."""
    headers = {"Authorization": f"Bearer {stack.impatient_keys[on_timeout]}"}
    async with httpx.AsyncClient(base_url=stack.base_url, headers=headers, timeout=60) as client:
        dataset_id = await _upload(client)
        submitted = await client.post(
            "/v1/analyses", json={"question": QUESTION, "dataset_id": dataset_id}
        )
        analysis_id = uuid.UUID(submitted.json()["analysis_id"])
        asked = (await _interrupted(client, str(analysis_id)))["interrupt"]
    assert asked["on_timeout"] == on_timeout
    assert asked["expires_at"] is not None
    await asyncio.sleep(1.5)

    woken = await PostgresLifecycleStore(engine).wake_expired_interrupts(limit=100)  # the sweep
    row = await wait_terminal(engine, analysis_id, timeout_s=120, process=stack.orchestrator)

    assert woken >= 1
    if on_timeout == "fail":
        assert row.status == "failed"
        assert row.error is not None
        assert row.error["code"] == "interrupt_timed_out"
        assert row.error["step"] == "plan"
    else:
        assert row.status == "completed", row.error
        closest = asked["default_response"]["choice"]
        assert closest == asked["options"][0]
        frame = pd.read_csv(io.StringIO(SALES))
        expected = {k: float(v) for k, v in frame.groupby("region")[closest].sum().items()}
        assert _totals(row.tool_calls) == expected
