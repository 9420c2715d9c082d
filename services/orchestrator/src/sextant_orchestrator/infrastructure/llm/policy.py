"""Every LLM call goes through one tenacity policy.

Retried: 429, 408/409 and 5xx answers, timeouts, connection errors and unparseable
bodies, with exponential backoff and jitter, or the provider's ``Retry-After`` when it
sends one (capped). Bounded attempts per call, and a budget of calls per analysis, so a
flaky provider ends an analysis as failed with a reason instead of hanging it.
"""

import email.utils
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

T = TypeVar("T")
RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504, 529})


class LlmBudgetExhausted(RuntimeError):
    """The analysis has made as many LLM calls as it may."""


def _status(error: BaseException) -> int | None:
    status = getattr(error, "status_code", None)
    return status if isinstance(status, int) else None


TRANSIENT_ERROR_NAMES = frozenset(
    {"APITimeoutError", "APIConnectionError", "APIResponseValidationError"}
)


def is_retryable(error: BaseException) -> bool:
    """Would the same call plausibly succeed if made again?

    Provider SDKs and LangChain wrap errors in their own classes, so the chain of causes
    is followed: a LangChain timeout caused by an httpx read timeout is a timeout.
    """
    seen: BaseException | None = error
    while seen is not None:
        transient = (
            TimeoutError,
            httpx.TimeoutException,
            httpx.TransportError,
            json.JSONDecodeError,
        )
        if isinstance(seen, transient):
            return True
        if TRANSIENT_ERROR_NAMES & {cls.__name__ for cls in type(seen).__mro__}:
            return True
        status = _status(seen)
        if status is not None:
            return status in RETRYABLE_STATUS
        seen = seen.__cause__
    return False


def retry_after_s(error: BaseException | None) -> float | None:
    """Seconds the provider asked us to wait (``retry-after-ms``, ``retry-after``), if any."""
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    if (millis := headers.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


@dataclass(frozen=True, slots=True)
class LlmCallPolicy:
    max_attempts: int = 4
    backoff_s: float = 0.5
    backoff_max_s: float = 20.0
    calls_per_analysis: int = 12

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        asked = retry_after_s(error)
        if asked is not None:
            return min(asked, self.backoff_max_s)
        backoff = wait_exponential_jitter(multiplier=self.backoff_s, max=self.backoff_max_s)
        return float(backoff(state))

    async def call(
        self, fn: Callable[..., Awaitable[T]], *args: Any, calls_made: int = 0, **kwargs: Any
    ) -> T:
        """``await fn(*args, **kwargs)`` under the policy; ``calls_made`` counts earlier calls."""
        if calls_made >= self.calls_per_analysis:
            raise LlmBudgetExhausted(f"the analysis used its {self.calls_per_analysis} LLM calls")
        retrying = AsyncRetrying(
            retry=retry_if_exception(is_retryable),
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            reraise=True,
        )
        result: T = await retrying(fn, *args, **kwargs)
        return result
