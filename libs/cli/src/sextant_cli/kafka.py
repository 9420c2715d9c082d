"""The Kafka side, as producers and downstream consumers use it: publish an
``AnalysisRequested`` straight to its topic, and tail the result topics."""

import json
from collections.abc import AsyncIterator
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from sextant_contracts import AnalysisRequested, Envelope
from sextant_contracts.catalogue import (
    ANALYSIS_INTERRUPTED,
    ANALYSIS_PROGRESS,
    ANALYSIS_REQUESTED,
    TERMINAL_TOPICS,
)
from sextant_platform.settings import KafkaSettings

REQUESTS = ANALYSIS_REQUESTED.name
PROGRESS = ANALYSIS_PROGRESS.name
RESULTS = (*(spec.name for spec in TERMINAL_TOPICS), ANALYSIS_INTERRUPTED.name)
"""What a downstream system follows: every ending, and every pause for an answer."""


async def publish_request(
    settings: KafkaSettings, request: AnalysisRequested, *, tenant_id: str
) -> Envelope[AnalysisRequested]:
    """Publish ``request`` keyed by its analysis id (acks=all, idempotent producer)."""
    envelope = Envelope.wrap(request, tenant_id=tenant_id, correlation_id=str(request.analysis_id))
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.BOOTSTRAP_SERVERS, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        await producer.send_and_wait(
            REQUESTS,
            envelope.model_dump_json().encode(),
            key=str(request.analysis_id).encode(),
        )
    finally:
        await producer.stop()
    return envelope


async def tail(
    settings: KafkaSettings,
    *,
    group_id: str | None,
    from_beginning: bool,
    progress: bool,
) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """(topic, event) from the result topics (and progress, if asked), as they arrive.

    With a ``group_id`` the position is committed, as a downstream service would; without
    one, nothing is committed.
    """
    topics = (*RESULTS, PROGRESS) if progress else RESULTS
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=settings.BOOTSTRAP_SERVERS,
        group_id=group_id,
        auto_offset_reset="earliest" if from_beginning else "latest",
        enable_auto_commit=group_id is not None,
    )
    await consumer.start()
    try:
        async for record in consumer:
            try:
                event = json.loads(record.value or b"")
            except ValueError:
                continue  # not ours to judge: consumers of these topics dead-letter it
            yield record.topic, event
    finally:
        await consumer.stop()
