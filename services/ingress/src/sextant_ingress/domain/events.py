"""Analysis events as a client follows them: ordered by sequence, ending at a terminal one.

Progress events carry their own sequence (2n for a step's start, 2n+1 for its end); a
terminal event has none, so it takes ``TERMINAL_SEQUENCE``, which sorts after every step.
That sequence is the SSE event id, so ``Last-Event-ID`` resumes right after it.
"""

from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

from sextant_contracts.status import TERMINAL_STATUSES

EventKind = Literal["progress", "completed", "failed", "cancelled"]
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
    """Where an event sorts within its analysis."""
    return TERMINAL_SEQUENCE if kind in TERMINAL_KINDS else int(payload["sequence"])


def parse_last_event_id(value: str | None) -> int:
    """The sequence to resume after; -1 (from the start) when absent.

    Raises ValueError for anything that is not an id this API handed out.
    """
    if value is None or value.strip() == "":
        return -1
    text = value.strip()
    if not text.isdigit() or int(text) > TERMINAL_SEQUENCE:
        raise ValueError(f"Last-Event-ID {value[:40]!r} is not an event id of this stream")
    return int(text)
