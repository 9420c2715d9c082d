"""Durability of the orchestrator process: ``kill -9`` mid-step, and a step that runs
longer than Kafka's ``max_poll_interval_ms``.

Its own module, so that no other orchestrator process (another consumer group on the
same topic) is running the same requests meanwhile.
"""

import asyncio
import json
import sys
import uuid
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_orchestrator.application.run_analysis import inline_dataset_id
from tests.integration.infrastructure import Infrastructure
from tests.integration.kafka_helpers import read_all, wait_until
from tests.integration.orchestrator.fake_openai import (
    FakeOpenAI,
    Scripted,
    completion,
    running_fake_openai,
)
from tests.integration.orchestrator.service import (
    ANSWER,
    AnalysisRow,
    count_rows,
    events_for,
    llm_env,
    plan_then_answer,
    planning_requests,
    publish_request,
    request_envelope,
    saw_tool_results,
    start_orchestrator,
    started_steps,
    wait_caught_up,
    wait_terminal,
)

pytestmark = pytest.mark.usefixtures("tools_service", "embeddings_service")


async def resume_in_a_new_process(
    infra: Infrastructure,
    engine: AsyncEngine,
    fake: FakeOpenAI,
    group: str,
    analysis_id: uuid.UUID,
) -> AnalysisRow:
    """After a kill -9: a new process in the same group (the model now answering at
    once) takes the analysis over and finishes it; its row once terminal."""
    fake.responder = plan_then_answer
    second, _ = await start_orchestrator(
        infra, name=f"{group}-resumed", group=group, llm_env=llm_env(fake), new_group=False
    )
    try:
        return await wait_terminal(engine, analysis_id, timeout_s=120, process=second)
    finally:
        assert await asyncio.to_thread(second.stop) == 0
        second.kill()


async def test_killed_mid_step_resumes_without_redoing_finished_steps(
    infra: Infrastructure, engine: AsyncEngine
) -> None:
    async with running_fake_openai() as fake:
        fake.responder = plan_then_answer
        # The synthesis call hangs: the process is killed while that step runs.
        hanging = completion(ANSWER)
        hanging.hang_s = 60
        group = f"orchestrator-crash-{uuid.uuid4().hex[:8]}"
        first, _ = await start_orchestrator(
            infra, name="orchestrator-crash-1", group=group, llm_env=llm_env(fake)
        )
        try:
            fake.script = []
            envelope = request_envelope()
            analysis_id = envelope.payload.analysis_id

            def synthesis_started() -> bool:
                return any("tools" not in r for r in fake.requests)

            original = fake.responder

            def hang_on_synthesis(body: dict[str, Any]) -> Scripted:
                return hanging if "tools" not in body else original(body)

            fake.responder = hang_on_synthesis
            await publish_request(infra.kafka, envelope)
            await wait_until(synthesis_started, timeout_s=90, what="the synthesis call")
        finally:
            first.kill()  # SIGKILL in the middle of "synthesize"

        row = await resume_in_a_new_process(infra, engine, fake, group, analysis_id)

    assert row.status == "completed", row.error
    assert row.answer == ANSWER
    assert row.attempts == 2  # taken over once, after the first owner's lease expired
    assert await count_rows(engine, analysis_id) == 1
    # Each planning round asked the model once: resumed, not restarted.
    assert planning_requests(fake) == 2
    assert sum(1 for r in fake.requests if "tools" not in r) == 2  # synthesis: killed + rerun
    progress = await events_for(infra.kafka, "analysis.progress.v1", analysis_id, expected=15)
    assert started_steps(progress) == {
        "profile": 1,
        "plan": 2,  # round 1 called tools; round 2 saw their results and called none
        "run_tools": 1,
        "retrieve": 1,
        "synthesize": 2,
        "finalize": 1,
    }
    completed = await events_for(infra.kafka, "analysis.completed.v1", analysis_id, expected=1)
    assert [e["event_id"] for e in completed] == [str(row.terminal_event_id)]
    tool_calls = {c["call_id"] for c in row.tool_calls}
    assert tool_calls == {"T0", "T1", "T2"}  # no tool ran twice into the result


