"""The Kafka entrypoints: analysis requests (long-running), and the commands about them
(cancellations, answers to interrupts).

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
    AnalysisResumeRequested,
    Envelope,
)
from sextant_contracts.catalogue import (
    ANALYSIS_CANCEL_REQUESTED,
    ANALYSIS_REQUESTED,
    ANALYSIS_RESUME_REQUESTED,
)
from sextant_contracts.interrupts import InterruptKind, validated_response
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
RESUMES = ANALYSIS_RESUME_REQUESTED
ResumeEnvelope = Envelope[AnalysisResumeRequested]
READABLE_SCHEMA_VERSION = 1
"""The major version of ``AnalysisRequested`` this orchestrator understands."""


class NotWaitingForThis(ValueError):
    """A resume for an analysis that waits on no interrupt (of this tenant), or on
    another one than it names: it goes to the DLQ with this reason."""


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


class ResumeIntake:
    """Decodes each answer to an interrupt, checks it against what the analysis waits on,
    records it and wakes the analysis (the request intake then resumes it).

    A resume that does not meet the interrupt's response schema, names an interrupt the
    analysis does not wait on, or is for an analysis not waiting, goes to the DLQ with
    the reason; the analysis stays as it is. A resume naming an interrupt already
    answered (a redelivery, or a second answer) is ignored.
    """

    def __init__(self, repository: AnalysisRepository, *, outage_budget_s: float = 300.0) -> None:
        self._repository = repository
        self._outage_budget_s = outage_budget_s

    async def handle(self, record: ConsumerRecord[bytes, bytes]) -> None:
        event = ResumeEnvelope.model_validate_json(record.value or b"")
        async for attempt in outage_policy(self._outage_budget_s):
            with attempt:
                await self._resume(event)

    async def _resume(self, event: Envelope[AnalysisResumeRequested]) -> None:
        resume = event.payload
        analysis = str(resume.analysis_id)
        pending = await self._repository.pending_interrupt(
            resume.analysis_id, tenant_id=event.tenant_id
        )
        if pending is None or resume.interrupt_id not in (None, pending.interrupt_id):
            if resume.interrupt_id is not None:
                named = await self._repository.interrupt(resume.interrupt_id)
                if named is not None and named.tenant_id == event.tenant_id and named.response:
                    logger.info("interrupt answered already", extra={"analysis_id": analysis})
                    return
            waits_on = f"interrupt {pending.interrupt_id}" if pending else "no interrupt"
            raise NotWaitingForThis(
                f"analysis {analysis} of tenant {event.tenant_id} waits on {waits_on}; the"
                f" resume answers {resume.interrupt_id or 'the pending one'}"
            )
        answer = validated_response(InterruptKind(pending.kind), pending.options, resume.response)
        await self._repository.answer(pending.interrupt_id, answer, by=f"event {event.event_id}")
        logger.info("interrupt answered", extra={"analysis_id": analysis})


class CommandIntake:
    """One consumer for the commands about analyses, each record to its topic's intake."""

    def __init__(self, cancellations: CancellationIntake, resumes: ResumeIntake) -> None:
        self._handlers = {CANCELLATIONS.name: cancellations.handle, RESUMES.name: resumes.handle}

    @property
    def topics(self) -> list[str]:
        return list(self._handlers)

    async def handle(self, record: ConsumerRecord[bytes, bytes]) -> None:
        await self._handlers[record.topic](record)
