"""Registering a handler so that it also serves the topic's retry companion."""

from collections.abc import Callable
from typing import Any, TypeVar

from faststream.kafka import KafkaBroker

from sextant_contracts import retry_topic_name
from sextant_platform.settings import KafkaSettings

HandlerT = TypeVar("HandlerT", bound=Callable[..., Any])


def subscriber_options(settings: KafkaSettings, *, group_id: str) -> dict[str, Any]:
    """Consumer settings every durable subscriber uses.

    ``auto_offset_reset="earliest"``: a consumer group that starts for the first time
    reads what was published before it existed, so no request is skipped.
    Offsets are committed by FastStream's ack middleware after the handler (auto-commit
    is off for every ack policy but ACK_FIRST, which the broker never uses).
    """
    return {
        "group_id": group_id,
        "auto_offset_reset": "earliest",
        "max_poll_interval_ms": settings.MAX_POLL_INTERVAL_MS,
        "session_timeout_ms": settings.SESSION_TIMEOUT_MS,
        "heartbeat_interval_ms": max(1000, settings.SESSION_TIMEOUT_MS // 10),
    }


def durable_subscriber(
    broker: KafkaBroker,
    topic: str,
    *,
    group_id: str,
    settings: KafkaSettings,
    **extra: Any,
) -> Callable[[HandlerT], HandlerT]:
    """Subscribe ``handler`` to ``topic`` and to ``<topic>.retry``, in the same group family.

    The retry subscriber has its own consumer group (``<group_id>.retry``) so that a
    message waiting for its backoff never holds up the main topic's partitions.
    """

    def register(handler: HandlerT) -> HandlerT:
        broker.subscriber(topic, **subscriber_options(settings, group_id=group_id), **extra)(
            handler
        )
        broker.subscriber(
            retry_topic_name(topic),
            **subscriber_options(settings, group_id=f"{group_id}.retry"),
            **extra,
        )(handler)
        return handler

    return register
