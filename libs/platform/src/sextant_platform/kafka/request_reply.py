"""Request/reply over Kafka: publish a request, await the reply that carries its request id.

FastStream's Kafka ``request()`` only works with its test client, so services that need
an answer (the orchestrator asking the tools or embeddings service) use this instead.

How it works: each client instance subscribes to the shared reply topic with a consumer
group of its own (``<reply topic>.<instance id>``, starting at the latest offset), so every
instance sees every reply and keeps the ones it is waiting for; replies to other
instances are ignored. Requests carry ``reply_topic`` so a server answers where asked.
A reply that never comes ends in :class:`RequestTimedOut`, never in a hang.
"""

import asyncio
import logging
import uuid
from typing import Any, Generic, TypeVar

from aiokafka import ConsumerRebalanceListener
from aiokafka.structs import TopicPartition
from faststream.kafka import KafkaBroker
from pydantic import ValidationError

from sextant_contracts import Envelope
from sextant_contracts.base import Contract

logger = logging.getLogger(__name__)

REPLIES_PER_POLL = 500


ReplyT = TypeVar("ReplyT", bound=Contract)


class RequestTimedOut(TimeoutError):
    """No reply arrived within the caller's time limit."""


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

    Build it before the broker starts (it registers a subscriber), then ``await ready()``
    once the broker is running so that no reply published after a request can be missed.
    """

    def __init__(
        self,
        broker: KafkaBroker,
        *,
        request_topic: str,
        reply_topic: str,
        reply_model: type[ReplyT],
        instance_id: str | None = None,
    ) -> None:
        self._broker = broker
        self._request_topic = request_topic
        self._reply_topic = reply_topic
        self._envelope: Any = Envelope.__class_getitem__(reply_model)
        self._pending: dict[str, asyncio.Future[ReplyT]] = {}
        group_id = f"{reply_topic}.{instance_id or uuid.uuid4().hex[:12]}"
        self._listener = _AssignmentListener()
        self._subscriber = broker.subscriber(
            reply_topic,
            group_id=group_id,
            auto_offset_reset="latest",
            listener=self._listener,
            batch=True,  # replies come in bursts: one handler call per poll, not per reply
            max_records=REPLIES_PER_POLL,
            batch_timeout_ms=100,
        )
        self._subscriber(self._on_replies)

    @property
    def reply_topic(self) -> str:
        return self._reply_topic

    async def ready(self, timeout_s: float = 30.0) -> None:
        """Wait until the reply consumer owns its partitions and knows where it starts.

        Call after the broker starts. Owning the partitions is not enough: a new group
        looks up the latest offset only after the assignment, and a reply written before
        that lookup answers would lie behind the starting point and never be seen (a
        request sent at once after start-up timed out now and then).
        """
        async with asyncio.timeout(timeout_s):
            await self._listener.assigned.wait()
            consumer = self._subscriber.consumer
            if consumer is not None:
                for partition in self._listener.partitions:
                    await consumer.position(partition)

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

    async def _on_replies(self, bodies: list[Any]) -> None:
        for body in bodies:
            try:
                envelope = self._envelope.model_validate(body)
            except ValidationError as error:  # not ours to dead-letter: it is a shared topic
                logger.warning(
                    "ignored an unreadable reply",
                    extra={"topic": self._reply_topic, "error": str(error)[:500]},
                )
                continue
            future = self._pending.get(str(envelope.payload.request_id))
            if future is not None and not future.done():
                future.set_result(envelope.payload)
