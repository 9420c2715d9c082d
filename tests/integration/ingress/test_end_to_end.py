"""The product end to end, every service a real process or a real server: REST submit ->
SSE progress -> completed result in PostgreSQL and on the result topic; and the same for
an analysis a producer published straight to Kafka."""

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
from sextant_cli.rest import StreamEvent, sse_events
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.infrastructure import Infrastructure
from tests.integration.ingress.conftest import Stack
from tests.integration.ingress.service import sextant
from tests.integration.kafka_helpers import eventually, wait_until
from tests.integration.orchestrator.fake_openai import (
    Scripted,
    completion,
)
from tests.integration.orchestrator.service import (
    ANSWER,
    ANSWER_UNGROUNDED,
    DOCUMENTS,
    SALES_CSV,
    events_for,
    plan_then_answer,
    publish_request,
    request_envelope,
    saw_tool_results,
    wait_cancel_flagged,
    wait_terminal,
)


async def follow(stack: Stack, analysis_id: str) -> list[StreamEvent]:
    async with (
        httpx.AsyncClient(base_url=stack.base_url, headers=stack.headers, timeout=120) as client,
        client.stream("GET", f"/v1/analyses/{analysis_id}/events") as response,
    ):
        assert response.status_code == 200, await response.aread()
        return [frame async for frame in sse_events(response)]


def assert_progress_then_completed(received: list[StreamEvent]) -> None:
    progress = [f for f in received if f.event == "progress"]
    assert [int(f.id or -1) for f in progress] == sorted(int(f.id or -1) for f in progress)
    started = [
        f.data["payload"]["step"] for f in progress if f.data["payload"]["status"] == "started"
    ]
    # Round 1 plans and runs tools; round 2 sees the results and plans no more.
    assert started == ["profile", "plan", "run_tools", "plan", "retrieve", "synthesize", "finalize"]
    assert received[-1].event == "completed"
    assert received[-1].data["payload"]["answer"] == ANSWER


async def test_rest_submission_streams_progress_and_completes(
    stack: Stack, infra: Infrastructure, engine: AsyncEngine
) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url, headers=stack.headers) as client:
        upload = await client.post(
            "/v1/datasets", content=SALES_CSV, headers={"Content-Type": "text/csv"}
        )
        assert upload.status_code == 201, upload.text
        submitted = await client.post(
            "/v1/analyses",
            json={
                "question": "Which region sells the most?",
                "dataset_id": upload.json()["dataset_id"],
                "documents": DOCUMENTS,
            },
        )
        assert submitted.status_code == 202, submitted.text
        analysis_id = submitted.json()["analysis_id"]

        received = await asyncio.wait_for(follow(stack, analysis_id), timeout=150)
        assert_progress_then_completed(received)

        fetched = (await client.get(f"/v1/analyses/{analysis_id}")).json()
    assert fetched["status"] == "completed"
    assert fetched["answer"] == ANSWER
    assert fetched["ungrounded_numbers"] == ANSWER_UNGROUNDED
    assert {c["tool_name"] for c in fetched["tool_calls"]} >= {"group_by_aggregate"}
    row = await wait_terminal(engine, uuid.UUID(analysis_id))
    published = await events_for(
        infra.kafka, "analysis.completed.v1", uuid.UUID(analysis_id), expected=1
    )
    assert [e["event_id"] for e in published] == [str(row.terminal_event_id)]
    assert received[-1].data["event_id"] == str(row.terminal_event_id)


async def test_an_analysis_published_to_kafka_is_followed_over_sse(
    stack: Stack, infra: Infrastructure
) -> None:
    envelope = request_envelope(tenant_id=stack.tenant)
    analysis_id = str(envelope.payload.analysis_id)
    await publish_request(infra.kafka, envelope)

    async with httpx.AsyncClient(base_url=stack.base_url, headers=stack.headers) as client:

        async def status() -> int:
            return (await client.get(f"/v1/analyses/{analysis_id}")).status_code

        # Known to the API once the orchestrator admitted it (it was never POSTed).
        await eventually(status, until=lambda code: code == 200, what="the analysis admitted")
    received = await asyncio.wait_for(follow(stack, analysis_id), timeout=150)
    assert_progress_then_completed(received)


