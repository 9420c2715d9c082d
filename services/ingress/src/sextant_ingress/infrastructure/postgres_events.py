"""The analysis event log on PostgreSQL: written by the recorder, read by the SSE stream
(and the source of the webhook deliveries each terminal event owes).

Recording and notifying are one statement (its own transaction, no BEGIN/COMMIT round
trips): ``pg_notify`` is delivered at commit, so a listener that wakes up always finds
the row it was told about.
"""

import json
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sextant_contracts.status import TERMINAL_STATUSES, AnalysisStatus, sql_list
from sextant_ingress.domain.events import TERMINAL_SEQUENCE, AnalysisEvent
from sextant_storage.database import autocommit
from sextant_storage.outages import is_database_outage
from sextant_storage.postgres_text import storable_json

NOTIFY_CHANNEL = "sextant_analysis_events"

_RECORD_AND_NOTIFY = text(
    "WITH inserted AS ("
    " INSERT INTO analysis_events (analysis_id, sequence, event_id, tenant_id, kind, envelope)"
    " SELECT * FROM unnest(CAST(:analysis_ids AS uuid[]), CAST(:sequences AS integer[]),"
    " CAST(:event_ids AS uuid[]), CAST(:tenant_ids AS varchar[]), CAST(:kinds AS varchar[]),"
    " CAST(:envelopes AS jsonb[]))"
    " ON CONFLICT (tenant_id, analysis_id, sequence) DO NOTHING"
    " RETURNING analysis_id, sequence, tenant_id, event_id, kind, envelope),"
    # the webhook deliveries each new terminal event owes, in the same statement (an
    # INSERT in a CTE always runs): none is lost, none owed twice
    " queued AS (INSERT INTO webhook_deliveries (delivery_id, webhook_id, tenant_id,"
    " event_id, event_type, analysis_id, payload)"
    " SELECT gen_random_uuid(), w.webhook_id, i.tenant_id, i.event_id, i.kind, i.analysis_id,"
    " jsonb_build_object('type', 'analysis.' || i.kind, 'timestamp', now(), 'data', i.envelope)"
    " FROM inserted i JOIN webhooks w ON w.tenant_id = i.tenant_id AND i.kind = ANY(w.events)"
    " ON CONFLICT (webhook_id, event_id) DO NOTHING),"
    # one notification per analysis that got a new event; the cross join below makes
    # PostgreSQL evaluate it (a SELECT in a CTE that nothing reads is never run)
    " notified AS (SELECT count(pg_notify(:channel, woken.id::text)) AS n"
    " FROM (SELECT DISTINCT analysis_id AS id FROM inserted) AS woken)"
    " SELECT inserted.tenant_id, inserted.analysis_id, inserted.sequence"
    " FROM inserted CROSS JOIN notified"
)
_AFTER = text(
    "SELECT analysis_id, sequence, event_id, tenant_id, kind, envelope FROM analysis_events"
    " WHERE analysis_id = :analysis_id AND tenant_id = :tenant_id AND sequence > :after"
    " ORDER BY sequence LIMIT :limit"
)


_SETTLED_TERMINAL = text(
    "SELECT a.status, o.payload FROM analysis_views a"  # noqa: S608 - statuses from the contracts
    " JOIN outbox o ON o.event_id = a.terminal_event_id"
    " WHERE a.analysis_id = :analysis_id AND a.tenant_id = :tenant_id"
    f" AND a.status IN {sql_list(TERMINAL_STATUSES)}"
    " AND a.finished_at < now() - make_interval(secs => :settled_s)"
)


_PENDING_INTERRUPT = text(
    "SELECT interrupt FROM analysis_views"  # noqa: S608 - statuses from the contracts
    " WHERE analysis_id = :analysis_id AND tenant_id = :tenant_id"
    f" AND status = '{AnalysisStatus.INTERRUPTED}'"
)
_ANNOUNCE = text(
    # the webhook deliveries the event owes (as for recorded events), and the wake-up
    "WITH queued AS (INSERT INTO webhook_deliveries (delivery_id, webhook_id, tenant_id,"
    " event_id, event_type, analysis_id, payload)"
    " SELECT gen_random_uuid(), w.webhook_id, w.tenant_id, :event_id, :kind, :analysis_id,"
    " jsonb_build_object('type', 'analysis.' || :kind, 'timestamp', now(),"
    " 'data', CAST(:envelope AS jsonb))"
    " FROM webhooks w WHERE w.tenant_id = :tenant_id AND :kind = ANY(w.events)"
    " ON CONFLICT (webhook_id, event_id) DO NOTHING RETURNING 1)"
    " SELECT pg_notify(:channel, CAST(:analysis_id AS text)), (SELECT count(*) FROM queued)"
)


