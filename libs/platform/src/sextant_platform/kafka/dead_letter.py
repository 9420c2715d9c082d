"""Bounded retries through ``<topic>.retry`` and dead-lettering to ``<topic>.dlq``.

What happens when a handler raises, for every subscriber of a broker built by
:func:`sextant_platform.kafka.create_broker`:

1. A *permanent* failure — the message cannot be decoded or validated, or the handler
   raised :class:`PermanentFailure` — goes straight to ``<topic>.dlq`` as a
   :class:`~sextant_contracts.DeadLetter` with the reason.
2. Any other failure is *transient*: the message is republished unchanged to
   ``<topic>.retry`` with its attempt number and a not-before time (exponential backoff),
   and the service's retry subscriber runs it again once it is due. After
   ``max_attempts`` deliveries it goes to the DLQ.
3. Either way the original offset is then committed, so the partition moves on at once:
   a poison message never blocks the messages behind it.
4. If publishing to the retry topic or the DLQ itself fails, the error propagates, the
   offset stays uncommitted (``AckPolicy.NACK_ON_ERROR``) and Kafka redelivers: nothing
   is ever dropped.

The work happens in the middleware's exit hook rather than around the handler call so
that it also covers errors FastStream raises before the handler is reached (parsing).
"""

import asyncio
import base64
import json
import logging
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from types import TracebackType
from typing import Any

from faststream import BaseMiddleware
from faststream.kafka import KafkaBroker
from pydantic import ValidationError

from sextant_contracts import DeadLetter, dlq_topic_name, retry_topic_name
from sextant_contracts.catalogue import RETRY_SUFFIX
from sextant_platform.kafka import headers as h
from sextant_platform.settings import KafkaSettings

logger = logging.getLogger(__name__)

MAX_ERROR_CHARS = 4000


class PermanentFailure(Exception):
    """Raise from a handler when retrying the same message cannot succeed."""


PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    PermanentFailure,
    ValidationError,
    json.JSONDecodeError,
    UnicodeDecodeError,
)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many deliveries a message gets, and how long to wait between them."""

    max_attempts: int = 3
    backoff_s: float = 0.5
    backoff_max_s: float = 30.0

    @classmethod
    def from_settings(cls, settings: KafkaSettings) -> "RetryPolicy":
        return cls(
            max_attempts=settings.RETRY_MAX_ATTEMPTS,
            backoff_s=settings.RETRY_BACKOFF_S,
            backoff_max_s=settings.RETRY_BACKOFF_MAX_S,
        )

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before delivery number ``attempt`` (2 for the first retry)."""
        return float(min(self.backoff_max_s, self.backoff_s * 2 ** max(0, attempt - 2)))


@dataclass(frozen=True, slots=True)
class _Origin:
    """Where a message first arrived, carried along through its retries."""

    topic: str
    partition: int
    offset: int


def _header_map(record: Any) -> dict[str, str]:
    """The record's headers as text. Sextant's own (``x-sextant-*``) count only on a retry
    topic, where this middleware wrote them: on any other topic they come from a foreign
    producer, and a hostile value must not steer retries, backoff or dead-lettering."""
    on_retry_topic = str(getattr(record, "topic", "")).endswith(RETRY_SUFFIX)
    result: dict[str, str] = {}
    for key, value in record.headers or ():
        if not on_retry_topic and key.startswith(h.PREFIX):
            continue
        result[key] = (
            value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
        )
    return result


def _number(headers: dict[str, str], key: str) -> float | None:
    """A header's finite number, or None when absent or not a number."""
    try:
        value = float(headers[key])
    except (KeyError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _attempt(headers: dict[str, str]) -> int:
    """The delivery number (1 when absent or unreadable, at least 1)."""
    return max(1, int(_number(headers, h.ATTEMPT) or 1))


def _origin(record: Any, headers: dict[str, str]) -> _Origin:
    """Where the message first arrived: its own topic, or for a retry the one the retry
    topic belongs to (never another topic a header names)."""
    original = headers.get(h.ORIGINAL_TOPIC)
    if original is not None and retry_topic_name(original) == record.topic:
        partition = _number(headers, h.ORIGINAL_PARTITION)
        offset = _number(headers, h.ORIGINAL_OFFSET)
        return _Origin(
            original,
            int(partition) if partition is not None else record.partition,
            int(offset) if offset is not None else record.offset,
        )
    return _Origin(record.topic, record.partition, record.offset)


def _describe(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}"
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS] + "…"


def _readable_text(value: bytes | None) -> str | None:
    if value is None:
        return None
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return None


