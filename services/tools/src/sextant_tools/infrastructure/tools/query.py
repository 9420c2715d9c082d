"""The declarative query: filter, group (with time buckets), aggregate, share, sort, limit.

Most data questions are one query: "which region sells the most" is sales summed per
region, sorted, top 1; "how many penguins weigh over 5 kg" is a count under a filter;
"total sales per month" groups by a month bucket of a date column. The arguments are
data, checked against the frame; nothing a model writes is ever executed.
"""

from collections.abc import Callable

import pandas as pd
from pydantic import JsonValue

from sextant_contracts import tool_names
from sextant_contracts.tool_arguments import Aggregate, GroupKey, QueryArguments
from sextant_tools.domain.errors import InvalidToolArguments
from sextant_tools.infrastructure.json_safe import to_json_value
from sextant_tools.infrastructure.tools.base import Tool, numeric_columns
from sextant_tools.infrastructure.tools.columns import as_dates, require_columns

NUMERIC_ONLY: frozenset[str] = frozenset({"sum", "mean", "median", "std"})
SUMMABLE: frozenset[str] = frozenset({"sum", "count"})


class QueryTool(Tool[QueryArguments]):
    """Filters, groups, aggregates and ranks in one call; each output row is a group."""

    name = tool_names.QUERY
    description = (
        "Filter rows (==, !=, <, <=, >, >=, in, not_in, between, is_null, not_null, contains), "
        "group by columns or time buckets of a date column (year, quarter, month, week, "
        "weekday, day, hour), compute several aggregates (count, sum, mean, median, min, "
        "max, std, nunique, nulls, first, last), optionally each sum/count's share of the "
        "total, sort and keep the top N. Without group_by, aggregates cover all filtered rows."
    )
    arguments = QueryArguments

    def compute(self, frame: pd.DataFrame, args: QueryArguments) -> dict[str, JsonValue]:
        keys = args.keys()
        aggregate_columns = [a.column for a in args.aggregates if a.column]
        require_columns(frame, [k.column for k in keys] + aggregate_columns)
        numeric = [a.column for a in args.aggregates if a.column and a.fn in NUMERIC_ONLY]
        numeric_columns(frame, numeric)
        work = frame.assign(**{k.name: _bucket(frame[k.column], k) for k in keys if k.bucket})
        table = _aggregate(work, [k.name for k in keys], args.aggregates)
        if args.share_of_total:
            for aggregate in args.aggregates:
                if aggregate.fn in SUMMABLE:
                    total = table[aggregate.name].sum()
                    share = table[aggregate.name] / total if total else float("nan")
                    table[f"{aggregate.name}_share"] = share
        sort_by = args.sort_by or args.aggregates[0].name
        if sort_by not in table.columns:
            raise InvalidToolArguments(
                f"sort_by {sort_by!r} is not an output column; choose one of {list(table.columns)}"
            )
        if keys:
            table = table.sort_values(
                sort_by, ascending=not args.descending, na_position="last", kind="stable"
            )
        shown = table.head(args.limit)
        return {
            "group_by": [k.name for k in keys],
            "aggregates": [a.name for a in args.aggregates],
            "sorted_by": sort_by if keys else None,
            "descending": args.descending,
            "table": [to_json_value(record) for record in shown.to_dict(orient="records")],
            "group_count": len(table),
            "truncated": len(table) > len(shown),
            "columns_used": to_json_value(
                list(dict.fromkeys([k.column for k in keys] + aggregate_columns))
            ),
            "rows": len(frame),
        }


def _aggregate(frame: pd.DataFrame, keys: list[str], aggregates: list[Aggregate]) -> pd.DataFrame:
    """One row per group (one row in all without keys), a column per aggregate."""
    if not keys:
        return pd.DataFrame([{a.name: _reduce(frame, a) for a in aggregates}])
    grouped = frame.groupby(keys, dropna=False, sort=True, observed=True)
    columns = {a.name: _reduce_groups(frame, grouped, a) for a in aggregates}
    return pd.DataFrame(columns).reset_index()


def _reduce(frame: pd.DataFrame, aggregate: Aggregate) -> object:
    if aggregate.column is None:
        return len(frame)
    series = frame[aggregate.column]
    if aggregate.fn == "nulls":
        return int(series.isna().sum())
    if aggregate.fn in ("first", "last"):
        present = series.dropna()
        if present.empty:
            return None
        return present.iloc[0] if aggregate.fn == "first" else present.iloc[-1]
    return series.agg(aggregate.fn)


def _reduce_groups(
    frame: pd.DataFrame, grouped: "pd.core.groupby.DataFrameGroupBy", aggregate: Aggregate
) -> pd.Series:
    if aggregate.column is None:
        return grouped.size()
    column = grouped[aggregate.column]
    if aggregate.fn == "nulls":
        return column.agg(lambda s: int(s.isna().sum()))
    return column.agg(aggregate.fn)


def _bucket(series: pd.Series, key: GroupKey) -> pd.Series:
    """The time bucket of each row's date; rows whose date cannot be read get no bucket."""
    if pd.api.types.is_numeric_dtype(series) and key.bucket == "year":
        return series  # a column of years already is its own bucket
    dates = as_dates(series)
    if dates.notna().sum() == 0:
        raise InvalidToolArguments(f"column {key.column!r} holds no readable dates")
    accessor = dates.dt
    buckets: dict[str, Callable[[], pd.Series]] = {
        "year": lambda: accessor.year,
        "quarter": lambda: accessor.to_period("Q").astype("string"),
        "month": lambda: accessor.to_period("M").astype("string"),
        "week": lambda: accessor.to_period("W").dt.start_time.dt.strftime("%Y-%m-%d"),
        "weekday": lambda: accessor.day_name(),
        "day": lambda: accessor.strftime("%Y-%m-%d"),
        "hour": lambda: accessor.hour,
    }
    return buckets[key.bucket or "day"]()
