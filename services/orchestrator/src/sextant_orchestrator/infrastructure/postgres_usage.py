"""The UsageLedger port over PostgreSQL's ``llm_usage`` table."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_orchestrator.domain.budgets import MeteredCall, Spent
from sextant_orchestrator.domain.errors import TransientFailure
from sextant_storage.outages import is_database_outage

_SPENT = text(
    "SELECT coalesce(sum(input_tokens + output_tokens), 0) AS tokens,"
    " coalesce(sum(cost), 0) AS cost"
    " FROM llm_usage WHERE tenant_id = :tenant_id AND created_at >= :since"
)
_RECORD = text(
    "INSERT INTO llm_usage (call_id, analysis_id, tenant_id, step, provider, model,"
    " input_tokens, output_tokens, cost)"
    " VALUES (:call_id, :analysis_id, :tenant_id, :step, :provider, :model,"
    " :input_tokens, :output_tokens, :cost)"
    " ON CONFLICT (call_id) DO NOTHING"
)


class PostgresUsageLedger:
    """Reads sum a tenant's rows over the ``(tenant_id, created_at)`` index; a write is
    idempotent by call id (a retried insert after a lost answer adds nothing)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def spent(self, tenant_id: str, *, since: datetime) -> Spent:
        try:
            async with self._engine.connect() as connection:
                row = (
                    await connection.execute(_SPENT, {"tenant_id": tenant_id, "since": since})
                ).one()
        except Exception as error:
            _raise_outage(error)
            raise
        return Spent(tokens=int(row.tokens), cost=float(row.cost))

    async def record(self, call: MeteredCall) -> None:
        try:
            async with self._engine.begin() as connection:
                await connection.execute(
                    _RECORD,
                    {
                        "call_id": UUID(call.call_id),
                        "analysis_id": UUID(call.analysis_id),
                        "tenant_id": call.tenant_id,
                        "step": call.step,
                        "provider": call.provider,
                        "model": call.model,
                        "input_tokens": call.input_tokens,
                        "output_tokens": call.output_tokens,
                        "cost": call.cost,
                    },
                )
        except Exception as error:
            _raise_outage(error)
            raise


def _raise_outage(error: Exception) -> None:
    """An outage is waited out (the run resumes from its checkpoint): raised as
    ``TransientFailure``; the caller raises anything else as it is, a fault."""
    if is_database_outage(error):
        raise TransientFailure(f"usage ledger unavailable: {error}") from error
