"""The analysis event log on PostgreSQL: written by the recorder, read by the SSE stream.

Recording and notifying happen in one transaction: ``pg_notify`` is delivered at
commit, so a listener that wakes up always finds the row it was told about.
"""

import json
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_ingress.domain.events import TERMINAL_SEQUENCE, AnalysisEvent

NOTIFY_CHANNEL = "sextant_analysis_events"

_INSERT = text(
    "INSERT INTO analysis_events (analysis_id, sequence, event_id, tenant_id, kind, envelope)"
    " VALUES (:analysis_id, :sequence, :event_id, :tenant_id, :kind, CAST(:envelope AS jsonb))"
    " ON CONFLICT (analysis_id, sequence) DO NOTHING RETURNING analysis_id"
)
_NOTIFY = text("SELECT pg_notify(:channel, :analysis_id)")
_AFTER = text(
    "SELECT analysis_id, sequence, event_id, tenant_id, kind, envelope FROM analysis_events"
    " WHERE analysis_id = :analysis_id AND tenant_id = :tenant_id AND sequence > :after"
    " ORDER BY sequence LIMIT :limit"
)


_SETTLED_TERMINAL = text(
    "SELECT a.status, o.payload FROM analyses a JOIN outbox o ON o.event_id = a.terminal_event_id"
    " WHERE a.analysis_id = :analysis_id AND a.tenant_id = :tenant_id"
    " AND a.status IN ('completed', 'failed', 'cancelled')"
    " AND a.finished_at < now() - make_interval(secs => :settled_s)"
)


class PostgresEventLog:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record(self, event: AnalysisEvent) -> bool:
        """Store ``event`` once; False when it was already there (a redelivery)."""
        params = {
            "analysis_id": event.analysis_id,
            "sequence": event.sequence,
            "event_id": event.event_id,
            "tenant_id": event.tenant_id,
            "kind": event.kind,
            "envelope": json.dumps(event.envelope),
        }
        async with self._engine.begin() as connection:
            inserted = (await connection.execute(_INSERT, params)).one_or_none()
            if inserted is not None:
                await connection.execute(
                    _NOTIFY, {"channel": NOTIFY_CHANNEL, "analysis_id": str(event.analysis_id)}
                )
        return inserted is not None

    async def settled_terminal(
        self, analysis_id: UUID, *, tenant_id: str, settled_s: float
    ) -> AnalysisEvent | None:
        """The terminal event of an analysis that finished over ``settled_s`` ago, read
        from the outbox that published it: for analyses whose events were never recorded
        here (finished before this ingress recorded events, or recorded elsewhere)."""
        params = {"analysis_id": analysis_id, "tenant_id": tenant_id, "settled_s": settled_s}
        async with self._engine.connect() as connection:
            row = (await connection.execute(_SETTLED_TERMINAL, params)).one_or_none()
        if row is None:
            return None
        envelope = dict(row.payload)
        return AnalysisEvent(
            analysis_id=analysis_id,
            sequence=TERMINAL_SEQUENCE,
            event_id=UUID(str(envelope["event_id"])),
            tenant_id=tenant_id,
            kind=row.status,
            envelope=envelope,
        )

    async def after(
        self, analysis_id: UUID, *, tenant_id: str, sequence: int, limit: int = 100
    ) -> list[AnalysisEvent]:
        """The tenant's events of ``analysis_id`` that sort after ``sequence``, in order."""
        params = {
            "analysis_id": analysis_id,
            "tenant_id": tenant_id,
            "after": sequence,
            "limit": limit,
        }
        async with self._engine.connect() as connection:
            rows = (await connection.execute(_AFTER, params)).all()
        return [AnalysisEvent(*row) for row in rows]
