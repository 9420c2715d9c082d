"""The AnalysisRepository port on PostgreSQL (table ``analyses``, outbox in the same DB)."""

import json
from typing import Any
from uuid import UUID

from prometheus_client import Counter
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sextant_contracts import (
    AnalysisCancelled,
    AnalysisCompleted,
    AnalysisFailed,
    AnalysisInterrupted,
    AnalysisRequested,
    Envelope,
)
from sextant_contracts.catalogue import (
    ANALYSIS_CANCELLED,
    ANALYSIS_COMPLETED,
    ANALYSIS_FAILED,
    ANALYSIS_INTERRUPTED,
)
from sextant_orchestrator.domain.analysis import (
    RUNNABLE_STATUSES,
    TERMINAL_STATUSES,
    UNFINISHED_STATUSES,
    Analysis,
    AnalysisStatus,
    Lease,
    sql_list,
)
from sextant_orchestrator.domain.errors import AnalysisIdConflict, LeaseHeld, UnstorableOutcome
from sextant_orchestrator.domain.interrupts import StoredInterrupt
from sextant_orchestrator.domain.ports import TerminalOutcome
from sextant_orchestrator.domain.threads import Turn
from sextant_orchestrator.infrastructure.event_size import fitting_event
from sextant_orchestrator.infrastructure.postgres_cancellation import CANCEL_CHANNEL
from sextant_orchestrator.infrastructure.stored_requests import wake
from sextant_storage.database import autocommit
from sextant_storage.outages import is_database_outage
from sextant_storage.outbox import (
    MAX_EVENT_BYTES,
    EventTooLarge,
    OutboxRelay,
    enqueue,
    published_size,
)
from sextant_storage.postgres_text import storable_json, storable_text

