"""A real Redis with append-only persistence: data survives a restart of the server, and
a server that stops answering is a timeout."""

import asyncio
import os
import signal
import time
import uuid

import pytest
from redis.asyncio import Redis
from redis.exceptions import TimeoutError as RedisTimeoutError

from sextant_storage.redis_client import create_redis
from tests.integration.infrastructure import Infrastructure, restart_local_redis


async def test_write_and_read(redis: Redis) -> None:
    key = f"test:{uuid.uuid4()}"
    await redis.set(key, "value", ex=60)
    assert await redis.get(key) == b"value"


async def test_checkpoint_like_data_survives_a_redis_restart(
    infra: Infrastructure, redis: Redis
) -> None:
    if not infra.local:
        pytest.skip("restarting the server is only possible for the project's local Redis")
    key = f"checkpoint:{uuid.uuid4()}"
    await redis.hset(key, mapping={"step": "run_tools", "state": '{"n": 3}'})
    persistence = await redis.info("persistence")
    assert persistence["aof_enabled"] == 1

    await asyncio.to_thread(restart_local_redis)

    # The pooled client reconnects by itself (retry policy in create_redis).
    assert await redis.hgetall(key) == {b"step": b"run_tools", b"state": b'{"n": 3}'}
    assert (await redis.info("server"))["uptime_in_seconds"] < 30, "the server really restarted"


async def test_a_stalled_redis_is_a_timeout_not_a_hang(infra: Infrastructure, redis: Redis) -> None:
    """While the server is stopped (SIGSTOP: it holds its connections but answers
    nothing), a client with a socket timeout gives up instead of waiting for ever; the
    stall surfaces as TimeoutError, which the orchestrator treats as an outage."""
    if not infra.local:
        pytest.skip("stopping the server is only possible for the project's local Redis")
    settings = infra.redis.model_copy(update={"SOCKET_TIMEOUT_S": 0.5})
    client = create_redis(settings)  # retries with backoff, as every service's does
    server_pid = int((await redis.info("server"))["process_id"])
    try:
        await client.ping()  # connected before the stall
        os.kill(server_pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            with pytest.raises(RedisTimeoutError):
                await client.get("anything")
            # Nine attempts of 0.5 s and the backoff between them (about 14 s here);
            # without a socket timeout the first attempt never returned.
            assert time.monotonic() - started < 40
        finally:
            os.kill(server_pid, signal.SIGCONT)
        assert await redis.ping()
    finally:
        await client.aclose()
