"""Use cases of threads: start one, ask a follow-up in it, read it back."""

import uuid
from uuid import UUID

from sextant_contracts import AnalysisSubmission
from sextant_ingress.application.ports import Threads
from sextant_ingress.application.submit_analysis import SubmitAnalysis
from sextant_ingress.domain.submissions import Accepted, AnalysisView, NotFound


class ThreadHasNoDataset(ValueError):
    """A follow-up named no dataset, and its thread has none to go on with."""


class Conversations:
    def __init__(self, threads: Threads, submit: SubmitAnalysis) -> None:
        self._threads = threads
        self._submit = submit

    async def start(self, *, tenant_id: str) -> UUID:
        thread_id = uuid.uuid4()
        await self._threads.create(thread_id, tenant_id=tenant_id)
        return thread_id

    async def ask(
        self,
        thread_id: UUID,
        fields: dict[str, object],
        *,
        tenant_id: str,
        idempotency_key: str | None,
    ) -> Accepted:
        """Submit a question in the thread (started now if it was not). Without a dataset,
        it is about the thread's last one. Raises ThreadHasNoDataset, and what
        SubmitAnalysis raises."""
        if fields.get("dataset_id") is None and fields.get("inline_dataset") is None:
            last = await self._threads.last_dataset(thread_id, tenant_id=tenant_id)
            if last is None:
                raise ThreadHasNoDataset(
                    "this thread has no dataset to go on with (none yet, or its data was"
                    " sent inline): give dataset_id (POST /v1/datasets) or inline_dataset"
                )
            fields = {**fields, "dataset_id": last}
        submission = AnalysisSubmission.model_validate(fields)
        await self._threads.create(thread_id, tenant_id=tenant_id)
        return await self._submit(
            submission, tenant_id=tenant_id, idempotency_key=idempotency_key, thread_id=thread_id
        )

    async def analyses(self, thread_id: UUID, *, tenant_id: str) -> list[AnalysisView]:
        """Oldest first. Raises NotFound for a thread this tenant never started."""
        if not await self._threads.exists(thread_id, tenant_id=tenant_id):
            raise NotFound(f"thread {thread_id} not found")
        return await self._threads.analyses(thread_id, tenant_id=tenant_id)
