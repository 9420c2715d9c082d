"""Analysis lifecycle events: requested → progressed* → completed | failed | cancelled."""

from enum import StrEnum
from typing import Annotated, Any, Literal, Self
from uuid import UUID

from pydantic import (
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    JsonValue,
    StringConstraints,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from sextant_contracts.base import Contract

MAX_INLINE_DATASET_BYTES = 256 * 1024
"""Inline data above this travels by reference (upload a dataset, send its id)."""

MAX_QUESTION_CHARS = 4000
MAX_UNGROUNDED_NUMBER_CHARS = 64
MAX_UNGROUNDED_VALUE_CHARS = 256
MAX_TOOL_ERROR_CHARS = 4000
MAX_FINDING_STATEMENT_CHARS = 2000
MAX_FINDING_PATH_CHARS = 512
MAX_FAILURE_REASON_CHARS = 4000
MAX_DOCUMENTS = 50
MAX_DOCUMENT_CHARS = 100_000


NUL_FREE_PATTERN = r"^[^\x00]*$"
"""JSON Schema of text PostgreSQL can store: no U+0000 (ECMA 262 and Python agree)."""

_WHITE_SPACE = (
    "\\t\\n\\u000b\\u000c\\r\\u001c-\\u001f \\u0085\\u00a0\\u1680\\u2000-\\u200a"
    "\\u2028\\u2029\\u202f\\u205f\\u3000"
)
"""Exactly what Python's ``str.strip()`` removes, spelled out: ``\\s`` means slightly
different sets in Python, ECMA 262 and Rust, and the schema must say one thing."""

VISIBLE_NUL_FREE_PATTERN = rf"^[^\x00]*[^\x00{_WHITE_SPACE}][^\x00]*$"
"""Also at least one character that is not white space."""


class _StoredText:
    """A text field that ends up in PostgreSQL, whose text and jsonb cannot hold U+0000:
    refused here, a clear 4xx (or DLQ reason) instead of a database error after the
    request was taken. With ``visible``, also refused when it is only white space, and
    stripped once accepted. The rule is in the JSON Schema too (``pattern``), so the
    published documents say exactly what is accepted."""

    def __init__(self, *, visible: bool = False) -> None:
        self.visible = visible

    def _check(self, value: str) -> str:
        if "\x00" in value:
            raise ValueError("must not contain the NUL character (U+0000)")
        if self.visible:
            value = value.strip()
            if not value:
                raise ValueError("must not be empty or only white space")
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = VISIBLE_NUL_FREE_PATTERN if self.visible else NUL_FREE_PATTERN
        return json_schema


Storable = _StoredText()
"""For every text field that ends up stored in PostgreSQL."""

Question = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_QUESTION_CHARS),
    _StoredText(visible=True),
]
CancelReason = Annotated[str, StringConstraints(max_length=1000), Storable]


class WorkflowStep(StrEnum):
    """The steps of the agent workflow, in order."""

    PROFILE = "profile"
    PLAN = "plan"
    RUN_TOOLS = "run_tools"
    RETRIEVE = "retrieve"
    SYNTHESIZE = "synthesize"
    FINALIZE = "finalize"


class StepStatus(StrEnum):
    STARTED = "started"
    COMPLETED = "completed"
    SKIPPED = "skipped"


class InlineDataset(Contract):
    """Small data sent with the request itself (claim-check above the size limit)."""

    media_type: Literal["text/csv", "application/json"]
    content: Annotated[
        str, StringConstraints(min_length=1, max_length=MAX_INLINE_DATASET_BYTES), Storable
    ]


class AttachedDocument(Contract):
    """A passage source the agent may retrieve from and cite."""

    document_id: Annotated[str, StringConstraints(min_length=1, max_length=128), Storable]
    title: Annotated[str, StringConstraints(max_length=512), Storable] = ""
    text: Annotated[str, StringConstraints(min_length=1, max_length=MAX_DOCUMENT_CHARS), Storable]


MAX_ROUNDS = 8
"""The most rounds an analysis may ask for (progress sequences are laid out for it)."""


