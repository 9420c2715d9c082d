"""The LLM retry policy's decisions, and the default plan for models without tool calling."""

import httpx
import pytest

from sextant_orchestrator.domain.default_plan import default_plan
from sextant_orchestrator.infrastructure.llm.policy import (
    LlmBudgetExhausted,
    LlmCallPolicy,
    is_retryable,
    retry_after_s,
)


class StatusError(Exception):
    def __init__(self, status: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"status {status}")
        self.status_code = status
        self.response = httpx.Response(status, headers=headers or {})


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (StatusError(429), True),
        (StatusError(503), True),
        (StatusError(400), False),
        (StatusError(401), False),
        (httpx.ReadTimeout("slow"), True),
        (ValueError("bug"), False),
    ],
)
def test_what_is_retried(error: Exception, expected: bool) -> None:
    assert is_retryable(error) is expected


def test_retry_after_in_seconds_and_milliseconds() -> None:
    assert retry_after_s(StatusError(429, {"retry-after": "3"})) == 3.0
    assert retry_after_s(StatusError(429, {"retry-after-ms": "250"})) == 0.25
    assert retry_after_s(StatusError(429)) is None


async def test_policy_retries_then_gives_up_with_the_last_error() -> None:
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise StatusError(500)
        return "ok"

    policy = LlmCallPolicy(max_attempts=3, backoff_s=0.01, backoff_max_s=0.02)
    assert await policy.call(flaky) == "ok"
    assert calls == 3

    async def broken() -> str:
        raise StatusError(502)

    with pytest.raises(StatusError):
        await policy.call(broken)


async def test_budget_stops_further_calls() -> None:
    async def never() -> str:
        raise AssertionError("must not be called")

    with pytest.raises(LlmBudgetExhausted):
        await LlmCallPolicy(calls_per_analysis=2).call(never, calls_made=2)


def test_default_plan_covers_correlations_and_outliers() -> None:
    profile = {"rows": 10, "statistics": {"a": {}, "b": {}, "c": {}, "d": {}}}
    plan = default_plan(profile, max_calls=8)
    assert [c["call_id"] for c in plan] == ["T1", "T2", "T3", "T4"]
    assert plan[0]["tool_name"] == "correlation_matrix"
    assert [c["arguments"]["column"] for c in plan[1:]] == ["a", "b", "c"]
    assert default_plan({"statistics": {"a": {}}}, max_calls=8)[0]["tool_name"] == (
        "outlier_detection"
    )
    assert default_plan(profile, max_calls=2) == plan[:2]
