"""The arguments of every tool, as pydantic models: what a caller (the orchestrator's
planner, an LLM binding, a bench) may send in ``ToolInvocationRequested.arguments``.

The tools service validates each call against these models (a model's typo is an error
it can correct in its next round); ``list_tools`` publishes their JSON Schemas, which is
what an LLM is bound to. They live in the contracts so that a caller can build typed
arguments and both sides read the same definitions. How a tool computes stays in the
tools service.
"""

from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, JsonValue, model_validator

from sextant_contracts import tool_names


class ToolArguments(BaseModel):
    """Strict about unknown keys, so a model's typo is an error it can correct."""

    model_config = ConfigDict(extra="forbid", frozen=True)


FilterOperator = Literal[
    "==", "!=", "<", "<=", ">", ">=", "in", "not_in", "between", "is_null", "not_null", "contains"
]


class RowFilter(ToolArguments):
    """One condition on one column; rows must meet every filter of a call."""

    column: str
    op: FilterOperator = "=="
    value: JsonValue = Field(
        default=None,
        description="A scalar; a list for in/not_in; [low, high] (inclusive) for between; "
        "nothing for is_null/not_null.",
    )


class FilteredArguments(ToolArguments):
    """Arguments of a tool that works on the rows meeting ``filters`` (every data tool)."""

    filters: list[RowFilter] = Field(
        default_factory=list,
        max_length=20,
        description="Only rows meeting every condition are used.",
    )


# --- query -------------------------------------------------------------------------

AggregateFunction = Literal[
    "count", "sum", "mean", "median", "min", "max", "std", "nunique", "nulls", "first", "last"
]
TimeBucket = Literal["year", "quarter", "month", "week", "weekday", "day", "hour"]
MAX_QUERY_ROWS: Final = 1000


class GroupKey(ToolArguments):
    """A column to group by, optionally bucketed in time (``bucket`` on a date column)."""

    column: str
    bucket: TimeBucket | None = None

    @property
    def name(self) -> str:
        return f"{self.column}_{self.bucket}" if self.bucket else self.column


class Aggregate(ToolArguments):
    """One aggregate per group; ``column`` may be omitted for ``count`` (rows)."""

    fn: AggregateFunction
    column: str | None = None

    @model_validator(mode="after")
    def _column_unless_counting_rows(self) -> "Aggregate":
        if self.column is None and self.fn != "count":
            raise ValueError(f"{self.fn} needs a column")
        return self

    @property
    def name(self) -> str:
        return f"{self.fn}_{self.column}" if self.column else "count"


class QueryArguments(FilteredArguments):
    group_by: list[GroupKey | str] = Field(
        default_factory=list,
        max_length=4,
        description='Columns to group by: "region", or {"column": "date", "bucket": "month"}.',
    )
    aggregates: list[Aggregate] = Field(
        default_factory=lambda: [Aggregate(fn="count")],
        min_length=1,
        max_length=10,
        description='e.g. [{"fn": "sum", "column": "sales"}, {"fn": "count"}].',
    )
    sort_by: str | None = Field(
        default=None,
        description="An output column (e.g. sum_sales); the first aggregate by default.",
    )
    descending: bool = True
    limit: int = Field(default=20, ge=1, le=MAX_QUERY_ROWS, description="Rows returned (top N).")
    share_of_total: bool = Field(
        default=False, description="Add each sum/count's share of the total over all groups."
    )

    def keys(self) -> list[GroupKey]:
        return [k if isinstance(k, GroupKey) else GroupKey(column=k) for k in self.group_by]


# --- the other data tools ------------------------------------------------------------

Aggregation = Literal["mean", "sum", "count", "min", "max", "median", "std"]


class GroupByArguments(FilteredArguments):
    by: list[str] = Field(min_length=1, max_length=5, description="Columns to group by.")
    metric: str = Field(description="Numeric column to aggregate.")
    aggregation: Aggregation = "mean"


class ValueCountsArguments(FilteredArguments):
    column: str
    top: int = Field(default=10, ge=1, le=100)
    include_nulls: bool = False


class OutlierArguments(FilteredArguments):
    column: str
    method: Literal["iqr", "zscore"] = "iqr"
    threshold: float | None = Field(
        default=None, gt=0, description="IQR multiplier (default 1.5) or |z| limit (default 3)."
    )


class ProfileArguments(FilteredArguments):
    max_values: int = Field(
        default=60,
        ge=0,
        le=500,
        description="List the values of columns with at most this many distinct values.",
    )


class StatisticsArguments(FilteredArguments):
    columns: list[str] | None = Field(
        default=None, description="Numeric columns to describe; all numeric columns if omitted."
    )


class CorrelationArguments(FilteredArguments):
    method: Literal["pearson", "spearman"] = "pearson"
    columns: list[str] | None = Field(default=None, description="At least two numeric columns.")


class TrendArguments(FilteredArguments):
    time_column: str
    value_column: str
    period: Literal["day", "week", "month", "quarter", "year"] = "month"
    aggregation: Literal["mean", "sum"] = "sum"


class WebFetchArguments(ToolArguments):
    url: HttpUrl = Field(description="An http(s) URL on the public internet.")


ARGUMENTS: Final[dict[str, type[ToolArguments]]] = {
    tool_names.PROFILE_DATASET: ProfileArguments,
    tool_names.QUERY: QueryArguments,
    tool_names.DESCRIPTIVE_STATISTICS: StatisticsArguments,
    tool_names.CORRELATION_MATRIX: CorrelationArguments,
    tool_names.GROUP_BY_AGGREGATE: GroupByArguments,
    tool_names.TOP_CATEGORIES: ValueCountsArguments,
    tool_names.OUTLIER_DETECTION: OutlierArguments,
    tool_names.TIME_SERIES_TREND: TrendArguments,
    tool_names.WEB_FETCH: WebFetchArguments,
}
"""Each tool's argument model, by tool name."""
