"""The SSE stream over a real HTTP server: the recorder consumes the real Kafka topics,
PostgreSQL holds the history, LISTEN/NOTIFY wakes the stream."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sextant_cli.rest import StreamEvent, sse_events
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_contracts import AnalysisCompleted, AnalysisProgressed, Envelope
from sextant_ingress.bootstrap import use_cases
from sextant_ingress.domain.datasets import DatasetLimits
from sextant_ingress.domain.events import AnalysisEvent
from sextant_ingress.infrastructure.event_wakeups import EventWakeups
from sextant_ingress.infrastructure.kafka_dead_letters import KafkaDeadLetters
from sextant_ingress.infrastructure.postgres_api_keys import PostgresApiKeys
from sextant_ingress.infrastructure.postgres_events import NOTIFY_CHANNEL, PostgresEventLog
from sextant_ingress.presentation.api import create_app
from sextant_ingress.presentation.event_recorder import (
    ANNOUNCED,
    FOLLOWED,
    event_recorder_consumer,
)
from sextant_ingress.presentation.event_stream import EventFeed
from sextant_kafka import create_broker
from sextant_platform.http_server import http_server
from sextant_storage.outbox import enqueue
from tests.integration.infrastructure import Infrastructure
from tests.integration.kafka_helpers import (
    eventually,
    produce_raw,
    read_all,
    skip_group_to_end,
    wait_until,
)
from tests.integration.processes import free_port

CSV = "region,sales\nnorth,1.5\nsouth,2.5\n"
FOLLOWED_TOPICS = [*FOLLOWED, *ANNOUNCED]


@dataclass
class LiveApi:
    base_url: str
    headers: dict[str, str]
    tenant: str


@pytest.fixture(scope="module")
async def live(infra: Infrastructure, engine: AsyncEngine) -> AsyncIterator[LiveApi]:
    group = f"ingress-events-it-{uuid.uuid4().hex[:8]}"
    await skip_group_to_end(infra.kafka, group, FOLLOWED_TOPICS)
    tenant = f"sse-{uuid.uuid4().hex[:8]}"
    keys = PostgresApiKeys(engine)
    key = await keys.create(tenant_id=tenant)
    broker = create_broker(infra.kafka, client_id="ingress-events-it")
    log = PostgresEventLog(engine)
    recorder_consumer, recorder = event_recorder_consumer(
        broker, log, settings=infra.kafka, group_id=group, client_id="ingress-events-it"
    )
    wakeups = EventWakeups(infra.postgres, channel=NOTIFY_CHANNEL)
    # A poll interval far longer than any wait below: only a notification can wake a stream.
    feed = EventFeed(log, wakeups, poll_interval_s=60, keepalive_s=120)
    limits = DatasetLimits(max_bytes=1_000_000, max_rows=1000)
    app = create_app(
        use_cases(
            engine,
            dead_letters=KafkaDeadLetters(infra.kafka, client_id="test-dead-letters"),
            relay=None,
            feed=feed,
            keys=keys,
            limits=limits,
        ),
        checks={},
    )
    port = free_port()
    server = http_server(app, host="127.0.0.1", port=port)
    wakeups.start()
    await broker.start()
    await recorder_consumer.start()
    serving = asyncio.create_task(server.serve())
    await wait_until(lambda: server.started and wakeups.listening.is_set(), what="server up")
    try:
        yield LiveApi(f"http://127.0.0.1:{port}", {"X-API-Key": key}, tenant)
    finally:
        server.should_exit = True
        await serving
        await recorder_consumer.stop()
        await recorder.writes.aclose()
        await broker.stop()
        await wakeups.stop()
        async with engine.begin() as connection:  # no relay here: retire our requests
            await connection.execute(
                text(
                    "UPDATE outbox SET published_at = now()"
                    " WHERE published_at IS NULL AND payload->>'tenant_id' = :tenant"
                ),
                {"tenant": tenant},
            )


async def submit(live: LiveApi) -> str:
    async with httpx.AsyncClient(base_url=live.base_url, headers=live.headers) as client:
        body = {
            "question": "Mean sales?",
            "inline_dataset": {"media_type": "text/csv", "content": CSV},
        }
        response = await client.post("/v1/analyses", json=body)
    assert response.status_code == 202, response.text
    return str(response.json()["analysis_id"])


def progress(live: LiveApi, analysis_id: str, sequence: int) -> Envelope[AnalysisProgressed]:
    step = "profile"
    status = "started" if sequence % 2 == 0 else "completed"
    return Envelope.wrap(
        AnalysisProgressed.model_validate(
            {"analysis_id": analysis_id, "sequence": sequence, "step": step, "status": status}
        ),
        tenant_id=live.tenant,
    )


async def publish(
    infra: Infrastructure, topic: str, analysis_id: str, envelope: Envelope[Any]
) -> None:
    await produce_raw(
        infra.kafka, topic, [envelope.model_dump_json().encode()], key=analysis_id.encode()
    )


async def read_stream(
    live: LiveApi,
    analysis_id: str,
    into: list[tuple[float, StreamEvent]],
    last_event_id: str | None = None,
) -> None:
    headers = {**live.headers, **({"Last-Event-ID": last_event_id} if last_event_id else {})}
    async with (
        httpx.AsyncClient(base_url=live.base_url, headers=headers, timeout=90) as client,
        client.stream("GET", f"/v1/analyses/{analysis_id}/events") as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for frame in sse_events(response):
            into.append((time.monotonic(), frame))


async def test_stream_follows_live_events_and_resumes_after_last_event_id(
    live: LiveApi, infra: Infrastructure
) -> None:
    analysis_id = await submit(live)
    received: list[tuple[float, StreamEvent]] = []
    reader = asyncio.create_task(read_stream(live, analysis_id, received))
    await asyncio.sleep(0.5)  # the stream is open and waiting

    first = progress(live, analysis_id, 0)
    published_at = time.monotonic()
    await publish(infra, "analysis.progress.v1", analysis_id, first)
    await wait_until(lambda: len(received) == 1, timeout_s=15, what="the first live frame")
    # Woken by NOTIFY: the stream's own poll interval is 60 s.
    assert received[0][0] - published_at < 10

    second = progress(live, analysis_id, 1)
    await publish(infra, "analysis.progress.v1", analysis_id, second)
    await publish(infra, "analysis.progress.v1", analysis_id, first)  # a redelivery
    done = Envelope.wrap(
        AnalysisCompleted.model_validate({"analysis_id": analysis_id, "answer": "42 [T1]"}),
        tenant_id=live.tenant,
    )
    await publish(infra, "analysis.completed.v1", analysis_id, done)
    await asyncio.wait_for(reader, timeout=30)  # the stream ends after the terminal event

    assert [(f.id, f.event) for _, f in received] == [
        ("0", "progress"),
        ("1", "progress"),
        ("1000000", "completed"),
    ]
    assert [f.data["event_id"] for _, f in received] == [
        str(first.event_id),
        str(second.event_id),
        str(done.event_id),
    ]
    assert received[2][1].data["payload"]["answer"] == "42 [T1]"

    resumed: list[tuple[float, StreamEvent]] = []
    await asyncio.wait_for(read_stream(live, analysis_id, resumed, last_event_id="0"), timeout=10)
    assert [f.id for _, f in resumed] == ["1", "1000000"]


async def test_a_poison_event_is_dead_lettered_and_recording_goes_on(
    live: LiveApi, infra: Infrastructure, engine: AsyncEngine
) -> None:
    poison_key = f"poison-{uuid.uuid4()}".encode()
    await produce_raw(
        infra.kafka, "analysis.progress.v1", [b'{"not": "an envelope"}'], key=poison_key
    )
    analysis_id = await submit(live)
    event = progress(live, analysis_id, 0)
    await publish(infra, "analysis.progress.v1", analysis_id, event)

    dead = await read_all(infra.kafka, "analysis.progress.v1.dlq", expected=1, key=poison_key)
    assert len(dead) == 1
    assert b"ValidationError" in dead[0].value

    async def recorded() -> list[Any]:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT event_id FROM analysis_events WHERE analysis_id = :id"),
                {"id": analysis_id},
            )
            return list(rows.scalars())

    assert await eventually(recorded, until=bool, what="the valid event recorded") == [
        event.event_id
    ]


async def test_a_terminal_event_recorded_early_waits_for_the_progress_it_announces(
    live: LiveApi, infra: Infrastructure
) -> None:
    analysis_id = await submit(live)
    await publish(infra, "analysis.progress.v1", analysis_id, progress(live, analysis_id, 0))
    done = Envelope.wrap(
        AnalysisCompleted.model_validate(
            {"analysis_id": analysis_id, "answer": "done", "last_progress_sequence": 1}
        ),
        tenant_id=live.tenant,
    )
    await publish(infra, "analysis.completed.v1", analysis_id, done)  # overtakes progress 1
    received: list[tuple[float, StreamEvent]] = []
    reader = asyncio.create_task(read_stream(live, analysis_id, received))
    await wait_until(lambda: len(received) == 1, timeout_s=15, what="the first frame")
    await asyncio.sleep(1)
    assert [f.id for _, f in received] == ["0"]  # the terminal event is held back
    await publish(infra, "analysis.progress.v1", analysis_id, progress(live, analysis_id, 1))
    await asyncio.wait_for(reader, timeout=15)
    assert [f.id for _, f in received] == ["0", "1", "1000000"]


async def test_an_analysis_finished_before_its_events_were_recorded_still_ends_its_stream(
    live: LiveApi, engine: AsyncEngine
) -> None:
    analysis_id = await submit(live)
    done = Envelope.wrap(
        AnalysisCompleted.model_validate({"analysis_id": analysis_id, "answer": "old news"}),
        tenant_id=live.tenant,
    )
    async with engine.begin() as connection:  # finished an hour ago; nothing recorded
        await enqueue(connection, topic="analysis.completed.v1", key=analysis_id, envelope=done)
        await connection.execute(
            text(
                "UPDATE analyses SET status = 'completed', terminal_event_id = :event_id,"
                " finished_at = now() - interval '1 hour' WHERE analysis_id = :id"
            ),
            {"event_id": done.event_id, "id": analysis_id},
        )
        await connection.execute(
            text("UPDATE outbox SET published_at = now() WHERE event_id = :event_id"),
            {"event_id": done.event_id},
        )
    received: list[tuple[float, StreamEvent]] = []
    await asyncio.wait_for(read_stream(live, analysis_id, received), timeout=15)
    assert [(f.id, f.event) for _, f in received] == [("1000000", "completed")]
    assert received[0][1].data["event_id"] == str(done.event_id)
    assert received[0][1].data["payload"]["answer"] == "old news"


async def test_another_tenants_event_for_the_same_analysis_id_does_not_take_its_place(
    engine: AsyncEngine,
) -> None:
    """A producer of another tenant publishes an event for an analysis id it does not
    own, first: the owner's event with the same sequence is still recorded, and each
    tenant reads only its own. (The log was keyed without the tenant: the owner's event
    was dropped as a duplicate.)"""
    log = PostgresEventLog(engine)
    analysis_id = uuid.uuid4()

    def event(tenant: str, message: str) -> AnalysisEvent:
        return AnalysisEvent(
            analysis_id=analysis_id,
            sequence=3,
            event_id=uuid.uuid4(),
            tenant_id=tenant,
            kind="progress",
            envelope={"payload": {"message": message}},
        )

    assert await log.record(event("intruder", "forged"))
    assert await log.record(event("owner", "real"))
    assert not await log.record(event("owner", "real, redelivered"))

    owned = await log.after(analysis_id, tenant_id="owner", sequence=0)
    assert [e.envelope["payload"]["message"] for e in owned] == ["real"]
