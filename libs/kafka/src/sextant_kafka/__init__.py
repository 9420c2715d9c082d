"""Kafka plumbing on FastStream + aiokafka: broker factory, consumers and their DLQ, admin."""

from sextant_kafka.broker import SAFE_ACK_POLICY, broker_options, create_broker
from sextant_kafka.dead_letter import publish_dead_letter

__all__ = [
    "SAFE_ACK_POLICY",
    "broker_options",
    "create_broker",
    "publish_dead_letter",
]
