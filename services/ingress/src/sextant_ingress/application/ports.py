"""The ingress's ports: what its use cases and views need from storage, as Protocols.

The PostgreSQL adapters in ``infrastructure/`` implement them; the unit tests use the
in-memory fakes in ``tests/unit/ingress/fakes.py``.
"""

import asyncio
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import date
from typing import Any, Protocol
from uuid import UUID

from sextant_contracts import AnalysisRequested
from sextant_ingress.domain.datasets import DatasetMediaType, ListedDataset
from sextant_ingress.domain.dead_letters import DeadLetterView
from sextant_ingress.domain.events import AnalysisEvent
from sextant_ingress.domain.submissions import Accepted, AnalysisView
from sextant_ingress.domain.usage import UsageReport
from sextant_ingress.domain.webhooks import Attempt, DeliveryView, DueDelivery, Webhook


class AnalysisSubmissions(Protocol):
    """Records submissions and sends commands; owns no lifecycle column."""

    async def submit(
        self,
        request: AnalysisRequested,
        *,
        tenant_id: str,
        idempotency_key: str | None,
        request_hash: str,
        correlation_id: str | None,
    ) -> Accepted:
        """Record the request and its event in one transaction; an idempotent replay
        returns the earlier one. Raises IdempotencyConflict, SubmissionTooLarge."""
        ...

    async def request_cancel(self, analysis_id: UUID, *, tenant_id: str, reason: str) -> None:
        """Send the cancel command. Raises NotFound, NotCancellable."""
        ...

    async def request_resume(
        self,
        analysis_id: UUID,
        *,
        tenant_id: str,
        interrupt_id: UUID | None,
        response: dict[str, Any],
    ) -> UUID:
        """Send the answer to the interrupt the analysis waits on; returns its id.
        Raises NotFound, NotResumable, InvalidResponse."""
        ...


class AnalysisReads(Protocol):
    """Analyses as the API shows them."""

    async def get(self, analysis_id: UUID, *, tenant_id: str) -> AnalysisView:
        """Raises NotFound (another tenant's analysis is not found either)."""
        ...

    async def list(
        self, *, tenant_id: str, status: str | None, limit: int, cursor: str | None
    ) -> tuple[list[AnalysisView], str | None]:
        """Newest first, and the cursor of the next page (None on the last). Raises
        ValueError for a cursor that is not one."""
        ...


class Threads(Protocol):
    """Conversations: their analyses are the ones whose requests name them."""

    async def create(self, thread_id: UUID, *, tenant_id: str) -> None:
        """Record the thread (nothing when it exists)."""
        ...

    async def exists(self, thread_id: UUID, *, tenant_id: str) -> bool: ...

    async def analyses(self, thread_id: UUID, *, tenant_id: str) -> list[AnalysisView]:
        """Oldest first."""
        ...

    async def last_dataset(self, thread_id: UUID, *, tenant_id: str) -> UUID | None:
        """The stored dataset its latest analysis asked about (None: none, or inline)."""
        ...


class DeadLetterReads(Protocol):
    """The records consumers gave up on, per topic (its ``.dlq`` companion)."""

    async def recent(self, topic: str, *, tenant_id: str, limit: int) -> list[DeadLetterView]:
        """The tenant's last ``limit`` records of ``topic``'s dead letters, newest first."""
        ...


class UsageReads(Protocol):
    """The ledger of LLM calls the orchestrator keeps."""

    async def report(self, *, tenant_id: str, first_day: date, last_day: date) -> UsageReport:
        """The tenant's usage on those days (UTC, both included; none when the first is
        after the last), per provider and model."""
        ...


class DeliveryQueue(Protocol):
    """Deliveries owed, claimed with a lease; each attempt's outcome kept."""

    async def claim_due(self, *, limit: int, lease_s: float) -> list[DueDelivery]: ...

    async def delivered(self, delivery_id: UUID, *, status_code: int) -> None: ...

    async def retry_later(
        self, delivery_id: UUID, *, status_code: int | None, error: str, delay_s: float
    ) -> None: ...

    async def give_up(self, delivery_id: UUID, *, status_code: int | None, error: str) -> None: ...


class WebhookSender(Protocol):
    """Signs and sends one delivery; vets an endpoint for a tenant."""

    async def send(self, delivery: DueDelivery) -> Attempt: ...

    async def vet(self, url: str, *, tenant_id: str) -> None:
        """Raise DestinationRefused unless ``url`` may receive the tenant's deliveries."""
        ...


class Webhooks(Protocol):
    """The tenants' endpoints. Raises WebhookNotFound for another tenant's."""

    async def create(
        self, *, webhook_id: UUID, tenant_id: str, url: str, events: list[str], secret: str
    ) -> Webhook: ...

    async def of_tenant(self, *, tenant_id: str) -> list[Webhook]: ...

    async def delete(self, webhook_id: UUID, *, tenant_id: str) -> None: ...

    async def deliveries(
        self, webhook_id: UUID, *, tenant_id: str, limit: int
    ) -> list[DeliveryView]: ...


class Datasets(Protocol):
    async def add(
        self,
        *,
        dataset_id: UUID,
        tenant_id: str,
        media_type: DatasetMediaType,
        content: bytes,
        name: str | None,
        shape: tuple[int, int],
    ) -> str:
        """Store the content, with its name and (rows, columns); its sha256."""
        ...

    async def page(
        self, *, tenant_id: str, limit: int, cursor: str | None
    ) -> tuple[list[ListedDataset], str | None]:
        """The tenant's datasets, newest first, and the cursor of the next page if any."""
        ...


class ApiKeys(Protocol):
    async def tenant_for(self, key: str) -> str | None:
        """The tenant of an API key, or None when it is not a valid one."""
        ...


class EventLog(Protocol):
    """The analysis events the ingress recorded (the SSE stream's source)."""

    async def record_each(self, events: Sequence[AnalysisEvent]) -> list[bool | Exception]:
        """Record a batch; per event: new (True), a duplicate (False), or its error."""
        ...

    async def after(
        self, analysis_id: UUID, *, tenant_id: str, sequence: int, limit: int = 100
    ) -> list[AnalysisEvent]:
        """The tenant's events of ``analysis_id`` after ``sequence``, in order."""
        ...

    async def settled_terminal(
        self, analysis_id: UUID, *, tenant_id: str, settled_s: float
    ) -> AnalysisEvent | None:
        """The terminal event of an analysis that ended over ``settled_s`` ago, from
        wherever it was published (for analyses whose events were never recorded here)."""
        ...

    async def pending_interrupt(
        self, analysis_id: UUID, *, tenant_id: str
    ) -> dict[str, Any] | None:
        """The AnalysisInterrupted the tenant's analysis waits on now, if it waits."""
        ...

    async def announce(self, event: AnalysisEvent) -> None:
        """An event that is no stream row (the analysis paused): queue the webhook
        deliveries it owes and wake the streams following its analysis."""
        ...


class EventWakeups(Protocol):
    def signal_for(self, analysis_id: UUID) -> AbstractAsyncContextManager[asyncio.Event]:
        """An event set whenever ``analysis_id`` gets a new record (take it before reading)."""
        ...
