"""The webhook deliverer's loop: a batch whenever deliveries are due, else a short sleep.

A PostgreSQL outage is waited out (backoff, for as long as it lasts: the deliveries are
safe in the table); any other error ends the loop, which takes the process down so its
supervisor restarts it (:class:`~sextant_platform.background.BackgroundTask`, vital).
"""

import asyncio
import math

from sextant_ingress.application.deliver_webhooks import DeliverWebhooks
from sextant_platform.background import BackgroundTask
from sextant_platform.resilience import transient_io_policy
from sextant_storage.outages import is_database_outage


class WebhookDeliverer:
    def __init__(self, deliver: DeliverWebhooks, *, poll_s: float) -> None:
        self._deliver = deliver
        self._poll_s = poll_s
        self._task = BackgroundTask(self._run, name="webhook-deliverer", vital=True)

    def start(self) -> None:
        self._task.start()

    async def stop(self) -> None:
        await self._task.stop()

    async def _run(self) -> None:
        while True:
            claimed = 0
            async for attempt in transient_io_policy(
                is_database_outage, attempts=1_000_000, max_s=10.0, deadline_s=math.inf
            ):
                with attempt:
                    claimed = await self._deliver.once()
            if claimed == 0:
                await asyncio.sleep(self._poll_s)
