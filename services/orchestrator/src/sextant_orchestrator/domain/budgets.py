"""Token and cost budgets per tenant: the arithmetic, with no I/O.

Why before every LLM call: a budget checked once per analysis lets one long analysis
run far past it. The check asks whether the tokens (and cost) already used in the
budget's period, plus the next call's prompt, would pass the limit; the prompt is
estimated at four characters a token (no tokenizer of every provider's model is at
hand), and a call's output can overshoot the limit by at most ``LLM_MAX_OUTPUT_TOKENS``.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

ANY_TENANT = "*"
"""The key of a per-tenant setting that holds for every tenant without its own."""
Period = Literal["day", "month"]
CHARS_PER_TOKEN = 4


@dataclass(frozen=True, slots=True)
class Price:
    """What a model costs, in a currency per million tokens."""

    input_per_million: float = 0.0
    output_per_million: float = 0.0

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (
            input_tokens * self.input_per_million + output_tokens * self.output_per_million
        ) / 1_000_000


@dataclass(frozen=True, slots=True)
class Budget:
    """A tenant's limit over a calendar period (UTC): tokens, cost, or both."""

    period: Period = "month"
    tokens: int | None = None
    cost: float | None = None

    def period_start(self, now: datetime) -> datetime:
        start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return start.replace(day=1) if self.period == "month" else start


@dataclass(frozen=True, slots=True)
class Spent:
    """Usage summed over a period."""

    tokens: int = 0
    cost: float = 0.0


def estimated_tokens(prompt_chars: int) -> int:
    return -(-prompt_chars // CHARS_PER_TOKEN)


def exceeded(budget: Budget, spent: Spent, *, next_tokens: int, next_cost: float) -> str | None:
    """Why the next call may not be made (used/limit), or None when it may."""
    per = f"this {budget.period}"
    if budget.tokens is not None and spent.tokens + next_tokens > budget.tokens:
        return (
            f"the tenant used {spent.tokens} of its {budget.tokens} tokens {per}; the next"
            f" LLM call needs about {next_tokens} more"
        )
    if budget.cost is not None and spent.cost + next_cost > budget.cost:
        return (
            f"the tenant spent {spent.cost:.6f} of its {budget.cost:.6f} {per}; the next"
            f" LLM call costs about {next_cost:.6f} more"
        )
    return None


def analysis_budget_refusal(limit: int | None, used: int, *, next_tokens: int) -> str | None:
    """Why an analysis with its own budget of ``limit`` tokens, having used ``used`` (its
    checkpointed usage: a resumed run counts no call twice), may not make the next call."""
    if limit is None or used + next_tokens <= limit:
        return None
    return (
        f"the analysis used {used} of its {limit} tokens; the next LLM call needs about"
        f" {next_tokens} more"
    )


@dataclass(frozen=True, slots=True)
class MeteredCall:
    """One LLM call that answered, as the ledger keeps it."""

    call_id: str
    analysis_id: str
    tenant_id: str
    step: str
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    cost: float