class DeadLetterMiddleware(BaseMiddleware):
    """Per-message middleware implementing the retry/DLQ rules in the module docstring."""

    def __init__(self, msg: Any, /, *, context: Any, policy: RetryPolicy) -> None:
        super().__init__(msg, context=context)
        self.policy = policy

    @classmethod
    def factory(cls, policy: RetryPolicy) -> Any:
        """What ``KafkaBroker(middlewares=...)`` expects: called once per message."""
        return partial(cls, policy=policy)

    async def on_receive(self) -> None:
        """Hold a retried message until its backoff has elapsed (bounded by the policy cap)."""
        record = self.msg
        if isinstance(record, tuple) or not getattr(record, "headers", None):
            return
        not_before = _number(_header_map(record), h.NOT_BEFORE)
        if not_before is None:
            return
        delay = min(not_before - time.time(), self.policy.backoff_max_s)
        if delay > 0:
            await asyncio.sleep(delay)

    async def after_processed(
        self,
        exc_type: type[BaseException] | None = None,
        exc_val: BaseException | None = None,
        exc_tb: TracebackType | None = None,
    ) -> bool | None:
        if exc_val is None or not isinstance(exc_val, Exception):
            return False  # success, or cancellation/shutdown: let FastStream handle it
        record = self.msg
        if isinstance(record, tuple):
            return False  # batch subscribers handle their own failures
        await self._divert(record, exc_val)
        return True  # handled: the ack middleware commits the offset

    async def _divert(self, record: Any, error: Exception) -> None:
        headers = _header_map(record)
        attempt = _attempt(headers)
        origin = _origin(record, headers)
        permanent = isinstance(error, PERMANENT_ERRORS)
        if not permanent and attempt < self.policy.max_attempts:
            await self._publish_retry(record, headers, origin, attempt + 1, error)
        else:
            await self._publish_dead_letter(record, headers, origin, attempt, error)

    def _broker(self) -> KafkaBroker:
        broker: KafkaBroker = self.context.get("broker")
        return broker

    async def _publish_retry(
        self, record: Any, headers: dict[str, str], origin: _Origin, attempt: int, error: Exception
    ) -> None:
        delay = self.policy.delay_before(attempt)
        retry_headers = {
            **{k: v for k, v in headers.items() if not k.startswith("x-sextant-")},
            h.ATTEMPT: str(attempt),
            h.NOT_BEFORE: f"{time.time() + delay:.3f}",
            h.ORIGINAL_TOPIC: origin.topic,
            h.ORIGINAL_PARTITION: str(origin.partition),
            h.ORIGINAL_OFFSET: str(origin.offset),
            h.LAST_ERROR: _describe(error)[:500],
        }
        await self._broker().publish(
            record.value or b"",
            retry_topic_name(origin.topic),
            key=record.key,
            headers=retry_headers,
        )
        logger.warning(
            "handler failed; scheduled a retry",
            extra={
                "topic": origin.topic,
                "offset": origin.offset,
                "attempt": attempt,
                "delay_s": delay,
                "error": _describe(error),
            },
        )

    async def _publish_dead_letter(
        self, record: Any, headers: dict[str, str], origin: _Origin, attempts: int, error: Exception
    ) -> None:
        handler = self.context.get("handler_")
        await publish_dead_letter(
            self._broker(),
            record,
            error,
            consumer_group=getattr(handler, "group_id", None),
            attempts=attempts,
            headers=headers,
            origin=origin,
        )


async def publish_dead_letter(
    broker: KafkaBroker,
    record: Any,
    error: BaseException,
    *,
    consumer_group: str | None,
    attempts: int = 1,
    headers: dict[str, str] | None = None,
    origin: _Origin | None = None,
) -> None:
    """Publish ``record`` to its topic's DLQ as a :class:`DeadLetter` explaining ``error``.

    Batch subscribers call this for the one bad record of a batch, so the rest of the
    batch is still served and committed.
    """
    headers = _header_map(record) if headers is None else headers
    origin = _origin(record, headers) if origin is None else origin
    letter = DeadLetter(
        original_topic=origin.topic,
        partition=origin.partition,
        offset=origin.offset,
        key_base64=base64.b64encode(record.key).decode() if record.key else None,
        original_base64=base64.b64encode(record.value or b"").decode(),
        original_text=_readable_text(record.value),
        original_headers=headers,
        consumer_group=consumer_group,
        error_type=type(error).__name__,
        error_message=_describe(error),
        attempts=attempts,
        failed_at=datetime.now(UTC),
    )
    await broker.publish(
        letter.model_dump_json().encode(),
        dlq_topic_name(origin.topic),
        key=record.key,
        headers={"content-type": "application/json"},
    )
    logger.error(
        "message dead-lettered",
        extra={
            "topic": origin.topic,
            "partition": origin.partition,
            "offset": origin.offset,
            "attempts": attempts,
            "error": _describe(error),
        },
    )
