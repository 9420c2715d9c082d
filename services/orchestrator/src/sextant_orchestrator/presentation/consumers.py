"""The Kafka entrypoints: analysis requests (long-running) and cancellation requests.

Both are records handed over by a :class:`~sextant_kafka.long_running_consumer.
LongRunningConsumer` (the one way every service consumes Kafka), with one policy: an
outage is waited out in place, anything else goes to ``<topic>.dlq`` with the reason.
"""

import logging

from aiokafka import ConsumerRecord
from tenacity import AsyncRetrying

from sextant_contracts import (
    AnalysisCancellationRequested,
    AnalysisRequested,
    Envelope,
)
from sextant_contracts.catalogue import ANALYSIS_CANCEL_REQUESTED, ANALYSIS_REQUESTED
from sextant_orchestrator.application.run_analysis import RunAnalysis
from sextant_orchestrator.domain.errors import AnalysisIdConflict, TransientFailure
from sextant_orchestrator.domain.ports import AnalysisRepository
from sextant_platform.resilience import transient_io_policy
from sextant_storage.outages import is_database_outage

logger = logging.getLogger(__name__)

REQUESTS = ANALYSIS_REQUESTED
CANCELLATIONS = ANALYSIS_CANCEL_REQUESTED
RequestEnvelope = Envelope[AnalysisRequested]
CancellationEnvelope = Envelope[AnalysisCancellationRequested]
READABLE_SCHEMA_VERSION = 1
"""The major version of ``AnalysisRequested`` this orchestrator understands."""


class UnreadableSchemaVersion(ValueError):
    """A request of a major version this orchestrator cannot read: it goes to the DLQ
    with this reason instead of being run as if it were the version it knows."""


def is_infrastructure_outage(error: BaseException) -> bool:
    """PostgreSQL, Redis or the network away for a moment: worth waiting for."""
    return is_database_outage(error) or isinstance(error, TransientFailure)


def outage_policy(budget_s: float) -> AsyncRetrying:
    """Every intake's retry policy: an infrastructure outage is waited out (backoff up to
    15 s) for ``budget_s``; any other error propagates at once, to the DLQ."""
    return transient_io_policy(
        is_infrastructure_outage, attempts=20, max_s=15.0, deadline_s=budget_s
    )


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
            async for attempt in outage_policy(self._outage_budget_s):
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


class CancellationIntake:
    """Decodes each cancellation record and flags its analysis; the running workflow
    stops at its next step boundary.

    The same rules as :class:`AnalysisIntake`: a malformed record goes to the DLQ at
    once, a PostgreSQL outage is waited out for ``outage_budget_s``.
    """

    def __init__(self, repository: AnalysisRepository, *, outage_budget_s: float = 300.0) -> None:
        self._repository = repository
        self._outage_budget_s = outage_budget_s

    async def handle(self, record: ConsumerRecord[bytes, bytes]) -> None:
        event = CancellationEnvelope.model_validate_json(record.value or b"")
        async for attempt in outage_policy(self._outage_budget_s):
            with attempt:
                flagged = await self._repository.request_cancel(
                    event.payload.analysis_id,
                    tenant_id=event.tenant_id,
                    reason=event.payload.reason,
                )
        logger.info(
            "cancellation requested",
            extra={"analysis_id": str(event.payload.analysis_id), "flagged": flagged},
        )
