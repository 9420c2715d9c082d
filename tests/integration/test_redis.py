"""A real Redis with append-only persistence: data survives a restart of the server."""

import asyncio
import uuid

import pytest
from redis.asyncio import Redis

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
