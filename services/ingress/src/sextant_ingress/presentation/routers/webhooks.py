"""``/v1/webhooks``: endpoints that receive your analyses' terminal events, signed."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Query, Response
from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from sextant_ingress.application.webhooks import WebhookRegistry
from sextant_ingress.domain.webhooks import (
    WEBHOOK_EVENTS,
    DeliveryStatus,
    DestinationRefused,
    Webhook,
    WebhookEvent,
    WebhookNotFound,
)
from sextant_ingress.presentation.auth import Tenant
from sextant_ingress.presentation.problems import ApiProblem, problem_responses


class WebhookIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"url": "https://hooks.example.com/sextant", "events": ["completed"]}]
        },
    )

    url: HttpUrl = Field(
        description="Where deliveries are POSTed: http(s), a public address (or one your"
        " tenant's allow-list names); redirects are not followed."
    )
    events: list[WebhookEvent] = Field(
        default_factory=lambda: list(WEBHOOK_EVENTS),
        min_length=1,
        max_length=8,
        description="Which terminal events to receive (default: all).",
    )


class WebhookOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    webhook_id: UUID
    url: str
    events: list[WebhookEvent]
    created_at: datetime


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(
        description="Verifies each delivery's webhook-signature (Standard Webhooks);"
        " shown only now."
    )


class WebhookList(BaseModel):
    items: list[WebhookOut]


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    delivery_id: UUID = Field(description="The webhook-id header: the same on every attempt.")
    event_id: UUID
    event_type: WebhookEvent
    analysis_id: UUID
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None = Field(description="When pending: the next attempt.")
    finished_at: datetime | None


class DeliveryList(BaseModel):
    items: list[DeliveryOut]


def _out(webhook: Webhook) -> WebhookOut:
    return WebhookOut.model_validate(webhook)


def webhooks_router(registry: WebhookRegistry) -> APIRouter:
    router = APIRouter()

    @router.post(
        "/v1/webhooks",
        status_code=201,
        response_model=WebhookCreatedOut,
        operation_id="create_webhook",
        summary="Receive your analyses' terminal events at a URL",
        responses=problem_responses(),
    )
    async def create(body: Annotated[WebhookIn, Body()], tenant_id: Tenant) -> WebhookCreatedOut:
        """Deliveries are signed (Standard Webhooks: webhook-id, webhook-timestamp,
        webhook-signature), retried with backoff for a bounded time, and listed under
        the webhook's deliveries. 422 when the URL is not one deliveries may go to."""
        try:
            webhook, secret = await registry.register(
                tenant_id=tenant_id, url=str(body.url), events=list(body.events)
            )
        except DestinationRefused as error:
            raise ApiProblem(422, "URL not allowed", str(error)) from error
        return WebhookCreatedOut(**_out(webhook).model_dump(), secret=secret)

    @router.get(
        "/v1/webhooks",
        response_model=WebhookList,
        operation_id="list_webhooks",
        summary="Your webhooks",
        responses=problem_responses(),
    )
    async def listing(tenant_id: Tenant) -> WebhookList:
        return WebhookList(items=[_out(w) for w in await registry.of_tenant(tenant_id=tenant_id)])

    @router.delete(
        "/v1/webhooks/{webhook_id}",
        status_code=204,
        operation_id="delete_webhook",
        summary="Stop a webhook (its pending deliveries are dropped)",
        responses=problem_responses(404),
    )
    async def delete(webhook_id: UUID, tenant_id: Tenant) -> Response:
        try:
            await registry.remove(webhook_id, tenant_id=tenant_id)
        except WebhookNotFound as error:
            raise ApiProblem(404, "Not found", str(error)) from error
        return Response(status_code=204)

    @router.get(
        "/v1/webhooks/{webhook_id}/deliveries",
        response_model=DeliveryList,
        operation_id="list_webhook_deliveries",
        summary="A webhook's deliveries, newest first, with each one's outcome",
        responses=problem_responses(404),
    )
    async def deliveries(
        webhook_id: UUID,
        tenant_id: Tenant,
        limit: Annotated[int, Query(ge=1, le=100, description="How many.")] = 20,
    ) -> DeliveryList:
        try:
            found = await registry.deliveries(webhook_id, tenant_id=tenant_id, limit=limit)
        except WebhookNotFound as error:
            raise ApiProblem(404, "Not found", str(error)) from error
        return DeliveryList(items=[DeliveryOut.model_validate(d) for d in found])

    return router
