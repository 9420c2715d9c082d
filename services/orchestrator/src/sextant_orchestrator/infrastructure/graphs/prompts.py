"""The prompts: numbers come from tools, claims cite their source."""

import json
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

from sextant_orchestrator.domain.charts import for_reading
from sextant_orchestrator.domain.state import Passage, ToolOutcome

PLANNER = (
    "You are a data analyst answering a question about a dataset with tools. You never "
    "compute numbers yourself: call the tools that compute what the question needs (the "
    "query tool filters, groups and aggregates). The dataset profile lists the columns and "
    "their values. You see the results of your earlier calls; when a call failed, correct "
    "it. When the results answer the question, call no tool and answer in a few "
    "sentences: every number from a result, cited as [T<n>] right after it. At most "
    "{max_calls} more calls."
)

SYNTHESIZER = (
    "You answer a question about a dataset. Use only the tool results and passages below; "
    "every number you write must appear in a tool result. Cite tool results as [T<n>] and "
    "passages as [D<n>] right after the claim they support. If the results do not answer "
    "the question, say so. Be concise."
)

MAX_RESULT_CHARS = 6000


MAX_PROFILE_CHARS = 6000


def profile_summary(profile: dict[str, Any]) -> str:
    """Rows, and each column's name, kind and (when few) values."""
    columns = profile.get("columns")
    if not isinstance(columns, list):
        numeric = sorted(profile.get("statistics", {}))
        return json.dumps({"rows": profile.get("rows"), "numeric_columns": numeric}, default=str)
    described = [
        {k: c[k] for k in ("name", "kind", "distinct", "values", "min", "max") if k in c}
        for c in columns
        if isinstance(c, dict)
    ]
    return json.dumps({"rows": profile.get("rows"), "columns": described}, default=str)[
        :MAX_PROFILE_CHARS
    ]


def _result_text(outcome: ToolOutcome) -> str:
    result = for_reading(outcome["result"])
    body = result if outcome["error"] is None else {"error": outcome["error"]}
    return json.dumps(body, default=str)[:MAX_RESULT_CHARS]


def earlier_rounds(outcomes: list[ToolOutcome]) -> list[BaseMessage]:
    """Each earlier round as the model's tool calls and the tools' answers, in the
    provider-neutral shape LangChain translates for OpenAI and Anthropic alike."""
    rounds: dict[int, list[ToolOutcome]] = {}
    for outcome in outcomes:
        if outcome.get("round", 0) > 0:
            rounds.setdefault(outcome.get("round", 0), []).append(outcome)
    messages: list[BaseMessage] = []
    for number in sorted(rounds):
        calls = rounds[number]
        messages.append(
            AIMessage(
                content="",
                tool_calls=[
                    {"id": c["call_id"], "name": c["tool_name"], "args": c["arguments"]}
                    for c in calls
                ],
            )
        )
        messages += [ToolMessage(_result_text(c), tool_call_id=c["call_id"]) for c in calls]
    return messages


def evidence(outcomes: list[ToolOutcome], passages: list[Passage]) -> str:
    """Tool results and passages, each under its citation marker, size-capped."""
    parts = []
    for outcome in outcomes:
        parts.append(f"[{outcome['call_id']}] {outcome['tool_name']}: {_result_text(outcome)}")
    for passage in passages:
        parts.append(f"[{passage['marker']}] {passage['title']}: {passage['text'][:2000]}")
    return "\n\n".join(parts)
