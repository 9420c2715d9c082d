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
so the caller's transaction commits nothing and can answer with a clear error); its size
is measured on PostgreSQL's own text of the stored ``jsonb``, which is what the relay
publishes (a tiny float such as ``1e-300`` is written out in full there). A row Kafka
still refuses (brokers configured below the limit) is not retried: it leaves the outbox
with ``failure`` saying why, logged and counted (``sextant_outbox_unpublishable_total``),
so it cannot hold back every event after it.

A topic Kafka fails to take rows for (it does not exist, its partition has no leader)
holds back only its own rows: they stay in the outbox, in order, and are tried again
after a pause that grows while the failure lasts; every other topic's rows go on being
published. Only when every topic of a batch fails (the broker is away) does the relay
back off as a whole.
"""

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from aiokafka.errors import MessageSizeTooLargeError
from faststream.kafka import KafkaBroker
from opentelemetry import context as otel_context
from opentelemetry import propagate
from prometheus_client import Counter
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential_jitter

from sextant_contracts import Envelope
from sextant_kafka.message_size import MAX_MESSAGE_BYTES
from sextant_platform.background import BackgroundTask
from sextant_storage.postgres_text import storable_json

logger = logging.getLogger(__name__)

_INSERT = text(
    "INSERT INTO outbox (event_id, topic, message_key, payload, headers) "
    "SELECT :event_id, :topic, :message_key, stored.payload, CAST(:headers AS jsonb) "
    "FROM (SELECT CAST(:payload AS jsonb) AS payload) AS stored "
    "WHERE octet_length(stored.payload::text) <= :max_bytes "
    "ON CONFLICT (event_id) DO NOTHING RETURNING outbox_id"
)
_STORED_SIZE = text("SELECT octet_length(CAST(:payload AS jsonb)::text)")
_CLAIM = text(
    "SELECT outbox_id, topic, message_key, payload::text AS payload, headers "
    "FROM outbox WHERE published_at IS NULL AND NOT (topic = ANY(:held)) ORDER BY outbox_id "
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
TOPIC_HELD = Counter(
    "sextant_outbox_topic_held",
    "Times a topic's outbox rows were held back because Kafka failed to take them.",
    ["topic"],
)
TOPIC_PUBLISH_TIMEOUT_S = 5.0
"""How long one topic's rows of a batch may take to be acknowledged before the topic is
held back (a missing topic otherwise blocks the relay for the client's whole request
timeout, every time it is tried)."""
HELD_TOPIC_PROBE_TIMEOUT_S = 1.0
"""The same for a topic that failed before and is being tried again: the relay's other
topics wait for at most this long each time a held topic is retried."""


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


def _headers_with_trace() -> dict[str, str]:
    """The row's Kafka headers: the content type, and the W3C trace context of the span
    enqueuing it (when there is one), so the relay publishes it in that trace."""
    headers = {"content-type": "application/json"}
    propagate.inject(headers)
    return headers


async def enqueue(
    connection: AsyncConnection,
    *,
    topic: str,
    key: str,
    envelope: Envelope[Any],
    max_bytes: int = MAX_EVENT_BYTES,
) -> None:
    """Add ``envelope`` to the outbox inside the caller's open transaction.

    Raises EventTooLarge (adding nothing) when it would not fit in one Kafka message:
    first on the JSON's own size, then, in the insert, on PostgreSQL's text of the jsonb.
    """
    payload = storable_json(published_json(envelope))
    size = len(payload.encode())
    if size > max_bytes:
        raise EventTooLarge(size, max_bytes)
    inserted = await connection.execute(
        _INSERT,
        {
            "event_id": envelope.event_id,
            "topic": topic,
            "message_key": key,
            "payload": payload,
            "headers": json.dumps(_headers_with_trace()),
            "max_bytes": max_bytes,
        },
    )
    if inserted.one_or_none() is None:  # a duplicate event id, or too large as jsonb text
        stored = int((await connection.execute(_STORED_SIZE, {"payload": payload})).scalar_one())
        if stored > max_bytes:
            raise EventTooLarge(stored, max_bytes)


@dataclass
class _Hold:
    until: float
    pause_s: float


class _TopicHolds:
    """Topics whose rows wait (Kafka failed to take them), each until its pause ends;
    the pause doubles while the failures go on, up to ``max_pause_s``."""

    def __init__(self, *, first_pause_s: float, max_pause_s: float) -> None:
        self._first_pause_s = first_pause_s
        self._max_pause_s = max_pause_s
        self._holds: dict[str, _Hold] = {}

    def held(self) -> list[str]:
        now = time.monotonic()
        return [topic for topic, hold in self._holds.items() if hold.until > now]

    def hold(self, topic: str, error: BaseException) -> None:
        earlier = self._holds.get(topic)
        pause = self._first_pause_s if earlier is None else earlier.pause_s * 2
        pause = min(pause, self._max_pause_s)
        self._holds[topic] = _Hold(until=time.monotonic() + pause, pause_s=pause)
        TOPIC_HELD.labels(topic).inc()
        logger.warning(
            "outbox rows of a topic held back; the other topics go on",
            extra={"topic": topic, "pause_s": pause, "error": f"{type(error).__name__}: {error}"},
        )

    def release(self, topic: str) -> None:
        self._holds.pop(topic, None)

    def failed_before(self, topic: str) -> bool:
        return topic in self._holds


@dataclass
class _TopicOutcome:
    published: list[int] = field(default_factory=list)
    unsendable: list[tuple[Any, MessageSizeTooLargeError]] = field(default_factory=list)
    failure: BaseException | None = None


class OutboxRelay:
    """Publishes outbox rows in insertion order per topic; ``wake()`` after a commit for
    low latency."""

    def __init__(
        self,
        engine: AsyncEngine,
        broker: KafkaBroker,
        *,
        batch_size: int = 100,
        poll_interval_s: float = 1.0,
        topic_timeout_s: float = TOPIC_PUBLISH_TIMEOUT_S,
        max_hold_s: float = 60.0,
    ) -> None:
        self._engine = engine
        self._broker = broker
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._topic_timeout_s = topic_timeout_s
        self._holds = _TopicHolds(first_pause_s=poll_interval_s, max_pause_s=max_hold_s)
        self._wakeup = asyncio.Event()
        self._task = BackgroundTask(self._run, name="outbox-relay")

    def wake(self) -> None:
        """Relay now rather than at the next poll (call after committing an event)."""
        self._wakeup.set()

    async def relay_once(self) -> int:
        """Publish one batch of unpublished rows of the topics not held back; returns how
        many were claimed. Raises when every topic of the batch failed."""
        params = {"limit": self._batch_size, "held": self._holds.held()}
        async with self._engine.begin() as connection:
            rows = (await connection.execute(_CLAIM, params)).all()
            by_topic: dict[str, list[Any]] = {}
            for row in rows:
                by_topic.setdefault(row.topic, []).append(row)
            outcomes = await asyncio.gather(
                *(self._publish(rows, self._timeout_for(topic)) for topic, rows in by_topic.items())
            )
            published = [outbox_id for outcome in outcomes for outbox_id in outcome.published]
            if published:
                await connection.execute(_MARK, {"ids": published})
            for outcome in outcomes:
                for row, refusal in outcome.unsendable:
                    await self._give_up(connection, row, refusal)
        failures = [o.failure for o in outcomes if o.failure is not None]
        for topic, outcome in zip(by_topic, outcomes, strict=True):
            if outcome.failure is None:
                self._holds.release(topic)
            else:
                self._holds.hold(topic, outcome.failure)
        if failures and len(failures) == len(outcomes):
            raise failures[0]
        return len(rows)

    def _timeout_for(self, topic: str) -> float:
        if self._holds.failed_before(topic):
            return min(self._topic_timeout_s, HELD_TOPIC_PROBE_TIMEOUT_S)
        return self._topic_timeout_s

    async def _publish(self, rows: list[Any], timeout_s: float) -> _TopicOutcome:
        """One topic's rows, appended in order and acknowledged together (one request,
        not a round trip per row). A failure keeps every row of the topic that was not
        acknowledged before it: they go again, in order, once the topic is tried again."""
        outcome = _TopicOutcome()
        sent: list[tuple[Any, Any]] = []
        try:
            async with asyncio.timeout(timeout_s):
                for row in rows:
                    # Published in the trace of the work that enqueued it (its stored
                    # ``traceparent``), not in a new one per relay pass.
                    token = otel_context.attach(propagate.extract(row.headers))
                    try:
                        acknowledgement = await self._broker.publish(
                            row.payload.encode(),
                            row.topic,
                            key=row.message_key.encode(),
                            headers=dict(row.headers),
                            no_confirm=True,
                        )
                    except MessageSizeTooLargeError as error:  # refused by the producer
                        outcome.unsendable.append((row, error))
                    else:
                        sent.append((row, acknowledgement))
                    finally:
                        otel_context.detach(token)
                acks = await asyncio.gather(*(ack for _, ack in sent), return_exceptions=True)
        except Exception as error:  # the topic's rows wait; nothing of it is marked
            return _TopicOutcome(failure=error)
        for (row, _), ack in zip(sent, acks, strict=True):
            if isinstance(ack, MessageSizeTooLargeError):  # refused by the broker
                outcome.unsendable.append((row, ack))
            elif isinstance(ack, Exception):
                outcome.failure = ack
                break  # the rows after it are not marked: they go again after it
            elif isinstance(ack, BaseException):
                raise ack
            else:
                outcome.published.append(row.outbox_id)
        return outcome

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