async def test_a_step_longer_than_max_poll_interval_causes_no_second_run(
    infra: Infrastructure, engine: AsyncEngine
) -> None:
    """With ``max_poll_interval_ms`` at its 10 s minimum, synthesis takes 14 s: a consumer
    that polled only between messages would be evicted and the request run again."""
    async with running_fake_openai() as fake:
        slow_answer = completion(ANSWER)
        slow_answer.hang_s = 14

        def slow_synthesis(body: dict[str, Any]) -> Scripted:
            return plan_then_answer(body) if "tools" in body else slow_answer

        fake.responder = slow_synthesis
        group = f"orchestrator-long-{uuid.uuid4().hex[:8]}"
        process, _ = await start_orchestrator(
            infra,
            name=group,  # a fresh log file: its lines are counted below
            group=group,
            llm_env={**llm_env(fake), "KAFKA_MAX_POLL_INTERVAL_MS": "10000"},
        )
        try:
            envelope = request_envelope()
            analysis_id = envelope.payload.analysis_id
            await publish_request(infra.kafka, envelope)
            row = await wait_terminal(engine, analysis_id, timeout_s=120, process=process)
            await wait_caught_up(infra.kafka, group, "analysis.requested.v1")
        finally:
            assert await asyncio.to_thread(process.stop) == 0
            process.kill()

    assert row.status == "completed", row.error
    assert row.attempts == 1  # never handed to a second owner
    assert planning_requests(fake) == 2
    assert sum(1 for r in fake.requests if "tools" not in r) == 1
    completed = await events_for(infra.kafka, "analysis.completed.v1", analysis_id, expected=1)
    assert [e["event_id"] for e in completed] == [str(row.terminal_event_id)]
    # The request consumer stayed in its group the whole time: assigned its partitions
    # once (the cancellation consumer logs its own assignment, of another topic).
    assignments = [
        line
        for line in process.log_path.read_text().splitlines()
        if '"message": "partitions assigned"' in line and "analysis.requested.v1" in line
    ]
    assert len(assignments) == 1, process.tail(40)


async def test_killed_in_round_two_resumes_without_repeating_round_one(
    infra: Infrastructure, engine: AsyncEngine
) -> None:
    """kill -9 while the model is asked for round 2: the restarted process asks round 2
    again, and neither round 1's LLM call nor its tool calls run a second time (counted
    at the loopback LLM server and on the tools service's request topic)."""
    async with running_fake_openai() as fake:
        hanging = completion("never answered")
        hanging.hang_s = 60

        def hang_in_round_two(body: dict[str, Any]) -> Scripted:
            return hanging if "tools" in body and saw_tool_results(body) else plan_then_answer(body)

        fake.responder = hang_in_round_two
        group = f"orchestrator-round2-{uuid.uuid4().hex[:8]}"
        first, _ = await start_orchestrator(
            infra, name="orchestrator-round2-1", group=group, llm_env=llm_env(fake)
        )
        envelope = request_envelope()
        analysis_id = envelope.payload.analysis_id
        try:
            await publish_request(infra.kafka, envelope)
            await wait_until(
                lambda: any(saw_tool_results(r) for r in fake.requests if "tools" in r),
                timeout_s=90,
                what="the round-2 planning call",
            )
        finally:
            first.kill()  # SIGKILL while round 2 waits for the model

        row = await resume_in_a_new_process(infra, engine, fake, group, analysis_id)

    assert row.status == "completed", row.error
    planning = [r for r in fake.requests if "tools" in r]
    assert sum(1 for r in planning if not saw_tool_results(r)) == 1  # round 1: asked once
    assert sum(1 for r in planning if saw_tool_results(r)) == 2  # round 2: killed + rerun
    dataset_id = str(inline_dataset_id(analysis_id))
    # The topic is shared: other tests publish foreign, unreadable records to it, and a
    # long-lived local broker holds more than any fixed count (a count of 10,000 once
    # stopped before this test's records): read all there is for a while.
    records = await read_all(infra.kafka, "tools.requested.v1", expected=sys.maxsize, timeout_s=10)
    invocations = [
        json.loads(r.value)["payload"]
        for r in records
        if r.value and r.value.startswith(b"{") and dataset_id.encode() in r.value
    ]
    ours = Counter(i["tool_name"] for i in invocations if i.get("dataset_id") == dataset_id)
    assert ours == {"profile_dataset": 1, "group_by_aggregate": 1, "correlation_matrix": 1}
    assert {c["call_id"] for c in row.tool_calls} == {"T0", "T1", "T2"}

    # The usage ledger bills what answered, once: round 1 (checkpointed before the kill)
    # is not counted again; the round-2 call killed unanswered was never counted.
    billed = await ledger_rows(engine, analysis_id)
    assert [step for step, _ in billed] == ["plan", "plan", "synthesize"]
    assert len(billed) == row.usage["llm_calls"]
    assert sum(tokens for _, tokens in billed) == (
        row.usage["input_tokens"] + row.usage["output_tokens"]
    )


async def ledger_rows(engine: AsyncEngine, analysis_id: uuid.UUID) -> list[tuple[str, int]]:
    """(step, tokens) of each LLM call the usage ledger holds for the analysis, in order."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT step, input_tokens + output_tokens AS tokens FROM llm_usage"
                " WHERE analysis_id = :id ORDER BY created_at"
            ),
            {"id": analysis_id},
        )
        return [(r.step, int(r.tokens)) for r in rows]