_ENDED = sql_list(TERMINAL_STATUSES)
_UNFINISHED = sql_list(UNFINISHED_STATUSES)
_RUNNABLE = sql_list(RUNNABLE_STATUSES)
_LOAD = text(
    "SELECT analysis_id, tenant_id, status, lease_owner, lease_expires_at, attempts,"
    " cancel_reason, cancel_requested_at FROM analyses WHERE analysis_id = :analysis_id"
)
_EARLIER_TURNS = text(
    "SELECT analysis_id, question, answer, findings FROM analyses"  # noqa: S608 - status from the contracts
    " WHERE tenant_id = :tenant_id AND thread_id = :thread_id"
    f" AND status = '{AnalysisStatus.COMPLETED}'"
    " AND created_at < coalesce((SELECT created_at FROM analyses WHERE analysis_id = :before),"
    " now()) ORDER BY created_at DESC LIMIT :limit"
)
_RUNNING_AHEAD = text(
    "SELECT analysis_id FROM analyses"  # noqa: S608 - statuses from the contracts
    " WHERE tenant_id = :tenant_id AND thread_id = :thread_id AND analysis_id <> :analysis_id"
    f" AND status IN {_UNFINISHED}"
    " AND created_at < coalesce((SELECT created_at FROM analyses"
    " WHERE analysis_id = :analysis_id), now()) ORDER BY created_at LIMIT 1"
)
_ADMIT = text(
    "WITH inserted AS ("  # noqa: S608 - statuses from the contracts
    " INSERT INTO analyses (analysis_id, tenant_id, status, question, request)"
    f" VALUES (:analysis_id, :tenant_id, '{AnalysisStatus.ACCEPTED}', :question,"
    " CAST(:request AS jsonb))"
    " ON CONFLICT (analysis_id) DO NOTHING RETURNING status, tenant_id)"
    " SELECT status, tenant_id FROM inserted"
    " UNION ALL SELECT status, tenant_id FROM analyses WHERE analysis_id = :analysis_id"
    " LIMIT 1"
)
_CLAIM = text(
    f"UPDATE analyses SET status = '{AnalysisStatus.RUNNING}', lease_owner = :owner,"  # noqa: S608 - statuses from the contracts
    " lease_expires_at = now() + make_interval(secs => :lease_s),"
    " attempts = attempts + CASE WHEN lease_owner IS DISTINCT FROM :owner THEN 1 ELSE 0 END,"
    " updated_at = now()"
    f" WHERE analysis_id = :analysis_id AND status IN {_RUNNABLE}"
    " AND (lease_owner IS NULL OR lease_owner = :owner OR lease_expires_at < now())"
    " RETURNING status"
)
_HOLDER = text(
    "SELECT status, EXTRACT(EPOCH FROM (lease_expires_at - now())) AS expires_in_s"
    " FROM analyses WHERE analysis_id = :analysis_id"
)
_RENEW = text(
    "UPDATE analyses SET lease_expires_at = now() + make_interval(secs => :lease_s)"  # noqa: S608 - status lists from the domain
    f" WHERE analysis_id = :analysis_id AND lease_owner = :owner AND status IN {_RUNNABLE}"
    " RETURNING analysis_id"
)
_CANCEL_REASON = text(
    # A row that ended elsewhere (the deadline sweep) stops its run as a cancel would.
    "SELECT coalesce(cancel_reason, 'the analysis already ended ' || status) AS cancel_reason"  # noqa: S608 - status lists from the domain
    " FROM analyses WHERE analysis_id = :analysis_id"
    f" AND (cancel_requested_at IS NOT NULL OR status IN {_ENDED})"
    " UNION ALL SELECT p.reason FROM pending_cancellations p"
    " JOIN analyses a ON a.analysis_id = p.analysis_id AND a.tenant_id = p.tenant_id"
    " WHERE p.analysis_id = :analysis_id LIMIT 1"
)
_REQUEST_CANCEL = text(
    "UPDATE analyses SET cancel_requested_at = now(), cancel_reason = :reason, updated_at = now()"  # noqa: S608 - status lists from the domain
    " WHERE analysis_id = :analysis_id AND tenant_id = :tenant_id"
    f" AND status IN {_UNFINISHED}"
    " AND cancel_requested_at IS NULL RETURNING analysis_id, status"
)
_PENDING_CANCEL = text(
    "INSERT INTO pending_cancellations (analysis_id, tenant_id, reason)"
    " SELECT :analysis_id, :tenant_id, :reason"
    " WHERE NOT EXISTS (SELECT 1 FROM analyses WHERE analysis_id = :analysis_id)"
    " ON CONFLICT DO NOTHING RETURNING analysis_id"
)
_NOTIFY = text("SELECT pg_notify(:channel, :analysis_id)")
_PAUSE = text(
    f"UPDATE analyses SET status = '{AnalysisStatus.INTERRUPTED}', lease_owner = NULL,"  # noqa: S608 - statuses from the contracts
    " lease_expires_at = NULL, updated_at = now()"
    " WHERE analysis_id = :analysis_id AND lease_owner = :owner"
    f" AND status = '{AnalysisStatus.RUNNING}'"
    " AND NOT EXISTS (SELECT 1 FROM analysis_interrupts"
    " WHERE interrupt_id = :interrupt_id AND resolved_at IS NOT NULL)"
    " RETURNING analysis_id"
)
_RECORD_INTERRUPT = text(
    "INSERT INTO analysis_interrupts (interrupt_id, analysis_id, tenant_id, request, expires_at)"
    " VALUES (:interrupt_id, :analysis_id, :tenant_id, CAST(:request AS jsonb), :expires_at)"
    " ON CONFLICT (interrupt_id) DO NOTHING RETURNING interrupt_id"
)
_INTERRUPT_COLUMNS = (
    "interrupt_id, analysis_id, tenant_id, request, response,"
    " (resolved_at IS NULL AND expires_at < now()) AS expired"
)
_INTERRUPT = text(
    f"SELECT {_INTERRUPT_COLUMNS} FROM analysis_interrupts WHERE interrupt_id = :interrupt_id"  # noqa: S608 - fixed columns
)
_PENDING_INTERRUPT = text(
    f"SELECT {_INTERRUPT_COLUMNS} FROM analysis_interrupts i"  # noqa: S608 - statuses from the contracts
    " WHERE i.analysis_id = :analysis_id AND i.tenant_id = :tenant_id AND i.resolved_at IS NULL"
    " AND EXISTS (SELECT 1 FROM analyses a WHERE a.analysis_id = i.analysis_id"
    f" AND a.status = '{AnalysisStatus.INTERRUPTED}')"
    " ORDER BY i.created_at DESC LIMIT 1"
)
_ANSWER = text(
    "UPDATE analysis_interrupts SET response = CAST(:response AS jsonb), resolved_at = now(),"
    " resolved_by = :by WHERE interrupt_id = :interrupt_id AND resolved_at IS NULL"
    " RETURNING analysis_id"
)
_FINISH = text(
    "UPDATE analyses SET status = :status, answer = :answer,"  # noqa: S608 - status lists from the domain
    " citations = CAST(:citations AS jsonb), tool_calls = CAST(:tool_calls AS jsonb),"
    " ungrounded_numbers = CAST(:ungrounded_numbers AS jsonb),"
    " ungrounded_values = CAST(:ungrounded_values AS jsonb),"
    " findings = CAST(:findings AS jsonb), charts = CAST(:charts AS jsonb),"
    " usage = CAST(:usage AS jsonb), timings_ms = CAST(:timings_ms AS jsonb),"
    " error = CAST(:error AS jsonb), terminal_event_id = :event_id,"
    " finished_at = now(), updated_at = now(), lease_expires_at = NULL"
    f" WHERE analysis_id = :analysis_id AND status IN {_UNFINISHED}"
    " RETURNING analysis_id"
)

