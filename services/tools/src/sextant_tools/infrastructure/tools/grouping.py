"""Group-by aggregates and top categories."""

import pandas as pd
from pydantic import JsonValue

from sextant_contracts import tool_names
from sextant_contracts.tool_arguments import GroupByArguments, ValueCountsArguments
from sextant_tools.infrastructure.json_safe import to_json_value
from sextant_tools.infrastructure.tools.base import (
    Tool,
    numeric_series,
    require_columns,
)

MAX_GROUPS = 1000


class GroupByAggregateTool(Tool[GroupByArguments]):
    """One aggregate of a numeric column per group (null group keys kept as a group)."""

    name = tool_names.GROUP_BY_AGGREGATE
    description = (
        "Group rows by one or more columns and aggregate a numeric column "
        "(mean, sum, count, min, max, median or sample std). At most 1000 groups are returned."
    )
    arguments = GroupByArguments

    def compute(self, frame: pd.DataFrame, args: GroupByArguments) -> dict[str, JsonValue]:
        require_columns(frame, args.by)
        numeric_series(frame, args.metric)
        grouped = frame.groupby(args.by, dropna=False, sort=True)[args.metric].agg(args.aggregation)
        groups: list[JsonValue] = []
        for keys, value in grouped.head(MAX_GROUPS).items():
            key_tuple = keys if isinstance(keys, tuple) else (keys,)
            groups.append(
                to_json_value({"keys": dict(zip(args.by, key_tuple, strict=True)), "value": value})
            )
        return {
            "aggregation": args.aggregation,
            "metric": args.metric,
            "groups": groups,
            "group_count": len(grouped),
            "truncated": len(grouped) > MAX_GROUPS,
            "columns_used": [*args.by, args.metric],
            "rows": len(frame),
        }


class TopCategoriesTool(Tool[ValueCountsArguments]):
    """The most frequent values of a column, with counts and shares."""

    name = tool_names.TOP_CATEGORIES
    description = "Most frequent values of a column with their counts and share of rows."
    arguments = ValueCountsArguments

    def compute(self, frame: pd.DataFrame, args: ValueCountsArguments) -> dict[str, JsonValue]:
        require_columns(frame, [args.column])
        counts = frame[args.column].value_counts(dropna=not args.include_nulls)
        total = int(counts.sum())
        top = counts.head(args.top)
        return {
            "column": args.column,
            "values": [
                to_json_value({"value": value, "count": int(count), "share": count / total})
                for value, count in top.items()
            ],
            "distinct": int(counts.size),
            "columns_used": [args.column],
            "rows": len(frame),
        }
