"""Request/reply over Kafka: publish a request, await the reply that carries its request id.

FastStream's Kafka ``request()`` only works with its test client, so services that need
an answer (the orchestrator asking the tools or embeddings service) use this instead.

How it works: each client instance reads the shared reply topic with a consumer group of
its own (``<reply topic>.<instance id>``, starting at the latest offset), so every
instance sees every reply and keeps the ones it is waiting for; replies to other
instances are ignored. Requests carry ``reply_topic`` so a server answers where asked.
A reply that never comes ends in :class:`RequestTimedOut`, never in a hang.

The replies are read by a plain aiokafka poll loop, not a FastStream subscriber: a
FastStream batch subscriber sleeps its whole batch timeout after every empty poll, so
a reply that landed during that sleep waited for it (the first tool call after a quiet
moment took up to 100 ms longer), and a per-message subscriber pays its middleware for
every reply. ``getmany`` returns as soon as a reply is fetched.
"""

import asyncio
import contextlib
import logging
import uuid
from typing import Any, Generic, TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener
from aiokafka.errors import ConsumerStoppedError
from aiokafka.structs import TopicPartition
from faststream.kafka import KafkaBroker
from pydantic import ValidationError

from sextant_contracts import Envelope
from sextant_contracts.base import Contract
from sextant_kafka.broker import create_consumer
from sextant_platform.fatal import must_not_die
from sextant_platform.settings import KafkaSettings

logger = logging.getLogger(__name__)

REPLIES_PER_POLL = 500
POLL_TIMEOUT_MS = 1000
"""How long one ``getmany`` waits when nothing comes; a reply ends the wait at once."""


ReplyT = TypeVar("ReplyT", bound=Contract)


class RequestTimedOut(TimeoutError):
    """No reply arrived within the caller's time limit."""


class ReplyConsumerStopped(RuntimeError):
    """The client is closed, or its reply consumer failed: no reply can arrive."""


class _AssignmentListener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Signals once the reply consumer owns partitions, so no reply can slip past it."""

    def __init__(self) -> None:
        self.assigned = asyncio.Event()
        self.partitions: set[TopicPartition] = set()

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        if assigned:
            self.partitions = set(assigned)
            self.assigned.set()


class KafkaRequestReply(Generic[ReplyT]):
    """Sends requests to ``request_topic`` and resolves them from ``reply_topic``.

    ``await ready()`` once the broker is running (it starts the reply consumer and waits
    until no reply published after a request can be missed); ``await close()`` at
    shutdown, before the broker stops.
    """

    def __init__(
        self,
        broker: KafkaBroker,
        settings: KafkaSettings,
        *,
        request_topic: str,
        reply_topic: str,
        reply_model: type[ReplyT],
        instance_id: str | None = None,
    ) -> None:
        self._broker = broker
        self._settings = settings
        self._request_topic = request_topic
        self._reply_topic = reply_topic
        self._envelope: Any = Envelope.__class_getitem__(reply_model)
        self._pending: dict[str, asyncio.Future[ReplyT]] = {}
        self._group_id = f"{reply_topic}.{instance_id or uuid.uuid4().hex[:12]}"
        self._listener = _AssignmentListener()
        self._consumer: AIOKafkaConsumer | None = None
        self._poll_task: asyncio.Task[None] | None = None

    @property
    def reply_topic(self) -> str:
        return self._reply_topic

    @property
    def is_reading(self) -> bool:
        """True while replies are being read (a readiness check)."""
        return self._poll_task is not None and not self._poll_task.done()

    async def ready(self, timeout_s: float = 30.0) -> None:
        """Start reading replies (once) and wait until the consumer knows where it starts.

        Owning the partitions is not enough: a new group looks up the latest offset only
        after the assignment, and a reply written before that lookup answers would lie
        behind the starting point and never be seen (a request sent at once after
        start-up timed out now and then).
        """
        if self._consumer is None:
            consumer = create_consumer(
                self._settings,
                client_id=self._group_id,
                group_id=self._group_id,
                auto_offset_reset="latest",
            )
            consumer.subscribe([self._reply_topic], listener=self._listener)
            await consumer.start()  # kept only once started: a failed start can be retried
            self._consumer = consumer
            self._poll_task = asyncio.create_task(
                self._read_replies(consumer), name=f"replies-{self._group_id}"
            )
            self._poll_task.add_done_callback(self._reader_ended)
            must_not_die(self._poll_task, what=f"the reply reader of {self._group_id}")
        async with asyncio.timeout(timeout_s):
            await self._listener.assigned.wait()
            for partition in self._listener.partitions:
                await self._consumer.position(partition)

    async def close(self) -> None:
        """Stop reading replies and leave the group (at once, not after a session timeout)."""
        task, self._poll_task = self._poll_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await consumer.stop()

    async def request(
        self,
        payload: Contract,
        *,
        request_id: uuid.UUID,
        tenant_id: str,
        correlation_id: str | None = None,
        timeout_s: float = 30.0,
    ) -> ReplyT:
        """Publish ``payload`` and await its reply.

        ``payload.reply_topic`` should be :attr:`reply_topic`; raises RequestTimedOut.
        """
        envelope = Envelope.wrap(payload, tenant_id=tenant_id, correlation_id=correlation_id)
        return await self.request_envelope(
            envelope.model_dump(mode="json"), request_id=request_id, timeout_s=timeout_s
        )

    async def request_envelope(
        self, body: dict[str, Any], *, request_id: uuid.UUID, timeout_s: float = 30.0
    ) -> ReplyT:
        """Publish an already-built envelope ``body`` and await the reply to ``request_id``.

        For callers that relay a request as received (and for tests of invalid requests).
        """
        if not self.is_reading:
            raise ReplyConsumerStopped(
                f"not reading {self._reply_topic}: call ready() first (or the reader failed)"
            )
        key = str(request_id)
        future: asyncio.Future[ReplyT] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            await self._broker.publish(body, self._request_topic, key=key.encode())
            async with asyncio.timeout(timeout_s):
                return await future
        except TimeoutError:
            raise RequestTimedOut(
                f"no reply on {self._reply_topic} for request {key} within {timeout_s:g}s"
            ) from None
        finally:
            self._pending.pop(key, None)

    async def _read_replies(self, consumer: AIOKafkaConsumer) -> None:
        """Poll until closed; each reply resolves the request waiting for it, if any."""
        while True:
            try:
                batches = await consumer.getmany(
                    timeout_ms=POLL_TIMEOUT_MS, max_records=REPLIES_PER_POLL
                )
            except ConsumerStoppedError:
                return
            for records in batches.values():
                for record in records:
                    self._resolve(record.value or b"")

    def _resolve(self, value: bytes) -> None:
        try:
            envelope = self._envelope.model_validate_json(value)
        except ValidationError as error:  # not ours to dead-letter: it is a shared topic
            logger.warning(
                "ignored an unreadable reply",
                extra={"topic": self._reply_topic, "error": str(error)[:500]},
            )
            return
        future = self._pending.get(str(envelope.payload.request_id))
        if future is not None and not future.done():
            future.set_result(envelope.payload)

    def _reader_ended(self, task: "asyncio.Task[None]") -> None:
        """A reader that died leaves every waiting request to fail now, not at its timeout."""
        error = None if task.cancelled() else task.exception()
        if error is not None:
            logger.error("reply reader failed", extra={"topic": self._reply_topic}, exc_info=error)
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ReplyConsumerStopped(f"stopped reading {self._reply_topic}"))
