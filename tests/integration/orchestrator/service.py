"""Driving ``python -m sextant_orchestrator`` as a real process, and observing it.

Requests are published straight to ``analysis.requested.v1`` as any producer would; the
outcome is read where users read it: the ``analyses`` row and the result topics.
"""

import asyncio
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_contracts import AnalysisInterrupted, AnalysisRequested, Envelope, WorkflowStep
from sextant_contracts.catalogue import ANALYSIS_CANCEL_REQUESTED as CANCEL_REQUESTED
from sextant_contracts.catalogue import ANALYSIS_RESUME_REQUESTED as RESUME_REQUESTED
from sextant_contracts.interrupts import InterruptKind, response_schema
from sextant_orchestrator.domain.interrupts import clarification, interrupt_id
from sextant_platform.settings import KafkaSettings
from tests.integration.infrastructure import Infrastructure
from tests.integration.kafka_helpers import eventually, produce_raw, read_all, skip_group_to_end
from tests.integration.orchestrator.fake_openai import FakeOpenAI, Scripted, completion
from tests.integration.processes import ServiceProcess, free_port

TENANT = "acme"
SALES_CSV = (
    "region,sales,units\n"
    "north,120.5,10\nsouth,80.0,7\nnorth,99.5,9\neast,150.25,12\nsouth,60.0,5\neast,49.75,4\n"
)
DOCUMENTS = [
    {"document_id": "memo-1", "title": "Pricing memo", "text": "Prices rose in the north in May."},
    {
        "document_id": "memo-2",
        "title": "Regional sales",
        "text": "Sales by region: the east leads.",
    },
]
TERMINAL = ("completed", "failed", "cancelled")
STEPS = [step.value for step in WorkflowStep]  # the workflow's order

ANSWER = "The east sells the most (200.0) [T1], 36% of all sales; sales track units [T2]. See [D1]."
ANSWER_UNGROUNDED = ["36%"]
"""East's share is 35.7%, which no tool computed: the answer reports 36% as unverified."""


def saw_tool_results(body: dict[str, Any]) -> bool:
    """A planning request of a later round: the conversation holds the tools' answers."""
    return any(m.get("role") == "tool" for m in body.get("messages", []))


def plan_then_answer(body: dict[str, Any]) -> Scripted:
    """Planning requests carry the tool catalogue; synthesis requests do not. Like a real
    model, the planner calls tools in round 1 and, once it has their results, calls none
    and answers (that reply is the answer when there are no documents; with documents a
    synthesis call writes it)."""
    if "tools" in body and saw_tool_results(body):
        return completion(ANSWER)
    if "tools" in body:
        return completion(
            tool_calls=[
                ("group_by_aggregate", {"by": ["region"], "metric": "sales", "aggregation": "sum"}),
                ("correlation_matrix", {"method": "pearson", "columns": ["sales", "units"]}),
            ]
        )
    return completion(ANSWER)


def planning_requests(fake: FakeOpenAI) -> int:
    return sum(1 for r in fake.requests if "tools" in r)


def llm_env(fake: FakeOpenAI, **extra: str) -> dict[str, str]:
    return {
        "LLM_PROVIDER": "openai-compatible",
        "LLM_BASE_URL": fake.base_url,
        "LLM_MODEL": "gpt-test",
        "LLM_TIMEOUT_S": "30",
        "LLM_BACKOFF_S": "0.05",
        "LLM_MAX_ATTEMPTS": "2",
        **extra,
    }


async def group_lag(settings: KafkaSettings, group_id: str, topic: str) -> int:
    """Records of ``topic`` that ``group_id`` has not committed past (0: caught up)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.BOOTSTRAP_SERVERS, group_id=group_id, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        ends = await consumer.end_offsets(partitions)
        lag = 0
        for partition in partitions:
            committed = await consumer.committed(partition)
            lag += ends[partition] - (committed or 0)
        return lag
    finally:
        await consumer.stop()


async def wait_caught_up(settings: KafkaSettings, group_id: str, topic: str) -> None:
    deadline = time.monotonic() + 60
    while (lag := await group_lag(settings, group_id, topic)) > 0:
        if time.monotonic() > deadline:
            raise AssertionError(f"{group_id} still {lag} behind on {topic}")
        await asyncio.sleep(0.3)


def orchestrator_process(
    infra: Infrastructure, *, name: str, group: str, llm_env: dict[str, str], port: int
) -> ServiceProcess:
    return ServiceProcess(
        "sextant_orchestrator",
        infra,
        env={
            "SEXTANT_ORCHESTRATOR_HTTP_PORT": str(port),
            "SEXTANT_ORCHESTRATOR_CONSUMER_GROUP": group,
            "SEXTANT_ORCHESTRATOR_LEASE_S": "3",
            # The sweep is tested on its own (test_lifecycle_sweep.py); here it would
            # drive other tests' leftover analyses into this process's fake model.
            "SEXTANT_ORCHESTRATOR_SWEEP_INTERVAL_S": "86400",
            "SEXTANT_ORCHESTRATOR_SERVICE_TIMEOUT_S": "60",
            "SEXTANT_ORCHESTRATOR_OUTBOX_POLL_S": "0.5",
            # Sized for a loaded 2-core box (a stalled heartbeat under 6 s rebalanced the
            # group mid-test); still short enough for a takeover after kill -9.
            "KAFKA_SESSION_TIMEOUT_MS": "10000",
            **llm_env,
        },
        name=name,
    )


async def start_orchestrator(
    infra: Infrastructure,
    *,
    name: str,
    group: str,
    llm_env: dict[str, str],
    new_group: bool = True,
) -> tuple[ServiceProcess, int]:
    """Start the process and wait until it is ready; a new group starts at the topic's end."""
    if new_group:
        await skip_group_to_end(infra.kafka, group, ["analysis.requested.v1"])
        await skip_group_to_end(
            infra.kafka, f"{group}.cancel", [CANCEL_REQUESTED.name, RESUME_REQUESTED.name]
        )
    port = free_port()
    process = orchestrator_process(infra, name=name, group=group, llm_env=llm_env, port=port)
    process.start()
    await asyncio.to_thread(process.wait_http, f"http://127.0.0.1:{port}/readyz", timeout_s=180)
    return process, port


