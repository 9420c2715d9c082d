"""Sextant's public message contracts.

Every event and request/reply payload that crosses Kafka is defined here, once, as a
pydantic v2 model. Services import these models; none defines a message shape of its
own. The topic catalogue (:mod:`sextant_contracts.catalogue`) says which model travels
on which topic, and the committed JSON Schemas under ``schemas/`` are what downstream
consumers code against.
"""

from sextant_contracts.analysis import (
    AnalysisCancellationRequested,
    AnalysisCancelled,
    AnalysisCompleted,
    AnalysisFailed,
    AnalysisOptions,
    AnalysisProgressed,
    AnalysisRequested,
    AnalysisSubmission,
    AttachedDocument,
    Chart,
    Citation,
    Finding,
    InlineDataset,
    StepStatus,
    TokenUsage,
    ToolCallRecord,
    WorkflowStep,
)
from sextant_contracts.catalogue import TOPICS, TopicSpec, dlq_topic_name, topic
from sextant_contracts.dead_letter import DeadLetter
from sextant_contracts.embeddings import (
    EmbeddingReplied,
    EmbeddingRequested,
    EmbedTexts,
    EncodedVectors,
    RankedPassage,
    RankPassages,
)
from sextant_contracts.envelope import Envelope, TraceContext
from sextant_contracts.errors import ReplyError
from sextant_contracts.interrupts import AnalysisInterrupted, AnalysisResumeRequested, InterruptKind
from sextant_contracts.tools import ToolInvocationReplied, ToolInvocationRequested

__all__ = [
    "TOPICS",
    "AnalysisCancellationRequested",
    "AnalysisCancelled",
    "AnalysisCompleted",
    "AnalysisFailed",
    "AnalysisInterrupted",
    "AnalysisOptions",
    "AnalysisProgressed",
    "AnalysisRequested",
    "AnalysisResumeRequested",
    "AnalysisSubmission",
    "AttachedDocument",
    "Chart",
    "Citation",
    "DeadLetter",
    "EmbedTexts",
    "EmbeddingReplied",
    "EmbeddingRequested",
    "EncodedVectors",
    "Envelope",
    "Finding",
    "InlineDataset",
    "InterruptKind",
    "RankPassages",
    "RankedPassage",
    "ReplyError",
    "StepStatus",
    "TokenUsage",
    "ToolCallRecord",
    "ToolInvocationReplied",
    "ToolInvocationRequested",
    "TopicSpec",
    "TraceContext",
    "WorkflowStep",
    "dlq_topic_name",
    "topic",
]
