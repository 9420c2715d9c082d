"""Retry policies (tenacity) shared by every service.

Why here: retries are a policy decision (which errors, how long, how often), and one
policy per kind of dependency keeps behaviour consistent and testable. Call sites use
them as decorators or as ``async for attempt in policy(...)`` blocks; nobody writes a
retry loop by hand.
"""

import logging
from collections.abc import Callable
from typing import Any

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)

logger = logging.getLogger(__name__)

ShouldRetry = Callable[[BaseException], bool]


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    logger.warning(
        "retrying after failure",
        extra={
            "attempt": state.attempt_number,
            "error_type": type(error).__name__ if error else None,
            "next_sleep_s": round(state.next_action.sleep, 3) if state.next_action else None,
        },
    )


def transient_io_policy(
    should_retry: ShouldRetry,
    *,
    attempts: int = 5,
    initial_s: float = 0.2,
    max_s: float = 5.0,
    deadline_s: float = 30.0,
) -> AsyncRetrying:
    """Exponential backoff with jitter for network calls to our own infrastructure.

    ``should_retry`` decides which exceptions are transient (connection reset, timeout,
    broker not available); anything else propagates at once. Stops at ``attempts`` or
    ``deadline_s``, whichever comes first, then re-raises the last error.
    """
    return AsyncRetrying(
        retry=retry_if_exception(should_retry),
        stop=stop_after_attempt(attempts) | stop_after_delay(deadline_s),
        wait=wait_exponential_jitter(multiplier=initial_s, max=max_s, jitter=initial_s),
        before_sleep=_log_retry,
        reraise=True,
    )


def is_connection_error(error: BaseException) -> bool:
    """True for errors that mean "the other side is not reachable right now"."""
    return isinstance(error, ConnectionError | TimeoutError | OSError)


def retry_on_connection_errors(**overrides: Any) -> AsyncRetrying:
    """:func:`transient_io_policy` for plain connection failures (the common case)."""
    return transient_io_policy(is_connection_error, **overrides)
