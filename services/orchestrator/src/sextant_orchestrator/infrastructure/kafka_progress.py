"""The ProgressPublisher port on ``analysis.progress.v1``."""

import asyncio
import logging
import uuid

from aiokafka.structs import RecordMetadata
from faststream.kafka import KafkaBroker

from sextant_contracts import AnalysisProgressed, Envelope
from sextant_contracts.catalogue import ANALYSIS_PROGRESS

PROGRESS_TOPIC = ANALYSIS_PROGRESS.name

logger = logging.getLogger(__name__)


def _log_failed_delivery(acknowledgement: "asyncio.Future[RecordMetadata]") -> None:
    if not acknowledgement.cancelled() and acknowledgement.exception() is not None:
        logger.warning("progress event not delivered", exc_info=acknowledgement.exception())


def progress_event_id(event: AnalysisProgressed) -> uuid.UUID:
    """The same for the same step, round and status of an analysis, different otherwise."""
    return uuid.uuid5(event.analysis_id, f"progress:{event.sequence}")


class KafkaProgressPublisher:
    """Publishes progress keyed by analysis id (one partition: in order per analysis).

    The event id is derived from the analysis and the event's sequence (one per step,
    round and status), so a step started again after a crash repeats the *same* event,
    which consumers dedupe, while the plan of round 2 is not mistaken for round 1's.

    ``publish`` returns once the event is handed to the producer, without waiting for
    the broker's acknowledgement: progress is best effort, and waiting put a broker
    round trip on every step boundary. The producer keeps the partition's order, and a
    failed delivery is logged.
    """

    def __init__(self, broker: KafkaBroker) -> None:
        self._broker = broker

    async def publish(self, event: AnalysisProgressed, *, tenant_id: str) -> None:
        envelope = Envelope.wrap(
            event, tenant_id=tenant_id, correlation_id=str(event.analysis_id)
        ).model_copy(update={"event_id": progress_event_id(event)})
        acknowledgement = await self._broker.publish(
            envelope.model_dump_json().encode(),
            PROGRESS_TOPIC,
            key=str(event.analysis_id).encode(),
            headers={"content-type": "application/json"},
            no_confirm=True,
        )
        acknowledgement.add_done_callback(_log_failed_delivery)
