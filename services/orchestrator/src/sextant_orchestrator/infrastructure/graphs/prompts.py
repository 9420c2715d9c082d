"""The prompts: numbers come from tools, claims cite their source."""

import json
from typing import Any

from sextant_orchestrator.domain.state import Passage, ToolOutcome

PLANNER = (
    "You are a data analyst planning tool calls. You never compute numbers yourself: "
    "call the tools that compute what the question needs. The dataset profile lists the "
    "columns. Call at most {max_calls} tools, then stop."
)

SYNTHESIZER = (
    "You answer a question about a dataset. Use only the tool results and passages below; "
    "every number you write must appear in a tool result. Cite tool results as [T<n>] and "
    "passages as [D<n>] right after the claim they support. If the results do not answer "
    "the question, say so. Be concise."
)

MAX_RESULT_CHARS = 6000


def profile_summary(profile: dict[str, Any]) -> str:
    statistics = profile.get("statistics", {})
    return json.dumps(
        {"rows": profile.get("rows"), "numeric_columns": sorted(statistics)}, default=str
    )


def evidence(outcomes: list[ToolOutcome], passages: list[Passage]) -> str:
    """Tool results and passages, each under its citation marker, size-capped."""
    parts = []
    for outcome in outcomes:
        body = outcome["result"] if outcome["error"] is None else {"error": outcome["error"]}
        text = json.dumps(body, default=str)[:MAX_RESULT_CHARS]
        parts.append(f"[{outcome['call_id']}] {outcome['tool_name']}: {text}")
    for passage in passages:
        parts.append(f"[{passage['marker']}] {passage['title']}: {passage['text'][:2000]}")
    return "\n\n".join(parts)
