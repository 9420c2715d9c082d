"""The workflow's steps. Each is an async node that reads the state and returns an update.

Steps are idempotent towards the outside world (tool and ranking requests are reads), so
a step re-run after a crash changes nothing but time; LangGraph's checkpoint after every
step means finished steps are never re-run.
"""

import asyncio
import logging
import time
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langgraph.types import interrupt

from sextant_contracts import WorkflowStep, tool_names
from sextant_orchestrator.domain.answer_composer import compose_answer, compose_unresolved
from sextant_orchestrator.domain.budgets import analysis_budget_refusal, estimated_tokens
from sextant_orchestrator.domain.charts import charts_of
from sextant_orchestrator.domain.errors import DependencyUnavailable, StepFailed
from sextant_orchestrator.domain.findings import findings_of
from sextant_orchestrator.domain.grounding import (
    CITATION,
    drop_sentences_stating,
    ungrounded_names,
    ungrounded_numbers,
)
from sextant_orchestrator.domain.interrupts import (
    ASK_PERSON_TOOL,
    DECLINED,
    approval,
    asked_by_model,
    clarification,
    needs_approval,
)
from sextant_orchestrator.domain.ports import PassageRanker, ToolInvoker
from sextant_orchestrator.domain.question_planner import Intent, OfflinePlan, plan_question
from sextant_orchestrator.domain.question_reading import column_words, read_question
from sextant_orchestrator.domain.state import (
    AnalysisState,
    Passage,
    PlannedCall,
    ToolOutcome,
    Usage,
)
from sextant_orchestrator.domain.threads import conversation
from sextant_orchestrator.infrastructure.graphs import prompts
from sextant_orchestrator.infrastructure.llm.metering import LlmMetering
from sextant_orchestrator.infrastructure.llm.policy import LlmBudgetExhausted, LlmCallPolicy
from sextant_orchestrator.infrastructure.llm.telemetry import ChatTelemetry

logger = logging.getLogger(__name__)

PROFILE_CALL_ID = "T0"
DEFAULT_ROUNDS = 4


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


def _earlier(state: AnalysisState) -> str:
    """The thread's earlier turns, before a follow-up question ("" outside a thread)."""
    earlier = conversation(state.get("history", []))
    return f"Earlier in this conversation:\n{earlier}\n\nFollow-up " if earlier else ""


def _prompt_chars(messages: list[Any]) -> int:
    return sum(len(str(getattr(message, "content", message))) for message in messages)


def _ranks_documents(state: AnalysisState) -> bool:
    return bool(state.get("documents")) and state.get("top_k_passages", 4) > 0


def after_loop(state: AnalysisState, *, answered: bool) -> str:
    """The step after the agent loop: retrieval when there are documents to rank, else
    synthesis, or straight to finalize when the model's last reply is the answer. Steps
    with nothing to do are not run: each costs a checkpoint and two progress events."""
    if _ranks_documents(state):
        return WorkflowStep.RETRIEVE.value
    return WorkflowStep.FINALIZE.value if answered else WorkflowStep.SYNTHESIZE.value


