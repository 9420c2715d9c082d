"""Fakes of the orchestrator's own ports, for fast tests of its use cases.

Not stand-ins for PostgreSQL or Redis (those are tested for real in tests/integration):
the in-memory repository applies the domain's lifecycle rules (``Analysis``) directly,
which is what the PostgreSQL repository is checked to do (``test_lifecycle_rules.py``).
"""

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sextant_contracts import (
    AnalysisCompleted,
    AnalysisInterrupted,
    AnalysisProgressed,
    AnalysisRequested,
    Envelope,
)
from sextant_contracts.status import AnalysisStatus
from sextant_orchestrator.domain.analysis import Analysis, LeaseLive, LifecycleRefused
from sextant_orchestrator.domain.errors import LeaseHeld, StepFailed
from sextant_orchestrator.domain.interrupts import PauseRequest, StoredInterrupt
from sextant_orchestrator.domain.ports import TerminalOutcome
from sextant_orchestrator.domain.progress import Position, StepAt, StepDone, StepPaused
from sextant_orchestrator.domain.state import AnalysisState
from sextant_orchestrator.domain.threads import Turn

STEPS = ["profile", "plan", "run_tools", "finalize"]


class InMemoryAnalyses:
    """The AnalysisRepository port over the domain aggregate; terminal events are kept."""

    def __init__(self) -> None:
        self.analyses: dict[UUID, Analysis] = {}
        self.events: list[TerminalOutcome] = []
        self.requests: list[Envelope[AnalysisRequested]] = []
        self.interrupts: dict[UUID, StoredInterrupt] = {}
        self.interrupted_events: list[Envelope[AnalysisInterrupted]] = []
        self.woken: list[UUID] = []
        """Analyses woken (their requests would be published again), in order."""

    async def admit_and_claim(
        self, request: Envelope[AnalysisRequested], *, owner: str, lease_s: float
    ) -> str:
        analysis_id = request.payload.analysis_id
        if analysis_id not in self.analyses:
            self.requests.append(request)
        analysis = self.analyses.setdefault(
            analysis_id, Analysis(analysis_id, request.tenant_id, AnalysisStatus.ACCEPTED)
        )
        if analysis.ended or analysis.status == AnalysisStatus.INTERRUPTED:
            return analysis.status
        try:
            self.analyses[analysis_id] = analysis.claim(owner, now=_now(), lease_s=lease_s)
        except LeaseLive as held:
            raise LeaseHeld(str(analysis_id), held.expires_in_s) from held
        return "running"

    async def load(self, analysis_id: UUID) -> Analysis | None:
        return self.analyses.get(analysis_id)

    async def running_ahead(
        self, thread_id: UUID, *, tenant_id: str, analysis_id: UUID
    ) -> UUID | None:
        order = [r.payload.analysis_id for r in self.requests]
        before = self.requests[: order.index(analysis_id) if analysis_id in order else None]
        return next(
            (
                r.payload.analysis_id
                for r in before
                if r.payload.thread_id == thread_id
                and r.tenant_id == tenant_id
                and not self.analyses[r.payload.analysis_id].ended
            ),
            None,
        )

    async def earlier_turns(
        self, thread_id: UUID, *, tenant_id: str, before: UUID, limit: int
    ) -> list[Turn]:
        answers = {
            e.payload.analysis_id: e.payload
            for e in self.events
            if isinstance(e.payload, AnalysisCompleted)
        }
        order = [r.payload.analysis_id for r in self.requests]
        earlier = [
            r.payload
            for r in self.requests[: order.index(before) if before in order else None]
            if r.payload.thread_id == thread_id
            and r.tenant_id == tenant_id
            and r.payload.analysis_id in answers
        ]
        return [
            Turn(
                analysis_id=str(p.analysis_id),
                question=p.question,
                answer=answers[p.analysis_id].answer,
                findings=[f.statement for f in answers[p.analysis_id].findings],
            )
            for p in earlier[-limit:]
        ]

    async def renew(self, analysis_id: UUID, *, owner: str, lease_s: float) -> bool:
        try:
            renewed = self.analyses[analysis_id].renew(owner, now=_now(), lease_s=lease_s)
        except LifecycleRefused:
            return False
        self.analyses[analysis_id] = renewed
        return True

    async def cancel_reason(self, analysis_id: UUID) -> str | None:
        analysis = self.analyses[analysis_id]
        return analysis.cancel_reason or (f"already {analysis.status}" if analysis.ended else None)

    async def request_cancel(self, analysis_id: UUID, *, tenant_id: str, reason: str) -> bool:
        before = self.analyses[analysis_id]
        try:
            self.analyses[analysis_id] = before.request_cancel(reason)
        except LifecycleRefused:
            return False
        if before.status == AnalysisStatus.INTERRUPTED:
            self.woken.append(analysis_id)
        return True

    async def pause(
        self, analysis_id: UUID, *, owner: str, event: Envelope[AnalysisInterrupted]
    ) -> bool:
        asked = event.payload
        known = self.interrupts.get(asked.interrupt_id)
        if known is not None and known.response is not None:
            return False
        try:
            self.analyses[analysis_id] = self.analyses[analysis_id].pause(owner)
        except LifecycleRefused:
            return False
        if known is None:
            self.interrupts[asked.interrupt_id] = StoredInterrupt(
                interrupt_id=asked.interrupt_id,
                analysis_id=analysis_id,
                tenant_id=event.tenant_id,
                kind=asked.kind.value,
                options=list(asked.options),
                default_response=asked.default_response,
                on_timeout=asked.on_timeout,
                response=None,
                expired=False,
            )
            self.interrupted_events.append(event)
        return True

    async def interrupt(self, interrupt_id: UUID) -> StoredInterrupt | None:
        return self.interrupts.get(interrupt_id)

    async def pending_interrupt(
        self, analysis_id: UUID, *, tenant_id: str
    ) -> StoredInterrupt | None:
        if self.analyses[analysis_id].status != AnalysisStatus.INTERRUPTED:
            return None
        return next(
            (
                i
                for i in reversed(self.interrupts.values())
                if i.analysis_id == analysis_id and i.response is None
            ),
            None,
        )

    async def answer(self, interrupt_id: UUID, response: dict[str, Any], *, by: str) -> bool:
        stored = self.interrupts[interrupt_id]
        if stored.response is not None:
            return False
        self.interrupts[interrupt_id] = replace(stored, response=response)
        self._wake(stored.analysis_id)
        return True

    def expire(self, interrupt_id: UUID) -> None:
        """The wait ran out (the sweep then wakes the analysis)."""
        self.interrupts[interrupt_id] = replace(self.interrupts[interrupt_id], expired=True)
        self._wake(self.interrupts[interrupt_id].analysis_id)

    def _wake(self, analysis_id: UUID) -> None:
        try:
            self.analyses[analysis_id] = self.analyses[analysis_id].wake()
        except LifecycleRefused:
            return
        self.woken.append(analysis_id)

    async def finish(self, analysis_id: UUID, outcome: TerminalOutcome) -> bool:
        status = {"AnalysisCompleted": "completed", "AnalysisFailed": "failed"}.get(
            type(outcome.payload).__name__, "cancelled"
        )
        try:
            self.analyses[analysis_id] = self.analyses[analysis_id].finish(status)  # type: ignore[arg-type]
        except LifecycleRefused:
            return False
        self.events.append(outcome)
        return True


