"""The use case: run one analysis request to exactly one terminal state.

The order of things, and why:

1. **Admit** - the request is recorded in PostgreSQL (a no-op for a known id), so a
   request published straight to Kafka gets its row too. A terminal row means a
   duplicate or a redelivery of finished work: nothing to do.
2. **Lease** - one instance runs an analysis at a time. A redelivery caused by a
   rebalance or a crash finds the lease held and waits until its holder finishes (then
   there is nothing to do) or its lease expires (the holder died: take over).
   Admit and lease share one transaction.
3. **Run or resume** - a thread with a checkpoint is resumed (``run(thread, None)``),
   never restarted with the original input, so finished steps are not run again.
   Between steps: progress events, and the cancellation flag.
3a. **Pause** - a step that needs a person's answer stops the run: the analysis is
   ``interrupted`` (lease released, the interrupt and its event written together) and
   the request's record is done with. An answer, a cancellation or the wait running out
   wakes it (its request is published again); the run then finds the step paused in its
   checkpoint and resumes it with the recorded answer, cancels, or times it out.
4. **Finish** - the terminal state and its event are written in one transaction
   (outbox); a second finish of the same analysis changes nothing.

Completion is judged from the stored row, never from the checkpoint's "next" steps.
"""

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from pydantic import ValidationError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from sextant_contracts import (
    AnalysisCancelled,
    AnalysisCompleted,
    AnalysisFailed,
    AnalysisInterrupted,
    AnalysisProgressed,
    AnalysisRequested,
    Chart,
    Citation,
    Envelope,
    Finding,
    StepStatus,
    TokenUsage,
    ToolCallRecord,
    WorkflowStep,
)
from sextant_contracts.analysis import (
    MAX_FAILURE_REASON_CHARS,
    MAX_FINDING_PATH_CHARS,
    MAX_FINDING_STATEMENT_CHARS,
    MAX_TOOL_ERROR_CHARS,
    MAX_UNGROUNDED_NUMBER_CHARS,
    MAX_UNGROUNDED_VALUE_CHARS,
)
from sextant_contracts.base import Contract
from sextant_contracts.interrupts import MAX_PROMPT_CHARS, InterruptKind, response_schema
from sextant_orchestrator.domain.analysis import (
    TERMINAL_STATUSES,
    AnalysisStatus,
    OverdueAnalysis,
)
from sextant_orchestrator.domain.budgets import ANY_TENANT
from sextant_orchestrator.domain.charts import for_reading
from sextant_orchestrator.domain.clipping import clip
from sextant_orchestrator.domain.errors import (
    DependencyUnavailable,
    LeaseHeld,
    StepFailed,
    ThreadBusy,
    TransientFailure,
    UnstorableOutcome,
)
from sextant_orchestrator.domain.interrupts import (
    InterruptPolicy,
    interrupt_id,
    policy_for,
)
from sextant_orchestrator.domain.ports import (
    AlwaysCheckCancellation,
    AnalysisRepository,
    CancellationSignals,
    DatasetWriter,
    ProgressPublisher,
    WorkflowRunner,
)
from sextant_orchestrator.domain.progress import (
    LOOP_STEPS,
    StepAt,
    StepPaused,
    completed_sequence,
    sequence,
)
from sextant_orchestrator.domain.state import AnalysisState
from sextant_orchestrator.domain.threads import TURNS_READ
from sextant_storage.postgres_text import storable_text

logger = logging.getLogger(__name__)

FIRST_STEP = StepAt(WorkflowStep.PROFILE.value)
INTERRUPTED = "interrupted: a newer question was asked in its thread"
"""The cancel reason of a question a newer one interrupted or rolled back."""
LAST_STEP = StepAt(WorkflowStep.FINALIZE.value)
EXCERPT_CHARS = 300
RENEWALS_PER_LEASE = 6
INLINE_DATASET_NAMESPACE = uuid.UUID("5b1d3c52-8f0e-4d51-9d61-2f3f7e0c6a10")


def inline_dataset_id(analysis_id: UUID) -> UUID:
    """Deterministic, so a resumed or redelivered analysis reuses the stored copy."""
    return uuid.uuid5(INLINE_DATASET_NAMESPACE, str(analysis_id))


def _wait_for_lease(state: RetryCallState) -> float:
    error = state.outcome.exception() if state.outcome else None
    expires_in = error.expires_in_s if isinstance(error, LeaseHeld) else 1.0
    return min(max(expires_in, 0.2), 5.0)


