"""Use case: accept an analysis submission (REST), exactly once per idempotency key."""

import uuid
from uuid import UUID

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
        thread_id: UUID | None = None,
    ) -> Accepted:
        """``thread_id``: the conversation it follows up in (its earlier turns are seen)."""
        request = AnalysisRequested(
            analysis_id=uuid.uuid4(), thread_id=thread_id, **dict(submission)
        )
        asked = submission.model_dump(mode="json")
        if thread_id is not None:
            asked["thread_id"] = str(thread_id)
        return await self._submissions.submit(
            request,
            tenant_id=tenant_id,
            idempotency_key=idempotency_key,
            request_hash=fingerprint(asked),
            correlation_id=None,
        )
