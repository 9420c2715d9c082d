"""Settings of the orchestrator service (env prefix ``SEXTANT_ORCHESTRATOR_``; the LLM's
own settings use ``LLM_``)."""

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from sextant_kafka.message_size import MAX_MESSAGE_BYTES
from sextant_orchestrator.infrastructure.llm.settings import LlmSettings
from sextant_platform.settings import ServiceSettings, service_config


class BudgetSetting(BaseModel):
    """A tenant's LLM budget over a calendar period (UTC): tokens, cost, or both."""

    period: Literal["day", "month"] = "month"
    tokens: int | None = Field(default=None, ge=0)
    cost: float | None = Field(default=None, ge=0, description="In the prices' currency.")

    @model_validator(mode="after")
    def _limits_something(self) -> "BudgetSetting":
        if self.tokens is None and self.cost is None:
            raise ValueError("a budget sets tokens, cost or both")
        return self


class InterruptPolicySetting(BaseModel):
    """When a tenant's analyses pause for a person, and how long they wait."""

    clarify: bool = Field(
        default=False,
        description="Ask which column a question means when none answers to a word it"
        " asks about (a request's options.clarify overrides it).",
    )
    approve_tools: list[str] = Field(
        default_factory=list, description="Tools that run only once a person approves."
    )
    approve_rows_over: int | None = Field(
        default=None, ge=0, description="Any tool over more rows than this needs approval."
    )
    timeout_s: float | None = Field(
        default=24 * 3600.0, gt=0, description="How long a pause waits (null: until cancelled)."
    )
    on_timeout: Literal["fail", "default"] = Field(
        default="fail",
        description="At the timeout: fail with interrupt_timed_out, or take the pause's"
        " declared default (decline an approval; take the closest column).",
    )


class OrchestratorSettings(ServiceSettings):
    """Configuration of the orchestrator service; shared parts come from ServiceSettings."""

    model_config = service_config("SEXTANT_ORCHESTRATOR_")

    SERVICE_NAME: str = "orchestrator"
    MAX_EVENT_BYTES: int = Field(
        default=MAX_MESSAGE_BYTES,
        ge=4096,
        description="Largest terminal event published; a completed event over it leaves out "
        "its largest tool results (PostgreSQL and the API keep them). Keep it below the "
        "brokers' message.max.bytes (1 MiB by default).",
    )
    CONSUMER_GROUP: str = "orchestrator"
    INSTANCE_ID: str | None = Field(
        default=None, description="Lease owner name; host-pid-random when unset."
    )
    MAX_CONCURRENT_ANALYSES: int = Field(default=4, ge=1, le=256)
    LEASE_S: float = Field(
        default=30.0, ge=1.0, description="A dead instance's analyses are taken over after this."
    )
    SERVICE_TIMEOUT_S: float = Field(
        default=120.0, gt=0, description="Waiting for one tools/embeddings reply."
    )
    TOOL_CATALOGUE_TTL_S: float = Field(
        default=60.0,
        ge=0,
        description="How long the tools catalogue is reused before it is asked for again.",
    )
    STRICT_GROUNDING: bool = Field(
        default=False,
        description="Drop each sentence of a model-written answer that states a number or a "
        "name no tool result, passage or the question holds (they are listed either way). "
        "Answers composed offline from findings pass by construction.",
    )
    MEANING_TIMEOUT_S: float = Field(
        default=5.0,
        ge=0,
        description="How long the offline planner waits for the embeddings service to say "
        "which column a word no column spells stands for; past it (or with the service "
        "away) the answer says the data holds no such column. 0 turns matching by meaning "
        "off.",
    )
    OUTAGE_BUDGET_S: float = Field(
        default=300.0,
        gt=0,
        description="How long an analysis waits out an outage of PostgreSQL, Redis or the "
        "network before it ends failed with dependency_unavailable.",
    )
    ANALYSIS_DEADLINE_S: float = Field(
        default=3600.0,
        gt=0,
        description="An analysis not terminal this long after it was accepted ends failed "
        "with deadline_exceeded (whatever held it up); the lifecycle sweep enforces it.",
    )
    SWEEP_INTERVAL_S: float = Field(
        default=60.0,
        gt=0,
        description="How often (jittered) each instance sweeps: re-drives analyses whose "
        "owner vanished, ends overdue ones, prunes rows past the retention.",
    )
    REDRIVE_GRACE_S: float = Field(
        default=60.0,
        ge=0,
        description="How long past its expiry a lease must be before the sweep publishes "
        "its analysis's request again (Kafka's own redelivery usually comes first).",
    )
    REDRIVE_EVERY_S: float = Field(
        default=300.0, gt=0, description="The least time between two re-drives of one analysis."
    )
    RETENTION_S: float = Field(
        default=7 * 24 * 3600.0,
        gt=0,
        description="Published progress/request events, recorded stream events, pending "
        "cancellations and dedupe marks older than this are deleted (terminal results and "
        "their events stay with the analysis).",
    )
    CHECKPOINT_PREFIX: str = "sextant:checkpoints"
    OUTBOX_POLL_S: float = Field(default=1.0, gt=0)
    HTTP_HOST: str = Field(default="127.0.0.1", description="Where /healthz and /readyz listen.")
    HTTP_PORT: int = Field(default=8084, ge=0, le=65535)
    BUDGETS: dict[str, BudgetSetting] = Field(
        default_factory=dict,
        description="LLM budgets by tenant id, '*' for every tenant without one, as JSON:"
        ' {"*": {"tokens": 2000000}, "acme": {"period": "day", "tokens": 100000,'
        ' "cost": 5}}. Checked before every LLM call; a tenant past it gets its analysis'
        " failed with budget_exhausted. None by default.",
    )
    THREAD_POLICIES: dict[str, Literal["enqueue", "reject", "interrupt", "rollback"]] = Field(
        default_factory=dict,
        description="What a question does while an earlier one of its thread runs, by"
        ' tenant id (\'*\': any), as JSON: {"*": "enqueue", "acme": "reject"}. A request\'s'
        " options.busy_thread overrides it; default enqueue.",
    )
    INTERRUPT_POLICIES: dict[str, InterruptPolicySetting] = Field(
        default_factory=dict,
        description="When analyses pause for a person, by tenant id ('*': any), as JSON:"
        ' {"*": {"clarify": true, "approve_tools": ["web_fetch"], "timeout_s": 3600,'
        ' "on_timeout": "default"}}. None by default: an analysis never waits for a'
        " person unless its request asks (options.clarify) or its tenant's policy does.",
    )
    LLM: LlmSettings = Field(default_factory=LlmSettings)
