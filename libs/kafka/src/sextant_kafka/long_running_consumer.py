"""A consumer for handlers that run for minutes: keeps polling, commits only finished work.

Why not a FastStream subscriber: FastStream handles one message at a time per
subscriber and polls again only when the handler returns. A handler that runs an agent
workflow for longer than ``max_poll_interval_ms`` gets its consumer thrown out of the
group, the partition is handed to another instance, and the same request runs twice.

Here each record runs in its own task while the poll loop keeps calling ``getmany``
(paused partitions return nothing, so polling costs nothing while the pool is full):

* **commit after the work, in order** - a partition's committed offset never passes a
  record whose handler has not returned, even when later records finished first, so a
  crash redelivers every unfinished record and nothing else;
* **bounded concurrency** - at ``max_in_flight`` running handlers every assigned
  partition is paused, and resumed the moment a handler finishes;
* **rebalances** - on revocation, finished offsets of the revoked partitions are
  committed; handlers still running keep running (their side effects must be idempotent
  and guarded, as the new owner will get the same records);
* **failures** - a handler that raises hands the record to ``on_error`` (the DLQ); if
  that fails too, the offset is never committed past the record and it is redelivered.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from faststream.kafka import KafkaBroker
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind
from prometheus_client import Gauge
from tenacity import AsyncRetrying, stop_after_delay, wait_exponential_jitter

from sextant_kafka.broker import create_consumer
from sextant_kafka.dead_letter import publish_dead_letter
from sextant_platform.fatal import die, must_not_die
from sextant_platform.settings import KafkaSettings

logger = logging.getLogger(__name__)

IN_FLIGHT = Gauge(
    "sextant_consumer_records_in_flight",
    "Records a long-running consumer is handling now (partitions pause at the maximum).",
    ["group"],
)

_tracer = trace.get_tracer(__name__)
"""Resolved through the global provider (``configure_tracing`` sets it) when used."""

RecordHandler = Callable[[ConsumerRecord[bytes, bytes]], Awaitable[None]]
ErrorHandler = Callable[[ConsumerRecord[bytes, bytes], BaseException], Awaitable[None]]


def processing_span(
    record: ConsumerRecord[bytes, bytes], group_id: str
) -> AbstractContextManager[Span]:
    """The span of one record's handling, continuing the trace its producer started
    (W3C ``traceparent`` in its headers): what the handler publishes and logs belongs to
    the same trace, so one analysis is one trace across every Kafka hop. Attributes
    follow OpenTelemetry's messaging conventions."""
    headers = {
        key: value.decode("latin-1") for key, value in record.headers or () if value is not None
    }
    return _tracer.start_as_current_span(
        f"process {record.topic}",
        context=propagate.extract(headers),
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.destination.name": record.topic,
            "messaging.destination.partition.id": str(record.partition),
            "messaging.kafka.offset": record.offset,
            "messaging.consumer.group.name": group_id,
        },
    )


class PartitionProgress:
    """Offsets handed out and finished on one partition."""

    def __init__(self) -> None:
        self.running: set[int] = set()
        self.next_offset: int | None = None  # one past the highest offset handed out
        self.committed: int | None = None

    def started(self, offset: int) -> None:
        self.running.add(offset)
        self.next_offset = max(self.next_offset or 0, offset + 1)

    def finished(self, offset: int) -> None:
        self.running.discard(offset)

    def committable(self) -> int | None:
        """The offset to commit: the oldest running record, or past the last handed out."""
        if self.running:
            return min(self.running)
        return self.next_offset


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: "LongRunningConsumer") -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._owner.partitions_revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        logger.info("partitions assigned", extra={"partitions": sorted(map(str, assigned))})