RESULT_TOPICS: dict[type[Any], tuple[AnalysisStatus, str]] = {
    AnalysisCompleted: (AnalysisStatus.COMPLETED, ANALYSIS_COMPLETED.name),
    AnalysisFailed: (AnalysisStatus.FAILED, ANALYSIS_FAILED.name),
    AnalysisCancelled: (AnalysisStatus.CANCELLED, ANALYSIS_CANCELLED.name),
}

ANALYSES_FINISHED = Counter(
    "sextant_orchestrator_analyses_finished_total",
    "Analyses that reached a terminal state here, by status.",
    ["status"],
)


def _json(value: Any) -> str:
    return storable_json(json.dumps(value, allow_nan=False))


def _columns(outcome: TerminalOutcome) -> dict[str, Any]:
    """The row's result columns for a terminal payload."""
    payload = outcome.payload
    empty = {
        "answer": None,
        "citations": "[]",
        "ungrounded_numbers": "[]",
        "ungrounded_values": "[]",
        "findings": "[]",
        "charts": "[]",
        "tool_calls": "[]",
        "usage": "{}",
        "timings_ms": "{}",
        "error": None,
    }
    if isinstance(payload, AnalysisCompleted):
        dumped = payload.model_dump(mode="json")
        return {
            "answer": storable_text(payload.answer),
            "citations": _json(dumped["citations"]),
            "ungrounded_numbers": _json(dumped["ungrounded_numbers"]),
            "ungrounded_values": _json(dumped["ungrounded_values"]),
            "findings": _json(dumped["findings"]),
            "charts": _json(dumped["charts"]),
            "tool_calls": _json(dumped["tool_calls"]),
            "usage": _json(dumped["usage"]),
            "timings_ms": _json(dumped["timings_ms"]),
            "error": None,
        }
    if isinstance(payload, AnalysisFailed):
        error = {
            "code": payload.error_code,
            "reason": payload.reason,
            "step": payload.failed_step.value if payload.failed_step else None,
        }
        return {**empty, "error": _json(error)}
    step = payload.cancelled_at_step.value if payload.cancelled_at_step else None
    return {**empty, "error": _json({"code": "cancelled", "reason": payload.reason, "step": step})}


def _stored_interrupt(row: Any) -> StoredInterrupt:
    asked = row.request
    return StoredInterrupt(
        interrupt_id=row.interrupt_id,
        analysis_id=row.analysis_id,
        tenant_id=row.tenant_id,
        kind=str(asked.get("kind", "")),
        options=[str(option) for option in asked.get("options", [])],
        default_response=asked.get("default_response"),
        on_timeout=str(asked.get("on_timeout", "fail")),
        response=row.response,
        expired=bool(row.expired),
    )


