"""The run lease on the real PostgreSQL: it survives database blips, and a run that has
lost it stops itself, then claims again.

The use case runs in-process with the real repository; the workflow is a single slow
step recorded here (what it does is not the point: who runs it, and when, is). The
renewals go through a proxy that can make them fail as a database away would.
"""

import asyncio
import time
import uuid
from collections.abc import AsyncGenerator
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_contracts import AnalysisProgressed, AnalysisRequested, Envelope
from sextant_orchestrator.application.run_analysis import RunAnalysis
from sextant_orchestrator.domain.progress import Position, StepAt, StepDone
from sextant_orchestrator.domain.state import AnalysisState
from sextant_orchestrator.infrastructure.postgres_analyses import PostgresAnalysisRepository
from tests.integration.orchestrator.service import analysis_row, request_envelope

LEASE_S = 1.5
OWNER = "lease-test"


class SlowStep:
    """A workflow of one step that takes ``step_s``; it records every start, every
    cancelled run and the most runs at once."""

    def __init__(self, step_s: float) -> None:
        self.step_s = step_s
        self.started_at: list[float] = []
        self.cancelled_at: list[float] = []
        self.finished = False
        self.running = 0
        self.most_at_once = 0

    async def position(self, thread_id: str) -> Position:
        step = None if self.finished else StepAt("finalize")
        return Position(started=bool(self.started_at), upcoming=step)

    async def run(
        self, thread_id: str, initial: AnalysisState | None, *, answer: dict[str, Any] | None = None
    ) -> AsyncGenerator[StepDone]:
        self.started_at.append(time.monotonic())
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            await asyncio.sleep(self.step_s)
        except asyncio.CancelledError:
            self.cancelled_at.append(time.monotonic())
            raise
        finally:
            self.running -= 1
        self.finished = True
        yield StepDone(done=StepAt("finalize"), following=None)

    async def final_state(self, thread_id: str) -> AnalysisState:
        return {"answer": "done"}

    async def retire(self, thread_id: str) -> None:
        return None


class FlakyRenewals(PostgresAnalysisRepository):
    """The real repository, except that renewals fail while ``failing`` is above zero
    (each failure counts it down; -1: until told otherwise)."""

    failing = 0
    renewals = 0

    async def renew(self, analysis_id: UUID, *, owner: str, lease_s: float) -> bool:
        self.renewals += 1
        if self.failing:
            self.failing -= 1
            raise OperationalError("UPDATE analyses", {}, ConnectionResetError("blip"))
        return await super().renew(analysis_id, owner=owner, lease_s=lease_s)


class Progress:
    async def publish(self, event: AnalysisProgressed, *, tenant_id: str) -> None:
        return None


class NoDatasets:
    async def store_inline(
        self, *, dataset_id: UUID, tenant_id: str, media_type: str, content: bytes
    ) -> None:
        return None


def _use_case(repository: PostgresAnalysisRepository, workflow: SlowStep) -> RunAnalysis:
    return RunAnalysis(
        repository=repository,
        workflow=workflow,
        progress=Progress(),
        datasets=NoDatasets(),
        owner=OWNER,
        lease_s=LEASE_S,
        model_name="none",
    )


def _request() -> Envelope[AnalysisRequested]:
    return request_envelope(dataset_id=uuid.uuid4())


async def _lease_left_s(engine: AsyncEngine, analysis_id: UUID) -> float:
    async with engine.connect() as connection:
        left = (
            await connection.execute(
                text(
                    "SELECT EXTRACT(EPOCH FROM (lease_expires_at - now())) FROM analyses"
                    " WHERE analysis_id = :id"
                ),
                {"id": analysis_id},
            )
        ).scalar_one()
    return float(left)


async def test_the_lease_outlives_a_failed_renewal(engine: AsyncEngine) -> None:
    """One renewal fails: the lease is renewed at the next tick and the run goes on.
    (The renewer used to die on its first error: the lease lapsed under a running
    analysis, and the error surfaced only after the analysis had finished.)"""
    repository = FlakyRenewals(engine)
    repository.failing = 1
    workflow = SlowStep(step_s=LEASE_S * 2.5)
    request = _request()
    running = asyncio.create_task(_use_case(repository, workflow)(request))

    await asyncio.sleep(LEASE_S * 1.5)  # the failed renewal, and more, are behind us
    lease_left = await _lease_left_s(engine, request.payload.analysis_id)
    await running

    assert lease_left > 0, "the lease lapsed while the analysis ran"
    assert repository.renewals >= 3
    assert workflow.cancelled_at == []
    row = await analysis_row(engine, request.payload.analysis_id)
    assert row is not None
    assert (row.status, row.attempts) == ("completed", 1)


async def test_a_run_that_cannot_renew_stops_before_its_lease_lapses(engine: AsyncEngine) -> None:
    """Renewals keep failing: the step is stopped while the lease still holds, so no
    other instance can run alongside it; once the database answers again the run claims
    the analysis back and finishes it."""
    repository = FlakyRenewals(engine)
    repository.failing = -1
    workflow = SlowStep(step_s=LEASE_S * 4)
    request = _request()
    running = asyncio.create_task(_use_case(repository, workflow)(request))

    await asyncio.sleep(LEASE_S * 1.2)
    assert workflow.cancelled_at, "the run went on without a lease"
    stopped_after_s = workflow.cancelled_at[0] - workflow.started_at[0]
    repository.failing = 0
    workflow.step_s = 0.1
    await asyncio.wait_for(running, timeout=30)

    assert stopped_after_s < LEASE_S
    assert workflow.most_at_once == 1
    row = await analysis_row(engine, request.payload.analysis_id)
    assert row is not None
    assert row.status == "completed"


async def test_a_run_whose_lease_was_taken_stops_and_waits_for_the_new_holder(
    engine: AsyncEngine,
) -> None:
    """Another instance takes the lease (this one stalled): the run stops at the next
    renewal and waits for it. That one never finishes (it died too): once its lease
    expires, this run takes the analysis back and ends it. (The run used to stop and
    return, leaving the analysis to whoever held the lease, dead or alive.)"""
    repository = FlakyRenewals(engine)
    workflow = SlowStep(step_s=LEASE_S * 4)
    request = _request()
    analysis_id = request.payload.analysis_id
    running = asyncio.create_task(_use_case(repository, workflow)(request))
    await asyncio.sleep(LEASE_S / 2)
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE analyses SET lease_owner = 'another-instance',"
                " lease_expires_at = now() + interval '2 seconds' WHERE analysis_id = :id"
            ),
            {"id": analysis_id},
        )
    await asyncio.sleep(LEASE_S / 2)
    assert workflow.cancelled_at, "the run went on after its lease was taken"
    workflow.step_s = 0.1
    await asyncio.wait_for(running, timeout=30)

    row = await analysis_row(engine, analysis_id)
    assert row is not None
    assert (row.status, row.attempts) == ("completed", 2)  # taken back once
    assert len(workflow.started_at) == 2
