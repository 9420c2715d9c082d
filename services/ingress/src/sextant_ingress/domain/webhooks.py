"""Webhooks: what a tenant subscribes to, how a delivery is signed, when it is retried.

Deliveries follow the Standard Webhooks convention (standardwebhooks.com): headers
``webhook-id`` (the delivery's id, the same on every attempt: receivers deduplicate by
it), ``webhook-timestamp`` (Unix seconds of the attempt) and ``webhook-signature``
(``v1,`` + base64 of HMAC-SHA256 over ``"{id}.{timestamp}.{body}"`` keyed with the
secret's bytes); the secret is ``whsec_`` + base64 of 32 random bytes, shown once.
"""

import base64
import hashlib
import hmac
import random
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

WebhookEvent = Literal["completed", "failed", "cancelled", "interrupted"]
WEBHOOK_EVENTS: tuple[WebhookEvent, ...] = ("completed", "failed", "cancelled", "interrupted")
"""The events an endpoint may subscribe to: the terminal ones (an analysis's event
``kind``), and ``interrupted``: the analysis waits for an answer."""
SECRET_PREFIX = "whsec_"  # noqa: S105 - the convention's prefix, not a secret
DeliveryStatus = Literal["pending", "delivered", "failed"]
PENDING: DeliveryStatus = "pending"
DELIVERED: DeliveryStatus = "delivered"
FAILED: DeliveryStatus = "failed"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def signature(secret: str, *, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header's value for one attempt."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter, for ``give_up_after_s`` from the first try.

    Why not tenacity here: the schedule outlives the process (a delivery's next attempt
    is a column, so a restart neither forgets nor repeats it); tenacity's loops retry
    within one process.
    """

    backoff_s: float = 1.0
    backoff_max_s: float = 600.0
    give_up_after_s: float = 24 * 3600.0

    def delay_s(self, attempts: int) -> float:
        """Seconds before the attempt after ``attempts`` failed ones."""
        ceiling = min(self.backoff_max_s, self.backoff_s * 2 ** max(0, attempts - 1))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not secrecy

    def gives_up(self, *, first_try: datetime, now: datetime, delay_s: float) -> bool:
        return (now - first_try).total_seconds() + delay_s > self.give_up_after_s


@dataclass(frozen=True, slots=True)
class Webhook:
    webhook_id: UUID
    url: str
    events: list[str]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DueDelivery:
    """A claimed delivery: what to send, where, signed with what."""

    delivery_id: UUID
    tenant_id: str
    event_type: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime
    url: str
    secret: str


@dataclass(frozen=True, slots=True)
class DeliveryView:
    delivery_id: UUID
    event_id: UUID
    event_type: str
    analysis_id: UUID
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class Attempt:
    """How one attempt went: ``delivered`` on a 2xx; ``refused`` when the destination is
    not allowed (no point retrying); else the status code or the error."""

    delivered: bool
    status_code: int | None = None
    error: str | None = None
    refused: bool = False


class WebhookNotFound(LookupError):
    """No such webhook for this tenant."""


class DestinationRefused(ValueError):
    """The URL is not one deliveries may go to (not public, not allow-listed)."""
