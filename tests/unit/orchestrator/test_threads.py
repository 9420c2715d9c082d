"""Follow-up questions: the offline planner carries a thread's filters forward, and the
earlier turns a model sees stay bounded however long the thread."""

from typing import Any

from sextant_orchestrator.domain.question_planner import plan_question
from sextant_orchestrator.domain.threads import MAX_CONTEXT_TOKENS, Turn, conversation

PROFILE: dict[str, Any] = {
    "row_count": 8,
    "columns": [
        {
            "name": "region",
            "kind": "categorical",
            "distinct": 3,
            "values": ["west", "east", "north"],
        },
        {"name": "product", "kind": "categorical", "distinct": 2, "values": ["tea", "coffee"]},
        {"name": "year", "kind": "numeric"},
        {"name": "sales", "kind": "numeric"},
    ],
}


def _filters(question: str, earlier: list[str]) -> list[dict[str, Any]]:
    (call,) = plan_question(question, PROFILE, earlier=earlier).calls
    filters: list[dict[str, Any]] = call["arguments"].get("filters", [])
    return filters


def test_each_follow_up_asks_the_previous_question_with_one_more_filter() -> None:
    thread = ["What are the total sales per product?", "And for the west only?", "And in 2024?"]
    first = plan_question(thread[0], PROFILE).calls
    third = plan_question(thread[2], PROFILE, earlier=thread[:2]).calls
    assert [c["arguments"]["group_by"] for c in (*first, *third)] == [["product"], ["product"]]
    assert _filters(thread[1], thread[:1]) == [{"column": "region", "op": "==", "value": "west"}]
    assert _filters(thread[2], thread[:2]) == [
        {"column": "region", "op": "==", "value": "west"},
        {"column": "year", "op": "==", "value": 2024},
    ]


def test_a_filter_on_the_same_column_replaces_the_earlier_one() -> None:
    thread = ["What are the total sales per product?", "And for the west only?"]
    assert _filters("What about the east?", thread) == [
        {"column": "region", "op": "==", "value": "east"}
    ]


def test_a_question_of_its_own_does_not_inherit_the_threads_filters() -> None:
    thread = ["What are the total sales per product?", "And for the west only?"]
    own = plan_question("How many rows are there?", PROFILE, earlier=thread)
    assert own.intent.kind == "count"
    assert own.intent.filters == []
    alone = plan_question("And for the west only?", PROFILE)  # no thread: a count
    assert alone.intent.kind == "count"


def test_the_conversation_keeps_recent_turns_whole_and_stays_bounded() -> None:
    turns = [
        Turn(analysis_id=f"a-{n}", question=f"question {n}?", answer="x" * 1000, findings=[f"f{n}"])
        for n in range(30)
    ]
    text = conversation(turns)
    assert len(text) <= MAX_CONTEXT_TOKENS * 4
    assert "Q30: question 29?" in text
    assert "  - f29" in text
    assert conversation([]) == ""
    short = conversation(turns[:6])
    assert short.startswith("Earlier, 2 more questions were asked: question 0?; question 1?")
    assert "Q3: question 2?" in short
