"""The workflow's steps. Each is an async node that reads the state and returns an update.

Steps are idempotent towards the outside world (tool and ranking requests are reads), so
a step re-run after a crash changes nothing but time; LangGraph's checkpoint after every
step means finished steps are never re-run.
"""

import asyncio
import time
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from sextant_orchestrator.domain.default_plan import default_plan
from sextant_orchestrator.domain.errors import StepFailed
from sextant_orchestrator.domain.grounding import CITATION, ungrounded_numbers
from sextant_orchestrator.domain.ports import PassageRanker, ToolInvoker
from sextant_orchestrator.domain.state import AnalysisState, Passage, PlannedCall, Usage
from sextant_orchestrator.infrastructure.graphs import prompts
from sextant_orchestrator.infrastructure.llm.policy import LlmBudgetExhausted, LlmCallPolicy

PROFILE_CALL_ID = "T0"


def _describe(error: BaseException) -> str:
    status = getattr(error, "status_code", None)
    prefix = f"HTTP {status}: " if isinstance(status, int) else ""
    return f"{prefix}{type(error).__name__}: {error}"[:1000]


def _usage(message: AIMessage, latency_s: float) -> Usage:
    metadata: dict[str, Any] = dict(message.usage_metadata or {})
    return {
        "input_tokens": int(metadata.get("input_tokens", 0)),
        "output_tokens": int(metadata.get("output_tokens", 0)),
        "llm_calls": 1,
        "llm_latency_ms": latency_s * 1000,
    }


