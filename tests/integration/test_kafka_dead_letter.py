"""Live proof of the consumer safety rules: commit after success, DLQ with the reason,
and a poison record never blocks the records behind it.

Every service consumes through ``dead_lettering_consumer`` (one mechanism, one policy);
the FastStream broker's own ack policy is pinned too, for the subscribers tests and
tools still write on it.
"""

import time
import uuid
from typing import Any

from aiokafka import ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient
from faststream.kafka import KafkaBroker

from sextant_contracts import AnalysisRequested, DeadLetter, Envelope, InlineDataset
from sextant_kafka import broker_options, create_broker
from sextant_kafka.long_running_consumer import dead_lettering_consumer
from tests.integration.infrastructure import Infrastructure
from tests.integration.kafka_helpers import (
    committed_offset,
    eventually,
    produce_raw,
    read_all,
    wait_until,
)


def _request(question: str) -> bytes:
    payload = AnalysisRequested(
        analysis_id=uuid.uuid4(),
        question=question,
        inline_dataset=InlineDataset(media_type="text/csv", content="a,b\n1,2\n"),
    )
    return Envelope.wrap(payload, tenant_id="tenant-a").model_dump_json().encode()


async def test_failing_handler_leaves_offset_uncommitted_until_it_succeeds(
    infra: Infrastructure, fresh_topic: str, kafka_admin: AIOKafkaAdminClient
) -> None:
    # The broker's ack policy alone: an exception must not commit.
    broker = KafkaBroker(**broker_options(infra.kafka, client_id="test-nack"))
    group = f"g-{uuid.uuid4().hex[:8]}"
    deliveries: list[float] = []
    committed_while_failing: list[int | None] = []

    @broker.subscriber(fresh_topic, group_id=group, auto_offset_reset="earliest")
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


async def test_poison_records_go_to_the_dlq_with_the_reason_and_the_partition_moves_on(
    infra: Infrastructure, fresh_topic: str, kafka_admin: AIOKafkaAdminClient
) -> None:
    broker = create_broker(infra.kafka, client_id="test-dlq")
    group = f"g-{uuid.uuid4().hex[:8]}"
    processed: list[str] = []
    failing_deliveries: list[int] = []

    async def handle(record: ConsumerRecord[bytes, bytes]) -> None:
        event = Envelope[AnalysisRequested].model_validate_json(record.value or b"")
        if event.payload.question == "always fails":
            failing_deliveries.append(record.offset)
            raise RuntimeError("tool backend exploded")
        processed.append(event.payload.question)

    consumer = dead_lettering_consumer(
        broker,
        infra.kafka,
        [fresh_topic],
        group_id=group,
        client_id="test-dlq",
        handler=handle,
        max_in_flight=1,  # one at a time: the good record waits behind the poison ones
    )
    async with broker:
        await broker.start()
        await consumer.start()
        try:
            await produce_raw(
                infra.kafka,
                fresh_topic,
                [
                    _request("first good"),
                    b"\xff\xfe not json at all \x00",
                    _request("always fails"),
                    _request("second good"),
                ],
            )
            await wait_until(
                lambda: "second good" in processed, what="the record behind the poison"
            )
            dead = await read_all(infra.kafka, f"{fresh_topic}.dlq", expected=2, timeout_s=30)
            await eventually(
                lambda: committed_offset(kafka_admin, group, fresh_topic),
                until=lambda offset: offset == 4,
                what="every offset committed",
            )
        finally:
            await consumer.stop()

    letters = sorted(
        (DeadLetter.model_validate_json(r.value) for r in dead), key=lambda d: d.offset
    )
    assert processed == ["first good", "second good"]
    assert [d.offset for d in letters] == [1, 2]
    poison, failing = letters
    assert poison.original_topic == fresh_topic
    assert poison.error_type == "ValidationError"
    assert poison.original_text is None, "undecodable bytes are not forced into text"
    assert poison.original_base64, "undecodable bytes kept verbatim"
    assert failing.error_type == "RuntimeError"
    assert "tool backend exploded" in failing.error_message
    assert failing.consumer_group == group
    assert failing.attempts == 1
    assert failing_deliveries == [2], "dead-lettered at once: no redelivery loop"
