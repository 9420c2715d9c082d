"""Use case: accept an analysis submission (REST), exactly once per idempotency key."""

import uuid

from sextant_contracts import AnalysisRequested, AnalysisSubmission
from sextant_ingress.application.ports import AnalysisSubmissions
from sextant_ingress.domain.submissions import Accepted, fingerprint


class SubmitAnalysis:
    """A validated submission becomes an ``AnalysisRequested`` with a new id, recorded
    with its event in one transaction; the same key with the same submission (as
    validated: defaults filled in, the question stripped) returns the earlier analysis,
    with another one raises IdempotencyConflict."""

    def __init__(self, submissions: AnalysisSubmissions) -> None:
        self._submissions = submissions

    async def __call__(
        self,
        submission: AnalysisSubmission,
        *,
        tenant_id: str,
        idempotency_key: str | None,
    ) -> Accepted:
        request = AnalysisRequested(analysis_id=uuid.uuid4(), **dict(submission))
        return await self._submissions.submit(
            request,
            tenant_id=tenant_id,
            idempotency_key=idempotency_key,
            request_hash=fingerprint(submission.model_dump(mode="json")),
            correlation_id=None,
        )
