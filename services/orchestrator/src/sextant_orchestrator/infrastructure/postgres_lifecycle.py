"""The LifecycleStore port on PostgreSQL: the sweeps' reads and writes.

Every statement is bounded (``LIMIT``) and served by a partial index, so a sweep costs
the same however many analyses have finished; ``FOR UPDATE SKIP LOCKED`` lets every
orchestrator instance sweep at once without two re-driving the same analysis.
"""

import logging
import uuid
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_orchestrator.domain.analysis import (
    RUNNABLE_STATUSES,
    TERMINAL_STATUSES,
    AnalysisStatus,
    OverdueAnalysis,
    sql_list,
)
from sextant_orchestrator.infrastructure.postgres_analyses import RESULT_TOPICS
from sextant_orchestrator.infrastructure.postgres_cancellation import CANCEL_CHANNEL
from sextant_orchestrator.infrastructure.stored_requests import publish_again, wake
from sextant_storage.database import autocommit
from sextant_storage.outbox import OutboxRelay

logger = logging.getLogger(__name__)

_TERMINAL_TOPICS = sorted(topic for _, topic in RESULT_TOPICS.values())

_REDRIVE = text(
    "WITH due AS (SELECT analysis_id FROM analyses"  # noqa: S608 - statuses from the contracts
    f" WHERE status = '{AnalysisStatus.RUNNING}'"
    " AND lease_expires_at < now() - make_interval(secs => :grace_s)"
    " AND (redriven_at IS NULL OR redriven_at < now() - make_interval(secs => :every_s))"
    " ORDER BY created_at LIMIT :limit FOR UPDATE SKIP LOCKED)"
    " UPDATE analyses a SET redriven_at = now() FROM due"
    " WHERE a.analysis_id = due.analysis_id"
    " RETURNING a.analysis_id, a.tenant_id, a.request::text AS request"
)
_OVERDUE = text(
    # An interrupted analysis waits on its own timeout; a woken one's clock restarts.
    "SELECT analysis_id, tenant_id FROM analyses"  # noqa: S608 - status lists from the domain
    f" WHERE status IN {sql_list(RUNNABLE_STATUSES)}"
    " AND created_at < now() - make_interval(secs => :deadline_s)"
    " AND (woken_at IS NULL OR woken_at < now() - make_interval(secs => :deadline_s))"
    " ORDER BY created_at LIMIT :limit"
)
_EXPIRED_INTERRUPTS = text(
    "SELECT DISTINCT i.analysis_id FROM analysis_interrupts i"  # noqa: S608 - statuses from the contracts
    " JOIN analyses a ON a.analysis_id = i.analysis_id"
    f" AND a.status = '{AnalysisStatus.INTERRUPTED}'"
    " WHERE i.resolved_at IS NULL AND i.expires_at < now() LIMIT :limit"
)
_WAKE = text("SELECT count(pg_notify(:channel, id)) FROM unnest(CAST(:ids AS text[])) AS id")
_FINISHED_AMONG = text(
    "SELECT analysis_id::text AS analysis_id FROM analyses"  # noqa: S608 - status lists from the domain
    " WHERE analysis_id = ANY(CAST(:ids AS uuid[]))"
    f" AND status IN {sql_list(TERMINAL_STATUSES)}"
)
_PRUNES = {
    # Terminal events stay as long as their analysis: the SSE stream falls back to them.
    "outbox": text(
        "DELETE FROM outbox WHERE outbox_id IN (SELECT outbox_id FROM outbox"
        " WHERE published_at < now() - make_interval(secs => :retention_s)"
        " AND NOT (topic = ANY(:kept_topics)) LIMIT :limit)"
    ),
    "analysis_events": text(
        "DELETE FROM analysis_events WHERE (tenant_id, analysis_id, sequence) IN"
        " (SELECT tenant_id, analysis_id, sequence FROM analysis_events"
        " WHERE recorded_at < now() - make_interval(secs => :retention_s) LIMIT :limit)"
    ),
    "pending_cancellations": text(
        "DELETE FROM pending_cancellations WHERE (analysis_id, tenant_id) IN"
        " (SELECT analysis_id, tenant_id FROM pending_cancellations"
        " WHERE requested_at < now() - make_interval(secs => :retention_s) LIMIT :limit)"
    ),
    "processed_events": text(
        "DELETE FROM processed_events WHERE (consumer_group, event_id) IN"
        " (SELECT consumer_group, event_id FROM processed_events"
        " WHERE processed_at < now() - make_interval(secs => :retention_s) LIMIT :limit)"
    ),
}


def _uuids(values: list[str]) -> list[str]:
    """Only the values that are analysis ids (thread ids of other uses are left alone)."""
    found = []
    for value in values:
        try:
            found.append(str(uuid.UUID(value)))
        except ValueError:
            continue
    return found


class PostgresLifecycleStore:
    def __init__(self, engine: AsyncEngine, relay: OutboxRelay | None = None) -> None:
        self._engine = engine
        self._one_statement = autocommit(engine)
        self._relay = relay

    async def redrive_expired(self, *, grace_s: float, every_s: float, limit: int) -> int:
        """Marked and re-published in one transaction: the request is in the outbox
        exactly when the row says it was driven again."""
        params = {"grace_s": grace_s, "every_s": every_s, "limit": limit}
        async with self._engine.begin() as connection:
            rows = (await connection.execute(_REDRIVE, params)).all()
            for row in rows:
                await publish_again(connection, row)
        if rows and self._relay is not None:
            self._relay.wake()
        return len(rows)

    async def overdue(self, *, deadline_s: float, limit: int) -> list[OverdueAnalysis]:
        async with self._one_statement.connect() as connection:
            rows = (
                await connection.execute(_OVERDUE, {"deadline_s": deadline_s, "limit": limit})
            ).all()
        # Ending one needs only its id and tenant: an unreadable request ends too.
        return [OverdueAnalysis(row.analysis_id, row.tenant_id) for row in rows]

    async def wake_expired_interrupts(self, *, limit: int) -> int:
        async with self._engine.begin() as connection:
            rows = (await connection.execute(_EXPIRED_INTERRUPTS, {"limit": limit})).all()
            woken = [row.analysis_id for row in rows if await wake(connection, row.analysis_id)]
        if woken and self._relay is not None:
            self._relay.wake()
        return len(woken)

    async def wake_runs(self, analysis_ids: list[UUID]) -> None:
        params = {"channel": CANCEL_CHANNEL, "ids": [str(i) for i in analysis_ids]}
        async with self._one_statement.connect() as connection:
            await connection.execute(_WAKE, params)

    async def prune(self, *, retention_s: float, limit: int) -> dict[str, int]:
        params = {"retention_s": retention_s, "limit": limit, "kept_topics": _TERMINAL_TOPICS}
        pruned: dict[str, int] = {}
        async with self._one_statement.connect() as connection:
            for table, statement in _PRUNES.items():
                result = await connection.execute(statement, params)
                pruned[table] = int(getattr(result, "rowcount", 0) or 0)
        return pruned

    async def finished_among(self, analysis_ids: list[str]) -> set[str]:
        ids = _uuids(analysis_ids)
        if not ids:
            return set()
        async with self._one_statement.connect() as connection:
            rows = (await connection.execute(_FINISHED_AMONG, {"ids": ids})).all()
        return {row.analysis_id for row in rows}
