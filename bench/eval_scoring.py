"""How an answer is scored against its expected entity and figure.

An answer is right when it names the expected entity (as a whole word, any case) and
states a number within tolerance of the expected figure. The figure is also looked for
in every tool result (``tool_coverage``): a right figure computed but not stated is a
writing fault, not a planning one.
"""

import math
import re
from collections.abc import Iterator
from typing import Any

from bench.eval_questions import Expected
from sextant_orchestrator.domain.grounding import mentions

RELATIVE_TOLERANCE = 5e-4
ABSOLUTE_TOLERANCE = 0.006  # two decimals shown, rounded


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=RELATIVE_TOLERANCE, abs_tol=ABSOLUTE_TOLERANCE)


def names_entity(text: str, entity: str) -> bool:
    return re.search(rf"(?<![\w]){re.escape(entity.lower())}(?![\w])", text.lower()) is not None


def states_value(text: str, value: float) -> bool:
    return any(close(m.value, value) for m in mentions(text))


def answer_is_right(answer: str, expected: Expected) -> bool:
    if expected.entity is not None and not names_entity(answer, expected.entity):
        return False
    return expected.value is None or states_value(answer, expected.value)


def _numbers(value: Any) -> Iterator[float]:
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        yield float(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _numbers(item)
    elif isinstance(value, list):
        for item in value:
            yield from _numbers(item)


def tools_computed(tool_calls: list[dict[str, Any]], expected: Expected) -> bool:
    """The expected figure (and entity) is in some tool result other than the profile."""
    results = [c.get("result") for c in tool_calls if c.get("call_id") != "T0"]
    if expected.value is not None and not any(
        close(number, expected.value) for number in _numbers(results)
    ):
        return False
    return expected.entity is None or names_entity(str(results), expected.entity)
