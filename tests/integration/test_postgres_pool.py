"""Pooled connections whose server side went away, against a real PostgreSQL.

The engine pings only connections that sat idle for ``PING_IDLE_S``; a connection in
steady use is not pinged, and when it breaks only the statement that finds out fails.
"""

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_storage.database import create_engine
from sextant_storage.outages import is_database_outage
from tests.integration.infrastructure import Infrastructure

BACKEND_PID = text("SELECT pg_backend_pid()")


@asynccontextmanager
async def pooled_connection_killed(
    infra: Infrastructure, killer: AsyncEngine, *, ping_idle_s: float
) -> AsyncIterator[tuple[AsyncEngine, int]]:
    """A one-connection engine whose pooled connection's backend (pid given) was killed,
    as a PostgreSQL restart or an idle-connection reaper does."""
    settings = infra.postgres.model_copy(
        update={"POOL_SIZE": 1, "MAX_OVERFLOW": 0, "PING_IDLE_S": ping_idle_s}
    )
    engine = create_engine(settings)
    try:
        pid = await backend_pid(engine)
        async with killer.connect() as connection:
            killed = await connection.execute(
                text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}
            )
            assert killed.scalar_one()
        yield engine, pid
    finally:
        await engine.dispose()


async def backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(BACKEND_PID)).scalar_one())


async def test_an_idle_connection_that_died_is_replaced_before_use(
    infra: Infrastructure, engine: AsyncEngine
) -> None:
    async with pooled_connection_killed(infra, engine, ping_idle_s=0.0) as (pooled, killed):
        assert await backend_pid(pooled) != killed  # the ping failed: a fresh connection


async def test_a_connection_in_steady_use_is_not_pinged_and_only_one_statement_fails(
    infra: Infrastructure, engine: AsyncEngine
) -> None:
    async with pooled_connection_killed(infra, engine, ping_idle_s=3600.0) as (pooled, killed):
        with pytest.raises(DBAPIError) as failed:  # no ping: the statement finds out
            await backend_pid(pooled)
        assert failed.value.connection_invalidated
        assert await backend_pid(pooled) != killed  # the pool was invalidated: fresh one


async def test_a_statement_the_server_does_not_answer_in_time_is_an_outage(
    infra: Infrastructure,
) -> None:
    """A stalled server (here: a statement that sleeps) ends in the statement timeout,
    classified as an outage (retried and waited out), instead of hanging the caller."""
    engine = create_engine(infra.postgres.model_copy(update={"STATEMENT_TIMEOUT_S": 0.5}))
    try:
        started = time.monotonic()
        with pytest.raises(Exception) as raised:  # noqa: PT011 - the type is what is checked
            async with engine.connect() as connection:
                await connection.execute(text("SELECT pg_sleep(5)"))
        assert time.monotonic() - started < 3
        assert is_database_outage(raised.value), repr(raised.value)
    finally:
        await engine.dispose()
