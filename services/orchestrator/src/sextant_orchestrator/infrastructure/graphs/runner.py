"""The WorkflowRunner port on a compiled LangGraph graph with the Redis checkpointer."""

from collections.abc import AsyncGenerator
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sextant_checkpoint_redis import PlainRedisSaver

from sextant_contracts import WorkflowStep
from sextant_orchestrator.domain.errors import TransientFailure
from sextant_orchestrator.domain.progress import Position, StepAt, StepDone, StepPaused
from sextant_orchestrator.domain.state import AnalysisState
from sextant_orchestrator.infrastructure.graphs.workflow import (
    RECURSION_LIMIT,
    STEPS,
    step_after,
)

CHECKPOINT_STORE_ERRORS = (RedisConnectionError, RedisTimeoutError)
INTERRUPTS = "__interrupt__"
"""The key LangGraph streams a step's pause under."""
_STEP_NAMES = frozenset(step.value for step in STEPS)


def _config(thread_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id}, "recursion_limit": RECURSION_LIMIT}


def _round_of(step: str, current_round: int) -> int:
    """A plan step opens the next round; every other step belongs to the current one."""
    return current_round + 1 if step == WorkflowStep.PLAN.value else current_round


def _step_at(upcoming: tuple[str, ...], values: dict[str, Any] | None) -> StepAt | None:
    """The step a checkpoint says runs next, in its round (None: finished, or LangGraph's
    own start node)."""
    if not upcoming or upcoming[0] not in _STEP_NAMES:
        return None
    return StepAt(upcoming[0], _round_of(upcoming[0], int((values or {}).get("round", 0))))


def _detail(update: dict[str, Any]) -> str:
    """The tools a plan chose or run_tools ran, by name."""
    calls = update.get("planned") or update.get("outcomes") or []
    return ", ".join(str(c.get("tool_name")) for c in calls if isinstance(c, dict))


class LangGraphWorkflow:
    """Runs and resumes threads; checkpoints are written before the next step starts."""

    def __init__(self, graph: Any, saver: PlainRedisSaver, *, finished_ttl_s: int) -> None:
        self._graph = graph
        self._saver = saver
        self._finished_ttl_s = finished_ttl_s

    async def position(self, thread_id: str) -> Position:
        """The latest checkpoint says what runs next; its parent, what ran last (read only
        when resuming: a new thread has no checkpoint)."""
        try:
            snapshot = await self._graph.aget_state(_config(thread_id))
            if not snapshot.values:
                return Position(started=False, upcoming=None)
            parent = (
                await self._graph.aget_state(snapshot.parent_config)
                if snapshot.parent_config
                else None
            )
        except CHECKPOINT_STORE_ERRORS as error:
            raise TransientFailure(f"checkpoint store unavailable: {error}") from error
        pending = [i.value for i in snapshot.interrupts if isinstance(i.value, dict)]
        return Position(
            started=True,
            upcoming=_step_at(snapshot.next, snapshot.values),
            last_done=_step_at(parent.next, parent.values) if parent else None,
            waiting=pending[0] if pending else None,
        )

    async def run(
        self, thread_id: str, initial: AnalysisState | None, *, answer: dict[str, Any] | None = None
    ) -> AsyncGenerator[StepDone | StepPaused, None]:
        # durability="sync": a step's checkpoint is in Redis before the next step starts,
        # so a crash never re-runs a step that had finished.
        current_round = int((initial or {}).get("round", 0))
        if initial is None:
            upcoming = (await self.position(thread_id)).upcoming
            if upcoming is not None:
                current_round = upcoming.round - (upcoming.step == WorkflowStep.PLAN.value)
        given: Any = Command(resume=answer) if answer is not None else initial
        asked: list[dict[str, Any]] = []
        try:
            async for chunk in self._graph.astream(
                given, _config(thread_id), stream_mode="updates", durability="sync"
            ):
                if INTERRUPTS in chunk:  # the last chunk: the stream ends after it
                    asked = [i.value for i in chunk[INTERRUPTS] if isinstance(i.value, dict)]
                    continue
                for node, update in chunk.items():
                    if node not in _STEP_NAMES:
                        continue
                    values = update if isinstance(update, dict) else {}
                    current_round = int(values.get("round", current_round))
                    following = step_after(node, values)
                    yield StepDone(
                        done=StepAt(node, current_round),
                        following=(
                            StepAt(following, _round_of(following, current_round))
                            if following
                            else None
                        ),
                        detail=_detail(values),
                    )
            if asked:
                # Read once the stream has ended, so its pause is stored with it; the
                # pause itself is taken from the stream (its write may still be on the way
                # while the stream runs).
                at = (await self.position(thread_id)).upcoming
                if at is None:
                    raise RuntimeError(f"thread {thread_id} paused at no step")
                yield StepPaused(at=at, request=asked[0])
        except CHECKPOINT_STORE_ERRORS as error:
            raise TransientFailure(f"checkpoint store unavailable: {error}") from error

    async def final_state(self, thread_id: str) -> AnalysisState:
        """The state the workflow ended with; a thread with steps still to run has not
        ended (a pause missed, say): TransientFailure, so the run resumes it instead of
        completing it half done."""
        snapshot = await self._graph.aget_state(_config(thread_id))
        if snapshot.next:
            raise TransientFailure(f"thread {thread_id} has not ended: {snapshot.next} to run")
        state: AnalysisState = snapshot.values
        return state

    async def retire(self, thread_id: str) -> None:
        await self._saver.expire_thread(thread_id, self._finished_ttl_s)

    async def unretired(self, limit: int) -> list[str]:
        return await self._saver.some_threads(limit)
