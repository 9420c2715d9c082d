"""An analysis's status: the words every service, the database and the API share.

Why here: the list was spelled in five SQL statements, two ``Literal`` types and three
"terminal" sets across the services; one changed alone would silently disagree with the
others. The lifecycle's rules (which status may follow which) live with the orchestrator,
which owns the lifecycle; the words live here.
"""

from enum import StrEnum
from typing import Literal


class AnalysisStatus(StrEnum):
    ACCEPTED = "accepted"
    RUNNING = "running"
    INTERRUPTED = "interrupted"
    """Paused for an answer (``analysis.interrupted.v1``); not terminal."""
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


AnalysisStatusName = Literal[
    "accepted", "running", "interrupted", "completed", "failed", "cancelled"
]
"""The same words as a type, for API models (checked equal to the enum by a test)."""

RUNNABLE_STATUSES: frozenset[AnalysisStatus] = frozenset(
    {AnalysisStatus.ACCEPTED, AnalysisStatus.RUNNING}
)
"""Being run, or to be: an instance may claim it (an interrupted one waits for its answer)."""
UNFINISHED_STATUSES: frozenset[AnalysisStatus] = RUNNABLE_STATUSES | {AnalysisStatus.INTERRUPTED}
TERMINAL_STATUSES: frozenset[AnalysisStatus] = frozenset(
    {AnalysisStatus.COMPLETED, AnalysisStatus.FAILED, AnalysisStatus.CANCELLED}
)


def sql_list(statuses: frozenset[AnalysisStatus]) -> str:
    """``('a', 'b')`` for a statement's ``IN``, in a stable order: SQL conditions come
    from the sets above, never from a second spelling of them (the words are fixed
    identifiers, never input)."""
    return "(" + ", ".join(f"'{status.value}'" for status in sorted(statuses)) + ")"
