"""The lifecycle sweep on the real PostgreSQL and Redis: analyses nobody runs any more
are driven again, overdue ones end failed once, old rows and finished checkpoints go.

The rows a test sweeps are aged by a day or more, and the sweep's thresholds sit between
their age and that of anything else in the shared database, so each test sweeps only
what it made.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from redis.asyncio import Redis
from sextant_checkpoint_redis import PlainRedisSaver
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_contracts.catalogue import ANALYSIS_REQUESTED
from sextant_orchestrator.application.run_analysis import RunAnalysis
from sextant_orchestrator.application.sweep_lifecycle import SweepLifecycle, SweepPolicy
from sextant_orchestrator.infrastructure.postgres_analyses import PostgresAnalysisRepository
from sextant_orchestrator.infrastructure.postgres_lifecycle import PostgresLifecycleStore
from sextant_storage.outbox import enqueue
from tests.integration.orchestrator.service import (
    analysis_row,
    interrupted_event,
    request_envelope,
)
from tests.integration.orchestrator.test_lease import NoDatasets, Progress, SlowStep

DAY_S = 24 * 3600.0
POLICY = SweepPolicy(
    redrive_grace_s=DAY_S / 2,
    redrive_every_s=DAY_S,
    deadline_s=DAY_S * 1.5,
    retention_s=DAY_S * 1.5,
)


class SaverThreads(SlowStep):
    """The workflow's checkpoint threads on the real Redis saver."""

    def __init__(self, saver: PlainRedisSaver) -> None:
        super().__init__(step_s=0)
        self.saver = saver

    async def retire(self, thread_id: str) -> None:
        await self.saver.expire_thread(thread_id, 3600)

    async def unretired(self, limit: int) -> list[str]:
        return await self.saver.some_threads(limit)


def _sweep(engine: AsyncEngine, redis: Redis, prefix: str) -> SweepLifecycle:
    repository = PostgresAnalysisRepository(engine)
    threads = SaverThreads(PlainRedisSaver(redis, prefix=prefix))
    run = RunAnalysis(
        repository=repository,
        workflow=threads,
        progress=Progress(),
        datasets=NoDatasets(),
        owner="sweep-test",
        lease_s=30,
        model_name="none",
    )
    return SweepLifecycle(
        store=PostgresLifecycleStore(engine), run=run, workflow=threads, policy=POLICY
    )


async def _execute(engine: AsyncEngine, statement: str, **params: Any) -> None:
    async with engine.begin() as connection:
        await connection.execute(text(statement), params)


async def _admitted(engine: AsyncEngine, *, age_s: float, lease_expired_s: float) -> UUID:
    """A running analysis accepted ``age_s`` ago whose owner vanished ``lease_expired_s``
    ago (its lease expired then)."""
    request = request_envelope(dataset_id=uuid.uuid4())
    await PostgresAnalysisRepository(engine).admit_and_claim(request, owner="vanished", lease_s=30)
    analysis_id = request.payload.analysis_id
    await _execute(
        engine,
        "UPDATE analyses SET created_at = now() - make_interval(secs => :age),"
        " lease_expires_at = now() - make_interval(secs => :expired) WHERE analysis_id = :id",
        age=age_s,
        expired=lease_expired_s,
        id=analysis_id,
    )
    return analysis_id


async def _outbox(engine: AsyncEngine, topic: str, analysis_id: UUID) -> list[dict[str, Any]]:
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                text("SELECT payload FROM outbox WHERE topic = :topic AND message_key = :key"),
                {"topic": topic, "key": str(analysis_id)},
            )
        ).scalars()
        return [dict(row) for row in rows]


async def test_an_analysis_whose_owner_vanished_is_driven_again_once(
    engine: AsyncEngine, redis: Redis
) -> None:
    """Its lease expired long ago and nothing redelivers its request: the sweep publishes
    it again (same analysis, same tenant) so an instance resumes it, and not again at
    the next sweep."""
    analysis_id = await _admitted(engine, age_s=DAY_S, lease_expired_s=DAY_S * 0.9)
    recent = await _admitted(engine, age_s=DAY_S, lease_expired_s=60)  # within the grace
    sweep = _sweep(engine, redis, f"test:sweep:{uuid.uuid4().hex[:8]}")

    first = await sweep()
    second = await sweep()

    assert first.redriven >= 1
    assert second.redriven == 0
    requests = await _outbox(engine, "analysis.requested.v1", analysis_id)
    assert len(requests) == 1
    assert requests[0]["tenant_id"] == "acme"
    assert requests[0]["payload"]["analysis_id"] == str(analysis_id)
    assert await _outbox(engine, "analysis.requested.v1", recent) == []
    row = await analysis_row(engine, analysis_id)
    assert row is not None
    assert row.status == "running"  # driven again, not ended


async def test_an_analysis_past_its_deadline_ends_failed_with_one_event(
    engine: AsyncEngine, redis: Redis
) -> None:
    overdue = await _admitted(engine, age_s=DAY_S * 2, lease_expired_s=DAY_S * 1.9)
    young = await _admitted(engine, age_s=DAY_S, lease_expired_s=DAY_S * 0.9)
    sweep = _sweep(engine, redis, f"test:sweep:{uuid.uuid4().hex[:8]}")

    first = await sweep()
    await sweep()

    assert first.overdue >= 1
    row = await analysis_row(engine, overdue)
    assert row is not None
    assert row.status == "failed"
    assert row.error is not None
    assert row.error["code"] == "deadline_exceeded"
    failed = await _outbox(engine, "analysis.failed.v1", overdue)
    assert [event["event_id"] for event in failed] == [str(row.terminal_event_id)]
    young_row = await analysis_row(engine, young)
    assert young_row is not None
    assert young_row.status == "running"


