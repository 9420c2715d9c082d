"""Pins every Kafka safety default; each assertion fails if the default regresses."""

import pytest
from faststream.middlewares import AckPolicy
from pydantic import ValidationError

from sextant_kafka import SAFE_ACK_POLICY, broker_options, create_broker
from sextant_platform.settings import KafkaSettings


def test_producer_waits_for_all_replicas_and_is_idempotent() -> None:
    options = broker_options(KafkaSettings(), client_id="t")
    assert options["acks"] == "all"
    assert options["enable_idempotence"] is True


def test_producer_batches_hold_many_replies_but_stay_under_the_message_limit() -> None:
    """16 KiB (aiokafka's default) held ~7 embedding replies: concurrent publishers then
    spun on every drain. A batch must still fit the brokers' 1 MiB message.max.bytes."""
    options = broker_options(KafkaSettings(), client_id="t")
    assert 256 * 1024 <= options["max_batch_size"] <= 1024 * 1024
    with pytest.raises(ValidationError):
        KafkaSettings(PRODUCER_BATCH_BYTES=4 * 1024 * 1024)


def test_subscribers_commit_only_after_the_handler_succeeds() -> None:
    options = broker_options(KafkaSettings(), client_id="t")
    assert options["ack_policy"] is AckPolicy.NACK_ON_ERROR
    assert SAFE_ACK_POLICY not in (AckPolicy.ACK_FIRST, AckPolicy.ACK, AckPolicy.REJECT_ON_ERROR)


def test_built_broker_carries_the_safe_ack_policy_and_creates_no_topics() -> None:
    broker = create_broker(KafkaSettings(), client_id="t")
    config = broker.config.broker_config
    assert config.ack_policy is AckPolicy.NACK_ON_ERROR
    assert config.allow_auto_create_topics is False
