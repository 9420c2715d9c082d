"""Publishing an analysis's stored request again: how an instance is made to run it.

Two writers need it: the lifecycle sweep re-drives an analysis whose owner vanished,
and waking an interrupted analysis (answered, cancelled, or its wait ran out) hands it
to whichever instance reads its request next. Both enqueue in the caller's transaction,
so the request is in the outbox exactly when the row says the analysis was driven.
"""

import json
import logging
from typing import Any

from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from sextant_contracts import AnalysisRequested, Envelope
from sextant_contracts.catalogue import ANALYSIS_REQUESTED
from sextant_orchestrator.domain.analysis import AnalysisStatus
from sextant_storage.outbox import enqueue

logger = logging.getLogger(__name__)

_WAKE = text(
    f"UPDATE analyses SET status = '{AnalysisStatus.RUNNING}', lease_owner = NULL,"  # noqa: S608 - statuses from the contracts
    " lease_expires_at = NULL, woken_at = now(), updated_at = now()"
    f" WHERE analysis_id = :analysis_id AND status = '{AnalysisStatus.INTERRUPTED}'"
    " RETURNING analysis_id, tenant_id, request::text AS request"
)


def stored_request(row: Any) -> AnalysisRequested | None:
    """The stored request, the row's id standing for the one inside; None when the stored
    JSON is no request (a row another program or an older version wrote): one such row
    used to stop every sweep, and with it the process, again after each restart."""
    try:
        stored = json.loads(row.request)
        if isinstance(stored, dict):
            return AnalysisRequested.model_validate({**stored, "analysis_id": row.analysis_id})
    except (json.JSONDecodeError, ValidationError):
        pass
    logger.warning("stored request unreadable", extra={"analysis_id": str(row.analysis_id)})
    return None


async def publish_again(connection: AsyncConnection, row: Any) -> bool:
    """Enqueue the row's stored request (``analysis_id``, ``tenant_id``, ``request``);
    False when it cannot be read (nothing to run it from: the deadline will end it)."""
    request = stored_request(row)
    if request is None:
        return False
    envelope = Envelope.wrap(request, tenant_id=row.tenant_id, correlation_id=str(row.analysis_id))
    await enqueue(
        connection, topic=ANALYSIS_REQUESTED.name, key=str(row.analysis_id), envelope=envelope
    )
    return True


async def wake(connection: AsyncConnection, analysis_id: Any) -> bool:
    """An interrupted analysis is running again with no lease, its request published so
    an instance claims and resumes it; False when it was not interrupted."""
    row = (await connection.execute(_WAKE, {"analysis_id": analysis_id})).one_or_none()
    return row is not None and await publish_again(connection, row)