def _answered(
    call: PlannedCall, *, result: dict[str, Any] | None = None, error: str | None = None
) -> ToolOutcome:
    """The outcome of a call no tool ran: a person answered it, or declined it."""
    return {
        "call_id": call["call_id"],
        "tool_name": call["tool_name"],
        "arguments": call["arguments"],
        "result": result,
        "error": error,
        "duration_ms": 0.0,
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
        strict_grounding: bool = False,
        meaning_timeout_s: float = 5.0,
        chat_telemetry: ChatTelemetry | None = None,
        metering: LlmMetering | None = None,
    ) -> None:
        """``llm_calls_tools``: the model plans with native tool calls and writes the
        answer; otherwise the offline planner plans and the answer is composed from the
        findings. ``strict_grounding``: drop the sentences of a model's answer that state
        a number or name no evidence holds. ``meaning_timeout_s``: how long the offline
        planner waits for the embeddings service to match words to columns by meaning
        (0: never asks). ``chat_telemetry``: names the provider and model on each LLM
        call's span. ``metering``: the tenants' budgets, checked before each LLM call,
        and the ledger each call that answered is recorded in (none: neither)."""
        self.tools = tools
        self.ranker = ranker
        self.llm = llm
        self.llm_calls_tools = llm_calls_tools
        self.policy = policy
        self.strict_grounding = strict_grounding
        self.meaning_timeout_s = meaning_timeout_s
        self.chat_telemetry = chat_telemetry or ChatTelemetry()
        self.metering = metering

    async def _ask(
        self, step: str, state: AnalysisState, model: Any, messages: list[Any]
    ) -> AIMessage:
        """One LLM call under the policy, within the tenant's budget; what still fails
        after the policy's retries ends the analysis."""
        usage_so_far = state.get("usage", {})
        calls_made = usage_so_far.get("llm_calls", 0)
        prompt_chars = _prompt_chars(messages)
        refusal = analysis_budget_refusal(
            state.get("max_tokens"),
            usage_so_far.get("input_tokens", 0) + usage_so_far.get("output_tokens", 0),
            next_tokens=estimated_tokens(prompt_chars),
        )
        if refusal is None and self.metering is not None:
            refusal = await self.metering.refusal(
                tenant_id=state["tenant_id"], prompt_chars=prompt_chars
            )
        if refusal is not None:
            raise StepFailed(step, "budget_exhausted", refusal)
        try:
            response = await self.policy.call(
                self.chat_telemetry.invoke, model, messages, calls_made=calls_made
            )
        except LlmBudgetExhausted as error:
            raise StepFailed(step, "llm_budget_exhausted", str(error)) from error
        except Exception as error:
            raise StepFailed(
                step, "llm_unavailable", f"the language model failed: {_describe(error)}"
            ) from error
        if not isinstance(response, AIMessage):
            raise TypeError(f"the model returned {type(response).__name__}, not a message")
        if self.metering is not None:
            usage = _usage(response, 0.0)
            await self.metering.record(
                analysis_id=state["analysis_id"],
                tenant_id=state["tenant_id"],
                step=step,
                input_tokens=usage["input_tokens"],
                output_tokens=usage["output_tokens"],
            )
        return response

    async def profile(self, state: AnalysisState) -> dict[str, Any]:
        started = time.perf_counter()
        outcome = await self.tools.invoke(
            call_id=PROFILE_CALL_ID,
            tool_name=tool_names.PROFILE_DATASET,
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
        """One round of the agent loop: this round's tool calls, or none (the loop ends)
        when the rounds or the tool-call budget are spent, or the planner is done."""
        started = time.perf_counter()
        this_round = state.get("round", 0) + 1
        used = sum(1 for o in state.get("outcomes", []) if o["call_id"] != PROFILE_CALL_ID)
        budget = state.get("max_tool_calls", 8) - used
        max_rounds = state.get("max_rounds", DEFAULT_ROUNDS)
        update: dict[str, Any] = {"round": this_round}
        proposed: list[tuple[str, dict[str, Any]]] = []
        reply = ""
        last_round = this_round >= max_rounds
        if budget > 0 and this_round <= max_rounds:
            if self.llm_calls_tools:
                proposed, reply, usage = await self._model_proposes(state, budget)
                update["usage"] = usage
            elif this_round == 1:
                meanings = await self._meanings(state)
                offline = self._clarified_plan(state, meanings)
                update["intent"] = offline.intent.as_dict()
                update["meanings"] = meanings
                proposed = [(c["tool_name"], c["arguments"]) for c in offline.calls]
                last_round = True  # the offline planner plans one round
        planned = [
            {"call_id": f"T{used + number}", "tool_name": name, "arguments": arguments}
            for number, (name, arguments) in enumerate(proposed[:budget], start=1)
        ]
        update["planned"] = planned
        if planned:
            update["route"] = WorkflowStep.RUN_TOOLS.value
            update["last_round"] = last_round or len(planned) >= budget
        else:  # the loop ends; a reply that asks for no tools answers the question
            # With passages to weave in, synthesis writes the answer instead.
            answered = bool(reply) and not _ranks_documents(state)
            if answered:
                update["answer"] = reply
            update["route"] = after_loop(state, answered=answered)
        update["timings_ms"] = {"plan": (time.perf_counter() - started) * 1000}
        return update

    @staticmethod
    def _clarified_plan(state: AnalysisState, meanings: dict[str, dict[str, float]]) -> OfflinePlan:
        """The offline plan; under the ``clarify`` rule a word no column answers to pauses
        the analysis to ask which column is meant (the closest in meaning first), and the
        answer stands for the word as a match by meaning would. On resume this step runs
        again and each pause returns its answer, so nothing is asked twice. Adds the
        answers to ``meanings``."""
        earlier = [turn["question"] for turn in state.get("history", [])]
        offline = plan_question(state["question"], state["profile"], meanings, earlier=earlier)
        asked: set[str] = set()
        while state.get("interrupts", {}).get("clarify") and offline.intent.kind == "unresolved":
            reading = read_question(state["question"], state["profile"], meanings)
            unknown = [word for word in reading.unknown_measures if word not in asked]
            columns = [c for c in reading.of_kind("numeric") if c not in reading.filtered_columns]
            if not unknown or not columns:
                break
            word = unknown[0]
            asked.add(word)
            answer = interrupt(
                clarification(word, reading.nearest_in_meaning.get(word, []), columns)
            )
            meanings[word] = {str(answer["choice"]): 1.0}
            offline = plan_question(state["question"], state["profile"], meanings, earlier=earlier)
        return offline

    async def _meanings(self, state: AnalysisState) -> dict[str, dict[str, float]]:
        """For each word the question asks to aggregate that no column spells ("total
        rainfall"), every column's similarity to it in meaning, from the embeddings
        service. Optional: without an answer in time the word stays unknown (and the
        answer says the data holds no such column)."""
        reading = read_question(state["question"], state["profile"])
        if not reading.unknown_measures or self.meaning_timeout_s <= 0:
            return {}
        columns = list(reading.columns)
        names = [" ".join(column_words(column)) for column in columns]
        meanings: dict[str, dict[str, float]] = {}
        try:
            for word in reading.unknown_measures:
                ranked = await asyncio.wait_for(
                    self.ranker.rank(
                        query=word, passages=names, top_k=len(names), tenant_id=state["tenant_id"]
                    ),
                    timeout=self.meaning_timeout_s,
                )
                meanings[word] = {columns[index]: score for index, score in ranked}
        except (DependencyUnavailable, TimeoutError) as error:
            logger.warning("columns not matched by meaning: %s", error)
            return {}
        return meanings

    async def _model_proposes(
        self, state: AnalysisState, budget: int
    ) -> tuple[list[tuple[str, dict[str, Any]]], str, Usage]:
        """Native tool calling: the model sees the question, the profile and every earlier
        round's calls and results, and asks for more calls or none. Returns the calls,
        the reply's text (the answer, in the round that asks for none) and the usage."""
        catalogue = await self.tools.list_tools(tenant_id=state["tenant_id"])
        if state.get("interrupts", {}).get("clarify"):
            catalogue = [*catalogue, ASK_PERSON_TOOL]
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
        messages: list[Any] = [
            SystemMessage(prompts.PLANNER.format(max_calls=budget)),
            HumanMessage(
                _earlier(state) + f"Question: {state['question']}\n"
                f"Dataset profile: {prompts.profile_summary(state['profile'])}"
            ),
            *prompts.earlier_rounds(state.get("outcomes", [])),
        ]
        llm_started = time.perf_counter()
        response = await self._ask("plan", state, model, messages)
        usage = _usage(response, time.perf_counter() - llm_started)
        known = {t["name"] for t in catalogue}
        proposed = [
            (call["name"], dict(call["args"]))
            for call in response.tool_calls
            if call["name"] in known
        ]
        return proposed, response.text.strip(), usage

    async def run_tools(self, state: AnalysisState) -> dict[str, Any]:
        """Independent calls run concurrently; a tool error is recorded, not fatal (the
        next round sees it and may correct the call)."""
        started = time.perf_counter()
        this_round = state.get("round", 1)
        asked = [c for c in state.get("planned", []) if c["tool_name"] == tool_names.ASK_PERSON]
        planned = [c for c in state.get("planned", []) if c not in asked]
        answers = [  # the person first: the step re-runs on resume, before any tool call
            _answered(call, result=interrupt(asked_by_model(call["call_id"], call["arguments"])))
            for call in asked
        ]
        declined = self._declined(state, this_round)
        outcomes = answers + await asyncio.gather(
            *(
                self.tools.invoke(
                    call_id=call["call_id"],
                    tool_name=call["tool_name"],
                    dataset_id=state["dataset_id"],
                    arguments=call["arguments"],
                    tenant_id=state["tenant_id"],
                )
                for call in planned
                if call["call_id"] not in declined
            )
        )
        outcomes += [
            _answered(call, error=declined[call["call_id"]])
            for call in planned
            if call["call_id"] in declined
        ]
        return {
            "outcomes": [{**outcome, "round": this_round} for outcome in outcomes],
            "route": (
                after_loop(state, answered=False)
                if state.get("last_round")
                else WorkflowStep.PLAN.value
            ),
            "timings_ms": {"run_tools": (time.perf_counter() - started) * 1000},
        }

    @staticmethod
    def _declined(state: AnalysisState, this_round: int) -> dict[str, str]:
        """The calls of this round a person declined (call id → why), after pausing for
        approval of those the analysis's rules say need it. Runs before any call is made,
        so the step re-run on resume makes each call once."""
        rows = state.get("profile", {}).get("rows")
        flagged = [
            (call, why)
            for call in state.get("planned", [])
            if call["tool_name"] != tool_names.ASK_PERSON
            if (
                why := needs_approval(
                    state.get("interrupts", {}),
                    call["tool_name"],
                    rows if isinstance(rows, int) else None,
                )
            )
        ]
        if not flagged:
            return {}
        answer = interrupt(
            approval(this_round, [(c["tool_name"], c["arguments"], why) for c, why in flagged])
        )
        if answer.get("approved"):
            return {}
        note = str(answer.get("note") or "").strip()
        return {call["call_id"]: DECLINED + (f": {note}" if note else "") for call, _ in flagged}

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
        """The answer. A model that cannot call tools does not write it: the answer is
        composed from the findings, so every figure and name in it is a tool's."""
        started = time.perf_counter()
        if not self.llm_calls_tools:
            return {
                "answer": self._composed_answer(state),
                "timings_ms": {"synthesize": (time.perf_counter() - started) * 1000},
            }
        messages = [
            SystemMessage(prompts.SYNTHESIZER),
            HumanMessage(
                _earlier(state)
                + f"Question: {state['question']}\n\nEvidence:\n"
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

    @staticmethod
    def _composed_answer(state: AnalysisState) -> str:
        intent = Intent.from_dict(state.get("intent") or {"kind": "overview"})
        if intent.kind == "unresolved":
            reading = read_question(
                state["question"], state.get("profile", {}), state.get("meanings")
            )
            return compose_unresolved(reading, intent.note.split(", "))
        answer = compose_answer(intent, state.get("outcomes", []))
        passages = state.get("passages", [])
        if passages:
            top = passages[0]
            answer += f" See also: {top['title'] or top['document_id']} [{top['marker']}]."
        return answer

    async def finalize(self, state: AnalysisState) -> dict[str, Any]:
        """Findings from every tool result, and the results drawn as charts; the citations
        the answer uses, in order of first use; and the numbers and names it writes that
        none of its evidence holds.
        In strict mode a sentence stating such a number or name is dropped."""
        outcomes = state.get("outcomes", [])
        passages = state.get("passages", [])
        answer = state.get("answer", "")
        evidence: list[object] = [state.get("question", ""), state.get("profile", {})]
        evidence += [[o["arguments"], o["result"]] for o in outcomes]
        evidence += [[p["title"], p["text"]] for p in passages]
        numbers = ungrounded_numbers(answer, evidence)
        names = ungrounded_names(answer, evidence)
        if self.strict_grounding and (numbers or names):
            answer = drop_sentences_stating(answer, [*numbers, *names])
        known = {o["call_id"] for o in outcomes} | {p["marker"] for p in passages}
        cited = list(dict.fromkeys(m for m in CITATION.findall(answer) if m in known))
        findings = [
            finding
            for outcome in outcomes
            if outcome["call_id"] != PROFILE_CALL_ID
            for finding in findings_of(outcome)
        ]
        return {
            "answer": answer,
            "cited": cited,
            "ungrounded_numbers": numbers,
            "ungrounded_values": names,
            "findings": findings,
            "charts": charts_of([o for o in outcomes if o["call_id"] != PROFILE_CALL_ID]),
        }
