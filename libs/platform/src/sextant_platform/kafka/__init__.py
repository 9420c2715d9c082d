"""Kafka plumbing on FastStream + aiokafka: broker factory, retry/DLQ, topic admin."""

from sextant_platform.kafka.broker import SAFE_ACK_POLICY, broker_options, create_broker
from sextant_platform.kafka.dead_letter import (
    DeadLetterMiddleware,
    PermanentFailure,
    RetryPolicy,
    publish_dead_letter,
)
from sextant_platform.kafka.subscription import durable_subscriber, subscriber_options

__all__ = [
    "SAFE_ACK_POLICY",
    "DeadLetterMiddleware",
    "PermanentFailure",
    "RetryPolicy",
    "broker_options",
    "create_broker",
    "durable_subscriber",
    "publish_dead_letter",
    "subscriber_options",
]
