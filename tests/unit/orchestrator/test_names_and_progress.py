"""Named values in an answer are checked like numbers; progress sequences of the agent
loop are monotonic across rounds and the same on a resumed run."""

from sextant_contracts import StepStatus
from sextant_orchestrator.domain.grounding import drop_sentences_stating, ungrounded_names
from sextant_orchestrator.domain.progress import StepAt, last_sequence_before, sequence
from sextant_orchestrator.infrastructure.graphs.workflow import step_after

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


def test_the_last_sequence_before_a_step_is_one_that_was_published() -> None:
    assert last_sequence_before(StepAt("profile")) is None
    assert last_sequence_before(StepAt("plan", 2)) == sequence(
        StepAt("run_tools", 1), StepStatus.COMPLETED
    )
    assert last_sequence_before(StepAt("retrieve", 2)) == sequence(
        StepAt("plan", 2), StepStatus.COMPLETED
    )


def test_a_plan_with_calls_runs_them_and_one_without_ends_the_loop() -> None:
    assert step_after("plan", {"planned": [{"call_id": "T1"}]}) == "run_tools"
    assert step_after("plan", {"planned": []}) == "retrieve"
    assert step_after("run_tools", {}) == "plan"
    assert step_after("profile", {}) == "plan"
    assert step_after("finalize", {}) is None
