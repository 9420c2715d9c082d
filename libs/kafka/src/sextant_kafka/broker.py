"""The one way services build a FastStream Kafka broker, with safe defaults pinned by tests.

Defaults and why:

* producer ``acks="all"`` with idempotence: a publish returns only once every in-sync
  replica has the record, and a retried send cannot duplicate it;
* subscribers ``AckPolicy.NACK_ON_ERROR``: the offset is committed only after the
  handler returns. On an exception the consumer seeks back and the message is delivered
  again. (FastStream's Kafka default ``ACK_FIRST`` commits before handling, and
  ``AckPolicy.ACK``/``REJECT_ON_ERROR`` commit even when the handler failed: both lose
  messages on a crash or error.) The services themselves consume through
  :class:`~sextant_kafka.long_running_consumer.LongRunningConsumer` (built on
  :func:`create_consumer`), which commits in order after the work and dead-letters;
  the broker publishes, and serves the subscribers of tests and tools;
* no topic auto-creation: topics come from the contracts catalogue, with their
  partition counts, via ``python -m sextant_storage.provision topics``.
"""

import logging
import ssl
from typing import Any, Literal

from aiokafka import AIOKafkaConsumer
from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.kafka.security import parse_security
from faststream.middlewares import AckPolicy
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512
from opentelemetry.sdk.trace import TracerProvider

from sextant_platform.settings import KafkaSettings, ServiceSettings
from sextant_platform.telemetry import configure_tracing

SAFE_ACK_POLICY = AckPolicy.NACK_ON_ERROR
"""Commit after success; never on error. Pinned by ``tests/unit/test_kafka_defaults.py``."""


def broker_security(settings: KafkaSettings) -> BaseSecurity | None:
    protocol = settings.SECURITY_PROTOCOL
    if protocol == "PLAINTEXT":
        return None
    use_ssl = protocol in ("SSL", "SASL_SSL")
    context = ssl.create_default_context() if use_ssl else None
    if protocol == "SSL":
        return BaseSecurity(ssl_context=context, use_ssl=True)
    if settings.SASL_USERNAME is None or settings.SASL_PASSWORD is None:
        raise ValueError(
            f"KAFKA_SECURITY_PROTOCOL={protocol} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
        )
    mechanism = {
        "PLAIN": SASLPlaintext,
        "SCRAM-SHA-256": SASLScram256,
        "SCRAM-SHA-512": SASLScram512,
    }[settings.SASL_MECHANISM]
    return mechanism(
        username=settings.SASL_USERNAME,
        password=settings.SASL_PASSWORD.get_secret_value(),
        ssl_context=context,
        use_ssl=use_ssl,
    )


def broker_options(settings: KafkaSettings, *, client_id: str) -> dict[str, Any]:
    """The keyword arguments :func:`create_broker` passes to ``KafkaBroker``."""
    return {
        "bootstrap_servers": settings.BOOTSTRAP_SERVERS,
        "client_id": client_id,
        "acks": "all",
        "enable_idempotence": True,
        "ack_policy": SAFE_ACK_POLICY,
        "allow_auto_create_topics": False,
        "request_timeout_ms": settings.REQUEST_TIMEOUT_MS,
        "max_batch_size": settings.PRODUCER_BATCH_BYTES,
        "security": broker_security(settings),
    }


def create_consumer(
    settings: KafkaSettings,
    *,
    client_id: str,
    group_id: str | None,
    auto_offset_reset: Literal["earliest", "latest"],
) -> AIOKafkaConsumer:
    """A plain aiokafka consumer in ``group_id`` (None: no group, partitions assigned by
    hand, nothing committed), for loops FastStream cannot express.

    Auto-commit is off: the owner commits what it has finished, or nothing at all.
    """
    return AIOKafkaConsumer(
        bootstrap_servers=settings.BOOTSTRAP_SERVERS,
        client_id=client_id,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset=auto_offset_reset,
        max_poll_interval_ms=settings.MAX_POLL_INTERVAL_MS,
        session_timeout_ms=settings.SESSION_TIMEOUT_MS,
        heartbeat_interval_ms=max(1000, settings.SESSION_TIMEOUT_MS // 10),
        request_timeout_ms=settings.REQUEST_TIMEOUT_MS,
        **parse_security(broker_security(settings)),
    )


def create_broker(
    settings: KafkaSettings,
    *,
    client_id: str,
    tracer_provider: TracerProvider | None = None,
) -> KafkaBroker:
    """The services' producer (and subscriber host) with the safe defaults above."""
    return KafkaBroker(
        **broker_options(settings, client_id=client_id),
        # FastStream logs every message received/processed; at INFO that costs more than
        # a small message's handling. Keep it for debugging.
        log_level=logging.DEBUG,
        middlewares=(KafkaTelemetryMiddleware(tracer_provider=tracer_provider),),
    )


def service_broker(settings: ServiceSettings) -> KafkaBroker:
    """A service's broker: its Kafka settings, its name as the client id, and its spans
    exported as its telemetry settings say."""
    return create_broker(
        settings.KAFKA,
        client_id=settings.SERVICE_NAME,
        tracer_provider=configure_tracing(settings.SERVICE_NAME, settings.TELEMETRY),
    )
