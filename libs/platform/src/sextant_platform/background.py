"""A long-lived background task owned by a component (relay, listener, batcher)."""

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

from sextant_platform.fatal import must_not_die


class BackgroundTask:
    """Runs ``work()`` as one named task: ``start`` is idempotent, ``stop`` cancels it and
    waits until it has really ended, so a component's shutdown leaves nothing running.
    A ``vital`` task that ends with an exception takes the process with it
    (:func:`sextant_platform.fatal.must_not_die`)."""

    def __init__(
        self, work: Callable[[], Coroutine[Any, Any, None]], *, name: str, vital: bool = False
    ) -> None:
        self._work = work
        self._name = name
        self._vital = vital
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._work(), name=self._name)
            if self._vital:
                must_not_die(self._task, what=self._name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
