"""What a submission is, independent of HTTP: its fingerprint and its outcome."""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from sextant_contracts.interrupts import InterruptKind, validated_response
from sextant_contracts.status import AnalysisStatus


def fingerprint(body: dict[str, Any]) -> str:
    """Canonical hash of a request body: the same key with another body is a conflict."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with a different request body."""


class NotFound(Exception):
    """No such analysis or dataset for this tenant (another tenant's is "not found" too)."""


class NotCancellable(Exception):
    """The analysis is already finished."""


class NotResumable(Exception):
    """The analysis waits on no interrupt, or on another one than the resume names."""


class SubmissionTooLarge(Exception):
    """The request's event would be over the size Kafka takes (inline data, documents)."""


@dataclass(frozen=True, slots=True)
class Accepted:
    analysis_id: UUID
    created: bool  # False: an idempotent replay of an earlier submission


@dataclass(frozen=True, slots=True)
class AnalysisView:
    analysis_id: UUID
    status: str
    question: str
    answer: str | None
    citations: list[dict[str, Any]]
    ungrounded_numbers: list[str]
    ungrounded_values: list[str]
    findings: list[dict[str, Any]]
    tool_calls: list[dict[str, Any]]
    usage: dict[str, Any]
    timings_ms: dict[str, Any]
    error: dict[str, Any] | None
    created_at: datetime
    finished_at: datetime | None
    interrupt: dict[str, Any] | None = None
    """The AnalysisInterrupted it waits on, while it is interrupted."""
    charts: list[dict[str, Any]] = field(default_factory=list)
    """Its tool results drawn (Vega-Lite), once it completed."""
    thread_id: UUID | None = None
    """The conversation it was asked in, if any."""


def checked_resume(
    analysis_id: UUID,
    status: str,
    pending: dict[str, Any] | None,
    *,
    interrupt_id: UUID | None,
    response: dict[str, Any],
) -> tuple[UUID, dict[str, Any]]:
    """The interrupt a resume answers and the answer as checked against its response
    schema, for an analysis in ``status`` waiting on ``pending`` (its AnalysisInterrupted).
    Raises NotResumable or InvalidResponse."""
    if status != AnalysisStatus.INTERRUPTED or pending is None:
        raise NotResumable(f"analysis {analysis_id} is {status}, not interrupted")
    waits_on = UUID(str(pending["interrupt_id"]))
    if interrupt_id not in (None, waits_on):
        raise NotResumable(
            f"analysis {analysis_id} waits on interrupt {waits_on}, not {interrupt_id}"
        )
    kind = InterruptKind(pending["kind"])
    return waits_on, validated_response(kind, list(pending.get("options", [])), response)