class PostgresEventLog:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._one_statement = autocommit(engine)  # one-statement work: no BEGIN/COMMIT

    async def record(self, event: AnalysisEvent) -> bool:
        """Store ``event`` once; False when it was already there (a redelivery)."""
        (new,) = await self.record_many([event])
        return new

    async def record_many(self, events: Sequence[AnalysisEvent]) -> list[bool]:
        """Store each event once, all in one statement with one notification per
        analysis; per event, False when it was already there (a redelivery, or an
        earlier copy in the same batch)."""
        async with self._one_statement.connect() as connection:
            return await self._insert(connection, events)

    async def record_each(self, events: Sequence[AnalysisEvent]) -> list[bool | Exception]:
        """:meth:`record_many`, falling back to one transaction per event when the batch
        is refused, so one event PostgreSQL rejects fails alone. An outage still raises:
        retrying it event by event would only repeat the failure."""
        try:
            return list(await self.record_many(events))
        except DBAPIError as error:
            if is_database_outage(error) or len(events) == 1:
                raise
        results: list[bool | Exception] = []
        for event in events:
            try:
                results.append(await self.record(event))
            except DBAPIError as error:
                if is_database_outage(error):
                    raise
                results.append(error)
        return results

    @staticmethod
    async def _insert(connection: AsyncConnection, events: Sequence[AnalysisEvent]) -> list[bool]:
        params = {
            "analysis_ids": [e.analysis_id for e in events],
            "sequences": [e.sequence for e in events],
            "event_ids": [e.event_id for e in events],
            "tenant_ids": [e.tenant_id for e in events],
            "kinds": [e.kind for e in events],
            "envelopes": [storable_json(json.dumps(e.envelope)) for e in events],
        }
        inserted = {
            (row.tenant_id, row.analysis_id, row.sequence)
            for row in await connection.execute(
                _RECORD_AND_NOTIFY, {**params, "channel": NOTIFY_CHANNEL}
            )
        }
        new: list[bool] = []
        for event in events:
            key = (event.tenant_id, event.analysis_id, event.sequence)
            new.append(key in inserted)
            inserted.discard(key)  # a second copy in the same batch is a duplicate
        return new

    async def settled_terminal(
        self, analysis_id: UUID, *, tenant_id: str, settled_s: float
    ) -> AnalysisEvent | None:
        """The terminal event of an analysis that finished over ``settled_s`` ago, read
        from the outbox that published it: for analyses whose events were never recorded
        here (finished before this ingress recorded events, or recorded elsewhere)."""
        params = {"analysis_id": analysis_id, "tenant_id": tenant_id, "settled_s": settled_s}
        async with self._one_statement.connect() as connection:
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
        async with self._one_statement.connect() as connection:
            rows = (await connection.execute(_AFTER, params)).all()
        return [AnalysisEvent(*row) for row in rows]

    async def pending_interrupt(
        self, analysis_id: UUID, *, tenant_id: str
    ) -> dict[str, Any] | None:
        params = {"analysis_id": analysis_id, "tenant_id": tenant_id}
        async with self._one_statement.connect() as connection:
            pending: dict[str, Any] | None = (
                await connection.execute(_PENDING_INTERRUPT, params)
            ).scalar_one_or_none()
        return pending

    async def announce(self, event: AnalysisEvent) -> None:
        params = {
            "channel": NOTIFY_CHANNEL,
            "analysis_id": event.analysis_id,
            "tenant_id": event.tenant_id,
            "event_id": event.event_id,
            "kind": event.kind,
            "envelope": storable_json(json.dumps(event.envelope)),
        }
        async with self._one_statement.connect() as connection:
            await connection.execute(_ANNOUNCE, params)
