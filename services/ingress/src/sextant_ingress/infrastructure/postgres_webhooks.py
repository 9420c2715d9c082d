"""Webhooks and their deliveries on PostgreSQL (``webhooks``, ``webhook_deliveries``).

Delivery rows are written by the event recorder's statement
(:mod:`sextant_ingress.infrastructure.postgres_events`); here they are claimed with a
lease, so replicas share them and a deliverer that dies mid-request leaves its rows to
be claimed again once the lease runs out, and their outcomes are kept.
"""

from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_ingress.domain.webhooks import (
    DELIVERED,
    FAILED,
    PENDING,
    DeliveryView,
    DueDelivery,
    Webhook,
    WebhookNotFound,
)
from sextant_storage.database import autocommit

_CREATE = text(
    "INSERT INTO webhooks (webhook_id, tenant_id, url, events, secret)"
    " VALUES (:webhook_id, :tenant_id, :url, :events, :secret)"
    " RETURNING webhook_id, url, events, created_at"
)
_LIST = text(
    "SELECT webhook_id, url, events, created_at FROM webhooks WHERE tenant_id = :tenant_id"
    " ORDER BY created_at, webhook_id"
)
_DELETE = text(
    "DELETE FROM webhooks WHERE webhook_id = :webhook_id AND tenant_id = :tenant_id"
    " RETURNING webhook_id"
)
_EXISTS = text("SELECT 1 FROM webhooks WHERE webhook_id = :webhook_id AND tenant_id = :tenant_id")
_DELIVERIES = text(
    "SELECT delivery_id, event_id, event_type, analysis_id, status, attempts,"  # noqa: S608 - statuses from the domain
    " last_status_code, last_error, created_at, finished_at,"
    f" CASE WHEN status = '{PENDING}' THEN next_attempt_at END AS next_attempt_at"
    " FROM webhook_deliveries WHERE webhook_id = :webhook_id AND tenant_id = :tenant_id"
    " ORDER BY created_at DESC, delivery_id LIMIT :limit"
)
_CLAIM = text(
    "UPDATE webhook_deliveries d"  # noqa: S608 - statuses from the domain
    " SET leased_until = now() + make_interval(secs => :lease_s), attempts = d.attempts + 1"
    " FROM webhooks w"
    " WHERE w.webhook_id = d.webhook_id AND d.delivery_id IN ("
    "  SELECT delivery_id FROM webhook_deliveries"
    f"  WHERE status = '{PENDING}' AND next_attempt_at <= now()"
    "  AND (leased_until IS NULL OR leased_until < now())"
    "  ORDER BY next_attempt_at LIMIT :limit FOR UPDATE SKIP LOCKED)"
    " RETURNING d.delivery_id, d.tenant_id, d.event_type, d.payload, d.attempts,"
    " d.created_at, w.url, w.secret"
)
_DELIVERED = text(
    f"UPDATE webhook_deliveries SET status = '{DELIVERED}', finished_at = now(),"  # noqa: S608 - statuses from the domain
    " leased_until = NULL, last_status_code = :status_code, last_error = NULL"
    " WHERE delivery_id = :delivery_id"
)
_RETRY = text(
    "UPDATE webhook_deliveries SET leased_until = NULL, last_status_code = :status_code,"
    " last_error = :error, next_attempt_at = now() + make_interval(secs => :delay_s)"
    " WHERE delivery_id = :delivery_id"
)
_FAILED = text(
    f"UPDATE webhook_deliveries SET status = '{FAILED}', finished_at = now(),"  # noqa: S608 - statuses from the domain
    " leased_until = NULL, last_status_code = :status_code, last_error = :error"
    " WHERE delivery_id = :delivery_id"
)
MAX_ERROR_CHARS = 1000


class PostgresWebhooks:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = autocommit(engine)  # every operation here is one statement

    async def _one(self, statement: Any, params: dict[str, Any]) -> Any:
        async with self._engine.connect() as connection:
            return await connection.execute(statement, params)

    async def create(
        self, *, webhook_id: UUID, tenant_id: str, url: str, events: list[str], secret: str
    ) -> Webhook:
        params = {
            "webhook_id": webhook_id,
            "tenant_id": tenant_id,
            "url": url,
            "events": events,
            "secret": secret,
        }
        return _webhook((await self._one(_CREATE, params)).one())

    async def of_tenant(self, *, tenant_id: str) -> list[Webhook]:
        return [_webhook(row) for row in await self._one(_LIST, {"tenant_id": tenant_id})]

    async def delete(self, webhook_id: UUID, *, tenant_id: str) -> None:
        params = {"webhook_id": webhook_id, "tenant_id": tenant_id}
        if (await self._one(_DELETE, params)).one_or_none() is None:
            raise WebhookNotFound(f"webhook {webhook_id} not found")

    async def deliveries(
        self, webhook_id: UUID, *, tenant_id: str, limit: int
    ) -> list[DeliveryView]:
        params = {"webhook_id": webhook_id, "tenant_id": tenant_id}
        if (await self._one(_EXISTS, params)).one_or_none() is None:
            raise WebhookNotFound(f"webhook {webhook_id} not found")
        rows = await self._one(_DELIVERIES, {**params, "limit": limit})
        return [DeliveryView(**row._asdict()) for row in rows]

    async def claim_due(self, *, limit: int, lease_s: float) -> list[DueDelivery]:
        rows = await self._one(_CLAIM, {"limit": limit, "lease_s": lease_s})
        return [DueDelivery(**row._asdict()) for row in rows]

    async def delivered(self, delivery_id: UUID, *, status_code: int) -> None:
        await self._one(_DELIVERED, {"delivery_id": delivery_id, "status_code": status_code})

    async def retry_later(
        self, delivery_id: UUID, *, status_code: int | None, error: str, delay_s: float
    ) -> None:
        params = {
            "delivery_id": delivery_id,
            "status_code": status_code,
            "error": error[:MAX_ERROR_CHARS],
            "delay_s": delay_s,
        }
        await self._one(_RETRY, params)

    async def give_up(self, delivery_id: UUID, *, status_code: int | None, error: str) -> None:
        params = {
            "delivery_id": delivery_id,
            "status_code": status_code,
            "error": error[:MAX_ERROR_CHARS],
        }
        await self._one(_FAILED, params)


def _webhook(row: Any) -> Webhook:
    return Webhook(
        webhook_id=row.webhook_id, url=row.url, events=list(row.events), created_at=row.created_at
    )
