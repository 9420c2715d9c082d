"""A tenant's LLM usage over a span of days, as the usage report shows it."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time


@dataclass(frozen=True, slots=True)
class ModelUsage:
    """One provider's model: its calls that answered, their tokens and their cost."""

    provider: str
    model: str
    llm_calls: int
    input_tokens: int
    output_tokens: int
    cost: float


@dataclass(frozen=True, slots=True)
class UsageReport:
    first_day: date
    last_day: date
    analyses: int
    by_model: list[ModelUsage]


def day_bounds(first_day: date, last_day: date) -> tuple[datetime, datetime]:
    """The instants the days span, both included, in UTC (the budgets' calendar)."""
    return (
        datetime.combine(first_day, time.min, tzinfo=UTC),
        datetime.combine(last_day, time.max, tzinfo=UTC),
    )


def this_month(now: datetime) -> tuple[date, date]:
    """From the first of ``now``'s month to its day: the default report."""
    today = now.astimezone(UTC).date()
    return today.replace(day=1), today
