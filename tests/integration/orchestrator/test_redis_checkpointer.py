"""The plain-Redis checkpointer: LangGraph's conformance suite, TTL, and a real graph."""

import asyncio
import operator
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, TypedDict

import pytest
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.graph import END, START, StateGraph
from redis.asyncio import Redis

from sextant_orchestrator.infrastructure.checkpoints import PlainRedisSaver
from sextant_platform.redis_client import create_redis
from tests.integration.infrastructure import Infrastructure, restart_local_redis


async def test_conformance_suite_passes_on_plain_redis(infra: Infrastructure) -> None:
    prefixes: list[str] = []

    @checkpointer_test(name="PlainRedisSaver")
    async def plain_redis_saver() -> AsyncIterator[PlainRedisSaver]:
        client = create_redis(infra.redis)
        prefix = f"test:conformance:{uuid.uuid4().hex[:8]}"
        prefixes.append(prefix)
        yield PlainRedisSaver(client, prefix=prefix)
        await client.aclose()

    report = await validate(plain_redis_saver)
    failures = {
        name: result.failures for name, result in report.results.items() if result.passed is False
    }
    assert not failures, failures
    required = {"put", "put_writes", "get_tuple", "list", "delete_thread"}
    passed = {name for name, result in report.results.items() if result.passed}
    assert required <= passed, report.results
    assert sum(r.tests_passed for r in report.results.values()) > 20


class Counter(TypedDict):
    steps: Annotated[list[str], operator.add]


def _graph(saver: PlainRedisSaver) -> object:
    builder = StateGraph(Counter)
    builder.add_node("first", lambda state: {"steps": ["first"]})
    builder.add_node("second", lambda state: {"steps": ["second"]})
    builder.add_edge(START, "first")
    builder.add_edge("first", "second")
    builder.add_edge("second", END)
    return builder.compile(checkpointer=saver)


async def test_graph_state_round_trips_and_finished_threads_expire(redis: Redis) -> None:
    saver = PlainRedisSaver(redis, prefix=f"test:graph:{uuid.uuid4().hex[:8]}")
    graph = _graph(saver)
    config = {"configurable": {"thread_id": "analysis-1"}}
    result = await graph.ainvoke({"steps": []}, config)  # type: ignore[attr-defined]
    assert result == {"steps": ["first", "second"]}

    state = await graph.aget_state(config)  # type: ignore[attr-defined]
    assert state.values == {"steps": ["first", "second"]}
    history = [c async for c in saver.alist(config)]
    assert len(history) == 4  # input, first, second, and the initial empty checkpoint

    await saver.expire_thread("analysis-1", ttl_s=60)
    ttls = [await redis.ttl(key) for key in await saver._thread_keys("analysis-1")]
    assert ttls
    assert all(0 < ttl <= 60 for ttl in ttls)


@pytest.mark.parametrize("ns", ["", "child:1"])
async def test_delete_thread_removes_every_key(redis: Redis, ns: str) -> None:
    prefix = f"test:delete:{uuid.uuid4().hex[:8]}"
    saver = PlainRedisSaver(redis, prefix=prefix)
    await _graph(saver).ainvoke(  # type: ignore[attr-defined]
        {"steps": []}, {"configurable": {"thread_id": "t", "checkpoint_ns": ns}}
    )
    assert await redis.keys(f"{prefix}:*")
    await saver.adelete_thread("t")
    assert await redis.keys(f"{prefix}:*") == []


async def test_checkpoints_survive_a_redis_restart(infra: Infrastructure) -> None:
    if not infra.local:
        pytest.skip("restarting the server is only possible for the project's local Redis")
    prefix = f"test:restart:{uuid.uuid4().hex[:8]}"
    config = {"configurable": {"thread_id": "analysis-restart"}}
    writer = create_redis(infra.redis)
    await _graph(PlainRedisSaver(writer, prefix=prefix)).ainvoke(  # type: ignore[attr-defined]
        {"steps": []}, config
    )
    await writer.aclose()

    await asyncio.to_thread(restart_local_redis)

    reader = create_redis(infra.redis)  # a new process would start from nothing but Redis
    try:
        state = await _graph(PlainRedisSaver(reader, prefix=prefix)).aget_state(  # type: ignore[attr-defined]
            config
        )
        assert (await reader.info("server"))["uptime_in_seconds"] < 30
    finally:
        await reader.aclose()
    assert state.values == {"steps": ["first", "second"]}
