"""The analysis event log on PostgreSQL: written by the recorder, read by the SSE stream.

Recording and notifying happen in one transaction: ``pg_notify`` is delivered at
commit, so a listener that wakes up always finds the row it was told about.
"""

import json
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_ingress.domain.events import AnalysisEvent

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