class LongRunningConsumer:
    """Runs ``handler`` once per record, up to ``max_in_flight`` at a time."""

    def __init__(
        self,
        settings: KafkaSettings,
        topics: list[str],
        *,
        group_id: str,
        client_id: str,
        handler: RecordHandler,
        on_error: ErrorHandler,
        max_in_flight: int = 8,
        poll_timeout_ms: int = 500,
        commit_interval_s: float = 0.0,
        dead_letter_patience_s: float = 60.0,
        on_fatal: Callable[[str, BaseException], None] = die,
    ) -> None:
        """``commit_interval_s``: commit finished offsets at most this often (0: after every
        poll). Under a stream of short requests a commit round trip per poll delays the
        next poll; a longer interval only widens what a crash redelivers.
        ``dead_letter_patience_s``: how long ``on_error`` (the DLQ publish) is retried for
        a failed record; past it ``on_fatal`` is called (by default the process stops, so
        its supervisor restarts it and the record is redelivered): a record that can be
        neither handled nor dead-lettered would otherwise hold the partition's commits
        back, unnoticed.
        """
        self._settings = settings
        self._topics = topics
        self._group_id = group_id
        self._client_id = client_id
        self._handler = handler
        self._on_error = on_error
        self._max_in_flight = max_in_flight
        self._poll_timeout_ms = poll_timeout_ms
        self._commit_interval_s = commit_interval_s
        self._dead_letter_patience_s = dead_letter_patience_s
        self._on_fatal = on_fatal
        self._last_commit = 0.0
        self._progress: dict[TopicPartition, PartitionProgress] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._consumer: AIOKafkaConsumer | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._assigned = asyncio.Event()
        self._slot_freed = asyncio.Event()
        IN_FLIGHT.labels(group_id).set_function(lambda: len(self._tasks))

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    @property
    def group_id(self) -> str:
        return self._group_id

    async def start(self) -> None:
        self._consumer = create_consumer(
            self._settings,
            client_id=self._client_id,
            group_id=self._group_id,
            auto_offset_reset="earliest",
        )
        self._consumer.subscribe(self._topics, listener=_Listener(self))
        await self._consumer.start()
        self._loop_task = asyncio.create_task(self._poll_loop(), name=f"consume-{self._group_id}")
        must_not_die(self._loop_task, what=f"the poll loop of consumer group {self._group_id}")

    async def wait_assigned(self, timeout_s: float = 30.0) -> None:
        """Until this consumer owns at least one partition (tests, readiness)."""
        await asyncio.wait_for(self._assigned.wait(), timeout_s)

    async def _poll_loop(self) -> None:
        consumer = self._require_consumer()
        while True:
            assignment = consumer.assignment()
            if assignment:
                self._assigned.set()
            if self.in_flight >= self._max_in_flight:
                consumer.pause(*assignment)
                await consumer.getmany(timeout_ms=0)  # still a poll: the group keeps us
                await self._until_a_handler_finishes()
            else:
                consumer.resume(*assignment)
                batch = await consumer.getmany(
                    timeout_ms=self._poll_timeout_ms,
                    max_records=max(1, self._max_in_flight - self.in_flight),
                )
                for partition, records in batch.items():
                    for record in records:
                        self._launch(partition, record)
            now = time.monotonic()
            if now - self._last_commit >= self._commit_interval_s:
                self._last_commit = now
                await self._commit(assignment)

    async def _until_a_handler_finishes(self) -> None:
        """Wait (at most one poll timeout) for a free slot. Polling paused partitions
        instead would sleep out the whole timeout although a slot freed at once: at full
        concurrency every new record waited up to that long."""
        self._slot_freed.clear()
        if self.in_flight < self._max_in_flight:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._slot_freed.wait(), self._poll_timeout_ms / 1000)

    def _launch(self, partition: TopicPartition, record: ConsumerRecord[bytes, bytes]) -> None:
        progress = self._progress.setdefault(partition, PartitionProgress())
        progress.started(record.offset)
        task = asyncio.create_task(self._handle(progress, record))
        self._tasks.add(task)
        task.add_done_callback(self._handler_done)

    def _handler_done(self, task: "asyncio.Task[None]") -> None:
        self._tasks.discard(task)
        self._slot_freed.set()

    async def _handle(
        self, progress: PartitionProgress, record: ConsumerRecord[bytes, bytes]
    ) -> None:
        try:
            with processing_span(record, self._group_id):
                await self._handler(record)
        except asyncio.CancelledError:
            raise  # shutting down: not finished, so it is redelivered
        except Exception as error:
            logger.exception(
                "handler failed", extra={"topic": record.topic, "offset": record.offset}
            )
            try:
                async for attempt in AsyncRetrying(
                    stop=stop_after_delay(self._dead_letter_patience_s),
                    wait=wait_exponential_jitter(multiplier=0.2, max=5.0),
                    reraise=True,
                ):
                    with attempt:
                        await self._on_error(record, error)
            except Exception as failure:
                # Never marked finished: the committed offset stays below it, and the
                # restart that follows redelivers it.
                self._on_fatal(
                    f"dead-lettering {record.topic}[{record.partition}]@{record.offset}"
                    f" (consumer group {self._group_id})",
                    failure,
                )
                return
        progress.finished(record.offset)

    async def _commit(self, partitions: set[TopicPartition]) -> None:
        offsets: dict[TopicPartition, int] = {}
        for partition in partitions:
            progress = self._progress.get(partition)
            if progress is None:
                continue
            offset = progress.committable()
            if offset is not None and offset != progress.committed:
                offsets[partition] = offset
        if not offsets:
            return
        try:
            await self._require_consumer().commit(offsets)
        except Exception:  # a rebalance in progress: the next loop commits again
            logger.warning("offset commit failed; will retry", exc_info=True)
            return
        for partition, offset in offsets.items():
            # A rebalance may have revoked the partition while the commit was in flight;
            # its progress is gone with it (the new owner starts from what was committed).
            progress = self._progress.get(partition)
            if progress is not None:
                progress.committed = offset

    async def partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._commit(revoked & set(self._progress))
        for partition in revoked:
            self._progress.pop(partition, None)

    async def stop(self, grace_s: float = 10.0) -> None:
        """Stop polling, give running handlers ``grace_s`` to finish, commit, leave."""
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await self._commit(self._consumer.assignment())
            try:
                # Leaving the group needs the broker; with it away, aiokafka retries for
                # ever and a SIGTERM never ended the process. Past the grace, give up:
                # the broker expires the member after its session timeout.
                await asyncio.wait_for(self._consumer.stop(), grace_s)
            except TimeoutError:
                logger.warning("the consumer did not leave its group in time; abandoned")
            self._consumer = None

    def _require_consumer(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise RuntimeError("the consumer is not started")
        return self._consumer

    def describe(self) -> dict[str, Any]:
        """For health and metrics: what is running and what is committed."""
        return {
            "in_flight": self.in_flight,
            "partitions": {
                str(p): {"running": len(s.running), "committed": s.committed}
                for p, s in self._progress.items()
            },
        }


def dead_lettering_consumer(
    broker: KafkaBroker,
    settings: KafkaSettings,
    topics: list[str],
    *,
    group_id: str,
    client_id: str,
    handler: RecordHandler,
    max_in_flight: int,
    commit_interval_s: float = 0.0,
) -> LongRunningConsumer:
    """A :class:`LongRunningConsumer` whose failed records go to ``<topic>.dlq`` (through
    ``broker``) with the reason: what every service's consumer does with a record its
    handler cannot take."""

    async def dead_letter(record: ConsumerRecord[bytes, bytes], error: BaseException) -> None:
        await publish_dead_letter(broker, record, error, consumer_group=group_id)

    return LongRunningConsumer(
        settings,
        topics,
        group_id=group_id,
        client_id=client_id,
        handler=handler,
        on_error=dead_letter,
        max_in_flight=max_in_flight,
        commit_interval_s=commit_interval_s,
    )
