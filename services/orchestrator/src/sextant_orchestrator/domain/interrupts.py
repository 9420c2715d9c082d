"""When an analysis pauses for a person, and what it asks.

Two pauses, each a plain decision on the workflow's state (no LangGraph here; the node
that pauses calls LangGraph's ``interrupt`` with what these functions build):

* **clarification** - the question asks about a word no column answers to (or two
  columns do equally): which column is meant? Only when the tenant's policy or the
  request asks for it (``clarify``); otherwise the answer says the data lacks it.
* **the model asks** - under the same rule, a model that plans with tool calls is
  offered ``ask_person`` (:data:`ASK_PERSON_TOOL`); its call pauses the analysis with
  the model's question and candidates, and the answer is that call's result.
* **approval** - a tool the tenant's policy names, or any tool over a dataset with more
  rows than the policy allows, is about to run: may it?

Each pause has a ``key`` that names it within its analysis, the same on every re-run of
the step, so a crash between the pause and its record never asks twice.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, TypedDict
from uuid import UUID

from sextant_contracts import tool_names
from sextant_contracts.interrupts import (
    MAX_INTERRUPT_OPTIONS,
    MAX_OPTION_CHARS,
    MAX_PROMPT_CHARS,
    InterruptKind,
)
from sextant_orchestrator.domain.budgets import ANY_TENANT

INTERRUPT_NAMESPACE = uuid.UUID("0d7f3f4e-2b8c-4a51-a1f6-5e8e0f5f0c21")
DECLINED = "not run: a person declined it"


class PauseRequest(TypedDict):
    """What a node pauses with (checkpointed by LangGraph, so plain JSON)."""

    key: str
    kind: str
    prompt: str
    options: list[str]
    default_response: dict[str, Any] | None


class InterruptRules(TypedDict, total=False):
    """The pauses an analysis may make, fixed when it starts (part of its state)."""

    clarify: bool
    approve_tools: list[str]
    approve_rows_over: int | None


@dataclass(frozen=True)
class InterruptPolicy:
    """A tenant's interrupt policy (``SEXTANT_ORCHESTRATOR_INTERRUPT_POLICIES``)."""

    clarify: bool = False
    """Ask which column a question means instead of answering that the data lacks it."""
    approve_tools: tuple[str, ...] = field(default_factory=tuple)
    """Tools that run only once a person approves the call (``web_fetch``, say)."""
    approve_rows_over: int | None = None
    """Any tool over a dataset with more rows than this needs approval (None: never)."""
    timeout_s: float | None = 24 * 3600.0
    """How long a pause waits for its answer (None: until cancelled)."""
    on_timeout: Literal["fail", "default"] = "fail"
    """At the timeout: end ``failed`` with ``interrupt_timed_out``, or take the pause's
    declared default (decline an approval; take the closest column)."""

    def rules(self, *, clarify: bool | None = None) -> InterruptRules:
        """The rules an analysis runs under; ``clarify`` is the request's own choice."""
        return {
            "clarify": self.clarify if clarify is None else clarify,
            "approve_tools": list(self.approve_tools),
            "approve_rows_over": self.approve_rows_over,
        }

    def expires_at(self, now: datetime) -> datetime | None:
        return None if self.timeout_s is None else now + timedelta(seconds=self.timeout_s)


@dataclass(frozen=True)
class StoredInterrupt:
    """An interrupt as recorded: what it asked, until when, and its answer if any."""

    interrupt_id: UUID
    analysis_id: UUID
    tenant_id: str
    kind: str
    options: list[str]
    default_response: dict[str, Any] | None
    on_timeout: str
    response: dict[str, Any] | None
    expired: bool
    """Unanswered past its ``expires_at`` (by the database's clock)."""


def policy_for(policies: Mapping[str, InterruptPolicy], tenant_id: str) -> InterruptPolicy:
    return policies.get(tenant_id) or policies.get(ANY_TENANT) or InterruptPolicy()


def interrupt_id(analysis_id: str | UUID, key: str) -> UUID:
    """The id a pause is published and answered under: the same on every re-run."""
    return uuid.uuid5(INTERRUPT_NAMESPACE, f"{analysis_id}:{key}")


def clarification(word: str, nearest: list[str], columns: list[str]) -> PauseRequest:
    """Which of ``columns`` does ``word`` mean? Those closest in meaning come first; the
    default (taken at a timeout when the policy says so) is the closest one. Only
    ``columns`` are offered (the ones the word could stand for: a measure is numeric)."""
    closest = [column for column in nearest if column in columns]
    options = list(dict.fromkeys([*closest, *columns]))[:MAX_INTERRUPT_OPTIONS]
    return {
        "key": f"clarify:{word}",
        "kind": InterruptKind.CLARIFICATION.value,
        "prompt": f'No column of the dataset is called "{word}". Which column did you mean?',
        "options": options,
        "default_response": {"choice": options[0]} if options else None,
    }


ASK_PERSON_TOOL: dict[str, Any] = {
    "name": tool_names.ASK_PERSON,
    "description": "Ask the person who asked the question, when it is ambiguous: it names"
    " something no column holds, or two columns could be meant. Give the candidates (column"
    " names, values) as options; the analysis waits for the answer, which comes back as"
    " this call's result. Do not ask what the data or the tools can tell you.",
    "parameters": {
        "type": "object",
        "properties": {
            "question": {"type": "string", "description": "One short question."},
            "options": {
                "type": "array",
                "items": {"type": "string"},
                "description": "The candidates to choose from (empty: a free answer).",
            },
        },
        "required": ["question"],
    },
}


def asked_by_model(call_id: str, arguments: dict[str, Any]) -> PauseRequest:
    """The pause a model's ``ask_person`` call makes (keyed by the call, which the
    checkpointed plan holds: re-running the step asks the same)."""
    raw = arguments.get("options")
    options = [
        str(option)[:MAX_OPTION_CHARS]
        for option in (raw if isinstance(raw, list) else [])
        if str(option).strip()
    ]
    options = list(dict.fromkeys(options))[:MAX_INTERRUPT_OPTIONS]
    prompt = str(arguments.get("question") or "").strip() or "Which did you mean?"
    return {
        "key": f"ask:{call_id}",
        "kind": InterruptKind.CLARIFICATION.value,
        "prompt": prompt[:MAX_PROMPT_CHARS],
        "options": options,
        "default_response": {"choice": options[0]} if options else None,
    }


def needs_approval(rules: InterruptRules, tool_name: str, dataset_rows: int | None) -> str | None:
    """Why a call needs a person's approval under ``rules`` (None: it does not)."""
    if tool_name in rules.get("approve_tools", []):
        return f"the tenant's policy asks for approval before {tool_name}"
    limit = rules.get("approve_rows_over")
    if limit is not None and dataset_rows is not None and dataset_rows > limit:
        return (
            f"the dataset has {dataset_rows} rows, more than the {limit} allowed without approval"
        )
    return None


def approval(round_number: int, calls: list[tuple[str, dict[str, Any], str]]) -> PauseRequest:
    """May these calls (name, arguments, why) run? Declining skips them: the default."""
    listed = "; ".join(f"{name}({arguments}) - {why}" for name, arguments, why in calls)
    return {
        "key": f"approve:round-{round_number}",
        "kind": InterruptKind.APPROVAL.value,
        "prompt": f"May these tool calls run? {listed}"[:2000],
        "options": [],
        "default_response": {"approved": False, "note": "no answer before the timeout"},
    }
