"""The checkpointer against the project's own Redis: checkpoints outlive a restart of the
server (AOF persistence, as deployed). Its conformance and behaviour are tested with the
library itself (``libs/checkpoint-redis/tests``)."""

import asyncio
import uuid

import pytest
from langgraph.checkpoint.conformance.test_utils import (
    generate_checkpoint,
    generate_config,
    generate_metadata,
)
from sextant_checkpoint_redis import PlainRedisSaver

from sextant_storage.redis_client import create_redis
from tests.integration.infrastructure import Infrastructure, restart_local_redis


async def test_checkpoints_survive_a_redis_restart(infra: Infrastructure) -> None:
    if not infra.local:
        pytest.skip("restarting the server is only possible for the project's local Redis")
    prefix = f"test:restart:{uuid.uuid4().hex[:8]}"
    checkpoint = generate_checkpoint(
        channel_values={"steps": ["first", "second"]}, channel_versions={"steps": "1"}
    )
    writer = create_redis(infra.redis)
    stored = await PlainRedisSaver(writer, prefix=prefix).aput(
        generate_config("analysis-restart"),
        checkpoint,
        generate_metadata(step=2),
        {"steps": "1"},
    )
    await writer.aclose()

    await asyncio.to_thread(restart_local_redis)

    reader = create_redis(infra.redis)  # a new process would start from nothing but Redis
    try:
        found = await PlainRedisSaver(reader, prefix=prefix).aget_tuple(stored)
        assert (await reader.info("server"))["uptime_in_seconds"] < 30
    finally:
        await reader.aclose()
    assert found is not None
    assert found.checkpoint["channel_values"] == {"steps": ["first", "second"]}
