"""Interrupts: an analysis pauses for a person (or a downstream system) and resumes.

An analysis that needs an answer it cannot find in the data - which column a word
meant, whether a step may run - publishes :class:`AnalysisInterrupted` and waits, as a
checkpoint, not as a waiting process. :class:`AnalysisResumeRequested` (over Kafka, or
``POST /v1/analyses/{id}/resume``) carries the answer.

Why the answers are pydantic models and not free-form JSON Schema: the schema an
interrupt publishes (``response_schema``) and the check a resume passes are derived from
the same model here, so they cannot say different things; every door (the REST API, the
orchestrator's Kafka intake) validates with :func:`validated_response`.
"""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field, JsonValue, StringConstraints, ValidationError

from sextant_contracts.analysis import Storable, WorkflowStep
from sextant_contracts.base import Contract

MAX_INTERRUPT_OPTIONS = 50
MAX_OPTION_CHARS = 256
MAX_PROMPT_CHARS = 2000
MAX_NOTE_CHARS = 1000


class InterruptKind(StrEnum):
    CLARIFICATION = "clarification"
    """The question names something the data does not hold as such (no column, or two
    columns equally likely): a person picks the column meant from ``options``."""
    APPROVAL = "approval"
    """A step the tenant's policy marks as needing a person's approval is about to run."""


Option = Annotated[str, StringConstraints(min_length=1, max_length=MAX_OPTION_CHARS), Storable]
Note = Annotated[str, StringConstraints(max_length=MAX_NOTE_CHARS), Storable]


class ClarificationResponse(Contract):
    """The answer to a clarification: one of the interrupt's options (any text when it
    offers none)."""

    choice: Option = Field(description="One of the interrupt's options, as written there.")


class ApprovalResponse(Contract):
    """The answer to an approval: run the step, or decline it (it is then not run and the
    analysis goes on without it, saying so)."""

    approved: bool
    note: Note = ""


RESPONSES: dict[InterruptKind, type[Contract]] = {
    InterruptKind.CLARIFICATION: ClarificationResponse,
    InterruptKind.APPROVAL: ApprovalResponse,
}


def response_schema(kind: InterruptKind, options: list[str]) -> dict[str, Any]:
    """The JSON Schema an answer to this interrupt must meet (published with it)."""
    schema = RESPONSES[kind].model_json_schema(mode="validation")
    schema["additionalProperties"] = False
    if kind == InterruptKind.CLARIFICATION and options:
        schema["properties"]["choice"]["enum"] = list(options)
    return schema


class InvalidResponse(ValueError):
    """A resume whose response does not answer the interrupt; the message says why."""


def validated_response(
    kind: InterruptKind, options: list[str], response: JsonValue
) -> dict[str, Any]:
    """``response`` checked against the interrupt's ``response_schema`` (the same rules:
    the model, no fields it does not name, a choice among the options). Raises
    InvalidResponse saying what is wrong."""
    model = RESPONSES[kind]
    if not isinstance(response, dict):
        raise InvalidResponse(f"the response must be a JSON object, not {type(response).__name__}")
    unknown = sorted(set(response) - set(model.model_fields))
    if unknown:
        raise InvalidResponse(f"the response has fields this interrupt does not ask for: {unknown}")
    try:
        answer = model.model_validate(response, strict=True)  # JSON Schema's types: no coercion
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'response'}: {e['msg']}"
            for e in error.errors()
        )
        raise InvalidResponse(f"the response does not answer the interrupt: {problems}") from None
    if isinstance(answer, ClarificationResponse) and options and answer.choice not in options:
        raise InvalidResponse(
            f"choice {answer.choice!r} is not one of the options: {', '.join(options)}"
        )
    return answer.model_dump(mode="json")


class AnalysisInterrupted(Contract):
    """The analysis paused for an answer (status ``interrupted``); it resumes from an
    :class:`AnalysisResumeRequested` meeting ``response_schema``, ends ``failed`` with
    ``interrupt_timed_out`` at ``expires_at``, or takes ``default_response`` then (the
    tenant's policy says which). Cancelling it ends it at once."""

    analysis_id: UUID
    interrupt_id: UUID = Field(description="Names this pause; a resume may name it.")
    kind: InterruptKind
    prompt: Annotated[str, StringConstraints(min_length=1, max_length=MAX_PROMPT_CHARS), Storable]
    options: list[Option] = Field(default_factory=list, max_length=MAX_INTERRUPT_OPTIONS)
    response_schema: dict[str, JsonValue] = Field(
        description="The JSON Schema of an accepted response."
    )
    default_response: dict[str, JsonValue] | None = Field(
        default=None, description="What the analysis takes at expires_at, if the policy says so."
    )
    step: WorkflowStep = Field(description="The step that paused (it runs again on resume).")
    expires_at: datetime | None = Field(
        default=None, description="When the wait ends (None: it waits until cancelled)."
    )
    on_timeout: Literal["fail", "default"] = "fail"
    last_progress_sequence: int | None = Field(
        default=None, ge=0, description="Sequence of the last progress event before the pause."
    )


class AnalysisResumeRequested(Contract):
    """Answer an interrupted analysis (key: the analysis id). A response that does not
    meet the interrupt's ``response_schema`` goes to the DLQ with the reason, and the
    analysis stays interrupted."""

    analysis_id: UUID
    interrupt_id: UUID | None = Field(
        default=None,
        description="The interrupt answered; unset: the one the analysis waits on now."
        " A resume naming an interrupt already answered is ignored.",
    )
    response: dict[str, JsonValue]
