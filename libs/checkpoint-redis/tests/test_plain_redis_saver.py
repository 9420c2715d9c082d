"""PlainRedisSaver: LangGraph's conformance suite with every capability, a real graph's
state, thread TTLs, and what deleting, pruning and copying leave in Redis."""

import operator
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, TypedDict

import pytest
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.capabilities import ALL_CAPABILITIES
from langgraph.graph import END, START, StateGraph
from redis.asyncio import Redis
from sextant_checkpoint_redis import PlainRedisSaver


async def test_the_conformance_suite_passes_with_every_capability(redis_url: str) -> None:
    @checkpointer_test(name="PlainRedisSaver")
    async def plain_redis_saver() -> AsyncIterator[PlainRedisSaver]:
        client = Redis.from_url(redis_url)
        yield PlainRedisSaver(client, prefix=f"test:conformance:{uuid.uuid4().hex[:8]}")
        await client.aclose()

    report = await validate(plain_redis_saver)
    failures = {
        name: result.failures for name, result in report.results.items() if result.passed is False
    }
    assert not failures, failures
    passed = {name for name, result in report.results.items() if result.passed}
    assert passed == {capability.value for capability in ALL_CAPABILITIES}, report.results
    assert sum(r.tests_passed for r in report.results.values()) > 40


class Counter(TypedDict):
    steps: Annotated[list[str], operator.add]


def _graph(saver: PlainRedisSaver) -> Any:
    builder = StateGraph(Counter)
    builder.add_node("first", lambda state: {"steps": ["first"]})
    builder.add_node("second", lambda state: {"steps": ["second"]})
    builder.add_edge(START, "first")
    builder.add_edge("first", "second")
    builder.add_edge("second", END)
    return builder.compile(checkpointer=saver)


def _config(thread_id: str, ns: str = "") -> Any:
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns}}


async def test_graph_state_round_trips_and_finished_threads_expire(redis: Redis) -> None:
    saver = PlainRedisSaver(redis, prefix=f"test:graph:{uuid.uuid4().hex[:8]}")
    graph = _graph(saver)
    result = await graph.ainvoke({"steps": []}, _config("analysis-1"))
    assert result == {"steps": ["first", "second"]}

    state = await graph.aget_state(_config("analysis-1"))
    assert state.values == {"steps": ["first", "second"]}
    history = [c async for c in saver.alist(_config("analysis-1"))]
    assert len(history) == 4  # input, first, second, and the initial empty checkpoint

    await saver.expire_thread("analysis-1", ttl_s=60)
    ttls = [await redis.ttl(key) for key in await saver._thread_keys("analysis-1")]
    assert ttls
    assert all(0 < ttl <= 60 for ttl in ttls)


@pytest.mark.parametrize("ns", ["", "child:1"])
async def test_delete_thread_removes_every_key(redis: Redis, ns: str) -> None:
    prefix = f"test:delete:{uuid.uuid4().hex[:8]}"
    saver = PlainRedisSaver(redis, prefix=prefix)
    await _graph(saver).ainvoke({"steps": []}, _config("t", ns))
    assert await redis.keys(f"{prefix}:*")
    await saver.adelete_thread("t")
    assert await redis.keys(f"{prefix}:*") == []


async def test_pruning_keeps_the_latest_state_and_only_the_values_it_uses(redis: Redis) -> None:
    prefix = f"test:prune:{uuid.uuid4().hex[:8]}"
    saver = PlainRedisSaver(redis, prefix=prefix)
    graph = _graph(saver)
    await graph.ainvoke({"steps": []}, _config("t"))
    blobs_before = await redis.keys(f"{prefix}:*:blob:*")

    await saver.aprune(["t"], strategy="keep_latest")

    assert len([c async for c in saver.alist(_config("t"))]) == 1
    assert (await graph.aget_state(_config("t"))).values == {"steps": ["first", "second"]}
    blobs_after = await redis.keys(f"{prefix}:*:blob:*")
    assert 0 < len(blobs_after) < len(blobs_before)
    listed = {key.decode() for key in await redis.smembers(f"{prefix}:t:t:keys")}
    assert {key.decode() for key in await redis.keys(f"{prefix}:t:t:*")} - listed == {
        f"{prefix}:t:t:keys"
    }, "every key left is still listed (so delete and expire reach it)"


async def test_a_copied_thread_resumes_independently(redis: Redis) -> None:
    saver = PlainRedisSaver(redis, prefix=f"test:copy:{uuid.uuid4().hex[:8]}")
    graph = _graph(saver)
    await graph.ainvoke({"steps": []}, _config("source"))

    await saver.acopy_thread("source", "fork")
    await saver.adelete_thread("source")

    state = await graph.aget_state(_config("fork"))
    assert state.values == {"steps": ["first", "second"]}
    assert (await graph.aget_state(_config("source"))).values == {}
    assert [c async for c in saver.alist(_config("source"))] == []


async def test_an_unknown_prune_strategy_is_refused(redis: Redis) -> None:
    with pytest.raises(ValueError, match="unknown prune strategy"):
        await PlainRedisSaver(redis, prefix="test:x").aprune(["t"], strategy="keep_oldest")
