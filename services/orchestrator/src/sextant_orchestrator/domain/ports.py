"""What the workflow needs from the other services (adapters live in infrastructure)."""

from collections.abc import AsyncGenerator
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from sextant_contracts import (
    AnalysisCancelled,
    AnalysisCompleted,
    AnalysisFailed,
    AnalysisInterrupted,
    AnalysisProgressed,
    AnalysisRequested,
    Envelope,
)
from sextant_orchestrator.domain.analysis import Analysis, AnalysisStatus, OverdueAnalysis
from sextant_orchestrator.domain.budgets import MeteredCall, Spent
from sextant_orchestrator.domain.interrupts import StoredInterrupt
from sextant_orchestrator.domain.progress import Position, StepDone, StepPaused
from sextant_orchestrator.domain.state import AnalysisState, ToolOutcome
from sextant_orchestrator.domain.threads import Turn

TerminalOutcome = (
    Envelope[AnalysisCompleted] | Envelope[AnalysisFailed] | Envelope[AnalysisCancelled]
)


class ToolInvoker(Protocol):
    """The tools service: every number in an answer comes through here."""

    async def list_tools(self, *, tenant_id: str) -> list[dict[str, Any]]: ...

    async def invoke(
        self,
        *,
        call_id: str,
        tool_name: str,
        dataset_id: str | None,
        arguments: dict[str, Any],
        tenant_id: str,
    ) -> ToolOutcome: ...


class PassageRanker(Protocol):
    """The embeddings service: passages ranked by similarity to a query."""

    async def rank(
        self, *, query: str, passages: list[str], top_k: int, tenant_id: str
    ) -> list[tuple[int, float]]: ...


class UsageLedger(Protocol):
    """Every LLM call that answered, per tenant: what budgets are checked against.
    An outage raises ``TransientFailure`` (the run resumes from its checkpoint)."""

    async def spent(self, tenant_id: str, *, since: datetime) -> Spent:
        """The tenant's tokens and cost since ``since``."""
        ...

    async def record(self, call: MeteredCall) -> None: ...


class AnalysisRepository(Protocol):
    """The durable record of every analysis: one row each, following the lifecycle of
    :mod:`sextant_orchestrator.domain.analysis` (terminal exactly once).

    Terminal outcomes are written together with their event (transactional outbox), so
    the event is published exactly once per analysis id, even across crashes.
    """

    async def admit_and_claim(
        self, request: Envelope[AnalysisRequested], *, owner: str, lease_s: float
    ) -> AnalysisStatus:
        """Record the request if it is new, then take (or renew) the run lease and mark
        the analysis running; raises LeaseHeld while another owner's lease is live.
        Returns the status (terminal: a duplicate or a redelivery, nothing to do)."""
        ...

    async def load(self, analysis_id: UUID) -> Analysis | None:
        """The analysis's lifecycle state as stored (None: no such analysis)."""
        ...

    async def running_ahead(
        self, thread_id: UUID, *, tenant_id: str, analysis_id: UUID
    ) -> UUID | None:
        """The earliest unfinished analysis of the thread accepted before this one (or
        before now, when this one is not recorded yet), if any."""
        ...

    async def earlier_turns(
        self, thread_id: UUID, *, tenant_id: str, before: UUID, limit: int
    ) -> list[Turn]:
        """The tenant's completed analyses of the thread accepted before ``before``, the
        last ``limit`` of them, oldest first."""
        ...

    async def renew(self, analysis_id: UUID, *, owner: str, lease_s: float) -> bool:
        """Extend the lease; False when this owner lost it."""
        ...

    async def cancel_reason(self, analysis_id: UUID) -> str | None:
        """Why cancellation was requested, or None when it was not."""
        ...

    async def request_cancel(self, analysis_id: UUID, *, tenant_id: str, reason: str) -> bool:
        """Flag a non-terminal analysis of ``tenant_id`` for cancellation; one not admitted
        yet is cancelled as soon as it is. False when there is nothing to cancel."""
        ...

    async def finish(self, analysis_id: UUID, outcome: TerminalOutcome) -> bool:
        """Write the terminal state and enqueue its event; False if it was already terminal."""
        ...

    async def pause(
        self, analysis_id: UUID, *, owner: str, event: Envelope[AnalysisInterrupted]
    ) -> bool:
        """The lease holder's running analysis waits for an answer: status
        ``interrupted``, no lease, the interrupt recorded and its event enqueued (once per
        interrupt, however often it is paused on). False, with nothing written, when the
        interrupt was answered meanwhile or this owner lost the lease."""
        ...

    async def interrupt(self, interrupt_id: UUID) -> StoredInterrupt | None:
        """A recorded interrupt, with its answer if it has one."""
        ...

    async def pending_interrupt(
        self, analysis_id: UUID, *, tenant_id: str
    ) -> StoredInterrupt | None:
        """The unanswered interrupt the tenant's analysis waits on, if it is interrupted."""
        ...

    async def answer(self, interrupt_id: UUID, response: dict[str, Any], *, by: str) -> bool:
        """Record the answer and wake the analysis (running, no lease, its request
        published again so an instance resumes it), in one transaction. False when the
        interrupt had its answer already (nothing changes)."""
        ...


