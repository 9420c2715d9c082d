"""A loop that must run for the life of the process takes the process with it when it dies.

Why: a consumer's poll loop or a reply reader runs as a background task; an exception
in it (a record compressed with a codec the client cannot read, a bug) used to end the
task silently: nothing was logged until shutdown, the probes stayed green, and every
later record waited forever. Now the death is logged with its traceback, ``/healthz``
answers 503 naming it, and the process is asked to stop (SIGTERM: the normal shutdown
path runs) and exits non-zero, so its supervisor (systemd, Kubernetes, ``make run``)
restarts it.
"""

import asyncio
import logging
import os
import signal
from collections.abc import Callable

logger = logging.getLogger(__name__)

EXIT_CODE = 70
"""What ``serve_until_stopped`` exits with after a fatal loop death (EX_SOFTWARE)."""

_failures: list[str] = []


def failures() -> list[str]:
    """What died in this process, one line each (empty while healthy)."""
    return list(_failures)


def _terminate_process() -> None:
    os.kill(os.getpid(), signal.SIGTERM)


def must_not_die(
    task: "asyncio.Task[object]", *, what: str, stop: Callable[[], None] = _terminate_process
) -> None:
    """Watch ``task``: if it ends with an exception, record and log it, then ``stop``.
    Cancellation (an orderly shutdown) and a normal return are not deaths."""

    def ended(done: "asyncio.Task[object]") -> None:
        if done.cancelled() or done.exception() is None:
            return
        error = done.exception()
        assert error is not None
        die(what, error, stop=stop)

    task.add_done_callback(ended)


def die(what: str, error: BaseException, *, stop: Callable[[], None] = _terminate_process) -> None:
    """Something the process cannot go on without failed: record and log it (``/healthz``
    turns 503 naming it), then ``stop`` the process so its supervisor restarts it."""
    _failures.append(f"{what}: {type(error).__name__}: {error}"[:500])
    logger.critical("%s failed; stopping the process", what, exc_info=error)
    stop()


def forget_failures() -> None:
    """Tests only: a clean slate."""
    _failures.clear()
