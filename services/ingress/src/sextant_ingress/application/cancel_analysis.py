"""Use case: ask for an analysis to be cancelled (the orchestrator, which owns the
lifecycle, acts on the command at the run's next step boundary)."""

from uuid import UUID

from sextant_ingress.application.ports import AnalysisSubmissions


class CancelAnalysis:
    def __init__(self, submissions: AnalysisSubmissions) -> None:
        self._submissions = submissions

    async def __call__(self, analysis_id: UUID, *, tenant_id: str, reason: str) -> None:
        """Raises NotFound (no such analysis for this tenant) or NotCancellable (ended)."""
        await self._submissions.request_cancel(analysis_id, tenant_id=tenant_id, reason=reason)