class LifecycleStore(Protocol):
    """What the lifecycle sweeps read and write: analyses nobody is running any more,
    analyses past their deadline, and rows past their retention."""

    async def redrive_expired(self, *, grace_s: float, every_s: float, limit: int) -> int:
        """Publish the request of each running analysis whose lease expired over
        ``grace_s`` ago again (at most once per ``every_s``), so an instance takes it
        over and resumes it; how many were driven again."""
        ...

    async def overdue(self, *, deadline_s: float, limit: int) -> list[OverdueAnalysis]:
        """Unfinished analyses accepted over ``deadline_s`` ago."""
        ...

    async def wake_expired_interrupts(self, *, limit: int) -> int:
        """Wake interrupted analyses whose wait ran out (the run then fails them with
        ``interrupt_timed_out`` or takes the declared default); how many."""
        ...

    async def wake_runs(self, analysis_ids: list[UUID]) -> None:
        """Tell the processes running these analyses to read their rows again (they
        ended elsewhere: the runs stop at their next step boundary)."""
        ...

    async def prune(self, *, retention_s: float, limit: int) -> dict[str, int]:
        """Delete up to ``limit`` rows per table older than ``retention_s`` that nothing
        needs any more; how many, per table."""
        ...

    async def finished_among(self, analysis_ids: list[str]) -> set[str]:
        """Those of ``analysis_ids`` whose analyses are terminal."""
        ...


class ProgressPublisher(Protocol):
    """Progress events (best effort: the terminal event is the one that is guaranteed)."""

    async def publish(self, event: AnalysisProgressed, *, tenant_id: str) -> None: ...


class CancellationSignals(Protocol):
    """Whether an analysis *may* have been asked to stop since it was last checked.

    Lets a step boundary skip the repository read when nothing can have changed; a
    "maybe" is always settled by :meth:`AnalysisRepository.cancel_reason`.
    """

    def watch(self, analysis_id: UUID) -> AbstractContextManager[None]:
        """Follow ``analysis_id`` while it runs here."""
        ...

    def needs_check(self, analysis_id: UUID) -> int | None:
        """None when no request to stop can have arrived since the last
        :meth:`cleared`; otherwise a token to pass to it after reading the repository."""
        ...

    def cleared(self, analysis_id: UUID, token: int) -> None:
        """The repository said "not cancelled" as of ``token``."""
        ...


class AlwaysCheckCancellation:
    """No signals: every step boundary reads the repository."""

    def watch(self, analysis_id: UUID) -> AbstractContextManager[None]:
        return nullcontext()

    def needs_check(self, analysis_id: UUID) -> int | None:
        return 0

    def cleared(self, analysis_id: UUID, token: int) -> None:
        return None


class DatasetWriter(Protocol):
    """Stores a request's inline data so the tools service can read it by reference."""

    async def store_inline(
        self, *, dataset_id: UUID, tenant_id: str, media_type: str, content: bytes
    ) -> None:
        """Idempotent: storing the same id twice keeps the first."""
        ...


class WorkflowRunner(Protocol):
    """The checkpointed workflow, one thread per analysis."""

    async def position(self, thread_id: str) -> Position:
        """Whether a checkpoint exists, the step that runs next and the step that
        completed last, each with its round."""
        ...

    def run(
        self, thread_id: str, initial: AnalysisState | None, *, answer: dict[str, Any] | None = None
    ) -> AsyncGenerator[StepDone | StepPaused, None]:
        """Run (``initial``) or resume (None) the thread; yields each step as it completes,
        after its checkpoint is durable, and ends with StepPaused when a step pauses for
        an answer. ``answer`` resumes the paused step with it. Stopping the iteration
        stops before the next step."""
        ...

    async def final_state(self, thread_id: str) -> AnalysisState: ...

    async def retire(self, thread_id: str) -> None:
        """The analysis is terminal: let its checkpoints expire."""
        ...

    async def unretired(self, limit: int) -> list[str]:
        """Up to ``limit`` threads whose checkpoints have not been let expire (a random
        sample: repeated calls visit them all)."""
        ...
