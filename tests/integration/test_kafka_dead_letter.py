"""Live proof of the consumer safety defaults: commit after success, bounded retries, DLQ."""

import time
import uuid
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from faststream.kafka import KafkaBroker

from sextant_contracts import AnalysisRequested, DeadLetter, Envelope, InlineDataset
from sextant_platform.kafka import RetryPolicy, broker_options, create_broker, durable_subscriber
from sextant_platform.kafka.subscription import subscriber_options
from tests.integration.infrastructure import Infrastructure
from tests.integration.kafka_helpers import committed_offset, produce_raw, read_all, wait_until


def _request(question: str) -> Envelope[AnalysisRequested]:
    payload = AnalysisRequested(
        analysis_id=uuid.uuid4(),
        question=question,
        inline_dataset=InlineDataset(media_type="text/csv", content="a,b\n1,2\n"),
    )
    return Envelope.wrap(payload, tenant_id="tenant-a")


async def test_failing_handler_leaves_offset_uncommitted_until_it_succeeds(
    infra: Infrastructure, fresh_topic: str, kafka_admin: AIOKafkaAdminClient
) -> None:
    # The broker's ack policy alone (no dead-letter middleware): an exception must not commit.
    broker = KafkaBroker(**broker_options(infra.kafka, client_id="test-nack"))
    group = f"g-{uuid.uuid4().hex[:8]}"
    deliveries: list[float] = []
    committed_while_failing: list[int | None] = []

    @broker.subscriber(fresh_topic, **subscriber_options(infra.kafka, group_id=group))
    async def handle(body: dict[str, Any]) -> None:
        deliveries.append(time.monotonic())
        if len(deliveries) < 3:
            committed_while_failing.append(await committed_offset(kafka_admin, group, fresh_topic))
            raise RuntimeError("downstream is down")

    async with broker:
        await broker.start()
        await broker.publish({"n": 1}, fresh_topic)
        await wait_until(lambda: len(deliveries) >= 3, what="redelivery after two failures")
        await broker.stop()  # a clean stop: the commit of the successful delivery is flushed
        offset_after_success = await committed_offset(kafka_admin, group, fresh_topic)

    assert len(deliveries) == 3, "a failed message is delivered again, not skipped"
    assert committed_while_failing == [None, None], "no offset is committed while the handler fails"
    assert offset_after_success == 1, "the offset is committed once the handler succeeds"


async def test_poison_message_goes_to_dlq_and_partition_moves_on(
    infra: Infrastructure, fresh_topic: str, kafka_admin: AIOKafkaAdminClient
) -> None:
    policy = RetryPolicy(max_attempts=3, backoff_s=1.0, backoff_max_s=2.0)
    broker = create_broker(infra.kafka, client_id="test-dlq", retry_policy=policy)
    group = f"g-{uuid.uuid4().hex[:8]}"
    processed: dict[str, float] = {}
    attempts_on_failing: list[int] = []

    @durable_subscriber(broker, fresh_topic, group_id=group, settings=infra.kafka)
    async def handle(event: Envelope[AnalysisRequested]) -> None:
        if event.payload.question == "always fails":
            attempts_on_failing.append(1)
            raise RuntimeError("tool backend exploded")
        processed[event.payload.question] = time.monotonic()

    async with broker:
        await broker.start()
        started = time.monotonic()
        await broker.publish(_request("first good").model_dump(mode="json"), fresh_topic)
        await produce_raw(infra.kafka, fresh_topic, [b"\xff\xfe not json at all \x00"])
        await broker.publish(_request("always fails").model_dump(mode="json"), fresh_topic)
        await broker.publish(_request("second good").model_dump(mode="json"), fresh_topic)

        await wait_until(lambda: "second good" in processed, what="the message behind the poison")
        second_good_latency = processed["second good"] - started
        dead = await read_all(infra.kafka, f"{fresh_topic}.dlq", expected=2, timeout_s=30)
        main_committed = await committed_offset(kafka_admin, group, fresh_topic)

    letters = sorted(
        (DeadLetter.model_validate_json(r.value) for r in dead), key=lambda d: d.offset
    )
    assert set(processed) == {"first good", "second good"}
    assert second_good_latency < policy.backoff_s, (
        "the failing message's retries did not block the partition"
    )
    assert [d.offset for d in letters] == [1, 2]
    poison, failing = letters
    assert poison.original_topic == fresh_topic
    assert poison.attempts == 1
    assert poison.error_type in {"ValidationError", "JSONDecodeError"}
    assert poison.original_text is None, "undecodable bytes are not forced into text"
    assert poison.original_base64, "undecodable bytes kept verbatim"
    assert failing.attempts == 3
    assert failing.error_type == "RuntimeError"
    assert "tool backend exploded" in failing.error_message
    assert failing.consumer_group is not None
    assert failing.consumer_group.startswith(group)
    assert len(attempts_on_failing) == 3, "bounded: exactly max_attempts deliveries"
    assert main_committed == 4, "every offset of the main topic was committed"


async def test_transient_failure_succeeds_on_retry_without_reaching_dlq(
    infra: Infrastructure, fresh_topic: str
) -> None:
    policy = RetryPolicy(max_attempts=3, backoff_s=0.2, backoff_max_s=1.0)
    broker = create_broker(infra.kafka, client_id="test-retry", retry_policy=policy)
    group = f"g-{uuid.uuid4().hex[:8]}"
    calls: list[str] = []

    @durable_subscriber(broker, fresh_topic, group_id=group, settings=infra.kafka)
    async def handle(event: Envelope[AnalysisRequested]) -> None:
        calls.append(event.payload.question)
        if len(calls) == 1:
            raise ConnectionError("database restarting")

    async with broker:
        await broker.start()
        await broker.publish(_request("flaky").model_dump(mode="json"), fresh_topic)
        await wait_until(lambda: len(calls) >= 2, what="the retry delivery")
        dead = await read_all(infra.kafka, f"{fresh_topic}.dlq", expected=1, timeout_s=2)

    assert calls == ["flaky", "flaky"]
    assert dead == []