async def test_the_cli_uploads_submits_follows_publishes_and_tails(
    stack: Stack, infra: Infrastructure, engine: AsyncEngine, tmp_path: Path
) -> None:
    csv = tmp_path / "sales.csv"
    csv.write_text(SALES_CSV)
    dataset = json.loads(await sextant(stack, infra, "upload", str(csv)))
    assert dataset["rows"] == 6
    assert dataset["name"] == "sales.csv"  # listed by its file name

    followed = await sextant(
        stack,
        infra,
        "submit",
        "Which region sells the most?",
        "--dataset-id",
        dataset["dataset_id"],
        "--document",
        "Regional sales=Sales by region: the east leads.",
        "--follow",
    )
    lines = followed.splitlines()
    analysis_id = json.loads(lines[0])["analysis_id"]
    assert f"{analysis_id} finalize   completed" in lines
    assert any(line.startswith(f"{analysis_id} COMPLETED") for line in lines)
    assert ANSWER in lines  # the answer, then the tool calls behind its figures
    assert any("group_by_aggregate" in line for line in lines)

    published = json.loads(
        await sextant(
            stack, infra, "publish", "Any outliers?", "--csv", str(csv), "--tenant", stack.tenant
        )
    )
    tailed = await sextant(
        stack,
        infra,
        "tail",
        "--from-beginning",
        "--analysis",
        published["analysis_id"],
        "--count",
        "1",
        "--json",
    )
    event = json.loads(tailed)
    assert event["topic"] == "analysis.completed.v1"
    status = json.loads(await sextant(stack, infra, "status", published["analysis_id"], "--json"))
    assert status["status"] == "completed"
    row = await wait_terminal(engine, uuid.UUID(published["analysis_id"]))
    assert event["event_id"] == str(row.terminal_event_id)


async def test_a_rest_cancel_stops_a_running_analysis(
    stack: Stack, engine: AsyncEngine, infra: Infrastructure
) -> None:
    """POST /cancel while the analysis runs: it ends cancelled at the next step boundary.
    (It used to answer 202 "cancelling" and then complete: the ingress flagged the row
    itself, so the orchestrator never woke the run.)"""
    slow = completion(ANSWER)
    slow.held_until = asyncio.Event()  # let go once the orchestrator holds the cancel

    def slow_answer(body: dict[str, Any]) -> Scripted:
        """Round 2 (it has seen the tools' results) answers, slowly: no documents, so
        that reply is the answer and finalize follows."""
        return slow if saw_tool_results(body) else plan_then_answer(body)

    stack.fake.responder = slow_answer
    try:
        async with httpx.AsyncClient(base_url=stack.base_url, headers=stack.headers) as client:
            submitted = await client.post(
                "/v1/analyses",
                json={
                    "question": "Which region sells the most?",
                    "inline_dataset": {"media_type": "text/csv", "content": SALES_CSV},
                },
            )
            analysis_id = submitted.json()["analysis_id"]
            before = len(stack.fake.requests)
            await wait_until(
                lambda: any(saw_tool_results(r) for r in stack.fake.requests[before:]),
                timeout_s=90,
                what="the answering call",
            )
            cancel = await client.post(
                f"/v1/analyses/{analysis_id}/cancel", json={"reason": "changed my mind"}
            )
            assert cancel.status_code == 202
            await wait_cancel_flagged(engine, uuid.UUID(analysis_id))
            slow.held_until.set()
            row = await wait_terminal(engine, uuid.UUID(analysis_id), timeout_s=60)
    finally:
        slow.held_until.set()
        stack.fake.responder = plan_then_answer
    assert row.status == "cancelled"
    assert row.error == {"code": "cancelled", "reason": "changed my mind", "step": "finalize"}
    cancelled = await events_for(
        infra.kafka, "analysis.cancelled.v1", uuid.UUID(analysis_id), expected=1
    )
    assert [e["event_id"] for e in cancelled] == [str(row.terminal_event_id)]
