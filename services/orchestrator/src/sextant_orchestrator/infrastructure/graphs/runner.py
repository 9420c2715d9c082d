"""The WorkflowRunner port on a compiled LangGraph graph with the Redis checkpointer."""

from collections.abc import AsyncGenerator
from typing import Any

from langchain_core.runnables import RunnableConfig
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from sextant_orchestrator.domain.errors import TransientFailure
from sextant_orchestrator.domain.state import AnalysisState
from sextant_orchestrator.infrastructure.checkpoints import PlainRedisSaver
from sextant_orchestrator.infrastructure.graphs.workflow import STEPS

CHECKPOINT_STORE_ERRORS = (RedisConnectionError, RedisTimeoutError)
_STEP_NAMES = frozenset(step.value for step in STEPS)


def _config(thread_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id}}


class LangGraphWorkflow:
    """Runs and resumes threads; checkpoints are written before the next step starts."""

    def __init__(self, graph: Any, saver: PlainRedisSaver, *, finished_ttl_s: int) -> None:
        self._graph = graph
        self._saver = saver
        self._finished_ttl_s = finished_ttl_s

    async def next_steps(self, thread_id: str) -> tuple[bool, list[str]]:
        try:
            snapshot = await self._graph.aget_state(_config(thread_id))
        except CHECKPOINT_STORE_ERRORS as error:
            raise TransientFailure(f"checkpoint store unavailable: {error}") from error
        return bool(snapshot.values), list(snapshot.next)

    async def run(self, thread_id: str, initial: AnalysisState | None) -> AsyncGenerator[str, None]:
        # durability="sync": a step's checkpoint is in Redis before the next step starts,
        # so a crash never re-runs a step that had finished.
        try:
            async for chunk in self._graph.astream(
                initial, _config(thread_id), stream_mode="updates", durability="sync"
            ):
                for node in chunk:
                    if node in _STEP_NAMES:
                        yield node
        except CHECKPOINT_STORE_ERRORS as error:
            raise TransientFailure(f"checkpoint store unavailable: {error}") from error

    async def final_state(self, thread_id: str) -> AnalysisState:
        snapshot = await self._graph.aget_state(_config(thread_id))
        state: AnalysisState = snapshot.values
        return state

    async def retire(self, thread_id: str) -> None:
        await self._saver.expire_thread(thread_id, self._finished_ttl_s)
