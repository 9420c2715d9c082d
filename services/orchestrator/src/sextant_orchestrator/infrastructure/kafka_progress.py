"""The ProgressPublisher port on ``analysis.progress.v1``."""

import uuid

from faststream.kafka import KafkaBroker

from sextant_contracts import AnalysisProgressed, Envelope

PROGRESS_TOPIC = "analysis.progress.v1"


class KafkaProgressPublisher:
    """Publishes progress keyed by analysis id (one partition: in order per analysis).

    The event id is derived from (analysis, step, status), so a step started again after
    a crash repeats the *same* event, which consumers such as the SSE stream dedupe.
    """

    def __init__(self, broker: KafkaBroker) -> None:
        self._broker = broker

    async def publish(self, event: AnalysisProgressed, *, tenant_id: str) -> None:
        envelope = Envelope.wrap(
            event, tenant_id=tenant_id, correlation_id=str(event.analysis_id)
        ).model_copy(
            update={
                "event_id": uuid.uuid5(
                    event.analysis_id, f"progress:{event.step.value}:{event.status.value}"
                )
            }
        )
        await self._broker.publish(
            envelope.model_dump_json().encode(),
            PROGRESS_TOPIC,
            key=str(event.analysis_id).encode(),
            headers={"content-type": "application/json"},
        )
