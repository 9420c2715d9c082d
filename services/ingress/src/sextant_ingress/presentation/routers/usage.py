"""``/v1/usage``: what a tenant's analyses cost in LLM tokens (and money), by day span."""

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from sextant_ingress.application.ports import UsageReads
from sextant_ingress.domain.usage import UsageReport, this_month
from sextant_ingress.presentation.auth import Tenant
from sextant_ingress.presentation.problems import ApiProblem, problem_responses


class ModelUsageOut(BaseModel):
    provider: str
    model: str
    llm_calls: int = Field(description="Calls that answered (each is billed).")
    input_tokens: int
    output_tokens: int
    cost: float = Field(description="At the orchestrator's LLM_PRICES; 0 without a price.")


class UsageOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    first_day: date = Field(alias="from")
    last_day: date = Field(alias="to")
    analyses: int = Field(description="Analyses that made at least one of these calls.")
    llm_calls: int
    input_tokens: int
    output_tokens: int
    cost: float
    by_model: list[ModelUsageOut]

    @classmethod
    def of(cls, report: UsageReport) -> "UsageOut":
        lines = [ModelUsageOut.model_validate(m, from_attributes=True) for m in report.by_model]
        return cls(
            first_day=report.first_day,
            last_day=report.last_day,
            analyses=report.analyses,
            llm_calls=sum(line.llm_calls for line in lines),
            input_tokens=sum(line.input_tokens for line in lines),
            output_tokens=sum(line.output_tokens for line in lines),
            cost=sum(line.cost for line in lines),
            by_model=lines,
        )


DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
"""A calendar day, and nothing else a date parser would also take (``0``, ``20261201``)."""


def _day(name: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise ApiProblem(422, "Invalid request", f"{name}: {error}") from error


def usage_router(usage: UsageReads) -> APIRouter:
    router = APIRouter()

    @router.get(
        "/v1/usage",
        response_model=UsageOut,
        operation_id="usage",
        summary="Your LLM usage: tokens and cost, per model, over a span of days",
        responses=problem_responses(),
    )
    async def report(
        tenant_id: Tenant,
        first_day: Annotated[
            str | None,
            Query(
                alias="from",
                pattern=DATE_PATTERN,
                json_schema_extra={"format": "date"},
                description="First day (UTC, YYYY-MM-DD), included; default: the first of"
                " this month.",
                examples=["2026-12-01"],
            ),
        ] = None,
        last_day: Annotated[
            str | None,
            Query(
                alias="to",
                pattern=DATE_PATTERN,
                json_schema_extra={"format": "date"},
                description="Last day (UTC, YYYY-MM-DD), included; default: today.",
                examples=["2026-12-31"],
            ),
        ] = None,
    ) -> UsageOut:
        """Every LLM call of your analyses that answered, as its provider reported its
        tokens, priced at the time of the call. A span whose first day is after its last
        holds nothing."""
        month_start, today = this_month(datetime.now(UTC))
        return UsageOut.of(
            await usage.report(
                tenant_id=tenant_id,
                first_day=_day("from", first_day) or month_start,
                last_day=_day("to", last_day) or today,
            )
        )

    return router
