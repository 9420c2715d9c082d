"""The workflow's typed state: what each step reads and writes (plain Python, no LangGraph)."""

import operator
from typing import Annotated, Any, TypedDict


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
    return {**(left or {}), **(right or {})}


class AnalysisState(TypedDict, total=False):
    """Everything an analysis carries from step to step, checkpointed after each one."""

    analysis_id: str
    tenant_id: str
    question: str
    dataset_id: str
    documents: list[dict[str, str]]
    max_tool_calls: int
    top_k_passages: int
    profile: dict[str, Any]
    planned: list[PlannedCall]
    outcomes: Annotated[list[ToolOutcome], operator.add]
    passages: list[Passage]
    answer: str
    cited: list[str]
    ungrounded_numbers: list[str]
    usage: Annotated[Usage, add_usage]
    timings_ms: Annotated[dict[str, float], merge_timings]
