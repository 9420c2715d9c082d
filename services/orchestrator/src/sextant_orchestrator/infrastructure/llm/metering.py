"""Budgets before each LLM call, the ledger and the token metrics after it.

Why a call is recorded as it returns, under a fresh id, rather than with the analysis's
result: a crash between the call and the checkpoint makes the resumed run ask again, and
the provider bills that second call too; a call whose result was checkpointed is never
made again, so it is never recorded twice.
"""

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from prometheus_client import Counter

from sextant_orchestrator.domain.budgets import (
    ANY_TENANT,
    Budget,
    MeteredCall,
    Price,
    estimated_tokens,
    exceeded,
)
from sextant_orchestrator.domain.ports import UsageLedger

LLM_TOKENS = Counter(
    "sextant_llm_tokens_total",
    "Tokens of the LLM calls that answered, as the provider reported them.",
    ["tenant", "provider", "model", "kind"],
)
LLM_COST = Counter(
    "sextant_llm_cost_total",
    "Cost of the LLM calls that answered, at LLM_PRICES (the budgets' currency).",
    ["tenant", "provider", "model"],
)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class LlmMetering:
    """``budgets`` by tenant id (``*``: every tenant without its own); ``price`` of the
    one model this instance calls."""

    ledger: UsageLedger
    provider: str
    model: str
    price: Price = field(default_factory=Price)
    budgets: Mapping[str, Budget] = field(default_factory=dict)
    clock: Callable[[], datetime] = _now

    def budget_of(self, tenant_id: str) -> Budget | None:
        return self.budgets.get(tenant_id) or self.budgets.get(ANY_TENANT)

    async def refusal(self, *, tenant_id: str, prompt_chars: int) -> str | None:
        """Why the tenant may not make a call with this prompt now, or None."""
        budget = self.budget_of(tenant_id)
        if budget is None:
            return None
        spent = await self.ledger.spent(tenant_id, since=budget.period_start(self.clock()))
        tokens = estimated_tokens(prompt_chars)
        return exceeded(budget, spent, next_tokens=tokens, next_cost=self.price.cost(tokens, 0))

    async def record(
        self,
        *,
        analysis_id: str,
        tenant_id: str,
        step: str,
        input_tokens: int,
        output_tokens: int,
    ) -> None:
        cost = self.price.cost(input_tokens, output_tokens)
        await self.ledger.record(
            MeteredCall(
                call_id=str(uuid.uuid4()),
                analysis_id=analysis_id,
                tenant_id=tenant_id,
                step=step,
                provider=self.provider,
                model=self.model,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                cost=cost,
            )
        )
        labels = (tenant_id, self.provider, self.model)
        LLM_TOKENS.labels(*labels, "input").inc(input_tokens)
        LLM_TOKENS.labels(*labels, "output").inc(output_tokens)
        LLM_COST.labels(*labels).inc(cost)
