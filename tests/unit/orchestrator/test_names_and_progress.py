"""Named values in an answer are checked like numbers; progress sequences of the agent
loop are monotonic across rounds and the same on a resumed run."""

import uuid
from typing import Any

from sextant_contracts import AnalysisProgressed, StepStatus, WorkflowStep
from sextant_orchestrator.domain.grounding import drop_sentences_stating, ungrounded_names
from sextant_orchestrator.domain.progress import StepAt, sequence
from sextant_orchestrator.domain.state import AnalysisState
from sextant_orchestrator.infrastructure.graphs.nodes import after_loop
from sextant_orchestrator.infrastructure.graphs.workflow import step_after
from sextant_orchestrator.infrastructure.kafka_progress import progress_event_id

EVIDENCE = [
    "Which region has the highest sales?",
    {"table": [{"region": "east", "sum_sales": 9581.58}, {"region": "north", "sum_sales": 1.0}]},
]


def test_regions_the_data_does_not_hold_are_listed() -> None:
    answer = "East Africa leads with 9581.58 [T1], ahead of North America and the north."
    assert ungrounded_names(answer, EVIDENCE) == ["East Africa", "North America"]


def test_names_from_the_evidence_and_column_names_pass() -> None:
    answer = 'The East region has the highest sum_sales [T1]; "north" follows.'
    assert ungrounded_names(answer, EVIDENCE) == []
    assert ungrounded_names("Total profit_margin is high.", EVIDENCE) == ["profit_margin"]


def test_strict_mode_drops_the_offending_sentence_and_says_so() -> None:
    answer = "East sells the most [T1]. East Africa is second. Units track sales."
    kept = drop_sentences_stating(answer, ["East Africa"])
    assert kept.startswith("East sells the most [T1]. Units track sales.")
    assert "1 sentence(s) removed" in kept


def test_sequences_grow_through_every_round_and_after_the_loop() -> None:
    path = [
        StepAt("profile"),
        StepAt("plan", 1),
        StepAt("run_tools", 1),
        StepAt("plan", 2),
        StepAt("run_tools", 2),
        StepAt("plan", 3),
        StepAt("retrieve", 3),
        StepAt("synthesize", 3),
        StepAt("finalize", 3),
    ]
    sequences = [sequence(at, s) for at in path for s in (StepStatus.STARTED, StepStatus.COMPLETED)]
    assert sequences == sorted(sequences)
    assert len(set(sequences)) == len(sequences)
    assert sequence(StepAt("plan", 9), StepStatus.COMPLETED) < sequence(
        StepAt("retrieve", 9), StepStatus.STARTED
    )


def test_progress_events_of_different_rounds_have_different_ids() -> None:
    analysis_id = uuid.uuid4()

    def event_id(at: StepAt, status: StepStatus) -> uuid.UUID:
        return progress_event_id(
            AnalysisProgressed(
                analysis_id=analysis_id,
                sequence=sequence(at, status),
                step=WorkflowStep(at.step),
                status=status,
            )
        )

    started = StepStatus.STARTED
    assert event_id(StepAt("plan", 1), started) != event_id(StepAt("plan", 2), started)
    assert event_id(StepAt("plan", 2), started) == event_id(StepAt("plan", 2), started)
    assert event_id(StepAt("plan", 2), started) != event_id(StepAt("plan", 2), StepStatus.COMPLETED)


def test_plan_and_run_tools_name_their_successor() -> None:
    assert step_after("plan", {"planned": [{"call_id": "T1"}], "route": "run_tools"}) == (
        "run_tools"
    )
    assert step_after("plan", {"planned": [], "route": "finalize"}) == "finalize"
    assert step_after("run_tools", {"route": "synthesize"}) == "synthesize"
    assert step_after("profile", {}) == "plan"
    assert step_after("retrieve", {}) == "synthesize"
    assert step_after("finalize", {}) is None


def test_checkpoints_from_before_routes_still_resume() -> None:
    assert step_after("plan", {"planned": [{"call_id": "T1"}]}) == "run_tools"
    assert step_after("plan", {"planned": []}) == "retrieve"
    assert step_after("run_tools", {}) == "plan"


def _planning_state(**extra: Any) -> AnalysisState:
    state: AnalysisState = {"documents": [], "top_k_passages": 4}
    state.update(extra)  # type: ignore[typeddict-item]
    return state


def test_the_loop_ends_at_the_first_step_with_something_to_do() -> None:
    documents = [{"document_id": "d", "text": "t"}]
    assert after_loop(_planning_state(documents=documents), answered=True) == "retrieve"
    assert after_loop(_planning_state(), answered=True) == "finalize"
    assert after_loop(_planning_state(), answered=False) == "synthesize"
    assert after_loop(_planning_state(documents=documents, top_k_passages=0), answered=False) == (
        "synthesize"
    )
