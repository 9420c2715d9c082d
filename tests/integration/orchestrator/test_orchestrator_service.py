"""The orchestrator as deployed: a process consuming ``analysis.requested.v1``, writing one
row per analysis to PostgreSQL and exactly one terminal event, over the real tools and
embeddings services, with the real LangChain OpenAI client against a loopback server."""

import asyncio
import io
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_contracts import AnalysisCancellationRequested, Envelope, StepStatus
from sextant_orchestrator.domain.progress import StepAt, sequence
from sextant_tools.bootstrap import ToolsService
from tests.integration.infrastructure import Infrastructure
from tests.integration.kafka_helpers import produce_raw, read_all, wait_until
from tests.integration.orchestrator.fake_openai import (
    FakeOpenAI,
    Scripted,
    completion,
    running_fake_openai,
)
from tests.integration.orchestrator.service import (
    ANSWER,
    ANSWER_UNGROUNDED,
    SALES_CSV,
    TENANT,
    count_rows,
    events_for,
    llm_env,
    plan_then_answer,
    publish_request,
    request_envelope,
    start_orchestrator,
    wait_cancel_flagged,
    wait_caught_up,
    wait_terminal,
)
from tests.integration.processes import ServiceProcess

pytestmark = pytest.mark.usefixtures("tools_service", "embeddings_service")


@dataclass
class RunningOrchestrator:
    process: ServiceProcess
    fake: FakeOpenAI
    group: str


@pytest.fixture(scope="module")
async def orchestrator(infra: Infrastructure) -> AsyncIterator[RunningOrchestrator]:
    async with running_fake_openai() as fake:
        group = f"orchestrator-it-{uuid.uuid4().hex[:8]}"
        process, _ = await start_orchestrator(
            infra, name="orchestrator-service", group=group, llm_env=llm_env(fake)
        )
        try:
            yield RunningOrchestrator(process, fake, group)
            assert await asyncio.to_thread(process.stop) == 0
        finally:
            process.kill()


async def test_published_request_completes_once_with_numbers_from_the_tools(
    orchestrator: RunningOrchestrator, infra: Infrastructure, engine: AsyncEngine, redis: Redis
) -> None:
    orchestrator.fake.responder = plan_then_answer
    # A poison record first: it is dead-lettered and the consumer keeps going.
    poison_key = f"poison-{uuid.uuid4()}".encode()
    await produce_raw(infra.kafka, "analysis.requested.v1", [b"\xff not json"], key=poison_key)
    envelope = request_envelope()
    analysis_id = envelope.payload.analysis_id
    await publish_request(infra.kafka, envelope)

    row = await wait_terminal(engine, analysis_id, process=orchestrator.process)
    assert row.status == "completed", row.error
    assert row.answer == ANSWER
    assert row.ungrounded_numbers == ANSWER_UNGROUNDED
    frame = pd.read_csv(io.StringIO(SALES_CSV))
    calls = {c["call_id"]: c for c in row.tool_calls}
    assert set(calls) == {"T0", "T1", "T2"}
    assert calls["T0"]["result"]["statistics"]["sales"]["mean"] == pytest.approx(
        frame["sales"].mean()
    )
    totals = json.dumps(calls["T1"]["result"])
    for total in frame.groupby("region")["sales"].sum():
        assert json.dumps(total) in totals
    assert [c["marker"] for c in row.citations] == ["[T1]", "[T2]", "[D1]"]
    assert row.citations[2]["source_id"] == "memo-2"  # ranked first by the embeddings service
    # Planning round 1 (tool calls), round 2 (saw the results, no more calls), synthesis.
    assert row.usage["llm_calls"] == 3
    assert row.usage["input_tokens"] == 360
    east = frame.groupby("region")["sales"].sum()["east"]
    top = next(f for f in row.findings if f["call_id"] == "T1" and "east" in f["statement"])
    assert top["values"]["value"] == pytest.approx(east)
    assert top["paths"]["value"].startswith("groups[")

    completed = await events_for(infra.kafka, "analysis.completed.v1", analysis_id, expected=1)
    assert [e["event_id"] for e in completed] == [str(row.terminal_event_id)]
    assert completed[0]["payload"]["answer"] == ANSWER
    assert completed[0]["payload"]["ungrounded_numbers"] == ANSWER_UNGROUNDED
    assert completed[0]["correlation_id"] == f"test-{analysis_id}"
    assert completed[0]["payload"]["findings"] == row.findings
    progress = await events_for(infra.kafka, "analysis.progress.v1", analysis_id, expected=14)
    loop = ["profile", "plan", "run_tools", "plan", "retrieve", "synthesize", "finalize"]
    assert [(e["payload"]["step"], e["payload"]["status"]) for e in progress] == [
        (step, status) for step in loop for status in ("started", "completed")
    ]
    sequences = [e["payload"]["sequence"] for e in progress]
    assert sequences == sorted(sequences)
    messages = [e["payload"]["message"] for e in progress]
    assert "run_tools completed (round 1: group_by_aggregate, correlation_matrix)" in messages
    assert "plan completed (round 2)" in messages

    letters = [
        json.loads(r.value)
        for r in await read_all(infra.kafka, "analysis.requested.v1.dlq", expected=1)
        if r.key == poison_key
    ]
    assert len(letters) == 1
    assert letters[0]["consumer_group"] == orchestrator.group
    assert letters[0]["error_type"] == "ValidationError"

    # The same request again (a producer retry): no second run, no second event.
    llm_calls_before = len(orchestrator.fake.requests)
    await publish_request(infra.kafka, envelope)
    await wait_caught_up(infra.kafka, orchestrator.group, "analysis.requested.v1")
    assert await count_rows(engine, analysis_id) == 1
    completed = await events_for(infra.kafka, "analysis.completed.v1", analysis_id, expected=1)
    assert len({e["event_id"] for e in completed}) == 1
    assert len(orchestrator.fake.requests) == llm_calls_before

    # Its checkpoints are retired: they expire within the hour (REDIS_CHECKPOINT_TTL_S),
    # not a week on (Redis held every analysis of the week, snapshotted every minute).
    keys = [k async for k in redis.scan_iter(match=f"sextant:checkpoints:t:{analysis_id}:*")]
    assert keys
    expiries = [await redis.ttl(key) for key in keys]
    assert all(0 < ttl <= 3600 for ttl in expiries), expiries


