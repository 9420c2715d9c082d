"""The Kafka entrypoints: analysis requests (long-running) and cancellation requests."""

import logging
from typing import Any

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker

from sextant_contracts import (
    AnalysisCancellationRequested,
    AnalysisRequested,
    Envelope,
)
from sextant_contracts.catalogue import ANALYSIS_CANCEL_REQUESTED, ANALYSIS_REQUESTED
from sextant_orchestrator.application.run_analysis import RunAnalysis
from sextant_orchestrator.domain.errors import AnalysisIdConflict, TransientFailure
from sextant_orchestrator.domain.ports import AnalysisRepository
from sextant_platform.kafka import durable_subscriber
from sextant_platform.resilience import is_database_outage, transient_io_policy
from sextant_platform.settings import KafkaSettings

logger = logging.getLogger(__name__)

REQUESTS = ANALYSIS_REQUESTED
CANCELLATIONS = ANALYSIS_CANCEL_REQUESTED
RequestEnvelope = Envelope[AnalysisRequested]
READABLE_SCHEMA_VERSION = 1
"""The major version of ``AnalysisRequested`` this orchestrator understands."""


class UnreadableSchemaVersion(ValueError):
    """A request of a major version this orchestrator cannot read: it goes to the DLQ
    with this reason instead of being run as if it were the version it knows."""


def is_infrastructure_outage(error: BaseException) -> bool:
    """PostgreSQL, Redis or the network away for a moment: worth waiting for."""
    return is_database_outage(error) or isinstance(error, TransientFailure)


class AnalysisIntake:
    """Decodes each request record and runs it; what cannot run goes to the DLQ.

    A malformed record, or one whose analysis id belongs to another tenant, fails at
    once; an infrastructure outage is waited out for ``outage_budget_s`` before giving
    up on it. Giving up on an admitted analysis ends it ``failed`` first, so a request
    in the DLQ never leaves its analysis ``running``.
    """

    def __init__(self, run: RunAnalysis, *, outage_budget_s: float = 300.0) -> None:
        self._run = run
        self._outage_budget_s = outage_budget_s

    async def handle(self, record: ConsumerRecord[bytes, bytes]) -> None:
        request = RequestEnvelope.model_validate_json(record.value or b"")
        if request.schema_version != READABLE_SCHEMA_VERSION:
            raise UnreadableSchemaVersion(
                f"schema_version {request.schema_version}: this orchestrator reads "
                f"version {READABLE_SCHEMA_VERSION} of {REQUESTS.name}"
            )
        try:
            async for attempt in transient_io_policy(
                is_infrastructure_outage,
                attempts=20,
                max_s=15.0,
                deadline_s=self._outage_budget_s,
            ):
                with attempt:
                    await self._run(request)
        except AnalysisIdConflict:
            raise  # another tenant's analysis: never touch it
        except Exception as error:
            logger.exception(
                "giving up on an analysis request",
                extra={"analysis_id": str(request.payload.analysis_id)},
            )
            await self._run.give_up(request, error, outage=is_infrastructure_outage(error))
            raise


def register_cancellation_subscriber(
    broker: KafkaBroker,
    repository: AnalysisRepository,
    *,
    settings: KafkaSettings,
    group_id: str,
) -> Any:
    """Flag the analysis; the running workflow stops at its next step boundary."""

    @durable_subscriber(
        broker, CANCELLATIONS.name, group_id=f"{group_id}.cancel", settings=settings
    )
    async def handle_cancellation(event: Envelope[AnalysisCancellationRequested]) -> None:
        flagged = await repository.request_cancel(
            event.payload.analysis_id, tenant_id=event.tenant_id, reason=event.payload.reason
        )
        logger.info(
            "cancellation requested",
            extra={"analysis_id": str(event.payload.analysis_id), "flagged": flagged},
        )

    return handle_cancellation
