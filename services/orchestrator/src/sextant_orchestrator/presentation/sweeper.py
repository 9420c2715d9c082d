"""Runs the lifecycle sweep every so often, for the life of the process.

Every instance sweeps (the sweep's statements skip rows another instance holds), at an
interval jittered so that instances started together do not sweep together. An outage
is waited out until the next sweep; any other failure is a bug and stops the process
(health red, exit non-zero) rather than leaving analyses unswept unnoticed.
"""

import asyncio
import logging
import random

from sextant_orchestrator.application.sweep_lifecycle import SweepLifecycle
from sextant_orchestrator.presentation.consumers import is_infrastructure_outage
from sextant_platform.background import BackgroundTask

logger = logging.getLogger(__name__)


class LifecycleSweeper:
    def __init__(self, sweep: SweepLifecycle, *, interval_s: float) -> None:
        self._sweep = sweep
        self._interval_s = interval_s
        self._task = BackgroundTask(self._run, name="the lifecycle sweep", vital=True)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s * random.uniform(0.5, 1.5))  # noqa: S311 - jitter
            try:
                await self._sweep()
            except Exception as error:
                if not is_infrastructure_outage(error):
                    raise
                logger.warning("lifecycle sweep skipped: %s", error)

    def start(self) -> None:
        self._task.start()

    async def stop(self) -> None:
        await self._task.stop()
