"""The transactional outbox: events saved with the state they announce, relayed to Kafka.

Why: "write the row, then publish" loses the event if the process dies in between, and
"publish, then write" announces what was never saved. Instead the event is inserted
into ``outbox`` in the *same* transaction as the state change (:func:`enqueue`), and
:class:`OutboxRelay` publishes unpublished rows afterwards, marking each one published
only once the broker acknowledged it (``acks=all``). A crash between publish and mark
publishes the row again with the *same* event id, which consumers dedupe on: the
guarantee is at-least-once delivery of exactly one event id.

Several relays may run at once (one per service instance): ``FOR UPDATE SKIP LOCKED``
hands each row to one of them.

An event too large for one Kafka message is refused by :func:`enqueue` (``EventTooLarge``,
so the caller's transaction commits nothing and can answer with a clear error). A row
Kafka still refuses (brokers configured below the limit) is not retried: it leaves the
outbox with ``failure`` saying why, logged and counted
(``sextant_outbox_unpublishable_total``), so it cannot hold back every event after it.
"""

import asyncio
import contextlib
import json
import logging
from typing import Any

from aiokafka.errors import MessageSizeTooLargeError
from faststream.kafka import KafkaBroker
from prometheus_client import Counter
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential_jitter

from sextant_contracts import Envelope
from sextant_platform.background import BackgroundTask
from sextant_platform.kafka.message_size import MAX_MESSAGE_BYTES
from sextant_platform.postgres_text import storable_json

logger = logging.getLogger(__name__)

_INSERT = text(
    "INSERT INTO outbox (event_id, topic, message_key, payload, headers) "
    "VALUES (:event_id, :topic, :message_key, CAST(:payload AS jsonb), CAST(:headers AS jsonb)) "
    "ON CONFLICT (event_id) DO NOTHING"
)
_CLAIM = text(
    "SELECT outbox_id, topic, message_key, payload::text AS payload, headers "
    "FROM outbox WHERE published_at IS NULL ORDER BY outbox_id "
    "LIMIT :limit FOR UPDATE SKIP LOCKED"
)
_MARK = text("UPDATE outbox SET published_at = now() WHERE outbox_id = ANY(:ids)")
_GIVE_UP = text(
    "UPDATE outbox SET published_at = now(), failure = :failure WHERE outbox_id = :outbox_id"
)

UNPUBLISHABLE = Counter(
    "sextant_outbox_unpublishable",
    "Outbox rows given up on because Kafka can never accept them (too large), by topic.",
    ["topic"],
)


MAX_EVENT_BYTES = MAX_MESSAGE_BYTES


class EventTooLarge(ValueError):
    """The event would not fit in one Kafka message; nothing was added to the outbox."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"the event would be {size} bytes; one Kafka message holds {limit}")
        self.size = size
        self.limit = limit


def published_json(envelope: Envelope[Any]) -> str:
    """The envelope as the relay will publish it: PostgreSQL's jsonb text, which puts a
    space after every ``:`` and ``,`` as ``json.dumps`` does (up to ~10% more than compact
    JSON for a page of numbers)."""
    return json.dumps(envelope.model_dump(mode="json"), ensure_ascii=False)


def published_size(envelope: Envelope[Any]) -> int:
    return len(published_json(envelope).encode())


async def enqueue(
    connection: AsyncConnection,
    *,
    topic: str,
    key: str,
    envelope: Envelope[Any],
    max_bytes: int = MAX_EVENT_BYTES,
) -> None:
    """Add ``envelope`` to the outbox inside the caller's open transaction.

    Raises EventTooLarge (adding nothing) when it would not fit in one Kafka message.
    """
    payload = storable_json(published_json(envelope))
    size = len(payload.encode())
    if size > max_bytes:
        raise EventTooLarge(size, max_bytes)
    await connection.execute(
        _INSERT,
        {
            "event_id": envelope.event_id,
            "topic": topic,
            "message_key": key,
            "payload": payload,
            "headers": json.dumps({"content-type": "application/json"}),
        },
    )


class OutboxRelay:
    """Publishes outbox rows in insertion order; ``wake()`` after a commit for low latency."""

    def __init__(
        self,
        engine: AsyncEngine,
        broker: KafkaBroker,
        *,
        batch_size: int = 100,
        poll_interval_s: float = 1.0,
    ) -> None:
        self._engine = engine
        self._broker = broker
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._wakeup = asyncio.Event()
        self._task = BackgroundTask(self._run, name="outbox-relay")

    def wake(self) -> None:
        """Relay now rather than at the next poll (call after committing an event)."""
        self._wakeup.set()

    async def relay_once(self) -> int:
        """Publish one batch of unpublished rows; returns how many left the outbox."""
        async with self._engine.begin() as connection:
            rows = (await connection.execute(_CLAIM, {"limit": self._batch_size})).all()
            # Appended in order, acknowledged together: the producer keeps each partition's
            # order and sends the whole batch in one request instead of one round trip per
            # row. A failure other than "too large" fails the batch: nothing is marked, and
            # the batch goes again.
            sent: list[tuple[Any, Any]] = []
            unsendable: list[tuple[Any, MessageSizeTooLargeError]] = []
            for row in rows:
                try:
                    acknowledgement = await self._broker.publish(
                        row.payload.encode(),
                        row.topic,
                        key=row.message_key.encode(),
                        headers=dict(row.headers),
                        no_confirm=True,
                    )
                except MessageSizeTooLargeError as error:  # refused by the producer
                    unsendable.append((row, error))
                else:
                    sent.append((row, acknowledgement))
            outcomes = await asyncio.gather(*(ack for _, ack in sent), return_exceptions=True)
            published = []
            for (row, _), outcome in zip(sent, outcomes, strict=True):
                if isinstance(outcome, MessageSizeTooLargeError):  # refused by the broker
                    unsendable.append((row, outcome))
                elif isinstance(outcome, BaseException):
                    raise outcome
                else:
                    published.append(row.outbox_id)
            if published:
                await connection.execute(_MARK, {"ids": published})
            for row, refusal in unsendable:
                await self._give_up(connection, row, refusal)
        return len(rows)

    @staticmethod
    async def _give_up(
        connection: AsyncConnection, row: Any, error: MessageSizeTooLargeError
    ) -> None:
        failure = f"{type(error).__name__}: {len(row.payload)}-byte payload: {error}"
        await connection.execute(_GIVE_UP, {"outbox_id": row.outbox_id, "failure": failure})
        UNPUBLISHABLE.labels(row.topic).inc()
        logger.error(
            "outbox row can never be published; left out",
            extra={"outbox_id": row.outbox_id, "topic": row.topic, "failure": failure},
        )

    async def _relay_with_backoff(self) -> int:
        """One batch; a broker or database outage is retried with backoff, indefinitely,
        because an unpublished event must wait, never be dropped."""
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(Exception),
            wait=wait_exponential_jitter(multiplier=0.2, max=self._poll_interval_s * 10),
            before_sleep=lambda state: logger.warning(
                "outbox relay failed; retrying",
                extra={"attempt": state.attempt_number},
                exc_info=state.outcome.exception() if state.outcome else None,
            ),
        ):
            with attempt:
                return await self.relay_once()
        raise AssertionError("unreachable: the retry policy never stops")  # pragma: no cover

    async def _run(self) -> None:
        while True:
            self._wakeup.clear()  # before reading: a wake() during the batch is kept
            published = await self._relay_with_backoff()
            if published == self._batch_size:
                continue  # more may be waiting
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=self._poll_interval_s)

    def start(self) -> None:
        self._task.start()

    async def stop(self) -> None:
        await self._task.stop()
