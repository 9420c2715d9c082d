"""The topic catalogue: every Kafka topic Sextant uses, what travels on it, keyed by what.

Producers and consumers take topic names from here and nowhere else. Each main topic
has one companion that is derived, never declared by hand: ``<topic>.dlq``, the
:class:`~sextant_contracts.dead_letter.DeadLetter` records of messages a consumer could
not take (malformed, or failing for a reason other than an outage it waited out).
"""

from dataclasses import dataclass

from sextant_contracts.analysis import (
    AnalysisCancellationRequested,
    AnalysisCancelled,
    AnalysisCompleted,
    AnalysisFailed,
    AnalysisProgressed,
    AnalysisRequested,
)
from sextant_contracts.base import Contract
from sextant_contracts.embeddings import EmbeddingReplied, EmbeddingRequested
from sextant_contracts.interrupts import AnalysisInterrupted, AnalysisResumeRequested
from sextant_contracts.tools import ToolInvocationReplied, ToolInvocationRequested

DLQ_SUFFIX = ".dlq"


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """One topic: its name, its partition count, its key, and the payload it carries."""

    name: str
    partitions: int
    key: str
    payload: type[Contract]
    producers: tuple[str, ...]
    consumers: tuple[str, ...]
    description: str
    retention_ms: int = 7 * 24 * 3600 * 1000

    @property
    def dlq_topic(self) -> str:
        return dlq_topic_name(self.name)


def dlq_topic_name(topic_name: str) -> str:
    """The dead-letter companion of ``topic_name``."""
    return f"{topic_name}{DLQ_SUFFIX}"


TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(
        name="analysis.requested.v1",
        partitions=6,
        key="analysis id",
        payload=AnalysisRequested,
        producers=("producers", "ingress"),
        consumers=("orchestrator",),
        description="A new analysis to run. Producers may publish here directly.",
    ),
    TopicSpec(
        name="analysis.cancel-requested.v1",
        partitions=6,
        key="analysis id",
        payload=AnalysisCancellationRequested,
        producers=("ingress", "producers"),
        consumers=("orchestrator",),
        description="Stop a running analysis at its next step boundary.",
    ),
    TopicSpec(
        name="analysis.resume-requested.v1",
        partitions=6,
        key="analysis id",
        payload=AnalysisResumeRequested,
        producers=("ingress", "producers"),
        consumers=("orchestrator",),
        description="Answer an interrupted analysis; it resumes where it paused.",
    ),
    TopicSpec(
        name="analysis.interrupted.v1",
        partitions=6,
        key="analysis id",
        payload=AnalysisInterrupted,
        producers=("orchestrator",),
        consumers=("ingress", "downstream consumers"),
        description="The analysis paused for an answer (clarification or approval).",
        retention_ms=30 * 24 * 3600 * 1000,
    ),
    TopicSpec(
        name="analysis.progress.v1",
        partitions=6,
        key="analysis id",
        payload=AnalysisProgressed,
        producers=("orchestrator",),
        consumers=("ingress", "anyone"),
        description="Per-step progress of an analysis (feeds the SSE stream).",
    ),
    TopicSpec(
        name="analysis.completed.v1",
        partitions=6,
        key="analysis id",
        payload=AnalysisCompleted,
        producers=("orchestrator",),
        consumers=("ingress", "downstream consumers"),
        description="Terminal: the grounded answer with citations and tool calls.",
        retention_ms=30 * 24 * 3600 * 1000,
    ),
    TopicSpec(
        name="analysis.failed.v1",
        partitions=6,
        key="analysis id",
        payload=AnalysisFailed,
        producers=("orchestrator",),
        consumers=("ingress", "downstream consumers"),
        description="Terminal: the analysis failed, with a reason.",
        retention_ms=30 * 24 * 3600 * 1000,
    ),
    TopicSpec(
        name="analysis.cancelled.v1",
        partitions=6,
        key="analysis id",
        payload=AnalysisCancelled,
        producers=("orchestrator",),
        consumers=("ingress", "downstream consumers"),
        description="Terminal: the analysis was cancelled on request.",
        retention_ms=30 * 24 * 3600 * 1000,
    ),
    TopicSpec(
        name="embeddings.requested.v1",
        partitions=3,
        key="request id",
        payload=EmbeddingRequested,
        producers=("orchestrator",),
        consumers=("embeddings",),
        description="Embed texts or rank passages against a query.",
        retention_ms=24 * 3600 * 1000,
    ),
    TopicSpec(
        name="embeddings.replied.v1",
        partitions=3,
        key="request id",
        payload=EmbeddingReplied,
        producers=("embeddings",),
        consumers=("orchestrator",),
        description="Vectors (base64 float32) or rankings for an embedding request.",
        retention_ms=24 * 3600 * 1000,
    ),
    TopicSpec(
        name="tools.requested.v1",
        partitions=3,
        key="request id",
        payload=ToolInvocationRequested,
        producers=("orchestrator",),
        consumers=("tools",),
        description="Run one calculation tool over a dataset held by reference.",
        retention_ms=24 * 3600 * 1000,
    ),
    TopicSpec(
        name="tools.replied.v1",
        partitions=3,
        key="request id",
        payload=ToolInvocationReplied,
        producers=("tools",),
        consumers=("orchestrator",),
        description="A tool's JSON result or structured error.",
        retention_ms=24 * 3600 * 1000,
    ),
)

_BY_NAME = {spec.name: spec for spec in TOPICS}


def topic(name: str) -> TopicSpec:
    """Look a topic up by name; an unknown name is a programming error."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"topic {name!r} is not in the catalogue") from None


# Every topic by a name of its own: services import these, never spell a topic.
ANALYSIS_REQUESTED = topic("analysis.requested.v1")
ANALYSIS_CANCEL_REQUESTED = topic("analysis.cancel-requested.v1")
ANALYSIS_RESUME_REQUESTED = topic("analysis.resume-requested.v1")
ANALYSIS_INTERRUPTED = topic("analysis.interrupted.v1")
ANALYSIS_PROGRESS = topic("analysis.progress.v1")
ANALYSIS_COMPLETED = topic("analysis.completed.v1")
ANALYSIS_FAILED = topic("analysis.failed.v1")
ANALYSIS_CANCELLED = topic("analysis.cancelled.v1")
EMBEDDINGS_REQUESTED = topic("embeddings.requested.v1")
EMBEDDINGS_REPLIED = topic("embeddings.replied.v1")
TOOLS_REQUESTED = topic("tools.requested.v1")
TOOLS_REPLIED = topic("tools.replied.v1")
ANALYSIS_TOPICS = tuple(spec for spec in TOPICS if spec.name.startswith("analysis."))
"""The topics of the analysis lifecycle (a tenant's messages travel on them)."""
TERMINAL_TOPICS = (ANALYSIS_COMPLETED, ANALYSIS_FAILED, ANALYSIS_CANCELLED)
"""Where an analysis's one terminal event goes, by how it ended."""
