"""Analysis events as a client follows them: ordered by sequence, ending at a terminal one.

Progress events carry their own sequence (2n for a step's start, 2n+1 for its end); a
terminal event has none, so it takes ``TERMINAL_SEQUENCE``, which sorts after every step.
That sequence is the SSE event id, so ``Last-Event-ID`` resumes right after it.
"""

from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

from sextant_contracts.status import TERMINAL_STATUSES

EventKind = Literal["progress", "completed", "failed", "cancelled", "interrupted"]
TERMINAL_KINDS: frozenset[str] = frozenset(TERMINAL_STATUSES)
"""A terminal event's kind is the status it ended the analysis with."""
TERMINAL_SEQUENCE = 1_000_000


@dataclass(frozen=True, slots=True)
class AnalysisEvent:
    analysis_id: UUID
    sequence: int
    event_id: UUID
    tenant_id: str
    kind: EventKind
    envelope: dict[str, Any]

    @property
    def terminal(self) -> bool:
        return self.kind in TERMINAL_KINDS


def sequence_of(kind: EventKind, payload: dict[str, Any]) -> int:
    """Where an event sorts within its analysis (a pause is no stream row: where it
    happened, after the last progress it names)."""
    if kind == "interrupted":
        return int(payload.get("last_progress_sequence") or 0)
    return TERMINAL_SEQUENCE if kind in TERMINAL_KINDS else int(payload["sequence"])


LAST_EVENT_ID_PATTERN = r"^[0-9]{1,7}$"
"""The form of every event id of a stream (what the OpenAPI document states)."""


def parse_last_event_id(value: str | None) -> int:
    """The sequence to resume after; -1 (from the start) when absent.

    Every id of the documented form is a position: one past the terminal event's is read
    as the terminal event's (the client has seen everything). Raises ValueError only for
    a value of another form (the API refuses those before they get here).
    """
    if value is None:
        return -1
    text = value.strip()
    if not text.isascii() or not text.isdigit():
        raise ValueError(f"Last-Event-ID {value[:40]!r} is not an event id of this stream")
    return min(int(text), TERMINAL_SEQUENCE)