@dataclass
class _Lease:
    lost: bool = False
    """Another instance holds it, or it could not be renewed in time: the run stopped."""


class RunAnalysis:
    """Runs analysis requests; one instance per process, shared by every consumer task."""

    def __init__(
        self,
        *,
        repository: AnalysisRepository,
        workflow: WorkflowRunner,
        progress: ProgressPublisher,
        datasets: DatasetWriter,
        owner: str,
        lease_s: float,
        model_name: str,
        resume_attempts: int = 5,
        cancellation: CancellationSignals | None = None,
        thread_policies: Mapping[str, str] | None = None,
        interrupt_policies: Mapping[str, InterruptPolicy] | None = None,
    ) -> None:
        self._repository = repository
        self._workflow = workflow
        self._progress = progress
        self._datasets = datasets
        self._owner = owner
        self._lease_s = lease_s
        self._model_name = model_name
        self._resume_attempts = resume_attempts
        self._cancellation = cancellation or AlwaysCheckCancellation()
        self._thread_policies = thread_policies or {}
        """What a question does when its thread is busy, by tenant (``*``: any)."""
        self._interrupt_policies = interrupt_policies or {}
        """When an analysis pauses for a person, and for how long, by tenant."""
        self._running: dict[UUID, asyncio.Task[None]] = {}

    async def __call__(self, request: Envelope[AnalysisRequested]) -> None:
        """Returns once the analysis is terminal (here or on another instance)."""
        analysis_id = request.payload.analysis_id
        running = self._running.get(analysis_id)
        if running is not None:  # redelivered to this process while it runs here
            await asyncio.shield(running)
            return
        task = asyncio.create_task(self._own_and_run(request), name=f"analysis-{analysis_id}")
        self._running[analysis_id] = task
        try:
            await task
        finally:
            self._running.pop(analysis_id, None)

    async def give_up(
        self, request: Envelope[AnalysisRequested], error: BaseException, *, outage: bool
    ) -> None:
        """The request is being dead-lettered (``error`` outlived every retry; ``outage``:
        it was an outage that lasted past the budget). If its analysis was admitted and is
        not terminal, it ends ``failed`` here, with its one terminal event, instead of
        staying ``running`` for ever; otherwise nothing is written."""
        code = "dependency_unavailable" if outage else "internal_error"
        reason = f"the analysis could not be run: {type(error).__name__}: {error}"
        await self._fail(request, code, reason, None)

    async def end_overdue(self, overdue: OverdueAnalysis, deadline_s: float) -> bool:
        """The analysis outlived its deadline (whatever held it up): it ends ``failed``
        with ``deadline_exceeded`` and its one terminal event; False if it had ended.
        Only its id and tenant are needed: its stored request may not even be readable."""
        reason = f"the analysis did not finish within its deadline of {deadline_s:g}s"
        failed = _failed(overdue.analysis_id, "deadline_exceeded", reason, None)
        envelope = Envelope.wrap(
            failed, tenant_id=overdue.tenant_id, correlation_id=str(overdue.analysis_id)
        )
        return await self._repository.finish(overdue.analysis_id, envelope)

    async def _own_and_run(self, request: Envelope[AnalysisRequested]) -> None:
        """Claim and run until the analysis is terminal. A run that lost its lease claims
        again: it waits for the instance that took over to finish, or for that one's
        lease to expire too (then it takes the analysis back); when the lease lapsed
        because the database was away, nobody else holds it and the run resumes."""
        analysis_id = request.payload.analysis_id
        while True:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception_type(LeaseHeld), wait=_wait_for_lease, reraise=True
            ):
                with attempt:
                    status = await self._repository.admit_and_claim(
                        request, owner=self._owner, lease_s=self._lease_s
                    )
            if status in TERMINAL_STATUSES or status == AnalysisStatus.INTERRUPTED:
                logger.info(
                    "analysis already finished or waiting for an answer",
                    extra={"analysis_id": str(analysis_id), "status": str(status)},
                )
                return
            with self._cancellation.watch(analysis_id):
                if await self._run_leased(request):
                    return

    async def _run_leased(self, request: Envelope[AnalysisRequested]) -> bool:
        """Run while holding the lease; False when the lease was lost on the way."""
        analysis_id = request.payload.analysis_id
        paused = False
        async with self._lease_kept(analysis_id) as lease:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception_type(TransientFailure),
                stop=stop_after_attempt(self._resume_attempts),
                wait=wait_exponential_jitter(multiplier=0.5, max=10.0),
                reraise=True,
            ):
                with attempt:
                    paused = await self._run(request)
            if not paused:  # a paused analysis's checkpoint is what it resumes from
                await self._workflow.retire(str(analysis_id))
        return not lease.lost

    @contextlib.asynccontextmanager
    async def _lease_kept(self, analysis_id: UUID) -> AsyncIterator[_Lease]:
        """Renew the lease while the body runs; losing it cancels the body: only one run
        may go on. Lost means another instance holds it now, or the renewals failed for
        so long that it is about to lapse (the run stops before anyone can take over)."""
        body = asyncio.current_task()
        lease = _Lease()
        renewer = asyncio.create_task(
            self._keep_renewing(analysis_id, lease, body), name=f"lease-{analysis_id}"
        )
        try:
            yield lease
        except asyncio.CancelledError:
            if not lease.lost or body is None:
                raise
            body.uncancel()
            logger.warning("lease lost; the run stopped", extra={"analysis_id": str(analysis_id)})
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer

    async def _keep_renewing(
        self, analysis_id: UUID, lease: _Lease, body: asyncio.Task[Any] | None
    ) -> None:
        """Renew every sixth of the lease. A renewal that fails (a database blip) is
        retried at the next tick while one more fits inside the lease; one that hangs is
        given up a tick before the lease would lapse. Past that the lease is given up
        (the body is cancelled) before it lapses. A renewal that succeeds late (this
        process stalled) keeps the lease: the database, not the local clock, says
        whether another instance took it."""
        loop = asyncio.get_running_loop()
        interval = self._lease_s / RENEWALS_PER_LEASE
        held_until = loop.time() + self._lease_s
        while True:
            await asyncio.sleep(interval)
            asked_at = loop.time()
            try:  # a slow renewal may take as long as the lease holds (less a margin)
                async with asyncio.timeout(max(held_until - interval - asked_at, interval)):
                    kept = await self._repository.renew(
                        analysis_id, owner=self._owner, lease_s=self._lease_s
                    )
            except Exception as error:  # any failure is a missed renewal
                if loop.time() + 2 * interval < held_until:
                    logger.warning(
                        "lease not renewed; retrying",
                        extra={"analysis_id": str(analysis_id), "error": repr(error)},
                    )
                    continue
                kept = False
            if kept:
                held_until = asked_at + self._lease_s
                continue
            lease.lost = True
            if body is not None:
                body.cancel()
            return

    async def _run(self, request: Envelope[AnalysisRequested]) -> bool:
        """Run until the analysis ends (False) or pauses for an answer (True)."""
        payload = request.payload
        thread = str(payload.analysis_id)
        position = await self._workflow.position(thread)
        current, last_done = position.upcoming, position.last_done
        initial: AnalysisState | None = None
        answer: dict[str, Any] | None = None
        if not position.started:
            discarded = await self._took_turn(request)
            if discarded is None:
                return False
            initial = await self._initial_state(request, discarded=discarded)
            current = FIRST_STEP
        try:
            if current is not None:
                if await self._cancel_if_requested(request, current, last_done):
                    return False
                if position.waiting is not None:  # woken: answered, or its wait ran out
                    paused = StepPaused(at=current, request=position.waiting)
                    answer = await self._answer_to(request, paused, last_done)
                    if answer is None:
                        return await self._paused_or_ended(request, paused)
                await self._publish_progress(request, current, StepStatus.STARTED)
            async with contextlib.aclosing(
                self._workflow.run(thread, initial, answer=answer)
            ) as steps:
                async for done in steps:
                    if isinstance(done, StepPaused):
                        await self._pause(request, done, last_done)
                        return True
                    await self._publish_progress(
                        request, done.done, StepStatus.COMPLETED, detail=done.detail
                    )
                    current, last_done = done.following, done.done
                    if current is None:
                        continue
                    if await self._cancel_if_requested(request, current, last_done):
                        return False
                    await self._publish_progress(request, current, StepStatus.STARTED)
        except StepFailed as error:
            at = current if current is not None and current.step == error.step else None
            await self._fail(request, error.code, error.reason, at or StepAt(error.step))
        except DependencyUnavailable as error:
            await self._fail(request, "dependency_unavailable", str(error), current)
        except (TransientFailure, asyncio.CancelledError):
            raise
        except Exception as error:
            logger.exception("analysis failed unexpectedly", extra={"analysis_id": thread})
            await self._fail(request, "internal_error", f"{type(error).__name__}: {error}", current)
        else:
            try:
                await self._complete(request, await self._workflow.final_state(thread))
            except (ValidationError, UnstorableOutcome) as error:
                # Whatever the result holds, the analysis ends: failed, saying why.
                logger.exception("result not storable", extra={"analysis_id": thread})
                reason = f"the result could not be stored: {type(error).__name__}: {error}"
                await self._fail(request, "result_unstorable", reason, LAST_STEP)
        return False

    async def _answer_to(
        self, request: Envelope[AnalysisRequested], paused: StepPaused, last_done: StepAt | None
    ) -> dict[str, Any] | None:
        """The recorded answer to the pause the checkpoint waits on; at its timeout, the
        pause's default when the policy says so (recorded as its answer). None: no answer
        (it waits again), or it timed out and the analysis ended here."""
        analysis_id = request.payload.analysis_id
        key = str(paused.request.get("key", ""))
        stored = await self._repository.interrupt(interrupt_id(analysis_id, key))
        if stored is None:  # paused in the checkpoint, but its record was never written
            return None
        if stored.response is not None:
            return stored.response
        if not stored.expired:
            return None
        if stored.on_timeout == "default" and stored.default_response is not None:
            await self._repository.answer(
                stored.interrupt_id, stored.default_response, by="timeout"
            )
            return stored.default_response
        reason = f"nobody answered the {stored.kind} in time: {paused.request.get('prompt', '')}"
        await self._fail(request, "interrupt_timed_out", reason, paused.at)
        return None

    async def _paused_or_ended(
        self, request: Envelope[AnalysisRequested], paused: StepPaused
    ) -> bool:
        """After a wake that brought no answer: wait again unless the analysis ended."""
        stored = await self._repository.load(request.payload.analysis_id)
        if stored is not None and stored.ended:
            return False
        await self._pause(request, paused, None)
        return True

    async def _pause(
        self, request: Envelope[AnalysisRequested], paused: StepPaused, last_done: StepAt | None
    ) -> None:
        """The analysis waits for an answer: ``interrupted``, its interrupt recorded and
        published (once). Answered in the meantime: the run goes on (a retry resumes it)."""
        payload = request.payload
        asked = paused.request
        kind = InterruptKind(str(asked["kind"]))
        options = [str(option) for option in asked.get("options", [])]
        policy = policy_for(self._interrupt_policies, request.tenant_id)
        event = AnalysisInterrupted(
            analysis_id=payload.analysis_id,
            interrupt_id=interrupt_id(payload.analysis_id, str(asked["key"])),
            kind=kind,
            prompt=clip(storable_text(str(asked["prompt"])), MAX_PROMPT_CHARS),
            options=options,
            response_schema=response_schema(kind, options),
            default_response=asked.get("default_response"),
            step=WorkflowStep(paused.at.step),
            expires_at=policy.expires_at(datetime.now(UTC)),
            on_timeout=policy.on_timeout,
            last_progress_sequence=completed_sequence(last_done),
        )
        if not await self._repository.pause(
            payload.analysis_id, owner=self._owner, event=self._envelope(request, event)
        ):
            raise TransientFailure("the interrupt was answered while the analysis paused")
        logger.info(
            "analysis waits for an answer",
            extra={"analysis_id": str(payload.analysis_id), "interrupt": event.kind.value},
        )

    async def _took_turn(self, request: Envelope[AnalysisRequested]) -> set[str] | None:
        """In a thread, a question starts once the thread's earlier ones have ended (so it
        sees their answers): it waits (``enqueue``), cancels the running one at its next
        step and then waits (``interrupt``), does so and leaves that one out of the thread
        even if it finished first (``rollback``), or fails ``thread_busy`` (``reject``).
        The check reads the database, so it holds across orchestrator instances. Returns
        the analyses rolled back, or None when this one ended instead (rejected, or
        cancelled while it waited)."""
        payload = request.payload
        if payload.thread_id is None:
            return set()
        policy = (
            payload.options.busy_thread
            or self._thread_policies.get(request.tenant_id)
            or self._thread_policies.get(ANY_TENANT, "enqueue")
        )
        interrupted: set[UUID] = set()
        discarded: set[str] = set()
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(ThreadBusy),
            wait=wait_exponential_jitter(multiplier=0.2, max=2.0),
            reraise=True,
        ):
            with attempt:
                if await self._cancel_if_requested(request, FIRST_STEP, None):
                    return None
                ahead = await self._repository.running_ahead(
                    payload.thread_id, tenant_id=request.tenant_id, analysis_id=payload.analysis_id
                )
                if ahead is None:
                    return discarded
                if policy == "reject":
                    reason = f"analysis {ahead} of this thread has not ended (busy_thread: reject)"
                    await self._fail(request, "thread_busy", reason, FIRST_STEP)
                    return None
                if policy in ("interrupt", "rollback") and ahead not in interrupted:
                    await self._repository.request_cancel(
                        ahead, tenant_id=request.tenant_id, reason=INTERRUPTED
                    )
                    interrupted.add(ahead)
                    if policy == "rollback":
                        discarded.add(str(ahead))
                raise ThreadBusy(str(payload.thread_id), str(ahead))
        return discarded

    async def _initial_state(
        self, request: Envelope[AnalysisRequested], *, discarded: set[str] | None = None
    ) -> AnalysisState:
        """``discarded``: earlier analyses of the thread rolled back (left out of it)."""
        payload = request.payload
        dataset_id = payload.dataset_id
        if payload.inline_dataset is not None:
            dataset_id = inline_dataset_id(payload.analysis_id)
            await self._datasets.store_inline(
                dataset_id=dataset_id,
                tenant_id=request.tenant_id,
                media_type=payload.inline_dataset.media_type,
                content=payload.inline_dataset.content.encode(),
            )
        return {
            "analysis_id": str(payload.analysis_id),
            "tenant_id": request.tenant_id,
            "question": payload.question,
            "dataset_id": str(dataset_id),
            "documents": [d.model_dump() for d in payload.documents],
            "max_tool_calls": payload.options.max_tool_calls,
            "max_rounds": payload.options.max_rounds,
            "top_k_passages": payload.options.top_k_passages,
            "max_tokens": payload.options.max_tokens,
            "interrupts": policy_for(self._interrupt_policies, request.tenant_id).rules(
                clarify=payload.options.clarify
            ),
            "history": [
                turn
                for turn in (
                    await self._repository.earlier_turns(
                        payload.thread_id,
                        tenant_id=request.tenant_id,
                        before=payload.analysis_id,
                        limit=TURNS_READ,
                    )
                    if payload.thread_id is not None
                    else []
                )
                if turn["analysis_id"] not in (discarded or set())
            ],
        }

    def _envelope(self, request: Envelope[AnalysisRequested], payload: Contract) -> Any:
        return Envelope.wrap(
            payload,
            tenant_id=request.tenant_id,
            correlation_id=request.correlation_id or str(request.payload.analysis_id),
            causation_id=request.event_id,
            trace=request.trace,
        )

    async def _publish_progress(
        self,
        request: Envelope[AnalysisRequested],
        at: StepAt,
        status: StepStatus,
        *,
        detail: str = "",
    ) -> None:
        message = f"{at.step} {status.value}"
        if at.step in LOOP_STEPS:
            message += f" (round {at.round}{': ' + detail if detail else ''})"
        event = AnalysisProgressed(
            analysis_id=request.payload.analysis_id,
            sequence=sequence(at, status),
            step=WorkflowStep(at.step),
            status=status,
            message=message[:2000],
        )
        try:
            await self._progress.publish(event, tenant_id=request.tenant_id)
        except Exception:  # progress is best effort; the terminal event is guaranteed
            logger.warning("progress event not published", exc_info=True)

    async def _cancel_if_requested(
        self, request: Envelope[AnalysisRequested], at: StepAt, last_done: StepAt | None
    ) -> bool:
        """Cancel before ``at`` starts; the event names ``last_done``'s completed event,
        the last progress published, so a stream waits for exactly that one."""
        analysis_id = request.payload.analysis_id
        token = self._cancellation.needs_check(analysis_id)
        if token is None:  # nothing can have changed since the last read
            return False
        reason = await self._repository.cancel_reason(analysis_id)
        if reason is None:
            self._cancellation.cleared(analysis_id, token)
            return False
        cancelled = AnalysisCancelled(
            analysis_id=request.payload.analysis_id,
            reason=reason,
            cancelled_at_step=WorkflowStep(at.step),
            last_progress_sequence=completed_sequence(last_done),
        )
        await self._finish(request, cancelled)
        return True

    async def _fail(
        self, request: Envelope[AnalysisRequested], code: str, reason: str, at: StepAt | None
    ) -> bool:
        failed = _failed(request.payload.analysis_id, code, reason, at)
        return await self._finish(request, failed)

    async def _complete(self, request: Envelope[AnalysisRequested], state: AnalysisState) -> None:
        completed = AnalysisCompleted(
            analysis_id=request.payload.analysis_id,
            answer=state.get("answer", ""),
            citations=citations(state),
            ungrounded_numbers=[
                clip(n, MAX_UNGROUNDED_NUMBER_CHARS) for n in state.get("ungrounded_numbers", [])
            ],
            ungrounded_values=[
                clip(v, MAX_UNGROUNDED_VALUE_CHARS) for v in state.get("ungrounded_values", [])
            ],
            findings=[_finding(f) for f in state.get("findings", [])],
            tool_calls=[
                ToolCallRecord(
                    call_id=o["call_id"],
                    tool_name=o["tool_name"],
                    arguments=o["arguments"],
                    result=o["result"],
                    error=None if o["error"] is None else clip(o["error"], MAX_TOOL_ERROR_CHARS),
                    duration_ms=o["duration_ms"],
                )
                for o in state.get("outcomes", [])
            ],
            usage=TokenUsage(**state["usage"]) if "usage" in state else TokenUsage(),
            timings_ms=dict(state.get("timings_ms", {})),
            model=self._model_name,
            charts=[Chart.model_validate(chart) for chart in state.get("charts", [])],
            last_progress_sequence=sequence(LAST_STEP, StepStatus.COMPLETED),
        )
        await self._finish(request, completed)

    async def _finish(
        self,
        request: Envelope[AnalysisRequested],
        outcome: AnalysisCompleted | AnalysisFailed | AnalysisCancelled,
    ) -> bool:
        """Write the terminal state and its event; one log line says how it ended (in
        the analysis's trace: the line carries its trace and span ids)."""
        finished = await self._repository.finish(
            request.payload.analysis_id, self._envelope(request, outcome)
        )
        if finished:
            logger.info(
                "analysis finished",
                extra={
                    "analysis_id": str(request.payload.analysis_id),
                    "tenant_id": request.tenant_id,
                    "outcome": type(outcome).__name__,
                    "error_code": getattr(outcome, "error_code", None),
                },
            )
        return finished


