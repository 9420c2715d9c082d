"""Use case: answer an interrupted analysis (the orchestrator, which owns the lifecycle,
records the answer and resumes the analysis where it paused)."""

from typing import Any
from uuid import UUID

from sextant_ingress.application.ports import AnalysisSubmissions


class ResumeAnalysis:
    def __init__(self, submissions: AnalysisSubmissions) -> None:
        self._submissions = submissions

    async def __call__(
        self,
        analysis_id: UUID,
        *,
        tenant_id: str,
        interrupt_id: UUID | None,
        response: dict[str, Any],
    ) -> UUID:
        """The interrupt answered. Raises NotFound, NotResumable (not waiting, or on
        another interrupt) or InvalidResponse (the response does not meet its schema)."""
        return await self._submissions.request_resume(
            analysis_id, tenant_id=tenant_id, interrupt_id=interrupt_id, response=response
        )
