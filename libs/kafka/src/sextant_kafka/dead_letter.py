"""Dead-lettering to ``<topic>.dlq``: what every consumer does with a record it cannot take.

Every service consumes through
:class:`~sextant_kafka.long_running_consumer.LongRunningConsumer`, with one
policy (see :func:`~sextant_kafka.long_running_consumer.dead_lettering_consumer`):

1. A handler waits out an outage of our own infrastructure in place (a tenacity policy
   around the work), so a record is never failed for a restart of PostgreSQL or Redis.
2. Anything else a handler raises (the record cannot be decoded or validated, it names
   another tenant's analysis, the outage outlasted its budget) sends the record to
   ``<topic>.dlq`` as a :class:`~sextant_contracts.DeadLetter` with the reason, and the
   partition moves on: a poison record never blocks the records behind it.
3. If the DLQ publish itself fails past its patience, the offset is never committed
   past the record and the process exits, so its supervisor restarts it and Kafka
   redelivers: nothing is ever dropped.

There is no ``<topic>.retry`` topic: a record waiting for a delayed retry elsewhere is
only worth it for failures that heal by themselves, and those are the outages step 1
waits out where the record is.
"""

import base64
import logging
from datetime import UTC, datetime
from typing import Any

from faststream.kafka import KafkaBroker

from sextant_contracts import DeadLetter, dlq_topic_name

logger = logging.getLogger(__name__)

MAX_ERROR_CHARS = 4000


def _header_map(record: Any) -> dict[str, str]:
    """The record's headers as text (undecodable bytes replaced), kept for operators."""
    return {
        key: value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
        for key, value in record.headers or ()
    }


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


async def publish_dead_letter(
    broker: KafkaBroker,
    record: Any,
    error: BaseException,
    *,
    consumer_group: str | None,
) -> None:
    """Publish ``record`` to its topic's DLQ as a :class:`DeadLetter` explaining ``error``."""
    letter = DeadLetter(
        original_topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key_base64=base64.b64encode(record.key).decode() if record.key else None,
        original_base64=base64.b64encode(record.value or b"").decode(),
        original_text=_readable_text(record.value),
        original_headers=_header_map(record),
        consumer_group=consumer_group,
        error_type=type(error).__name__,
        error_message=_describe(error),
        attempts=1,
        failed_at=datetime.now(UTC),
    )
    await broker.publish(
        letter.model_dump_json().encode(),
        dlq_topic_name(record.topic),
        key=record.key,
        headers={"content-type": "application/json"},
    )
    logger.error(
        "message dead-lettered",
        extra={
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "error": letter.error_message,
        },
    )