class AnalysisOptions(Contract):
    """Per-request knobs; every one has a safe default."""

    max_tool_calls: int = Field(default=8, ge=0, le=32)
    max_rounds: int = Field(
        default=MAX_ROUNDS // 2,
        ge=1,
        le=MAX_ROUNDS,
        description="Rounds of the agent loop: in each, the model (or the offline planner)"
        " proposes tool calls and sees their results before deciding what to do next.",
    )
    top_k_passages: int = Field(default=4, ge=0, le=20)
    max_tokens: int | None = Field(
        default=None,
        ge=1,
        le=100_000_000,
        description="A budget of LLM tokens (input and output) for this analysis alone:"
        " the call that would pass it is not made, and the analysis fails with"
        " budget_exhausted. The tenant's own budget applies as well.",
    )
    busy_thread: Literal["enqueue", "reject", "interrupt", "rollback"] | None = Field(
        default=None,
        description="When an earlier question of the same thread is still running:"
        " 'enqueue' waits for it to end, 'reject' fails this one (thread_busy),"
        " 'interrupt' cancels it at its next step and then runs this one, 'rollback'"
        " does the same and leaves it out of the thread even if it finished. Unset: the"
        " tenant's policy (the orchestrator's THREAD_POLICIES), else 'enqueue'. Only"
        " meaningful with a thread_id.",
    )
    clarify: bool | None = Field(
        default=None,
        description="Pause (status 'interrupted', analysis.interrupted.v1) to ask which"
        " column the question means when no column answers to a word it asks about, or"
        " two do equally, instead of answering that the data does not hold it. Unset:"
        " the tenant's policy (the orchestrator's INTERRUPT_POLICIES), else no.",
    )
    language: Annotated[str, StringConstraints(min_length=2, max_length=16), Storable] = "en"


ONE_DATASET_SOURCE: dict[str, Any] = {
    "not": {
        "anyOf": [
            {
                "required": ["dataset_id", "inline_dataset"],
                "properties": {
                    "dataset_id": {"type": "string"},
                    "inline_dataset": {"type": "object"},
                },
            },
            {"properties": {"dataset_id": {"type": "null"}, "inline_dataset": {"type": "null"}}},
        ]
    }
}
"""Exactly one of ``dataset_id`` and ``inline_dataset`` given (present and not null), as
JSON Schema: neither both nor none. Written with ``not`` rather than ``oneOf`` because
client generators read ``not`` as a constraint and still build one typed model."""


class AnalysisSubmission(Contract):
    """What a client asks (REST body); the service assigns the analysis id."""

    model_config = ConfigDict(json_schema_extra=ONE_DATASET_SOURCE)

    question: Question
    dataset_id: UUID | None = None
    inline_dataset: InlineDataset | None = None
    documents: list[AttachedDocument] = Field(default_factory=list, max_length=MAX_DOCUMENTS)
    options: AnalysisOptions = Field(default_factory=AnalysisOptions)

    @model_validator(mode="after")
    def _exactly_one_dataset_source(self) -> Self:
        if (self.dataset_id is None) == (self.inline_dataset is None):
            raise ValueError("give exactly one of dataset_id or inline_dataset")
        return self


class AnalysisRequested(AnalysisSubmission):
    """Ask Sextant to answer ``question`` about a dataset (by id, or inline when small)."""

    analysis_id: UUID
    thread_id: UUID | None = Field(
        default=None,
        description="The conversation this question follows up in: the analysis sees the"
        " thread's earlier questions, answers and findings (the last turns in full, older"
        " ones summed up). Any id: the first analysis naming it starts the thread.",
    )


class AnalysisCancellationRequested(Contract):
    """Stop a running analysis at its next step boundary."""

    analysis_id: UUID
    reason: CancelReason = "cancelled by user"


class AnalysisProgressed(Contract):
    """A workflow step started or finished; ``sequence`` orders events of one analysis."""

    analysis_id: UUID
    sequence: int = Field(ge=0)
    step: WorkflowStep
    status: StepStatus
    message: Annotated[str, StringConstraints(max_length=2000)] = ""


class Citation(Contract):
    """Where a statement in the answer comes from: a tool result or a retrieved passage."""

    marker: Annotated[str, StringConstraints(min_length=1, max_length=16)] = Field(
        description="The label used in the answer text, e.g. '[T1]' or '[D2]'."
    )
    kind: Literal["tool", "document"]
    source_id: Annotated[str, StringConstraints(min_length=1, max_length=128)] = Field(
        description="Tool call id or document id."
    )
    excerpt: Annotated[str, StringConstraints(max_length=2000)] = ""


class ToolCallRecord(Contract):
    """One tool invocation the workflow made, with what went in and what came out."""

    call_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    tool_name: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    arguments: dict[str, JsonValue] = Field(default_factory=dict)
    result: dict[str, JsonValue] | None = None
    result_omitted: bool = Field(
        default=False,
        description=(
            "The result was left out of this event to keep it within Kafka's message size;"
            " GET /v1/analyses/{id} returns it."
        ),
    )
    error: Annotated[str, StringConstraints(max_length=MAX_TOOL_ERROR_CHARS)] | None = None
    duration_ms: float = Field(default=0.0, ge=0)


