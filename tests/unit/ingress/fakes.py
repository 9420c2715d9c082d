"""In-memory fakes of the ingress's own ports (``sextant_ingress.application.ports``).

They apply the same rules the PostgreSQL adapters do (idempotency by key and body hash,
tenant isolation, no cancel after the end) so the use cases' paths can be tested in
milliseconds; the adapters themselves are tested against the real PostgreSQL.
"""

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sextant_contracts import AnalysisRequested
from sextant_contracts.status import TERMINAL_STATUSES, AnalysisStatus
from sextant_ingress.domain.datasets import DatasetMediaType, ListedDataset
from sextant_ingress.domain.submissions import (
    Accepted,
    AnalysisView,
    IdempotencyConflict,
    NotCancellable,
    NotFound,
    SubmissionTooLarge,
    checked_resume,
)


@dataclass
class FakeAnalyses:
    """Both analysis ports: submissions and reads."""

    max_request_bytes: int = 1_000_000
    views: dict[tuple[str, UUID], AnalysisView] = field(default_factory=dict)
    requests: list[AnalysisRequested] = field(default_factory=list)
    by_key: dict[tuple[str, str], tuple[UUID, str]] = field(default_factory=dict)
    cancels: list[tuple[UUID, str]] = field(default_factory=list)
    resumes: list[tuple[UUID, UUID, dict[str, Any]]] = field(default_factory=list)

    async def submit(
        self,
        request: AnalysisRequested,
        *,
        tenant_id: str,
        idempotency_key: str | None,
        request_hash: str,
        correlation_id: str | None,
    ) -> Accepted:
        if idempotency_key is not None and (tenant_id, idempotency_key) in self.by_key:
            earlier, earlier_hash = self.by_key[(tenant_id, idempotency_key)]
            if earlier_hash != request_hash:
                raise IdempotencyConflict("used with a different body")
            return Accepted(earlier, created=False)
        if len(request.model_dump_json()) > self.max_request_bytes:
            raise SubmissionTooLarge(f"over {self.max_request_bytes} bytes")
        self.requests.append(request)
        if idempotency_key is not None:
            self.by_key[(tenant_id, idempotency_key)] = (request.analysis_id, request_hash)
        self.views[(tenant_id, request.analysis_id)] = _accepted_view(request)
        return Accepted(request.analysis_id, created=True)

    async def request_cancel(self, analysis_id: UUID, *, tenant_id: str, reason: str) -> None:
        view = await self.get(analysis_id, tenant_id=tenant_id)
        if view.status in TERMINAL_STATUSES:
            raise NotCancellable(f"analysis {analysis_id} is already {view.status}")
        self.cancels.append((analysis_id, reason))

    async def request_resume(
        self,
        analysis_id: UUID,
        *,
        tenant_id: str,
        interrupt_id: UUID | None,
        response: dict[str, Any],
    ) -> UUID:
        view = await self.get(analysis_id, tenant_id=tenant_id)
        answered, answer = checked_resume(
            analysis_id, view.status, view.interrupt, interrupt_id=interrupt_id, response=response
        )
        self.resumes.append((analysis_id, answered, answer))
        return answered

    async def get(self, analysis_id: UUID, *, tenant_id: str) -> AnalysisView:
        try:
            return self.views[(tenant_id, analysis_id)]
        except KeyError:
            raise NotFound(f"analysis {analysis_id} not found") from None

    async def list(
        self, *, tenant_id: str, status: str | None, limit: int, cursor: str | None
    ) -> tuple[list[AnalysisView], str | None]:
        mine = [v for (t, _), v in self.views.items() if t == tenant_id]
        matching = [v for v in mine if status is None or v.status == status]
        start = int(cursor) if cursor is not None else 0
        page = matching[start : start + limit]
        more = start + limit < len(matching)
        return page, str(start + limit) if more else None

    def finish(self, tenant_id: str, analysis_id: UUID, status: AnalysisStatus) -> None:
        key = (tenant_id, analysis_id)
        self.views[key] = replace(self.views[key], status=status)


def _accepted_view(request: AnalysisRequested) -> AnalysisView:
    return AnalysisView(
        analysis_id=request.analysis_id,
        status=AnalysisStatus.ACCEPTED,
        question=request.question,
        answer=None,
        citations=[],
        ungrounded_numbers=[],
        ungrounded_values=[],
        findings=[],
        tool_calls=[],
        usage={},
        timings_ms={},
        error=None,
        created_at=datetime.now(UTC),
        finished_at=None,
        thread_id=request.thread_id,
    )


@dataclass
class FakeDatasets:
    stored: dict[UUID, tuple[str, DatasetMediaType, bytes]] = field(default_factory=dict)
    listed: list[tuple[str, ListedDataset]] = field(default_factory=list)
    """(tenant, dataset), oldest first."""

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
        self.stored[dataset_id] = (tenant_id, media_type, content)
        listed = ListedDataset(
            dataset_id, name, media_type, len(content), *shape, created_at=datetime.now(UTC)
        )
        self.listed.append((tenant_id, listed))
        return f"sha-of-{len(content)}"

    async def page(
        self, *, tenant_id: str, limit: int, cursor: str | None
    ) -> tuple[list[ListedDataset], str | None]:
        """Newest first; the cursor here is the position in that order."""
        newest_first = [d for tenant, d in reversed(self.listed) if tenant == tenant_id]
        start = int(cursor or 0)
        more = len(newest_first) > start + limit
        return newest_first[start : start + limit], str(start + limit) if more else None
