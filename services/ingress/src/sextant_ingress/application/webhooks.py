"""Registering, listing and removing a tenant's webhooks, and reading their deliveries."""

import uuid
from uuid import UUID

from sextant_ingress.application.ports import Webhooks, WebhookSender
from sextant_ingress.domain.webhooks import WEBHOOK_EVENTS, DeliveryView, Webhook, new_secret


class WebhookRegistry:
    def __init__(self, webhooks: Webhooks, sender: WebhookSender) -> None:
        self._webhooks = webhooks
        self._sender = sender

    async def register(self, *, tenant_id: str, url: str, events: list[str]) -> tuple[Webhook, str]:
        """The new webhook and its signing secret (shown this once). Raises
        DestinationRefused for a URL deliveries may not go to (vetted now, and again on
        every delivery: an address can change)."""
        await self._sender.vet(url, tenant_id=tenant_id)
        secret = new_secret()
        chosen: list[str] = [e for e in WEBHOOK_EVENTS if e in events]  # once each, in order
        webhook = await self._webhooks.create(
            webhook_id=uuid.uuid4(), tenant_id=tenant_id, url=url, events=chosen, secret=secret
        )
        return webhook, secret

    async def of_tenant(self, *, tenant_id: str) -> list[Webhook]:
        return await self._webhooks.of_tenant(tenant_id=tenant_id)

    async def remove(self, webhook_id: UUID, *, tenant_id: str) -> None:
        """Raises WebhookNotFound; its undelivered deliveries go with it."""
        await self._webhooks.delete(webhook_id, tenant_id=tenant_id)

    async def deliveries(
        self, webhook_id: UUID, *, tenant_id: str, limit: int
    ) -> list[DeliveryView]:
        """Newest first. Raises WebhookNotFound."""
        return await self._webhooks.deliveries(webhook_id, tenant_id=tenant_id, limit=limit)
