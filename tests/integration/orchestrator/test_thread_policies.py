"""Two questions sent at once on one thread, across two orchestrator processes: each
concurrency policy (enqueue, reject, interrupt) holds whichever instance gets which.

Requests are published straight to Kafka keyed by their analysis ids (as a producer that
ignores threads would), so the two may land on different partitions and processes: the
guard is the database, not the partitioning. Its own module: no other orchestrator runs.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_contracts import AnalysisRequested, Envelope
from tests.integration.infrastructure import Infrastructure
from tests.integration.kafka_helpers import eventually, wait_until
from tests.integration.orchestrator.fake_openai import (
    FakeOpenAI,
    Scripted,
    completion,
    running_fake_openai,
)
from tests.integration.orchestrator.service import (
    SALES_CSV,
    AnalysisRow,
    analysis_row,
    llm_env,
    publish_request,
    start_orchestrator,
    wait_cancel_flagged,
    wait_terminal,
)
from tests.integration.processes import ServiceProcess

pytestmark = pytest.mark.usefixtures("tools_service", "embeddings_service")

HELD: dict[str, asyncio.Event] = {}
"""Slow questions, each with the gate its test opens once the policy has acted."""


def answers_at_once_but_slowly_when_asked_to(body: dict[str, Any]) -> Scripted:
    """The model answers without tools; a slow question's reply waits for its gate."""
    asked = str(body.get("messages", [{}])[-1].get("content"))
    reply = completion("The east sells the most.")
    for question, gate in HELD.items():
        if asked.startswith(f"Question: {question}"):
            reply.held_until = gate
    return reply


@dataclass
class TwoOrchestrators:
    fake: FakeOpenAI
    processes: list[ServiceProcess]


@pytest.fixture(scope="module")
async def two_orchestrators(infra: Infrastructure) -> AsyncIterator[TwoOrchestrators]:
    group = f"orchestrator-threads-{uuid.uuid4().hex[:8]}"
    async with running_fake_openai() as fake:
        fake.responder = answers_at_once_but_slowly_when_asked_to
        first, _ = await start_orchestrator(
            infra, name="threads-orchestrator-1", group=group, llm_env=llm_env(fake)
        )
        try:
            second, _ = await start_orchestrator(
                infra,
                name="threads-orchestrator-2",
                group=group,
                llm_env=llm_env(fake),
                new_group=False,
            )
            try:
                yield TwoOrchestrators(fake, [first, second])
                assert await asyncio.to_thread(second.stop) == 0
            finally:
                second.kill()
            assert await asyncio.to_thread(first.stop) == 0
        finally:
            first.kill()


def _asked(question: str, thread_id: uuid.UUID, busy_thread: str | None = None) -> Envelope[Any]:
    request = AnalysisRequested.model_validate(
        {
            "analysis_id": str(uuid.uuid4()),
            "question": question,
            "inline_dataset": {"media_type": "text/csv", "content": SALES_CSV},
            "thread_id": str(thread_id),
            "options": {"busy_thread": busy_thread},
        }
    )
    return Envelope.wrap(request, tenant_id="acme")


async def _second_admitted(engine: AsyncEngine, _: uuid.UUID, second: AnalysisRequested) -> None:
    """enqueue: the second is claimed (and waits for the first)."""
    await eventually(
        lambda: analysis_row(engine, second.analysis_id),
        until=lambda row: row is not None,
        timeout_s=60,
        what="the second question's row",
    )


async def _second_rejected(engine: AsyncEngine, _: uuid.UUID, second: AnalysisRequested) -> None:
    await wait_terminal(engine, second.analysis_id, timeout_s=60)


async def _first_flagged(engine: AsyncEngine, first: uuid.UUID, _: AnalysisRequested) -> None:
    await wait_cancel_flagged(engine, first)


POLICY_ACTED = {
    "enqueue": _second_admitted,
    "reject": _second_rejected,
    "interrupt": _first_flagged,
}
"""Per policy, what shows it has acted on the second question while the first runs."""


async def _two_at_once(
    stack: TwoOrchestrators, infra: Infrastructure, engine: AsyncEngine, busy_thread: str
) -> tuple[AnalysisRow, AnalysisRow, list[dict[str, Any]]]:
    """A slow first question, and a second one on the same thread while it runs; both
    rows once ended, and the model requests of the second one. The questions name the
    policy: the model serves every test of the module."""
    thread = uuid.uuid4()
    slow, follow_up = (
        f"Which region sells the most, slowly ({busy_thread})?",
        (f"And for the west only ({busy_thread})?"),
    )
    first, second = _asked(slow, thread), _asked(follow_up, thread, busy_thread)
    HELD[slow] = gate = asyncio.Event()
    try:
        await publish_request(infra.kafka, first)
        await wait_until(
            lambda: any(f"Question: {slow}" in str(r) for r in stack.fake.requests),
            timeout_s=60,
            what="the first question at the model",
        )
        await publish_request(infra.kafka, second)
        # the first runs until the policy has acted on the second: no race with the clock
        await POLICY_ACTED[busy_thread](engine, first.payload.analysis_id, second.payload)
    finally:
        gate.set()
    rows = [
        await wait_terminal(engine, e.payload.analysis_id, timeout_s=120) for e in (first, second)
    ]
    asked_second = [r for r in stack.fake.requests if follow_up in str(r)]
    return rows[0], rows[1], asked_second


async def test_enqueue_runs_the_second_after_the_first_and_it_sees_the_first(
    two_orchestrators: TwoOrchestrators, infra: Infrastructure, engine: AsyncEngine
) -> None:
    first, second, asked = await _two_at_once(two_orchestrators, infra, engine, "enqueue")
    assert (first.status, second.status) == ("completed", "completed")
    assert asked, "the second question reached the model"
    prompt = str(asked[0]["messages"][1]["content"])
    assert prompt.startswith(
        "Earlier in this conversation:\nQ1: Which region sells the most, slowly (enqueue)?\n"
        f"A1: {first.answer}"
    )


async def test_reject_fails_the_second_while_the_first_runs(
    two_orchestrators: TwoOrchestrators, infra: Infrastructure, engine: AsyncEngine
) -> None:
    first, second, asked = await _two_at_once(two_orchestrators, infra, engine, "reject")
    assert first.status == "completed"
    assert second.status == "failed"
    assert second.error is not None
    assert second.error["code"] == "thread_busy"
    assert asked == [], "the rejected question never reached the model"


async def test_interrupt_cancels_the_first_and_runs_the_second(
    two_orchestrators: TwoOrchestrators, infra: Infrastructure, engine: AsyncEngine
) -> None:
    first, second, asked = await _two_at_once(two_orchestrators, infra, engine, "interrupt")
    assert first.status == "cancelled"
    assert second.status == "completed"
    prompt = str(asked[0]["messages"][1]["content"])
    assert not prompt.startswith("Earlier"), "a cancelled turn is not part of the thread"