class PostgresAnalysisRepository:
    """One row per analysis; terminal writes are conditional and carry their outbox event."""

    def __init__(
        self,
        engine: AsyncEngine,
        relay: OutboxRelay | None = None,
        *,
        max_event_bytes: int = MAX_EVENT_BYTES,
    ) -> None:
        self._engine = engine
        self._one_statement = autocommit(engine)  # one-statement work: no BEGIN/COMMIT
        self._relay = relay
        self._max_event_bytes = max_event_bytes

    async def admit_and_claim(
        self, request: Envelope[AnalysisRequested], *, owner: str, lease_s: float
    ) -> AnalysisStatus:
        """Record the request if it is new and take its lease, in one transaction (they
        were two: the extra round trips were a tenth of the orchestrator's database time)."""
        analysis_id = request.payload.analysis_id
        values = {
            "analysis_id": analysis_id,
            "tenant_id": request.tenant_id,
            "question": request.payload.question,
            "request": request.payload.model_dump_json(),
        }
        params = {"analysis_id": analysis_id, "owner": owner, "lease_s": lease_s}
        async with self._engine.begin() as connection:
            row = (await connection.execute(_ADMIT, values)).one()
            if row.tenant_id != request.tenant_id:
                raise AnalysisIdConflict(f"analysis id {analysis_id} is taken by another tenant")
            if row.status in TERMINAL_STATUSES:
                return AnalysisStatus(row.status)
            if (await connection.execute(_CLAIM, params)).one_or_none() is not None:
                return AnalysisStatus.RUNNING
            holder = (await connection.execute(_HOLDER, {"analysis_id": analysis_id})).one()
        if holder.status in TERMINAL_STATUSES or holder.status == AnalysisStatus.INTERRUPTED:
            return AnalysisStatus(holder.status)
        raise LeaseHeld(str(analysis_id), float(holder.expires_in_s or 0.0))

    async def running_ahead(
        self, thread_id: UUID, *, tenant_id: str, analysis_id: UUID
    ) -> UUID | None:
        params = {"thread_id": thread_id, "tenant_id": tenant_id, "analysis_id": analysis_id}
        async with self._one_statement.connect() as connection:
            ahead: UUID | None = (await connection.execute(_RUNNING_AHEAD, params)).scalar()
            return ahead

    async def earlier_turns(
        self, thread_id: UUID, *, tenant_id: str, before: UUID, limit: int
    ) -> list[Turn]:
        params = {"thread_id": thread_id, "tenant_id": tenant_id, "before": before, "limit": limit}
        async with self._one_statement.connect() as connection:
            rows = (await connection.execute(_EARLIER_TURNS, params)).all()
        return [
            Turn(
                analysis_id=str(row.analysis_id),
                question=row.question,
                answer=row.answer or "",
                findings=[str(f.get("statement", "")) for f in row.findings or []],
            )
            for row in reversed(rows)
        ]

    async def load(self, analysis_id: UUID) -> Analysis | None:
        async with self._one_statement.connect() as connection:
            row = (await connection.execute(_LOAD, {"analysis_id": analysis_id})).one_or_none()
        if row is None:
            return None
        lease = (
            Lease(row.lease_owner, row.lease_expires_at)
            if row.lease_owner is not None and row.lease_expires_at is not None
            else None
        )
        flagged = row.cancel_requested_at is not None
        return Analysis(
            analysis_id=row.analysis_id,
            tenant_id=row.tenant_id,
            status=AnalysisStatus(row.status),
            lease=lease,
            attempts=row.attempts,
            cancel_reason=(row.cancel_reason or "cancelled") if flagged else None,
        )

    async def renew(self, analysis_id: UUID, *, owner: str, lease_s: float) -> bool:
        params = {"analysis_id": analysis_id, "owner": owner, "lease_s": lease_s}
        async with self._engine.begin() as connection:
            return (await connection.execute(_RENEW, params)).one_or_none() is not None

    async def cancel_reason(self, analysis_id: UUID) -> str | None:
        async with self._one_statement.connect() as connection:
            row = (
                await connection.execute(_CANCEL_REASON, {"analysis_id": analysis_id})
            ).one_or_none()
        return None if row is None else str(row.cancel_reason or "cancelled")

    async def request_cancel(self, analysis_id: UUID, *, tenant_id: str, reason: str) -> bool:
        """Flag the row and, in the same transaction, tell every orchestrator process
        (:mod:`postgres_cancellation`): the notification arrives only once it is committed.

        An analysis with no row yet (its request, published straight to Kafka, has not
        been read: the two topics are read independently) gets a pending cancellation
        instead, which the run reads like the flag, so it ends ``cancelled`` before its
        first step. Written with the notification too: a run admitted meanwhile is told."""
        params = {"analysis_id": analysis_id, "tenant_id": tenant_id, "reason": reason}
        async with self._engine.begin() as connection:
            flagged = (await connection.execute(_REQUEST_CANCEL, params)).one_or_none()
            woken = flagged is not None and flagged.status == AnalysisStatus.INTERRUPTED
            if woken:  # nobody runs it: an instance resumes it, to cancel it
                await wake(connection, analysis_id)
            if flagged is None:
                flagged = (await connection.execute(_PENDING_CANCEL, params)).one_or_none()
            if flagged is not None:
                await connection.execute(
                    _NOTIFY, {"channel": CANCEL_CHANNEL, "analysis_id": str(analysis_id)}
                )
        if woken and self._relay is not None:
            self._relay.wake()
        return flagged is not None

    async def pause(
        self, analysis_id: UUID, *, owner: str, event: Envelope[AnalysisInterrupted]
    ) -> bool:
        pause = event.payload
        params = {
            "analysis_id": analysis_id,
            "owner": owner,
            "interrupt_id": pause.interrupt_id,
            "tenant_id": event.tenant_id,
            "request": pause.model_dump_json(),
            "expires_at": pause.expires_at,
        }
        async with self._engine.begin() as connection:
            if (await connection.execute(_PAUSE, params)).one_or_none() is None:
                return False  # nothing written: answered meanwhile, or the lease is lost
            recorded = (await connection.execute(_RECORD_INTERRUPT, params)).one_or_none()
            if recorded is not None:  # its first pause: the event goes out once
                await enqueue(
                    connection,
                    topic=ANALYSIS_INTERRUPTED.name,
                    key=str(analysis_id),
                    envelope=event,
                    max_bytes=self._max_event_bytes,
                )
        if recorded is not None and self._relay is not None:
            self._relay.wake()
        return True

    async def interrupt(self, interrupt_id: UUID) -> StoredInterrupt | None:
        async with self._one_statement.connect() as connection:
            row = (
                await connection.execute(_INTERRUPT, {"interrupt_id": interrupt_id})
            ).one_or_none()
        return None if row is None else _stored_interrupt(row)

    async def pending_interrupt(
        self, analysis_id: UUID, *, tenant_id: str
    ) -> StoredInterrupt | None:
        params = {"analysis_id": analysis_id, "tenant_id": tenant_id}
        async with self._one_statement.connect() as connection:
            row = (await connection.execute(_PENDING_INTERRUPT, params)).one_or_none()
        return None if row is None else _stored_interrupt(row)

    async def answer(self, interrupt_id: UUID, response: dict[str, Any], *, by: str) -> bool:
        params = {"interrupt_id": interrupt_id, "response": _json(response), "by": by}
        async with self._engine.begin() as connection:
            answered = (await connection.execute(_ANSWER, params)).one_or_none()
            if answered is None:
                return False
            await wake(connection, answered.analysis_id)
        if self._relay is not None:
            self._relay.wake()
        return True

    async def finish(self, analysis_id: UUID, outcome: TerminalOutcome) -> bool:
        """Raises UnstorableOutcome when PostgreSQL refuses the outcome's data (nothing is
        written); an outage propagates as it is, to be retried."""
        status, topic = RESULT_TOPICS[type(outcome.payload)]
        try:
            async with self._engine.begin() as connection:
                written = await self._write_terminal(connection, analysis_id, status, outcome)
                if written:
                    await self._enqueue_fitting(connection, topic, analysis_id, outcome)
        except DBAPIError as error:
            if is_database_outage(error):
                raise
            raise UnstorableOutcome(f"{type(error.orig).__name__}: {error.orig}") from error
        if written:
            ANALYSES_FINISHED.labels(status).inc()
            if self._relay is not None:
                self._relay.wake()
        return written

    async def _enqueue_fitting(
        self, connection: AsyncConnection, topic: str, analysis_id: UUID, outcome: TerminalOutcome
    ) -> None:
        """The event as it is, or, when it would not fit in a Kafka message, without its
        largest results (the row keeps them). Serialised once in the usual case.

        The limit is on PostgreSQL's text of the stored event, which can be much longer
        than the JSON (``1e-300`` is written out in full): the slimmer event aims at the
        limit scaled by how much longer it was. An event that cannot be made to fit is
        UnstorableOutcome (the analysis then ends failed, saying why)."""
        key = str(analysis_id)
        limit = self._max_event_bytes
        try:
            await enqueue(connection, topic=topic, key=key, envelope=outcome, max_bytes=limit)
        except EventTooLarge as refused:  # raised before anything was written
            target = int(limit * min(1.0, published_size(outcome) / refused.size))
            event = fitting_event(outcome, target)
            try:
                await enqueue(connection, topic=topic, key=key, envelope=event, max_bytes=limit)
            except EventTooLarge as error:
                raise UnstorableOutcome(f"the terminal event cannot fit: {error}") from error

    @staticmethod
    async def _write_terminal(
        connection: AsyncConnection,
        analysis_id: UUID,
        status: AnalysisStatus,
        outcome: TerminalOutcome,
    ) -> bool:
        params = {
            "analysis_id": analysis_id,
            "status": status,
            "event_id": outcome.event_id,
            **_columns(outcome),
        }
        return (await connection.execute(_FINISH, params)).one_or_none() is not None