class Finding(Contract):
    """One statement a tool result supports, with the path of each value in that result.

    ``paths`` maps each key of ``values`` to where it sits in the tool call's result
    (``table[0].mean_body_mass_g``), so the figure can be found and checked.
    """

    statement: Annotated[str, StringConstraints(max_length=MAX_FINDING_STATEMENT_CHARS)]
    values: dict[str, JsonValue] = Field(default_factory=dict)
    paths: dict[str, Annotated[str, StringConstraints(max_length=MAX_FINDING_PATH_CHARS)]] = Field(
        default_factory=dict
    )
    call_id: Annotated[str, StringConstraints(min_length=1, max_length=128)] = Field(
        description="The tool call that computed it (its citation is [call_id])."
    )
    tool_name: Annotated[str, StringConstraints(min_length=1, max_length=128)]


MAX_CHARTS = 8


class Chart(Contract):
    """A tool result drawn: a Vega-Lite specification with its data inline, made from
    that result alone (``call_id`` is the tool call behind every mark)."""

    chart_id: Annotated[str, StringConstraints(min_length=1, max_length=16)] = Field(
        description="C1, C2, ... in the order of the calls they draw."
    )
    kind: Literal["bar", "line", "scatter", "heatmap", "box", "points"]
    title: Annotated[str, StringConstraints(max_length=512)] = ""
    call_id: Annotated[str, StringConstraints(min_length=1, max_length=128)] = Field(
        description="The tool call whose result the chart draws."
    )
    spec: dict[str, JsonValue] = Field(
        description="A Vega-Lite v5 specification, data inline: render it with any"
        " Vega-Lite renderer (no request is needed)."
    )


class TokenUsage(Contract):
    """LLM usage for one analysis, summed over every call."""

    input_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    llm_calls: int = Field(default=0, ge=0)
    llm_latency_ms: float = Field(default=0.0, ge=0)


class TerminalEvent(Contract):
    """What every terminal event says about the progress events that preceded it."""

    last_progress_sequence: int | None = Field(
        default=None,
        ge=0,
        description=(
            "Sequence of the last progress event published before this one. Progress and"
            " terminal events travel on different topics, so a follower may read this event"
            " first; it uses this to wait for the progress it has not seen yet."
        ),
    )


class AnalysisCompleted(TerminalEvent):
    """Terminal: the answer, grounded in tool results and passages, with citations."""

    analysis_id: UUID
    answer: str
    citations: list[Citation] = Field(default_factory=list)
    ungrounded_numbers: list[
        Annotated[str, StringConstraints(max_length=MAX_UNGROUNDED_NUMBER_CHARS)]
    ] = Field(
        default_factory=list,
        description=(
            "Numbers written in the answer that no tool result, passage or the question"
            " contains (as written or rounded): figures the model made up. Empty when every"
            " number checks out."
        ),
    )
    ungrounded_values: list[
        Annotated[str, StringConstraints(max_length=MAX_UNGROUNDED_VALUE_CHARS)]
    ] = Field(
        default_factory=list,
        description=(
            "Names written in the answer (a category, a place, a column) that no tool"
            " result, passage, the dataset's profile or the question contains."
        ),
    )
    findings: list[Finding] = Field(
        default_factory=list,
        description="What the tool results say, one statement each, with provenance.",
    )
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    usage: TokenUsage = Field(default_factory=TokenUsage)
    timings_ms: dict[str, float] = Field(default_factory=dict)
    model: Annotated[str, StringConstraints(max_length=256)] = ""
    charts: list[Chart] = Field(
        default_factory=list,
        max_length=MAX_CHARTS,
        description="The tool results that have a shape to show, drawn (bars for group"
        " comparisons, a line for time buckets, a heatmap for correlations, boxes for"
        " distributions).",
    )


class AnalysisFailed(TerminalEvent):
    """Terminal: the analysis could not be answered; ``reason`` says why, for humans."""

    analysis_id: UUID
    error_code: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    reason: Annotated[str, StringConstraints(max_length=MAX_FAILURE_REASON_CHARS)]
    failed_step: WorkflowStep | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class AnalysisCancelled(TerminalEvent):
    """Terminal: the analysis was stopped on request."""

    analysis_id: UUID
    reason: Annotated[str, StringConstraints(max_length=1000)] = ""
    cancelled_at_step: WorkflowStep | None = None