def _excerpt(text: str) -> str:
    return clip(text, EXCERPT_CHARS)


def _finding(finding: dict[str, Any]) -> Finding:
    """A finding whose statement and paths fit the contract (a column name can be long)."""
    return Finding.model_validate(
        {
            **finding,
            "statement": clip(str(finding.get("statement", "")), MAX_FINDING_STATEMENT_CHARS),
            "paths": {
                key: clip(str(path), MAX_FINDING_PATH_CHARS)
                for key, path in (finding.get("paths") or {}).items()
            },
        }
    )


def citations(state: AnalysisState) -> list[Citation]:
    """The citations the answer uses, each pointing at its tool call or document."""
    outcomes = {o["call_id"]: o for o in state.get("outcomes", [])}
    passages = {p["marker"]: p for p in state.get("passages", [])}
    found: list[Citation] = []
    for marker in state.get("cited", []):
        if marker in outcomes:
            outcome = outcomes[marker]
            found.append(
                Citation(
                    marker=f"[{marker}]",
                    kind="tool",
                    source_id=marker,
                    excerpt=_excerpt(f"{outcome['tool_name']}: {for_reading(outcome['result'])}"),
                )
            )
        elif marker in passages:
            passage = passages[marker]
            found.append(
                Citation(
                    marker=f"[{marker}]",
                    kind="document",
                    source_id=passage["document_id"],
                    excerpt=_excerpt(passage["text"]),
                )
            )
    return found


def _failed(analysis_id: UUID, code: str, reason: str, at: StepAt | None) -> AnalysisFailed:
    return AnalysisFailed(
        analysis_id=analysis_id,
        error_code=code,
        reason=clip(storable_text(reason), MAX_FAILURE_REASON_CHARS),
        failed_step=WorkflowStep(at.step) if at else None,
        last_progress_sequence=sequence(at, StepStatus.STARTED) if at else None,
    )
