"""The webhook deliverer: claims due deliveries, sends them, records each outcome.

A delivery is owed from the moment its terminal event is recorded (same statement), so
it is sent at least once whatever dies; receivers deduplicate by ``webhook-id``, which
is the same on every attempt. A 2xx delivers it; a refused destination or 410 Gone
fails it at once; anything else is tried again with backoff until the policy gives up,
and then it is marked failed with its last error.
"""

import asyncio
import logging
from datetime import UTC, datetime

from prometheus_client import Counter

from sextant_ingress.application.ports import DeliveryQueue, WebhookSender
from sextant_ingress.domain.webhooks import DueDelivery, RetryPolicy

logger = logging.getLogger(__name__)

WEBHOOK_ATTEMPTS = Counter(
    "sextant_webhook_attempts_total",
    "Webhook delivery attempts by outcome: delivered, retried, failed.",
    ["outcome"],
)
GONE = 410


class DeliverWebhooks:
    def __init__(
        self,
        queue: DeliveryQueue,
        sender: WebhookSender,
        *,
        policy: RetryPolicy,
        lease_s: float,
        batch: int = 16,
    ) -> None:
        self._queue = queue
        self._sender = sender
        self._policy = policy
        self._lease_s = lease_s
        self._batch = batch

    async def once(self) -> int:
        """Send one batch of due deliveries, at once; how many were claimed."""
        due = await self._queue.claim_due(limit=self._batch, lease_s=self._lease_s)
        await asyncio.gather(*(self._deliver(delivery) for delivery in due))
        return len(due)

    async def _deliver(self, delivery: DueDelivery) -> None:
        attempt = await self._sender.send(delivery)
        if attempt.delivered:
            WEBHOOK_ATTEMPTS.labels("delivered").inc()
            await self._queue.delivered(delivery.delivery_id, status_code=attempt.status_code or 0)
            return
        error = attempt.error or "failed"
        delay_s = self._policy.delay_s(delivery.attempts)
        final = (
            attempt.refused
            or attempt.status_code == GONE
            or self._policy.gives_up(
                first_try=delivery.created_at, now=datetime.now(UTC), delay_s=delay_s
            )
        )
        logger.warning(
            "webhook delivery %s",
            "failed" if final else "will be retried",
            extra={
                "delivery_id": str(delivery.delivery_id),
                "attempts": delivery.attempts,
                "error": error,
            },
        )
        if final:
            WEBHOOK_ATTEMPTS.labels("failed").inc()
            await self._queue.give_up(
                delivery.delivery_id, status_code=attempt.status_code, error=error
            )
        else:
            WEBHOOK_ATTEMPTS.labels("retried").inc()
            await self._queue.retry_later(
                delivery.delivery_id, status_code=attempt.status_code, error=error, delay_s=delay_s
            )
