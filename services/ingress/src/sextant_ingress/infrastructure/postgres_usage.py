"""The UsageReads port over the ``llm_usage`` ledger the orchestrator writes."""

from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_ingress.domain.usage import ModelUsage, UsageReport, day_bounds

_BY_MODEL = text(
    "SELECT provider, model, count(*) AS llm_calls, sum(input_tokens) AS input_tokens,"
    " sum(output_tokens) AS output_tokens, sum(cost) AS cost,"
    " count(DISTINCT analysis_id) AS analyses"
    " FROM llm_usage WHERE tenant_id = :tenant_id AND created_at BETWEEN :since AND :until"
    " GROUP BY GROUPING SETS ((provider, model), ()) ORDER BY provider, model"
)


class PostgresUsage:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def report(self, *, tenant_id: str, first_day: date, last_day: date) -> UsageReport:
        since, until = day_bounds(first_day, last_day)
        async with self._engine.connect() as connection:
            rows = (
                await connection.execute(
                    _BY_MODEL, {"tenant_id": tenant_id, "since": since, "until": until}
                )
            ).all()
        # The empty grouping set is the total row (provider NULL): analyses counted once
        # even when one analysis called several models.
        total = next((row for row in rows if row.provider is None), None)
        return UsageReport(
            first_day=first_day,
            last_day=last_day,
            analyses=int(total.analyses) if total else 0,
            by_model=[
                ModelUsage(
                    provider=row.provider,
                    model=row.model,
                    llm_calls=int(row.llm_calls),
                    input_tokens=int(row.input_tokens),
                    output_tokens=int(row.output_tokens),
                    cost=float(row.cost),
                )
                for row in rows
                if row.provider is not None
            ],
        )
