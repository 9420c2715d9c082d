"""Budgets: the period a tenant's usage is summed over, when the next call is refused
and why, and what the metering records for each call that answered."""

from datetime import UTC, datetime

from prometheus_client import REGISTRY

from sextant_orchestrator.domain.budgets import (
    Budget,
    MeteredCall,
    Price,
    Spent,
    analysis_budget_refusal,
    exceeded,
)
from sextant_orchestrator.infrastructure.llm.metering import LlmMetering

NOW = datetime(2026, 12, 2, 23, 40, tzinfo=UTC)


class LedgerStub:
    """The UsageLedger port as a list (the PostgreSQL adapter is tested against
    PostgreSQL, in tests/integration/orchestrator/test_budgets.py)."""

    def __init__(self, spent: Spent | None = None) -> None:
        self.calls: list[MeteredCall] = []
        self.asked_since: list[datetime] = []
        self._spent = spent or Spent()

    async def spent(self, tenant_id: str, *, since: datetime) -> Spent:
        self.asked_since.append(since)
        return self._spent

    async def record(self, call: MeteredCall) -> None:
        self.calls.append(call)


def test_a_period_starts_at_midnight_or_on_the_first_in_utc() -> None:
    assert Budget(period="day", tokens=1).period_start(NOW) == datetime(2026, 12, 2, tzinfo=UTC)
    assert Budget(period="month", tokens=1).period_start(NOW) == datetime(2026, 12, 1, tzinfo=UTC)


def test_the_call_that_would_pass_the_limit_is_refused_saying_used_and_limit() -> None:
    budget = Budget(period="day", tokens=2000)
    assert exceeded(budget, Spent(tokens=1900), next_tokens=100, next_cost=0) is None
    reason = exceeded(budget, Spent(tokens=1900), next_tokens=101, next_cost=0)
    assert reason is not None
    assert "used 1900 of its 2000 tokens this day" in reason


def test_an_analysis_budget_refuses_the_call_that_would_pass_it() -> None:
    assert analysis_budget_refusal(None, 10**9, next_tokens=10**9) is None
    assert analysis_budget_refusal(2000, 1900, next_tokens=100) is None
    reason = analysis_budget_refusal(2000, 1900, next_tokens=101)
    assert reason == (
        "the analysis used 1900 of its 2000 tokens; the next LLM call needs about 101 more"
    )


def test_a_cost_budget_counts_the_prices() -> None:
    price = Price(input_per_million=2.0, output_per_million=8.0)
    assert price.cost(1_000_000, 500_000) == 6.0
    budget = Budget(cost=6.0)
    assert exceeded(budget, Spent(cost=5.99), next_tokens=0, next_cost=0.01) is None
    reason = exceeded(budget, Spent(cost=5.99), next_tokens=0, next_cost=0.02)
    assert reason is not None
    assert "spent 5.990000 of its 6.000000 this month" in reason


async def test_a_tenant_budget_overrides_the_default_and_none_means_no_check() -> None:
    ledger = LedgerStub(Spent(tokens=150))
    metering = LlmMetering(
        ledger=ledger,
        provider="openai",
        model="m",
        budgets={"*": Budget(tokens=100), "acme": Budget(period="day", tokens=10_000)},
        clock=lambda: NOW,
    )
    assert await metering.refusal(tenant_id="acme", prompt_chars=400) is None
    assert ledger.asked_since == [datetime(2026, 12, 2, tzinfo=UTC)]
    assert await metering.refusal(tenant_id="other", prompt_chars=400) is not None
    unlimited = LlmMetering(ledger=LedgerStub(Spent(tokens=10**9)), provider="p", model="m")
    assert await unlimited.refusal(tenant_id="acme", prompt_chars=400) is None


async def test_each_call_is_recorded_once_priced_and_counted_in_the_metrics() -> None:
    ledger = LedgerStub()
    metering = LlmMetering(
        ledger=ledger,
        provider="openai",
        model="metered-model",
        price=Price(input_per_million=1.0, output_per_million=4.0),
    )
    labels = {"tenant": "acme", "provider": "openai", "model": "metered-model"}

    def tokens(kind: str) -> float:
        return REGISTRY.get_sample_value("sextant_llm_tokens_total", {**labels, "kind": kind}) or 0

    for _ in range(2):
        await metering.record(
            analysis_id="7a0c6c0e-6b8f-4f0e-9a57-1b8f2b0f4d11",
            tenant_id="acme",
            step="plan",
            input_tokens=1000,
            output_tokens=250,
        )
    assert [c.cost for c in ledger.calls] == [0.002, 0.002]
    assert len({c.call_id for c in ledger.calls}) == 2, "each call its own id"
    assert (tokens("input"), tokens("output")) == (2000, 500)
