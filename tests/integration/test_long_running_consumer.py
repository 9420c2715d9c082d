"""The platform's LongRunningConsumer on the real Kafka: bounded concurrency that takes
the next record as soon as a slot frees, and commits only finished work."""

import asyncio
import subprocess
import time
import uuid

import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord

from sextant_platform.fatal import failures
from sextant_platform.kafka.long_running_consumer import LongRunningConsumer
from tests.integration.infrastructure import Infrastructure
from tests.integration.kafka_helpers import produce_raw, wait_until
from tests.integration.orchestrator.service import group_lag


async def test_at_full_concurrency_the_next_record_starts_when_a_slot_frees(
    infra: Infrastructure, fresh_topic: str
) -> None:
    """One slot, twelve 50 ms records: about 0.6 s. Polling the paused partition instead
    slept out a 500 ms poll timeout after every record (over 6 s)."""
    handled: list[bytes] = []
    in_flight = 0
    most_at_once = 0

    async def handler(record: ConsumerRecord[bytes, bytes]) -> None:
        nonlocal in_flight, most_at_once
        in_flight += 1
        most_at_once = max(most_at_once, in_flight)
        await asyncio.sleep(0.05)
        in_flight -= 1
        handled.append(record.value or b"")

    async def never(record: ConsumerRecord[bytes, bytes], error: BaseException) -> None:
        raise AssertionError(f"no record should fail: {error}")

    group = f"lrc-{uuid.uuid4().hex[:8]}"
    consumer = LongRunningConsumer(
        infra.kafka,
        [fresh_topic],
        group_id=group,
        client_id="lrc-test",
        handler=handler,
        on_error=never,
        max_in_flight=1,
        poll_timeout_ms=500,
    )
    await consumer.start()
    try:
        await consumer.wait_assigned(timeout_s=120)
        values = [f"r{i}".encode() for i in range(12)]
        started = time.monotonic()
        await produce_raw(infra.kafka, fresh_topic, values)
        await wait_until(lambda: len(handled) == len(values), what="every record handled")
        elapsed = time.monotonic() - started
        await wait_until_committed(infra, group, fresh_topic)
    finally:
        await consumer.stop()
    assert handled == values  # one partition, one slot: in order
    assert most_at_once == 1
    assert elapsed < 3.0, f"{elapsed:.2f}s for 12 records of 50 ms"


async def wait_until_committed(infra: Infrastructure, group: str, topic: str) -> None:
    deadline = time.monotonic() + 10
    while await group_lag(infra.kafka, group, topic) > 0:
        assert time.monotonic() < deadline, "offsets were not committed past finished work"
        await asyncio.sleep(0.2)


async def consume_all(infra: Infrastructure, topic: str, expected: list[bytes], label: str) -> None:
    """A LongRunningConsumer reads ``topic`` from the start: every expected record arrives,
    none fails, and the poll loop did not die."""
    handled: list[bytes] = []

    async def handler(record: ConsumerRecord[bytes, bytes]) -> None:
        handled.append(record.value or b"")

    async def never(record: ConsumerRecord[bytes, bytes], error: BaseException) -> None:
        raise AssertionError(f"no record should fail: {error}")

    consumer = LongRunningConsumer(
        infra.kafka,
        [topic],
        group_id=f"lrc-{label}-{uuid.uuid4().hex[:8]}",
        client_id="lrc-codec-test",
        handler=handler,
        on_error=never,
    )
    await consumer.start()
    try:
        await wait_until(lambda: len(handled) == len(expected), timeout_s=60, what=label)
    finally:
        await consumer.stop()
    assert sorted(handled) == sorted(expected)
    assert failures() == []


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
async def test_records_compressed_with_any_codec_are_consumed(
    infra: Infrastructure, fresh_topic: str, codec: str
) -> None:
    """A producer with compression on (common in Java clients and kcat) must not stop the
    loop: without the codec library aiokafka raised UnsupportedCodecError in getmany and
    the poll loop died silently."""
    producer = AIOKafkaProducer(
        bootstrap_servers=infra.kafka.BOOTSTRAP_SERVERS, compression_type=codec, acks="all"
    )
    await producer.start()
    try:
        batch = [f"{codec}-{i}".encode() * 20 for i in range(5)]
        for value in batch:
            await producer.send(fresh_topic, value)
        await producer.flush()
    finally:
        await producer.stop()
    await consume_all(infra, fresh_topic, batch, f"aiokafka-{codec}")


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
async def test_records_kcat_compressed_are_consumed(
    infra: Infrastructure, fresh_topic: str, codec: str
) -> None:
    """The same with a non-Python producer: kcat (librdkafka, which Java and Go clients
    resemble) batching and compressing the records itself."""
    batch = [f"kcat-{codec}-{i}-".encode() * 40 for i in range(5)]
    await asyncio.to_thread(
        subprocess.run,
        ["kcat", "-P", "-b", infra.kafka.BOOTSTRAP_SERVERS, "-t", fresh_topic, "-z", codec],
        input=b"\n".join(batch) + b"\n",
        check=True,
        timeout=60,
    )
    await consume_all(infra, fresh_topic, batch, f"kcat-{codec}")