def _now() -> datetime:
    return datetime.now(UTC)


class ScriptedWorkflow:
    """The WorkflowRunner port: the steps of STEPS, checkpointed in memory; a step named
    in ``failing`` raises, one in ``pausing`` waits until ``resume`` is set."""

    def __init__(self, *, failing: dict[str, Exception] | None = None) -> None:
        self.done: dict[str, list[str]] = {}
        self.runs: list[str] = []
        self.failing = failing or {}
        self.pausing: set[str] = set()
        self.resume = asyncio.Event()
        self.paused = asyncio.Event()
        self.retired: list[str] = []
        self.initial: dict[str, AnalysisState | None] = {}
        """The state each thread's run started from (None: resumed)."""
        self.asking: dict[str, PauseRequest] = {}
        """Steps that pause with this request until they are resumed with an answer."""
        self.waiting: dict[str, PauseRequest] = {}
        self.answers: dict[str, dict[str, Any]] = {}
        """The answer each thread's paused step was resumed with."""

    async def position(self, thread_id: str) -> Position:
        done = self.done.get(thread_id)
        if done is None:
            return Position(started=False, upcoming=StepAt(STEPS[0]))
        upcoming = STEPS[len(done)] if len(done) < len(STEPS) else None
        return Position(
            started=True,
            upcoming=StepAt(upcoming) if upcoming else None,
            last_done=StepAt(done[-1]) if done else None,
            waiting=dict(self.waiting[thread_id]) if thread_id in self.waiting else None,
        )

    async def run(
        self, thread_id: str, initial: AnalysisState | None, *, answer: dict[str, Any] | None = None
    ) -> AsyncGenerator[StepDone | StepPaused]:
        done = self.done.setdefault(thread_id, [])
        self.initial.setdefault(thread_id, initial)
        if answer is not None:
            self.answers[thread_id] = answer
            self.waiting.pop(thread_id, None)
        for index in range(len(done), len(STEPS)):
            step = STEPS[index]
            self.runs.append(step)
            if step in self.asking and thread_id not in self.answers:
                self.waiting[thread_id] = self.asking[step]
                yield StepPaused(at=StepAt(step), request=dict(self.asking[step]))
                return
            if step in self.pausing:
                self.paused.set()
                await self.resume.wait()
            if step in self.failing:
                raise self.failing[step]
            done.append(step)
            following = StepAt(STEPS[index + 1]) if index + 1 < len(STEPS) else None
            yield StepDone(done=StepAt(step), following=following)

    async def final_state(self, thread_id: str) -> AnalysisState:
        return {"answer": "east leads [T1]", "cited": []}

    async def retire(self, thread_id: str) -> None:
        self.retired.append(thread_id)

    async def unretired(self, limit: int) -> list[str]:
        return []


class RecordedProgress:
    def __init__(self) -> None:
        self.events: list[AnalysisProgressed] = []

    async def publish(self, event: AnalysisProgressed, *, tenant_id: str) -> None:
        self.events.append(event)


class NoInlineData:
    async def store_inline(
        self, *, dataset_id: UUID, tenant_id: str, media_type: str, content: bytes
    ) -> None:
        return None


def step_failure(step: str) -> StepFailed:
    return StepFailed(step, "dataset_unavailable", "the dataset is gone")
