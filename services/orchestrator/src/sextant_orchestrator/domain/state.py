"""The workflow's typed state: what each step reads and writes (plain Python, no LangGraph)."""

import operator
from typing import Annotated, Any, NotRequired, TypedDict

from sextant_orchestrator.domain.interrupts import InterruptRules
from sextant_orchestrator.domain.threads import Turn


class PlannedCall(TypedDict):
    """A tool call chosen by the planner: ``call_id`` is the citation id ``T<n>``."""

    call_id: str
    tool_name: str
    arguments: dict[str, Any]


class ToolOutcome(TypedDict):
    call_id: str
    tool_name: str
    arguments: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    duration_ms: float
    round: NotRequired[int]
    """The agent-loop round that asked for it (the profile is round 0)."""


class Passage(TypedDict):
    """A retrieved document passage; ``marker`` is its citation label ``D<n>``."""

    marker: str
    document_id: str
    title: str
    text: str
    score: float


class Usage(TypedDict):
    input_tokens: int
    output_tokens: int
    llm_calls: int
    llm_latency_ms: float


def add_usage(left: Usage | None, right: Usage | None) -> Usage:
    """LangGraph reducer: LLM usage summed over every step that called the model."""
    total: Usage = {"input_tokens": 0, "output_tokens": 0, "llm_calls": 0, "llm_latency_ms": 0.0}
    for part in (left, right):
        if part:
            total["input_tokens"] += part["input_tokens"]
            total["output_tokens"] += part["output_tokens"]
            total["llm_calls"] += part["llm_calls"]
            total["llm_latency_ms"] += part["llm_latency_ms"]
    return total


def merge_timings(
    left: dict[str, float] | None, right: dict[str, float] | None
) -> dict[str, float]:
    """LangGraph reducer: a step's time added to what that step took in earlier rounds
    (plan and run_tools run once per round of the agent loop)."""
    total = dict(left or {})
    for step, milliseconds in (right or {}).items():
        total[step] = total.get(step, 0.0) + milliseconds
    return total


class AnalysisState(TypedDict, total=False):
    """Everything an analysis carries from step to step, checkpointed after each one."""

    analysis_id: str
    tenant_id: str
    question: str
    dataset_id: str
    documents: list[dict[str, str]]
    max_tool_calls: int
    max_rounds: int
    top_k_passages: int
    max_tokens: int | None
    """This analysis's own budget of LLM tokens (None: only the tenant's)."""
    history: list[Turn]
    """The thread's earlier turns, oldest first (empty outside a thread)."""
    interrupts: InterruptRules
    """When this analysis pauses for a person (none: never)."""
    profile: dict[str, Any]
    round: int
    """Rounds planned so far: the plan step of round ``n`` sets it to ``n``."""
    planned: list[PlannedCall]
    """This round's calls; empty when the loop is done."""
    last_round: bool
    """This round is the loop's last (the offline planner plans one; the model's rounds or
    call budget are spent): after its tools the loop ends without another plan step."""
    route: str
    """The step that follows the plan or run_tools step that set it."""
    intent: dict[str, Any]
    """What the offline planner read the question as (the answer is composed from it)."""
    meanings: dict[str, dict[str, float]]
    """Words no column spells, with each column's similarity in meaning to them."""
    outcomes: Annotated[list[ToolOutcome], operator.add]
    passages: list[Passage]
    answer: str
    cited: list[str]
    ungrounded_numbers: list[str]
    ungrounded_values: list[str]
    findings: list[dict[str, Any]]
    charts: list[dict[str, Any]]
    """The tool results drawn (:mod:`~sextant_orchestrator.domain.charts`)."""
    usage: Annotated[Usage, add_usage]
    timings_ms: Annotated[dict[str, float], merge_timings]