def request_envelope(
    *,
    question: str = "Which region sells the most, and are sales and units related?",
    dataset_id: uuid.UUID | None = None,
    tenant_id: str = TENANT,
) -> Envelope[AnalysisRequested]:
    """A request over the sales CSV inline, or over a stored dataset."""
    data: dict[str, Any] = (
        {"dataset_id": str(dataset_id)}
        if dataset_id
        else {"inline_dataset": {"media_type": "text/csv", "content": SALES_CSV}}
    )
    request = AnalysisRequested.model_validate(
        {
            "analysis_id": str(uuid.uuid4()),
            "question": question,
            **data,
            "documents": DOCUMENTS,
            "options": {"max_tool_calls": 4, "top_k_passages": 2},
        }
    )
    return Envelope.wrap(request, tenant_id=tenant_id, correlation_id=f"test-{request.analysis_id}")


async def publish_request(settings: KafkaSettings, envelope: Envelope[Any]) -> None:
    payload = envelope.payload
    key = str(payload.analysis_id).encode()
    topic = (
        "analysis.requested.v1"
        if isinstance(payload, AnalysisRequested)
        else "analysis.cancel-requested.v1"
    )
    await produce_raw(settings, topic, [envelope.model_dump_json().encode()], key=key)


@dataclass
class AnalysisRow:
    status: str
    answer: str | None
    citations: list[dict[str, Any]]
    ungrounded_numbers: list[str]
    tool_calls: list[dict[str, Any]]
    usage: dict[str, Any]
    error: dict[str, Any] | None
    terminal_event_id: uuid.UUID | None
    attempts: int
    findings: list[dict[str, Any]]
    ungrounded_values: list[str]


async def analysis_row(engine: AsyncEngine, analysis_id: uuid.UUID) -> AnalysisRow | None:
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "SELECT status, answer, citations, ungrounded_numbers, tool_calls, usage,"
                    " error, terminal_event_id, attempts, findings, ungrounded_values"
                    " FROM analyses WHERE analysis_id = :id"
                ),
                {"id": analysis_id},
            )
        ).one_or_none()
    return None if row is None else AnalysisRow(*row)


async def count_rows(engine: AsyncEngine, analysis_id: uuid.UUID) -> int:
    async with engine.connect() as connection:
        return int(
            (
                await connection.execute(
                    text("SELECT count(*) FROM analyses WHERE analysis_id = :id"),
                    {"id": analysis_id},
                )
            ).scalar_one()
        )


async def wait_cancel_flagged(
    engine: AsyncEngine, analysis_id: uuid.UUID, *, timeout_s: float = 60
) -> None:
    """Until the orchestrator has recorded a cancel command in the analysis's row.

    Why: a POST /cancel answers once the command is stored for publishing; the run sees
    it at a step boundary only after the orchestrator consumed it. A test that lets the
    run's last step go before then races it (the run may rightly complete)."""
    query = text("SELECT cancel_requested_at FROM analyses WHERE analysis_id = :id")

    async def flagged_at() -> datetime | None:
        async with engine.connect() as connection:
            return (await connection.execute(query, {"id": analysis_id})).scalar_one_or_none()

    await eventually(
        flagged_at,
        until=lambda at: at is not None,
        timeout_s=timeout_s,
        what=f"the cancel of {analysis_id} recorded",
    )


async def wait_terminal(
    engine: AsyncEngine, analysis_id: uuid.UUID, *, timeout_s: float = 120, process: Any = None
) -> AnalysisRow:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        row = await analysis_row(engine, analysis_id)
        if row is not None and row.status in TERMINAL:
            return row
        await asyncio.sleep(0.2)
    tail = process.tail(60) if process is not None else ""
    raise AssertionError(f"analysis {analysis_id} not terminal after {timeout_s}s\n{tail}")


async def events_for(
    settings: KafkaSettings,
    topic: str,
    analysis_id: uuid.UUID,
    *,
    expected: int,
    timeout_s: float = 20,
) -> list[dict[str, Any]]:
    """Every event on ``topic`` about ``analysis_id`` (the key), plus any late duplicate."""
    records = await read_all(
        settings,
        topic,
        expected=expected,
        timeout_s=timeout_s,
        key=str(analysis_id).encode(),
        linger_polls=4,
    )
    return [json.loads(r.value) for r in records]


def started_steps(progress: list[dict[str, Any]]) -> Counter[str]:
    return Counter(e["payload"]["step"] for e in progress if e["payload"]["status"] == "started")


def interrupted_event(
    analysis_id: uuid.UUID, *, expires_at: datetime | None = None
) -> Envelope[AnalysisInterrupted]:
    """A clarification the analysis pauses on (which column "profit" means)."""
    asked = clarification("profit", [], ["sales"])
    event = AnalysisInterrupted(
        analysis_id=analysis_id,
        interrupt_id=interrupt_id(analysis_id, asked["key"]),
        kind=InterruptKind.CLARIFICATION,
        prompt=asked["prompt"],
        options=asked["options"],
        response_schema=response_schema(InterruptKind.CLARIFICATION, asked["options"]),
        step=WorkflowStep.PLAN,
        expires_at=expires_at,
    )
    return Envelope.wrap(event, tenant_id=TENANT)
