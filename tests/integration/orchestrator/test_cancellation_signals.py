"""Cancellation signals over the real PostgreSQL: a flagged analysis is noticed without
reading its row at every step boundary, and nothing is missed across a reconnect."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_orchestrator.infrastructure.postgres_analyses import PostgresAnalysisRepository
from sextant_orchestrator.infrastructure.postgres_cancellation import (
    CANCEL_CHANNEL,
    PostgresCancellationSignals,
)
from tests.integration.infrastructure import Infrastructure
from tests.integration.kafka_helpers import wait_until
from tests.integration.orchestrator.service import request_envelope


@pytest.fixture
async def signals(infra: Infrastructure) -> AsyncIterator[PostgresCancellationSignals]:
    watcher = PostgresCancellationSignals(infra.postgres)
    watcher.start()
    await wait_until(watcher.listening.is_set, what="the cancel listener")
    yield watcher
    await watcher.stop()


def _first_check(signals: PostgresCancellationSignals, analysis_id: uuid.UUID) -> int:
    token = signals.needs_check(analysis_id)
    assert token is not None, "the first check of a run always reads the row"
    return token


async def _execute(engine: AsyncEngine, sql: str, **params: str) -> None:
    async with engine.begin() as connection:
        await connection.execute(text(sql), params)


async def _admitted(engine: AsyncEngine) -> tuple[PostgresAnalysisRepository, uuid.UUID, str]:
    repository = PostgresAnalysisRepository(engine)
    request = request_envelope()
    await repository.admit_and_claim(request, owner="signals-test", lease_s=30)
    return repository, request.payload.analysis_id, request.tenant_id


async def test_a_cleared_analysis_needs_no_read_until_it_is_flagged(
    engine: AsyncEngine, signals: PostgresCancellationSignals
) -> None:
    repository, analysis_id, tenant = await _admitted(engine)
    with signals.watch(analysis_id):
        token = _first_check(signals, analysis_id)
        assert await repository.cancel_reason(analysis_id) is None
        signals.cleared(analysis_id, token)
        assert signals.needs_check(analysis_id) is None

        assert await repository.request_cancel(analysis_id, tenant_id=tenant, reason="stop")
        await wait_until(
            lambda: signals.needs_check(analysis_id) is not None, what="the notification"
        )
        assert await repository.cancel_reason(analysis_id) == "stop"


async def test_a_notification_during_the_read_is_not_cleared_away(
    engine: AsyncEngine, signals: PostgresCancellationSignals
) -> None:
    _, analysis_id, _ = await _admitted(engine)
    with signals.watch(analysis_id):
        token = _first_check(signals, analysis_id)
        # arrives after the read, before cleared()
        await _execute(engine, "SELECT pg_notify(:c, :a)", c=CANCEL_CHANNEL, a=str(analysis_id))
        await asyncio.sleep(0.5)
        signals.cleared(analysis_id, token)
        assert signals.needs_check(analysis_id) is not None


async def test_after_a_reconnect_every_watched_analysis_is_read_again(
    engine: AsyncEngine, signals: PostgresCancellationSignals
) -> None:
    _, analysis_id, _ = await _admitted(engine)
    with signals.watch(analysis_id):
        token = signals.needs_check(analysis_id)
        assert token is not None
        signals.cleared(analysis_id, token)
        assert signals.needs_check(analysis_id) is None
        async with engine.begin() as connection:  # what a PostgreSQL restart does to it
            await connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = :listen"
                ),
                {"listen": f'LISTEN "{CANCEL_CHANNEL}"'},
            )
        await wait_until(
            lambda: signals.needs_check(analysis_id) is not None, what="the disconnect noticed"
        )
        await wait_until(signals.listening.is_set, timeout_s=30, what="the listener back")
        assert signals.needs_check(analysis_id) is not None, "missed notifications re-read"
