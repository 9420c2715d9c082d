"""Small helpers the Kafka integration tests share: read a topic, wait for a condition."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential

from sextant_platform.settings import KafkaSettings

T = TypeVar("T")


async def read_all(
    settings: KafkaSettings,
    topic: str,
    *,
    expected: int,
    timeout_s: float = 20,
    key: bytes | None = None,
    linger_polls: int = 0,
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of ``topic`` (with ``key``, if given) from the beginning, once
    ``expected`` are there (or timeout); ``linger_polls`` more polls catch duplicates."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.BOOTSTRAP_SERVERS,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    deadline = time.monotonic() + timeout_s
    lingered = 0
    try:
        while time.monotonic() < deadline:
            if len(records) >= expected:
                if lingered >= linger_polls:
                    break
                lingered += 1
            batch = await consumer.getmany(timeout_ms=250)
            for partition_records in batch.values():
                records.extend(r for r in partition_records if key is None or r.key == key)
    finally:
        await consumer.stop()
    return records


async def wait_until(
    condition: Callable[[], bool], *, timeout_s: float = 20, what: str = "condition"
) -> None:
    """Poll ``condition`` until true; fail with ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        await asyncio.sleep(0.05)


async def eventually(
    probe: Callable[[], Awaitable[T]],
    *,
    until: Callable[[T], bool],
    timeout_s: float = 20,
    what: str = "condition",
) -> T:
    """Await ``probe`` until its value satisfies ``until``; that value, or fail with ``what``."""
    deadline = time.monotonic() + timeout_s
    value = await probe()
    while not until(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}: {value!r}")
        await asyncio.sleep(0.1)
        value = await probe()
    return value


async def committed_offset(
    admin: AIOKafkaAdminClient, group: str, topic: str, partition: int = 0
) -> int | None:
    """The group's committed offset for a partition, or None when nothing was committed."""
    offsets = await admin.list_consumer_group_offsets(group)
    meta = offsets.get(TopicPartition(topic, partition))
    if meta is None or meta.offset < 0:
        return None
    return int(meta.offset)


async def produce_raw(
    settings: KafkaSettings,
    topic: str,
    values: list[bytes],
    *,
    key: bytes | None = None,
    headers: list[tuple[str, bytes]] | None = None,
    every_partition: bool = False,
) -> None:
    """Publish raw bytes as a hostile or foreign producer would (no FastStream headers,
    or the ones given); ``every_partition``: each value to each of the topic's partitions."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.BOOTSTRAP_SERVERS, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        partitions: list[int | None] = [None]
        if every_partition:
            partitions = sorted(await producer.partitions_for(topic))
        for value in values:
            for partition in partitions:
                await producer.send_and_wait(
                    topic, value, key=key, headers=headers, partition=partition
                )
    finally:
        await producer.stop()


async def skip_group_to_end(settings: KafkaSettings, group_id: str, topics: list[str]) -> None:
    """Commit ``group_id`` at the end of ``topics``: a test's consumer sees only new records
    (the shared topics keep what earlier runs published).

    The broker refuses a commit from outside the group while the group has members or is
    rebalancing (``UnknownMemberIdError``, ``CommitFailedError``), which happens when a
    member of an earlier run has not yet left. On a slow, loaded machine that can last
    seconds, so the commit is retried until the group settles, not tried once."""
    async for attempt in AsyncRetrying(
        retry=retry_if_exception_type(KafkaError),
        wait=wait_exponential(multiplier=0.2, max=2),
        stop=stop_after_delay(90),
        reraise=True,
    ):
        with attempt:
            await _commit_ends(settings, group_id, topics)


async def _commit_ends(settings: KafkaSettings, group_id: str, topics: list[str]) -> None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.BOOTSTRAP_SERVERS,
        group_id=group_id,
        enable_auto_commit=False,
        request_timeout_ms=settings.REQUEST_TIMEOUT_MS,
    )
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in (consumer.partitions_for_topic(topic) or set())
        ]
        if len({p.topic for p in partitions}) < len(set(topics)):
            raise KafkaError(f"no metadata yet for some of {topics}")
        ends = await consumer.end_offsets(partitions)
        consumer.assign(partitions)
        await consumer.commit(dict(ends))
    finally:
        await consumer.stop()
