"""Submissions, reads and cancellations on PostgreSQL, with events through the outbox.

The orchestrator owns the analysis lifecycle. The ingress writes the submission only
(the ``accepted`` row), sends cancel commands through the outbox, and reads through the
``analysis_views`` view, never the orchestrator's run bookkeeping.

``submit`` writes the ``analyses`` row and the ``AnalysisRequested`` event in one
transaction: once it returns, the request survives any crash and any broker outage (the
relay publishes it when Kafka is back). That is what makes answering 202 honest.
"""

from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_contracts import (
    AnalysisCancellationRequested,
    AnalysisRequested,
    AnalysisResumeRequested,
    Envelope,
)
from sextant_contracts.catalogue import (
    ANALYSIS_CANCEL_REQUESTED,
    ANALYSIS_REQUESTED,
    ANALYSIS_RESUME_REQUESTED,
)
from sextant_contracts.status import AnalysisStatus
from sextant_ingress.domain.events import TERMINAL_KINDS
from sextant_ingress.domain.paging import decode_cursor, encode_cursor
from sextant_ingress.domain.submissions import (
    Accepted,
    AnalysisView,
    IdempotencyConflict,
    NotCancellable,
    NotFound,
    SubmissionTooLarge,
    checked_resume,
)
from sextant_storage.database import autocommit
from sextant_storage.outbox import EventTooLarge, OutboxRelay, enqueue

_BY_KEY = text(
    "SELECT analysis_id, request_hash FROM analysis_views"
    " WHERE tenant_id = :tenant_id AND idempotency_key = :key"
)
_INSERT = text(
    "INSERT INTO analyses (analysis_id, tenant_id, status, question, request,"
    " idempotency_key, request_hash)"
    " VALUES (:analysis_id, :tenant_id, :accepted, :question, CAST(:request AS jsonb),"
    " :key, :request_hash)"
).bindparams(accepted=AnalysisStatus.ACCEPTED.value)
VIEW_COLUMNS = (
    "analysis_id, status, question, answer, citations, ungrounded_numbers, ungrounded_values,"
    " findings, tool_calls, usage,"
    " timings_ms, error, created_at, finished_at, interrupt, charts, thread_id"
)
_GET = text(
    f"SELECT {VIEW_COLUMNS} FROM analysis_views"  # noqa: S608 - constant column list
    " WHERE analysis_id = :id AND tenant_id = :tenant_id"
)
_STATUS = text(
    "SELECT status FROM analysis_views WHERE analysis_id = :id AND tenant_id = :tenant_id"
)
_WAITING_ON = text(
    "SELECT status, interrupt FROM analysis_views"
    " WHERE analysis_id = :id AND tenant_id = :tenant_id"
)

REQUESTS_TOPIC = ANALYSIS_REQUESTED.name
CANCELLATIONS_TOPIC = ANALYSIS_CANCEL_REQUESTED.name


def analysis_view(row: Any) -> AnalysisView:
    return AnalysisView(*row)


