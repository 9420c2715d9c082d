"""The platform's LongRunningConsumer on the real Kafka: bounded concurrency that takes
the next record as soon as a slot frees, and commits only finished work."""

import asyncio
import subprocess
import time
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord

from sextant_kafka.long_running_consumer import LongRunningConsumer
from sextant_platform.fatal import failures
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


async def _failing_record_with(
    infra: Infrastructure, topic: str, on_error: Any, on_fatal: Any
) -> LongRunningConsumer:
    """A consumer whose handler always fails, over one record on ``topic``."""

    async def handler(record: ConsumerRecord[bytes, bytes]) -> None:
        raise RuntimeError("the handler failed")

    await produce_raw(infra.kafka, topic, [b"doomed"])
    consumer = LongRunningConsumer(
        infra.kafka,
        [topic],
        group_id=f"lrc-dlq-{uuid.uuid4().hex[:8]}",
        client_id="lrc-dlq-test",
        handler=handler,
        on_error=on_error,
        dead_letter_patience_s=1.0,
        on_fatal=on_fatal,
    )
    await consumer.start()
    return consumer


async def test_a_dead_letter_publish_that_fails_for_a_moment_is_retried(
    infra: Infrastructure, fresh_topic: str
) -> None:
    """The DLQ publish failing once (the broker busy) is retried, and the record is then
    finished (committed past), instead of staying neither retried nor committed."""
    attempts: list[bytes] = []
    deaths: list[str] = []

    async def flaky_dead_letter(record: ConsumerRecord[bytes, bytes], error: BaseException) -> None:
        attempts.append(record.value or b"")
        if len(attempts) == 1:
            raise ConnectionError("the broker is busy")

    consumer = await _failing_record_with(
        infra, fresh_topic, flaky_dead_letter, lambda what, error: deaths.append(what)
    )
    try:
        await wait_until(lambda: len(attempts) >= 2, timeout_s=30, what="the retried DLQ publish")
        await wait_until(
            lambda: consumer.in_flight == 0, timeout_s=10, what="the record to be finished"
        )
    finally:
        await consumer.stop()
    assert attempts == [b"doomed", b"doomed"]
    assert deaths == []
    assert await group_lag(infra.kafka, consumer.group_id, fresh_topic) == 0


async def test_a_record_that_cannot_be_dead_lettered_stops_the_process(
    infra: Infrastructure, fresh_topic: str
) -> None:
    """After the patience, a record that can be neither handled nor dead-lettered is a
    fatal failure: the process stops (and its supervisor restarts it, so the record is
    redelivered) instead of holding the partition's commits back unnoticed."""
    deaths: list[tuple[str, str]] = []

    async def broken_dead_letter(
        record: ConsumerRecord[bytes, bytes], error: BaseException
    ) -> None:
        raise ConnectionError("the DLQ topic is unavailable")

    consumer = await _failing_record_with(
        infra,
        fresh_topic,
        broken_dead_letter,
        lambda what, error: deaths.append((what, str(error))),
    )
    try:
        await wait_until(lambda: bool(deaths), timeout_s=30, what="the fatal failure")
    finally:
        await consumer.stop()
    [(what, error)] = deaths
    assert "dead-letter" in what
    assert fresh_topic in what
    assert error == "the DLQ topic is unavailable"
