"""What a submission is, independent of HTTP: its fingerprint and its outcome."""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID


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