async def test_cancel_stops_the_workflow_at_the_next_step_boundary(
    orchestrator: RunningOrchestrator, infra: Infrastructure, engine: AsyncEngine
) -> None:
    fake = orchestrator.fake
    slow_plan = plan_then_answer({"tools": []})
    slow_plan.held_until = asyncio.Event()  # let go once the orchestrator holds the cancel
    fake.script = [slow_plan]
    fake.responder = plan_then_answer
    envelope = request_envelope()
    analysis_id = envelope.payload.analysis_id
    before = len(fake.requests)
    await publish_request(infra.kafka, envelope)
    await wait_until(lambda: len(fake.requests) > before, timeout_s=60, what="the planning call")

    cancel = Envelope.wrap(
        AnalysisCancellationRequested(analysis_id=analysis_id, reason="user changed their mind"),
        tenant_id=TENANT,
    )
    await publish_request(infra.kafka, cancel)
    try:
        await wait_cancel_flagged(engine, analysis_id)
    finally:
        slow_plan.held_until.set()

    row = await wait_terminal(engine, analysis_id, process=orchestrator.process)
    assert row.status == "cancelled"
    assert row.error == {
        "code": "cancelled",
        "reason": "user changed their mind",
        "step": "run_tools",
    }
    assert len(fake.requests) == before + 1  # planning finished; synthesis never ran
    cancelled = await events_for(infra.kafka, "analysis.cancelled.v1", analysis_id, expected=1)
    assert [e["event_id"] for e in cancelled] == [str(row.terminal_event_id)]
    assert cancelled[0]["payload"]["cancelled_at_step"] == "run_tools"
    # It names the last progress published: plan's completion (a stream waits for it).
    assert cancelled[0]["payload"]["last_progress_sequence"] == sequence(
        StepAt("plan", 1), StepStatus.COMPLETED
    )


