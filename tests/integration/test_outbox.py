"""The outbox relay against the real PostgreSQL and Kafka: rows it can never publish, and
rows of a topic Kafka fails to take."""

import asyncio
import contextlib
import json
import secrets
import uuid

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError
from opentelemetry import context as otel_context
from opentelemetry import propagate
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_contracts import AnalysisProgressed, Envelope, StepStatus, WorkflowStep
from sextant_kafka import create_broker
from sextant_platform.settings import TelemetrySettings
from sextant_platform.telemetry import configure_tracing
from sextant_storage.outbox import OutboxRelay, enqueue
from tests.integration.infrastructure import Infrastructure
from tests.integration.kafka_helpers import read_all

_ROW = text("SELECT published_at, failure FROM outbox WHERE event_id = :event_id")


def _progress(message: str) -> Envelope[AnalysisProgressed]:
    event = AnalysisProgressed(
        analysis_id=uuid.uuid4(),
        sequence=0,
        step=WorkflowStep.PROFILE,
        status=StepStatus.STARTED,
        message=message,
    )
    return Envelope.wrap(event, tenant_id="outbox-test")


async def _relay_everything(infra: Infrastructure, engine: AsyncEngine) -> None:
    """One relay publishes every waiting row (other tests' rows may be waiting too)."""
    broker = create_broker(infra.kafka, client_id="outbox-test")
    await broker.start()
    relay = OutboxRelay(engine, broker, batch_size=1000)
    try:
        while await relay.relay_once():
            pass
    finally:
        await broker.stop()


async def _read_event_ids(infra: Infrastructure, topic: str) -> list[str]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=infra.kafka.BOOTSTRAP_SERVERS, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        records = await consumer.getmany(timeout_ms=10_000)
    finally:
        await consumer.stop()
    return [json.loads(r.value)["event_id"] for batch in records.values() for r in batch]


async def test_a_row_too_large_for_kafka_is_left_out_not_retried_before_the_rest(
    infra: Infrastructure, engine: AsyncEngine, fresh_topic: str
) -> None:
    too_large, fine = _progress("x"), _progress("fine")
    oversized = json.loads(too_large.model_dump_json())
    oversized["payload"]["message"] = "x" * 1_200_000  # over the 1 MiB message limit
    async with engine.begin() as connection:
        await enqueue(connection, topic=fresh_topic, key="k", envelope=too_large)
        await connection.execute(
            text("UPDATE outbox SET payload = CAST(:payload AS jsonb) WHERE event_id = :id"),
            {"payload": json.dumps(oversized), "id": too_large.event_id},
        )
        await enqueue(connection, topic=fresh_topic, key="k", envelope=fine)
    await _relay_everything(infra, engine)

    async with engine.connect() as connection:
        given_up = (await connection.execute(_ROW, {"event_id": too_large.event_id})).one()
        published = (await connection.execute(_ROW, {"event_id": fine.event_id})).one()
    assert given_up.published_at is not None
    assert "MessageSizeTooLargeError" in given_up.failure
    assert published.published_at is not None
    assert published.failure is None
    assert await _read_event_ids(infra, fresh_topic) == [str(fine.event_id)]


async def test_a_topic_kafka_cannot_take_holds_back_only_its_own_rows(
    infra: Infrastructure,
    engine: AsyncEngine,
    fresh_topic: str,
    kafka_admin: AIOKafkaAdminClient,
) -> None:
    """A row for a topic that does not exist (yet) waits, in place, while the rows
    after it on other topics are published; once the topic exists it goes too. (It used
    to fail the whole batch, again and again: every event behind it waited.)"""
    missing = f"test.missing.{uuid.uuid4().hex[:12]}"
    waiting, fine = _progress("waits for its topic"), _progress("goes at once")
    async with engine.begin() as connection:
        await enqueue(connection, topic=missing, key="k", envelope=waiting)
        await enqueue(connection, topic=fresh_topic, key="k", envelope=fine)
    broker = create_broker(infra.kafka, client_id="outbox-test")
    await broker.start()
    relay = OutboxRelay(engine, broker, batch_size=1000, poll_interval_s=0.5, topic_timeout_s=2)
    try:
        while await relay.relay_once():  # other tests' rows may be waiting too
            pass
        async with engine.connect() as connection:
            held = (await connection.execute(_ROW, {"event_id": waiting.event_id})).one()
            published = (await connection.execute(_ROW, {"event_id": fine.event_id})).one()
        assert published.published_at is not None
        assert (held.published_at, held.failure) == (None, None)  # still waiting, not dropped
        assert await _read_event_ids(infra, fresh_topic) == [str(fine.event_id)]

        await kafka_admin.create_topics([NewTopic(missing, 1, 1)])
        async with asyncio.timeout(60):
            while True:
                with contextlib.suppress(KafkaError, TimeoutError):  # not in metadata yet
                    await relay.relay_once()
                async with engine.connect() as connection:
                    row = (await connection.execute(_ROW, {"event_id": waiting.event_id})).one()
                if row.published_at is not None:
                    break
                await asyncio.sleep(0.5)
    finally:
        await broker.stop()
        async with engine.begin() as connection:  # never left for other relays to try
            await connection.execute(
                text("DELETE FROM outbox WHERE topic = :topic"), {"topic": missing}
            )
    assert await _read_event_ids(infra, missing) == [str(waiting.event_id)]


async def test_a_row_is_published_in_the_trace_of_the_work_that_enqueued_it(
    infra: Infrastructure, engine: AsyncEngine, fresh_topic: str
) -> None:
    """The relay publishes later, in another task: without the stored trace context
    every event would start a trace of its own instead of joining its analysis's."""
    configure_tracing("outbox-test", TelemetrySettings())  # as every service does
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    enqueuing = propagate.extract({"traceparent": f"00-{trace_id}-{span_id}-01"})
    event, untraced = _progress("traced"), _progress("no trace around it")
    token = otel_context.attach(enqueuing)
    try:
        async with engine.begin() as connection:
            await enqueue(connection, topic=fresh_topic, key="k", envelope=event)
    finally:
        otel_context.detach(token)
    async with engine.begin() as connection:
        await enqueue(connection, topic=fresh_topic, key="k", envelope=untraced)
    await _relay_everything(infra, engine)

    records = await read_all(infra.kafka, fresh_topic, expected=2)
    traces = {
        json.loads(r.value)["payload"]["message"]: (
            dict(r.headers or ())["traceparent"].decode().split("-")[1]
        )
        for r in records
    }
    assert traces["traced"] == trace_id, "published as a child of the enqueuing span"
    assert traces["no trace around it"] != trace_id, "a trace of its own"