class WorkflowNodes:
    """The steps, with the adapters they use injected once."""

    def __init__(
        self,
        *,
        tools: ToolInvoker,
        ranker: PassageRanker,
        llm: BaseChatModel,
        llm_calls_tools: bool,
        policy: LlmCallPolicy,
    ) -> None:
        self.tools = tools
        self.ranker = ranker
        self.llm = llm
        self.llm_calls_tools = llm_calls_tools
        self.policy = policy

    async def _ask(
        self, step: str, state: AnalysisState, model: Any, messages: list[Any]
    ) -> AIMessage:
        """One LLM call under the policy; what still fails after it ends the analysis."""
        calls_made = state.get("usage", {}).get("llm_calls", 0)
        try:
            response = await self.policy.call(model.ainvoke, messages, calls_made=calls_made)
        except LlmBudgetExhausted as error:
            raise StepFailed(step, "llm_budget_exhausted", str(error)) from error
        except Exception as error:
            raise StepFailed(
                step, "llm_unavailable", f"the language model failed: {_describe(error)}"
            ) from error
        if not isinstance(response, AIMessage):
            raise TypeError(f"the model returned {type(response).__name__}, not a message")
        return response

    async def profile(self, state: AnalysisState) -> dict[str, Any]:
        started = time.perf_counter()
        outcome = await self.tools.invoke(
            call_id=PROFILE_CALL_ID,
            tool_name="descriptive_statistics",
            dataset_id=state["dataset_id"],
            arguments={},
            tenant_id=state["tenant_id"],
        )
        if outcome["error"] is not None or outcome["result"] is None:
            raise StepFailed(
                "profile",
                "dataset_unavailable",
                f"the dataset could not be profiled: {outcome['error']}",
            )
        return {
            "profile": outcome["result"],
            "outcomes": [outcome],
            "timings_ms": {"profile": (time.perf_counter() - started) * 1000},
        }

    async def plan(self, state: AnalysisState) -> dict[str, Any]:
        started = time.perf_counter()
        max_calls = state.get("max_tool_calls", 8)
        update: dict[str, Any] = {}
        planned: list[PlannedCall] = []
        if self.llm_calls_tools and max_calls > 0:
            catalogue = await self.tools.list_tools(tenant_id=state["tenant_id"])
            model = self.llm.bind_tools(
                [
                    {
                        "type": "function",
                        "function": {
                            "name": t["name"],
                            "description": t["description"],
                            "parameters": t["parameters"],
                        },
                    }
                    for t in catalogue
                ]
            )
            messages = [
                SystemMessage(prompts.PLANNER.format(max_calls=max_calls)),
                HumanMessage(
                    f"Question: {state['question']}\n"
                    f"Dataset profile: {prompts.profile_summary(state['profile'])}"
                ),
            ]
            llm_started = time.perf_counter()
            response = await self._ask("plan", state, model, messages)
            update["usage"] = _usage(response, time.perf_counter() - llm_started)
            known = {t["name"] for t in catalogue}
            for call in response.tool_calls[:max_calls]:
                if call["name"] in known:
                    planned.append(
                        {
                            "call_id": f"T{len(planned) + 1}",
                            "tool_name": call["name"],
                            "arguments": dict(call["args"]),
                        }
                    )
        if not planned:
            planned = default_plan(state["profile"], max_calls=max_calls)
        update["planned"] = planned
        update["timings_ms"] = {"plan": (time.perf_counter() - started) * 1000}
        return update

    async def run_tools(self, state: AnalysisState) -> dict[str, Any]:
        """Independent calls run concurrently; a tool error is recorded, not fatal."""
        started = time.perf_counter()
        outcomes = await asyncio.gather(
            *(
                self.tools.invoke(
                    call_id=call["call_id"],
                    tool_name=call["tool_name"],
                    dataset_id=state["dataset_id"],
                    arguments=call["arguments"],
                    tenant_id=state["tenant_id"],
                )
                for call in state.get("planned", [])
            )
        )
        return {
            "outcomes": list(outcomes),
            "timings_ms": {"run_tools": (time.perf_counter() - started) * 1000},
        }

    async def retrieve(self, state: AnalysisState) -> dict[str, Any]:
        documents = state.get("documents", [])
        top_k = state.get("top_k_passages", 4)
        if not documents or top_k == 0:
            return {"passages": []}
        started = time.perf_counter()
        ranked = await self.ranker.rank(
            query=state["question"],
            passages=[d["text"] for d in documents],
            top_k=top_k,
            tenant_id=state["tenant_id"],
        )
        passages: list[Passage] = [
            {
                "marker": f"D{number}",
                "document_id": documents[index]["document_id"],
                "title": documents[index].get("title", ""),
                "text": documents[index]["text"],
                "score": score,
            }
            for number, (index, score) in enumerate(ranked, start=1)
        ]
        return {
            "passages": passages,
            "timings_ms": {"retrieve": (time.perf_counter() - started) * 1000},
        }

    async def synthesize(self, state: AnalysisState) -> dict[str, Any]:
        started = time.perf_counter()
        messages = [
            SystemMessage(prompts.SYNTHESIZER),
            HumanMessage(
                f"Question: {state['question']}\n\nEvidence:\n"
                + prompts.evidence(state.get("outcomes", []), state.get("passages", []))
            ),
        ]
        response = await self._ask("synthesize", state, self.llm, messages)
        answer = response.text.strip()
        if not answer:
            raise StepFailed("synthesize", "empty_answer", "the language model returned no answer")
        return {
            "answer": answer,
            "usage": _usage(response, time.perf_counter() - started),
            "timings_ms": {"synthesize": (time.perf_counter() - started) * 1000},
        }

    async def finalize(self, state: AnalysisState) -> dict[str, Any]:
        """Keep the citations the answer actually uses, in order of first use, and list
        the numbers it writes that none of its evidence contains."""
        outcomes = state.get("outcomes", [])
        passages = state.get("passages", [])
        answer = state.get("answer", "")
        known = {o["call_id"] for o in outcomes} | {p["marker"] for p in passages}
        cited = list(dict.fromkeys(m for m in CITATION.findall(answer) if m in known))
        evidence: list[object] = [state.get("question", ""), state.get("profile", {})]
        evidence += [[o["arguments"], o["result"]] for o in outcomes]
        evidence += [p["text"] for p in passages]
        return {"cited": cited, "ungrounded_numbers": ungrounded_numbers(answer, evidence)}
