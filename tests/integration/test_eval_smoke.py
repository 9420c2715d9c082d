"""Five questions of ``make eval``, one per public dataset, through the whole real stack
(REST upload and submit, Kafka, the orchestrator on its embedded defaults, the tools
service): each answer names the entity and states the figure pandas computes."""

import pytest

from bench.eval import Stack, evaluate
from bench.eval_questions import QUESTIONS, SMOKE
from tests.integration.infrastructure import Infrastructure

pytestmark = pytest.mark.slow


async def test_five_eval_questions_are_answered_right_and_grounded(infra: Infrastructure) -> None:
    stack = Stack(infra)
    await stack.start()
    try:
        scored = await evaluate(stack, [(QUESTIONS[i], False) for i in SMOKE])
    finally:
        stack.stop()
    wrong = [(s.question.text, s.status, s.answer) for s in scored if not s.right]
    assert wrong == []
    assert all(s.covered and s.grounded for s in scored)
    assert {s.question.dataset for s in scored} == {
        "penguins",
        "gapminder",
        "cars",
        "seattle_weather",
        "stocks",
    }