class PostgresAnalysisStore:
    def __init__(self, engine: AsyncEngine, relay: OutboxRelay | None = None) -> None:
        self._engine = engine
        self._one_statement = autocommit(engine)  # one-statement work: no BEGIN/COMMIT
        self._relay = relay

    async def submit(
        self,
        request: AnalysisRequested,
        *,
        tenant_id: str,
        idempotency_key: str | None,
        request_hash: str,
        correlation_id: str | None,
    ) -> Accepted:
        if idempotency_key is not None:
            earlier = await self._by_key(tenant_id, idempotency_key, request_hash)
            if earlier is not None:
                return earlier
        envelope = Envelope.wrap(request, tenant_id=tenant_id, correlation_id=correlation_id)
        try:
            async with self._engine.begin() as connection:
                await connection.execute(
                    _INSERT,
                    {
                        "analysis_id": request.analysis_id,
                        "tenant_id": tenant_id,
                        "question": request.question,
                        "request": request.model_dump_json(),
                        "key": idempotency_key,
                        "request_hash": request_hash,
                    },
                )
                await enqueue(
                    connection,
                    topic=REQUESTS_TOPIC,
                    # A thread's questions share a key, so one partition (and so one
                    # orchestrator instance) sees them in the order they were asked.
                    key=str(request.thread_id or request.analysis_id),
                    envelope=envelope,
                )
        except EventTooLarge as error:
            raise SubmissionTooLarge(str(error)) from error
        except IntegrityError:
            # Two submissions with one key raced; the other one won.
            if idempotency_key is None:
                raise
            earlier = await self._by_key(tenant_id, idempotency_key, request_hash)
            if earlier is None:
                raise
            return earlier
        self._wake()
        return Accepted(request.analysis_id, created=True)

    async def _by_key(self, tenant_id: str, key: str, request_hash: str) -> Accepted | None:
        async with self._one_statement.connect() as connection:
            row = (
                await connection.execute(_BY_KEY, {"tenant_id": tenant_id, "key": key})
            ).one_or_none()
        if row is None:
            return None
        if row.request_hash != request_hash:
            raise IdempotencyConflict(
                "this Idempotency-Key was already used with a different request body"
            )
        return Accepted(row.analysis_id, created=False)

    async def get(self, analysis_id: UUID, *, tenant_id: str) -> AnalysisView:
        async with self._one_statement.connect() as connection:
            row = (
                await connection.execute(_GET, {"id": analysis_id, "tenant_id": tenant_id})
            ).one_or_none()
        if row is None:
            raise NotFound(f"analysis {analysis_id} not found")
        return analysis_view(row)

    async def list(
        self, *, tenant_id: str, status: str | None, limit: int, cursor: str | None
    ) -> tuple[list[AnalysisView], str | None]:
        """Newest first; the cursor continues after the last item of the previous page."""
        clauses = ["tenant_id = :tenant_id"]
        params: dict[str, Any] = {"tenant_id": tenant_id, "limit": limit + 1}
        if status is not None:
            clauses.append("status = :status")
            params["status"] = status
        if cursor is not None:
            params["after_created"], params["after_id"] = decode_cursor(cursor)
            clauses.append("(created_at, analysis_id) < (:after_created, :after_id)")
        query = text(
            f"SELECT {VIEW_COLUMNS} FROM analysis_views WHERE {' AND '.join(clauses)}"  # noqa: S608 - fixed clauses, bound values
            " ORDER BY created_at DESC, analysis_id DESC LIMIT :limit"
        )
        async with self._one_statement.connect() as connection:
            rows = (await connection.execute(query, params)).all()
        views = [analysis_view(row) for row in rows[:limit]]
        more = len(rows) > limit
        next_cursor = encode_cursor(views[-1].created_at, views[-1].analysis_id) if more else None
        return views, next_cursor

    async def request_cancel(self, analysis_id: UUID, *, tenant_id: str, reason: str) -> None:
        """Send the cancel command (through the outbox to ``analysis.cancel-requested.v1``):
        the orchestrator, which owns the analysis's lifecycle, flags the row and wakes the
        run at its next step boundary. The ingress writes none of its columns: when it set
        the flag itself, the orchestrator's handler (which flags only unflagged rows, and
        notifies the running process only when it did) never told the run, and the
        analysis completed anyway."""
        event = Envelope.wrap(
            AnalysisCancellationRequested(analysis_id=analysis_id, reason=reason),
            tenant_id=tenant_id,
            correlation_id=str(analysis_id),
        )
        async with self._engine.begin() as connection:
            status = (
                await connection.execute(_STATUS, {"id": analysis_id, "tenant_id": tenant_id})
            ).scalar_one_or_none()
            if status is None:
                raise NotFound(f"analysis {analysis_id} not found")
            if status in TERMINAL_KINDS:
                raise NotCancellable(f"analysis {analysis_id} is already {status}")
            await enqueue(
                connection, topic=CANCELLATIONS_TOPIC, key=str(analysis_id), envelope=event
            )
        self._wake()

    async def request_resume(
        self,
        analysis_id: UUID,
        *,
        tenant_id: str,
        interrupt_id: UUID | None,
        response: dict[str, Any],
    ) -> UUID:
        """Send the answer (through the outbox to ``analysis.resume-requested.v1``) once it
        meets the pending interrupt's response schema; the orchestrator checks it again,
        records it and resumes the analysis. Returns the interrupt answered. Raises
        NotFound, NotResumable, InvalidResponse (nothing sent: it stays interrupted)."""
        async with self._engine.begin() as connection:
            row = (
                await connection.execute(_WAITING_ON, {"id": analysis_id, "tenant_id": tenant_id})
            ).one_or_none()
            if row is None:
                raise NotFound(f"analysis {analysis_id} not found")
            waits_on, answer = checked_resume(
                analysis_id, row.status, row.interrupt, interrupt_id=interrupt_id, response=response
            )
            event = Envelope.wrap(
                AnalysisResumeRequested(
                    analysis_id=analysis_id, interrupt_id=waits_on, response=answer
                ),
                tenant_id=tenant_id,
                correlation_id=str(analysis_id),
            )
            await enqueue(
                connection,
                topic=ANALYSIS_RESUME_REQUESTED.name,
                key=str(analysis_id),
                envelope=event,
            )
        self._wake()
        return waits_on

    def _wake(self) -> None:
        if self._relay is not None:
            self._relay.wake()