async def test_rows_past_the_retention_are_pruned_and_terminal_events_kept(
    engine: AsyncEngine, redis: Redis
) -> None:
    analysis_id = uuid.uuid4()
    progress = request_envelope(dataset_id=uuid.uuid4())  # any envelope: its topic matters
    terminal = request_envelope(dataset_id=uuid.uuid4())
    async with engine.begin() as connection:
        for envelope, topic in (
            (progress, "analysis.progress.v1"),
            (terminal, "analysis.completed.v1"),
        ):
            await enqueue(connection, topic=topic, key=str(analysis_id), envelope=envelope)
    await _execute(
        engine,
        "UPDATE outbox SET published_at = now() - interval '2 days' WHERE message_key = :key",
        key=str(analysis_id),
    )
    await _execute(
        engine,
        "INSERT INTO pending_cancellations (analysis_id, tenant_id, reason, requested_at)"
        " VALUES (:id, 'acme', 'never came', now() - interval '2 days')",
        id=analysis_id,
    )
    sweep = _sweep(engine, redis, f"test:sweep:{uuid.uuid4().hex[:8]}")

    report = await sweep()

    assert report.pruned["outbox"] >= 1
    assert report.pruned["pending_cancellations"] >= 1
    assert await _outbox(engine, "analysis.progress.v1", analysis_id) == []
    assert len(await _outbox(engine, "analysis.completed.v1", analysis_id)) == 1
    async with engine.connect() as connection:
        pending = (
            await connection.execute(
                text("SELECT count(*) FROM pending_cancellations WHERE analysis_id = :id"),
                {"id": analysis_id},
            )
        ).scalar_one()
    assert pending == 0


async def test_checkpoints_of_analyses_that_ended_elsewhere_are_let_expire(
    engine: AsyncEngine, redis: Redis
) -> None:
    """An analysis ended by the deadline (or a give-up) never retired its checkpoints:
    the sweep does; a running analysis's checkpoints are left alone."""
    prefix = f"test:sweep:{uuid.uuid4().hex[:8]}"
    ended = await _admitted(engine, age_s=DAY_S * 2, lease_expired_s=DAY_S * 1.9)
    running = await _admitted(engine, age_s=60, lease_expired_s=-30)
    for thread in (ended, running):
        key = f"{prefix}:t:{thread}:cp:1"
        await redis.set(key, b"checkpoint")
        await redis.sadd(f"{prefix}:t:{thread}:keys", key)
        await redis.sadd(f"{prefix}:threads", str(thread))

    report = await _sweep(engine, redis, prefix)()

    assert report.retired == 1
    assert await redis.smembers(f"{prefix}:threads") == {str(running).encode()}
    assert 0 < await redis.ttl(f"{prefix}:t:{ended}:cp:1") <= 3600
    assert await redis.ttl(f"{prefix}:t:{running}:cp:1") == -1  # no expiry


async def test_an_analysis_whose_stored_request_is_unreadable_still_ends(
    engine: AsyncEngine, redis: Redis
) -> None:
    """A row whose stored request is no request (another program or an older version
    wrote it) stopped every sweep, and with it the orchestrator, after each restart. It is
    not driven again (there is nothing to run it from), and past its deadline it ends."""
    stuck = await _admitted(engine, age_s=DAY_S * 2, lease_expired_s=DAY_S * 1.9)
    await _execute(
        engine,
        "UPDATE analyses SET request = CAST(:r AS jsonb) WHERE analysis_id = :id",
        r='{"question": "from an older version"}',
        id=stuck,
    )
    sweep = _sweep(engine, redis, f"test:sweep:{uuid.uuid4().hex[:8]}")

    report = await sweep()

    assert report.overdue >= 1
    row = await analysis_row(engine, stuck)
    assert row is not None
    assert row.status == "failed"
    assert row.error is not None
    assert row.error["code"] == "deadline_exceeded"
    assert await _outbox(engine, "analysis.requested.v1", stuck) == []


async def _waiting(engine: AsyncEngine, *, age_s: float, expires_in_s: float) -> UUID:
    """An analysis accepted ``age_s`` ago that paused for an answer whose wait ends in
    ``expires_in_s`` (negative: it ran out that long ago)."""
    analysis_id = await _admitted(engine, age_s=age_s, lease_expired_s=-60)
    repository = PostgresAnalysisRepository(engine)
    expires_at = datetime.now(UTC) + timedelta(seconds=expires_in_s)
    assert await repository.pause(
        analysis_id, owner="vanished", event=interrupted_event(analysis_id, expires_at=expires_at)
    )
    return analysis_id


async def test_a_wait_that_ran_out_wakes_its_analysis_and_the_deadline_spares_waiting_ones(
    engine: AsyncEngine, redis: Redis
) -> None:
    """The interrupt's own timeout ends a wait (the run then fails it or takes the
    default); the analysis deadline does not run while a person is asked."""
    ran_out = await _waiting(engine, age_s=60, expires_in_s=-1)
    waits_on = await _waiting(engine, age_s=DAY_S * 2, expires_in_s=3600)  # past the deadline
    sweep = _sweep(engine, redis, f"test:sweep:{uuid.uuid4().hex[:8]}")

    report = await sweep()

    assert report.timed_out >= 1
    woken = await analysis_row(engine, ran_out)
    assert woken is not None
    assert woken.status == "running"  # for an instance to claim and end or resume
    (request,) = await _outbox(engine, ANALYSIS_REQUESTED.name, ran_out)
    assert request["payload"]["analysis_id"] == str(ran_out)
    still = await analysis_row(engine, waits_on)
    assert still is not None
    assert still.status == "interrupted"
    assert await _outbox(engine, ANALYSIS_REQUESTED.name, waits_on) == []