async def test_a_cancel_that_arrives_before_its_request_cancels_it(
    orchestrator: RunningOrchestrator, infra: Infrastructure, engine: AsyncEngine
) -> None:
    """A producer publishes a request and at once its cancel; the cancel is read first
    (the topics are read independently). It used to be dropped (no row to flag) and the
    analysis ran to the end; it now waits for the analysis, which ends cancelled before
    its first step, with one cancelled event."""
    envelope = request_envelope()
    analysis_id = envelope.payload.analysis_id
    cancel = Envelope.wrap(
        AnalysisCancellationRequested(analysis_id=analysis_id, reason="changed my mind early"),
        tenant_id=TENANT,
    )
    before = len(orchestrator.fake.requests)
    await publish_request(infra.kafka, cancel)
    await wait_caught_up(
        infra.kafka, f"{orchestrator.group}.cancel", "analysis.cancel-requested.v1"
    )
    await publish_request(infra.kafka, envelope)

    row = await wait_terminal(engine, analysis_id, process=orchestrator.process)
    assert row.status == "cancelled"
    assert row.error == {"code": "cancelled", "reason": "changed my mind early", "step": "profile"}
    assert len(orchestrator.fake.requests) == before  # no model call was made
    cancelled = await events_for(infra.kafka, "analysis.cancelled.v1", analysis_id, expected=1)
    assert [e["event_id"] for e in cancelled] == [str(row.terminal_event_id)]
    assert cancelled[0]["payload"]["last_progress_sequence"] is None


async def test_llm_that_keeps_failing_ends_the_analysis_as_failed_with_a_reason(
    orchestrator: RunningOrchestrator, infra: Infrastructure, engine: AsyncEngine
) -> None:
    fake = orchestrator.fake
    fake.script = [Scripted(status=503, body={"error": {"message": "provider down"}})] * 2
    fake.responder = plan_then_answer
    envelope = request_envelope()
    analysis_id = envelope.payload.analysis_id
    await publish_request(infra.kafka, envelope)

    row = await wait_terminal(engine, analysis_id, process=orchestrator.process)
    assert row.status == "failed"
    assert row.error is not None
    assert row.error["code"] == "llm_unavailable"
    assert row.error["step"] == "plan"
    assert "503" in row.error["reason"]
    assert "provider down" in row.error["reason"]
    failed = await events_for(infra.kafka, "analysis.failed.v1", analysis_id, expected=1)
    assert [e["event_id"] for e in failed] == [str(row.terminal_event_id)]


async def test_a_nul_in_the_data_does_not_strand_the_analysis(
    orchestrator: RunningOrchestrator,
    infra: Infrastructure,
    engine: AsyncEngine,
    tools_service: ToolsService,
) -> None:
    """A CSV header with a NUL uploads fine (it is bytes); its column name then reached
    the terminal write, which PostgreSQL refused, and the analysis stayed running."""
    orchestrator.fake.responder = plan_then_answer
    saved = await tools_service.store.save(
        tenant_id=TENANT,
        media_type="text/csv",
        content=SALES_CSV.replace("region", "reg\x00ion", 1).encode(),
    )
    envelope = request_envelope(dataset_id=saved.dataset_id)
    analysis_id = envelope.payload.analysis_id
    await publish_request(infra.kafka, envelope)

    row = await wait_terminal(engine, analysis_id, process=orchestrator.process)
    assert row.status == "completed", row.error
    profile = row.tool_calls[0]["result"]
    assert "reg\ufffdion" in [c["name"] for c in profile["columns"]]
    completed = await events_for(infra.kafka, "analysis.completed.v1", analysis_id, expected=1)
    assert [e["event_id"] for e in completed] == [str(row.terminal_event_id)]


async def test_an_invented_number_too_long_to_list_is_listed_shortened(
    orchestrator: RunningOrchestrator, infra: Infrastructure, engine: AsyncEngine
) -> None:
    """The answer invents a 90-digit number: it is listed as ungrounded, shortened to
    what the event holds, instead of failing the terminal event's validation."""
    invented = "9" * 90

    def invents(body: dict[str, Any]) -> Scripted:
        return plan_then_answer(body) if "tools" in body else completion(f"About {invented} [T1].")

    orchestrator.fake.responder = invents
    envelope = request_envelope()
    await publish_request(infra.kafka, envelope)
    try:
        row = await wait_terminal(
            engine, envelope.payload.analysis_id, process=orchestrator.process
        )
    finally:
        orchestrator.fake.responder = plan_then_answer
    assert row.status == "completed", row.error
    assert row.answer == f"About {invented} [T1]."
    [listed] = row.ungrounded_numbers
    assert listed == "9" * 63 + "…"
