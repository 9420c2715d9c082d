"""Record every progress and terminal event into the event log that feeds SSE.

All ingress replicas share one consumer group, so each event is recorded by one of them
(and recording is idempotent, so a redelivery is harmless). Each topic's payload is
validated against its contract: a malformed record goes to the topic's DLQ with the
reason, and the partition moves on.
"""

from typing import Any, cast

from faststream.kafka import KafkaBroker

from sextant_contracts import Envelope, topic
from sextant_contracts.catalogue import TopicSpec
from sextant_ingress.domain.events import AnalysisEvent, EventKind, sequence_of
from sextant_ingress.infrastructure.postgres_events import PostgresEventLog
from sextant_ingress.presentation.metrics import EVENTS_RECORDED
from sextant_platform.kafka import durable_subscriber
from sextant_platform.settings import KafkaSettings

FOLLOWED: dict[str, EventKind] = {
    "analysis.progress.v1": "progress",
    "analysis.completed.v1": "completed",
    "analysis.failed.v1": "failed",
    "analysis.cancelled.v1": "cancelled",
}


def _recorder(spec: TopicSpec, kind: EventKind, log: PostgresEventLog) -> Any:
    envelope_model: Any = Envelope.__class_getitem__(spec.payload)

    async def record_analysis_event(body: dict[str, Any]) -> None:
        event = cast("Envelope[Any]", envelope_model.model_validate(body))
        payload = event.payload.model_dump(mode="json")
        new = await log.record(
            AnalysisEvent(
                analysis_id=event.payload.analysis_id,
                sequence=sequence_of(kind, payload),
                event_id=event.event_id,
                tenant_id=event.tenant_id,
                kind=kind,
                envelope=event.model_dump(mode="json"),
            )
        )
        EVENTS_RECORDED.labels(kind, "new" if new else "duplicate").inc()

    record_analysis_event.__name__ = f"record_{kind}"
    return record_analysis_event


def register_event_recorder(
    broker: KafkaBroker, log: PostgresEventLog, *, settings: KafkaSettings, group_id: str
) -> None:
    """Subscribe the recorder to the progress and terminal topics."""
    for name, kind in FOLLOWED.items():
        durable_subscriber(broker, name, group_id=group_id, settings=settings)(
            _recorder(topic(name), kind, log)
        )
