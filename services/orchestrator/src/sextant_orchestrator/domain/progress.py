"""Where each step of the agent loop sits in an analysis's progress sequence.

The loop repeats plan → run_tools, so a step name alone no longer says where an event
sorts. Each (step, round) gets a fixed position, the same on a resumed run, laid out
for the most rounds an analysis may ask for; rounds not taken leave gaps, which the
event stream tolerates (it orders by sequence and waits only for the last one named).

    profile            0
    plan, round r      2r - 1      (r = 1 .. MAX_ROUNDS + 1; the last plan may find
    run_tools, round r 2r           nothing left to do and end the loop)
    retrieve           2 (MAX_ROUNDS + 1) + 1, then synthesize, finalize
"""

from dataclasses import dataclass
from typing import Any

from sextant_contracts import StepStatus, WorkflowStep
from sextant_contracts.analysis import MAX_ROUNDS

LOOP_STEPS = frozenset({WorkflowStep.PLAN.value, WorkflowStep.RUN_TOOLS.value})
_AFTER_LOOP = (
    WorkflowStep.RETRIEVE.value,
    WorkflowStep.SYNTHESIZE.value,
    WorkflowStep.FINALIZE.value,
)
_FIRST_AFTER_LOOP = 2 * (MAX_ROUNDS + 1) + 1


@dataclass(frozen=True)
class StepAt:
    """A step of a given round (the round of the latest plan for steps outside the loop)."""

    step: str
    round: int = 0


@dataclass(frozen=True)
class Position:
    """Where an analysis's thread stands. Steps with nothing to do are skipped (no
    retrieval without documents; no synthesis when the model's last reply is the
    answer), so the step before another depends on the path taken: it is read from the
    checkpoints, never inferred from the step names."""

    started: bool
    """A checkpoint exists: the run resumes rather than starts."""
    upcoming: StepAt | None
    """The step that runs next (None: the workflow has finished)."""
    last_done: StepAt | None = None
    """The step that completed last (None before the first)."""
    waiting: dict[str, Any] | None = None
    """The pause (:class:`~sextant_orchestrator.domain.interrupts.PauseRequest`) the
    upcoming step waits on for an answer (None: it is not paused)."""


@dataclass(frozen=True)
class StepDone:
    """A step finished (its checkpoint is durable); ``following`` is what runs next."""

    done: StepAt
    following: StepAt | None
    detail: str = ""
    """What the step did, for people following along ("query, correlation_matrix")."""


@dataclass(frozen=True)
class StepPaused:
    """A step paused for an answer (the checkpoint holds it); it runs again on resume."""

    at: StepAt
    request: dict[str, Any]
    """The :class:`~sextant_orchestrator.domain.interrupts.PauseRequest`."""


def position(at: StepAt) -> int:
    if at.step == WorkflowStep.PROFILE.value:
        return 0
    if at.step == WorkflowStep.PLAN.value:
        return 2 * max(at.round, 1) - 1
    if at.step == WorkflowStep.RUN_TOOLS.value:
        return 2 * max(at.round, 1)
    return _FIRST_AFTER_LOOP + _AFTER_LOOP.index(at.step)


def sequence(at: StepAt, status: StepStatus) -> int:
    """Started/completed of the step at position ``n`` are ``2n``/``2n+1``."""
    return position(at) * 2 + (status == StepStatus.COMPLETED)


def completed_sequence(at: StepAt | None) -> int | None:
    """The sequence of ``at``'s completed event (None: no step has completed)."""
    return None if at is None else sequence(at, StepStatus.COMPLETED)
