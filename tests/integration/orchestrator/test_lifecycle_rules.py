"""The repository on the real PostgreSQL decides every lifecycle rule as the domain's
``Analysis`` does: same next state, or the same refusal (with nothing changed).

Each case brings a row to a state through the repository (and, for an expired lease,
by ageing it), loads it, applies one operation to the loaded ``Analysis`` and the same
operation to the repository, and compares what each says and what the row holds after.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_contracts import AnalysisFailed, Envelope
from sextant_orchestrator.domain.analysis import Analysis, LifecycleRefused
from sextant_orchestrator.domain.errors import LeaseHeld
from sextant_orchestrator.infrastructure.postgres_analyses import PostgresAnalysisRepository
from sextant_orchestrator.infrastructure.stored_requests import wake
from tests.integration.orchestrator.service import interrupted_event, request_envelope

LEASE_S = 30.0
Repository = PostgresAnalysisRepository


@dataclass
class Case:
    name: str
    given: list[str]
    """Steps that bring the row to the state under test: admit, claim:<owner>,
    expire, cancel, finish, pause:<owner>, wake."""
    operation: str
    """claim:<owner>, renew:<owner>, cancel, finish, pause:<owner>, wake."""


CASES = [
    Case("claim an accepted analysis", ["admit"], "claim:a"),
    Case("claim again as the holder", ["claim:a"], "claim:a"),
    Case("claim while another holds a live lease", ["claim:a"], "claim:b"),
    Case("claim after the holder's lease expired", ["claim:a", "expire"], "claim:b"),
    Case("claim an ended analysis", ["claim:a", "finish"], "claim:a"),
    Case("renew as the holder", ["claim:a"], "renew:a"),
    Case("renew as someone else", ["claim:a"], "renew:b"),
    Case("renew an ended analysis", ["claim:a", "finish"], "renew:a"),
    Case("cancel a running analysis", ["claim:a"], "cancel"),
    Case("cancel an accepted analysis", ["admit"], "cancel"),
    Case("cancel twice: the first reason stands", ["claim:a", "cancel"], "cancel"),
    Case("cancel an ended analysis", ["claim:a", "finish"], "cancel"),
    Case("finish a running analysis", ["claim:a"], "finish"),
    Case("finish an accepted analysis", ["admit"], "finish"),
    Case("finish twice", ["claim:a", "finish"], "finish"),
    Case("pause as the holder", ["claim:a"], "pause:a"),
    Case("pause as someone else", ["claim:a"], "pause:b"),
    Case("pause an accepted analysis", ["admit"], "pause:a"),
    Case("pause an ended analysis", ["claim:a", "finish"], "pause:a"),
    Case("claim an interrupted analysis", ["claim:a", "pause:a"], "claim:a"),
    Case("renew an interrupted analysis", ["claim:a", "pause:a"], "renew:a"),
    Case("wake an interrupted analysis", ["claim:a", "pause:a"], "wake"),
    Case("wake a running analysis", ["claim:a"], "wake"),
    Case("claim a woken analysis", ["claim:a", "pause:a", "wake"], "claim:b"),
    Case("cancel an interrupted analysis: it wakes", ["claim:a", "pause:a"], "cancel"),
    Case("finish an interrupted analysis", ["claim:a", "pause:a"], "finish"),
]


async def _db_now(engine: AsyncEngine) -> datetime:
    async with engine.connect() as connection:
        now: datetime = (await connection.execute(text("SELECT now()"))).scalar_one()
    return now


def _failed(analysis_id: uuid.UUID) -> Envelope[AnalysisFailed]:
    event = AnalysisFailed(analysis_id=analysis_id, error_code="internal_error", reason="test")
    return Envelope.wrap(event, tenant_id="acme")


async def _apply_to_repository(
    repository: Repository, engine: AsyncEngine, request: Any, step: str
) -> bool:
    """Apply ``step``; False when the repository refused it (nothing changed)."""
    analysis_id = request.payload.analysis_id
    verb, _, who = step.partition(":")
    if verb == "admit":  # the ingress's submission: a row and nothing more
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO analyses (analysis_id, tenant_id, status, question, request)"
                    " VALUES (:id, 'acme', 'accepted', 'q', CAST(:request AS jsonb))"
                ),
                {"id": analysis_id, "request": request.payload.model_dump_json()},
            )
        return True
    if verb == "claim":
        try:
            status = await repository.admit_and_claim(request, owner=who, lease_s=LEASE_S)
        except LeaseHeld:
            return False
        return status == "running"
    if verb == "renew":
        return await repository.renew(analysis_id, owner=who, lease_s=LEASE_S)
    if verb == "expire":
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "UPDATE analyses SET lease_expires_at = now() - interval '1 second'"
                    " WHERE analysis_id = :id"
                ),
                {"id": analysis_id},
            )
        return True
    if verb == "cancel":
        return await repository.request_cancel(analysis_id, tenant_id="acme", reason="reason")
    if verb == "finish":
        return await repository.finish(analysis_id, _failed(analysis_id))
    if verb == "pause":
        return await repository.pause(analysis_id, owner=who, event=interrupted_event(analysis_id))
    if verb == "wake":
        async with engine.begin() as connection:
            return await wake(connection, analysis_id)
    raise AssertionError(step)


def _apply_to_domain(analysis: Analysis, step: str, now: datetime) -> Analysis:
    verb, _, who = step.partition(":")
    operations: dict[str, Callable[[], Analysis]] = {
        "claim": lambda: analysis.claim(who, now=now, lease_s=LEASE_S),
        "renew": lambda: analysis.renew(who, now=now, lease_s=LEASE_S),
        "cancel": lambda: analysis.request_cancel("reason"),
        "finish": lambda: analysis.finish("failed"),
        "pause": lambda: analysis.pause(who),
        "wake": analysis.wake,
    }
    return operations[verb]()


def _comparable(analysis: Analysis) -> tuple[Any, ...]:
    owner = analysis.lease.owner if analysis.lease else None
    return (analysis.status, owner, analysis.attempts, analysis.cancel_reason is not None)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_the_repository_decides_as_the_domain(case: Case, engine: AsyncEngine) -> None:
    repository = PostgresAnalysisRepository(engine)
    request = request_envelope(dataset_id=uuid.uuid4())
    analysis_id = request.payload.analysis_id
    for step in case.given:
        assert await _apply_to_repository(repository, engine, request, step), step
    before = await repository.load(analysis_id)
    assert before is not None

    now = await _db_now(engine)
    try:
        expected: Analysis | None = _apply_to_domain(before, case.operation, now)
    except LifecycleRefused:
        expected = None
    accepted = await _apply_to_repository(repository, engine, request, case.operation)
    after = await repository.load(analysis_id)
    assert after is not None

    if expected == before:  # allowed, and a no-op (a second cancel): either answer is fine
        assert _comparable(after) == _comparable(before)
        return
    assert accepted == (expected is not None), f"domain: {expected}, repository: {accepted}"
    if expected is None:
        assert _comparable(after) == _comparable(before)  # refused: nothing changed
    else:
        assert _comparable(after) == _comparable(expected)
        if expected.lease is not None and case.operation.startswith(("claim", "renew")):
            assert after.lease is not None
            assert abs(after.lease.expires_at - expected.lease.expires_at) < timedelta(seconds=5)
