"""Reads for the API (cosmicpython's ``views``): analyses as stored, no use-case logic."""

from uuid import UUID

from sextant_ingress.application.ports import AnalysisReads
from sextant_ingress.domain.submissions import AnalysisView


class AnalysisViews:
    def __init__(self, reads: AnalysisReads) -> None:
        self._reads = reads

    async def one(self, analysis_id: UUID, *, tenant_id: str) -> AnalysisView:
        """Raises NotFound."""
        return await self._reads.get(analysis_id, tenant_id=tenant_id)

    async def page(
        self, *, tenant_id: str, status: str | None, limit: int, cursor: str | None
    ) -> tuple[list[AnalysisView], str | None]:
        """Raises ValueError for a cursor that is not one."""
        return await self._reads.list(
            tenant_id=tenant_id, status=status, limit=limit, cursor=cursor
        )
