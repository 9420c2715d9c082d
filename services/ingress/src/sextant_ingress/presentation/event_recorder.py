"""Record every progress and terminal event into the event log that feeds SSE (and wake
the streams of an analysis that paused for an answer: its interrupt is read from its row).

All ingress replicas share one consumer group, so each event is recorded by one of them
(and recording is idempotent, so a redelivery is harmless). Each topic's payload is
validated against its contract: a malformed record goes to the topic's DLQ with the
reason, and the partition moves on.

Records are consumed by a :class:`LongRunningConsumer` and written through a
:class:`Coalescer`: every event that arrives while a write is in flight joins the next
one, so a poll's worth of events costs one transaction and one notification per
analysis, and offsets are committed every ``COMMIT_INTERVAL_S`` (one FastStream
subscriber per topic cost a transaction and an offset commit per event: about 13 of
each per analysis). Order is kept: the consumer starts each record's handler in
partition order, a handler submits its event before it first yields, and writes run one
at a time, so a stream reading "after sequence N" never sees N+1 committed before N.

PostgreSQL away is waited out inside the write, holding the writes behind it (order
again); the records stay uncommitted in Kafka meanwhile, so none is dropped.
"""

import math
from typing import Any

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from tenacity import AsyncRetrying

from sextant_contracts import Envelope, topic
from sextant_contracts.catalogue import (
    ANALYSIS_CANCELLED,
    ANALYSIS_COMPLETED,
    ANALYSIS_FAILED,
    ANALYSIS_INTERRUPTED,
    ANALYSIS_PROGRESS,
)
from sextant_ingress.application.ports import EventLog
from sextant_ingress.domain.events import AnalysisEvent, EventKind, sequence_of
from sextant_ingress.presentation.metrics import EVENTS_RECORDED
from sextant_kafka.long_running_consumer import (
    LongRunningConsumer,
    dead_lettering_consumer,
)
from sextant_platform.coalescer import Coalescer
from sextant_platform.resilience import transient_io_policy
from sextant_platform.settings import KafkaSettings
from sextant_storage.outages import is_database_outage

FOLLOWED: dict[str, EventKind] = {
    ANALYSIS_PROGRESS.name: "progress",
    ANALYSIS_COMPLETED.name: "completed",
    ANALYSIS_FAILED.name: "failed",
    ANALYSIS_CANCELLED.name: "cancelled",
}
ANNOUNCED: dict[str, EventKind] = {ANALYSIS_INTERRUPTED.name: "interrupted"}
"""Topics whose events are not stream rows: the streams are woken to read the state."""
COMMIT_INTERVAL_S = 0.5
"""Recording is idempotent: a crash re-records at most ~0.5 s of events, harmlessly."""
MAX_BATCH_EVENTS = 500


def _outages_waited_out() -> AsyncRetrying:
    """PostgreSQL away is waited out for as long as it takes (the records wait in Kafka)."""
    return transient_io_policy(
        is_database_outage, attempts=1_000_000, max_s=10.0, deadline_s=math.inf
    )


class EventRecorder:
    """Validates each record against its topic's contract and records it, batched."""

    def __init__(self, log: EventLog) -> None:
        self._log = log
        self._envelopes: dict[str, Any] = {
            name: Envelope.__class_getitem__(topic(name).payload)
            for name in (*FOLLOWED, *ANNOUNCED)
        }
        self.writes: Coalescer[AnalysisEvent, bool] = Coalescer(
            self._write, max_items=MAX_BATCH_EVENTS
        )

    async def handle(self, record: ConsumerRecord[bytes, bytes]) -> None:
        event = self._envelopes[record.topic].model_validate_json(record.value or b"")
        kind = FOLLOWED.get(record.topic) or ANNOUNCED[record.topic]
        payload = event.payload.model_dump(mode="json")
        recorded = AnalysisEvent(
            analysis_id=event.payload.analysis_id,
            sequence=sequence_of(kind, payload),
            event_id=event.event_id,
            tenant_id=event.tenant_id,
            kind=kind,
            envelope=event.model_dump(mode="json"),
        )
        if record.topic in ANNOUNCED:  # no stream row: the stream reads the analysis's state
            await self._announce(recorded)
            return
        new = await self.writes.submit(recorded)
        EVENTS_RECORDED.labels(kind, "new" if new else "duplicate").inc()

    async def _announce(self, event: AnalysisEvent) -> None:
        async for attempt in _outages_waited_out():
            with attempt:
                await self._log.announce(event)

    async def _write(self, events: list[AnalysisEvent]) -> list[bool | Exception]:
        async for attempt in _outages_waited_out():
            with attempt:
                return await self._log.record_each(events)
        raise AssertionError("unreachable: the policy re-raises its last error")


def event_recorder_consumer(
    broker: KafkaBroker,
    log: EventLog,
    *,
    settings: KafkaSettings,
    group_id: str,
    client_id: str,
    max_in_flight: int = 2 * MAX_BATCH_EVENTS,
) -> tuple[LongRunningConsumer, EventRecorder]:
    """The recorder over the progress and terminal topics, and the consumer feeding it."""
    recorder = EventRecorder(log)
    consumer = dead_lettering_consumer(
        broker,
        settings,
        [*FOLLOWED, *ANNOUNCED],
        group_id=group_id,
        client_id=client_id,
        handler=recorder.handle,
        max_in_flight=max_in_flight,
        commit_interval_s=COMMIT_INTERVAL_S,
    )
    return consumer, recorder
