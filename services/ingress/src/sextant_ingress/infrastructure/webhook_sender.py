"""Webhook requests over HTTP: vetted like the agent's web lookups, signed, not redirected.

Every connection goes through :mod:`sextant_platform.egress` (public addresses only,
checked on the resolved address at connect time, unless the tenant's allow-list names
the network), redirects are not followed (a 3xx is a failed attempt), and nothing is
read from the environment (no proxies).
"""

import json
import time
from collections.abc import Mapping

import httpcore
import httpx

from sextant_ingress.domain.webhooks import Attempt, DestinationRefused, DueDelivery, signature
from sextant_platform.egress import (
    DestinationBlocked,
    Network,
    check_url,
    guarded_client,
    vetted_address,
)

USER_AGENT = "sextant-webhooks/1"
DEFAULT_PORTS = {"http": 80, "https": 443}


class HttpWebhookSender:
    def __init__(self, allowed: Mapping[str, list[Network]], *, timeout_s: float) -> None:
        """``allowed``: the networks each tenant's webhooks may reach besides public ones."""
        self._allowed = allowed
        self._timeout_s = timeout_s
        self._clients: dict[str, httpx.AsyncClient] = {}

    def _client(self, tenant_id: str) -> httpx.AsyncClient:
        if tenant_id not in self._clients:
            self._clients[tenant_id] = guarded_client(
                list(self._allowed.get(tenant_id, [])),
                timeout_s=self._timeout_s,
                user_agent=USER_AGENT,
            )
        return self._clients[tenant_id]

    async def vet(self, url: str, *, tenant_id: str) -> None:
        """Raise DestinationRefused unless ``url`` may receive this tenant's deliveries
        now (its host resolves, and only to allowed addresses)."""
        parsed = httpx.URL(url)
        try:
            check_url(parsed)
            port = parsed.port or DEFAULT_PORTS[parsed.scheme]
            await vetted_address(parsed.host, port, list(self._allowed.get(tenant_id, [])))
        except (DestinationBlocked, httpcore.ConnectError) as error:
            raise DestinationRefused(str(error)) from None

    async def send(self, delivery: DueDelivery) -> Attempt:
        body = json.dumps(delivery.payload, separators=(",", ":")).encode()
        timestamp = int(time.time())
        message_id = str(delivery.delivery_id)
        headers = {
            "content-type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(
                delivery.secret, message_id=message_id, timestamp=timestamp, body=body
            ),
        }
        try:
            check_url(httpx.URL(delivery.url))
            response = await self._client(delivery.tenant_id).post(
                delivery.url, content=body, headers=headers
            )
        except DestinationBlocked as error:
            return Attempt(delivered=False, error=f"refused: {error}", refused=True)
        except httpx.HTTPError as error:
            return Attempt(delivered=False, error=f"{type(error).__name__}: {error}")
        status = response.status_code
        if 200 <= status < 300:
            return Attempt(delivered=True, status_code=status)
        return Attempt(delivered=False, status_code=status, error=f"HTTP {status}")

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()
