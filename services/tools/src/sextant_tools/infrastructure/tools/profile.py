"""The dataset profile: what a planner needs to map a question onto the data.

Numeric statistics alone (what the profile step used to run) cannot tell a planner that
"Gentoo" is a species or that ``date`` holds dates; this tool lists every column with its
kind and, for columns of few distinct values, the values themselves.
"""

from typing import Literal

import pandas as pd
from pydantic import JsonValue

from sextant_contracts import tool_names
from sextant_contracts.tool_arguments import ProfileArguments
from sextant_tools.infrastructure.json_safe import to_json_value
from sextant_tools.infrastructure.tools.base import Tool, numeric_columns
from sextant_tools.infrastructure.tools.columns import as_dates
from sextant_tools.infrastructure.tools.parallel import map_columns
from sextant_tools.infrastructure.tools.statistics import describe_columns

ColumnKind = Literal["numeric", "boolean", "datetime", "categorical", "text"]

DATE_SAMPLE = 200


class DatasetProfileTool(Tool[ProfileArguments]):
    """Every column's kind, nulls and distinct count, its values when few, and the
    numeric columns' descriptive statistics."""

    name = tool_names.PROFILE_DATASET
    description = (
        "Describe every column: kind (numeric, boolean, datetime, categorical, text), nulls, "
        "distinct values, the values themselves when there are few, date ranges, and "
        "descriptive statistics of the numeric columns."
    )
    arguments = ProfileArguments

    def compute(self, frame: pd.DataFrame, args: ProfileArguments) -> dict[str, JsonValue]:
        numeric = numeric_columns(frame, None)
        columns = map_columns(
            lambda series: _describe_column(str(series.name), series, args.max_values),
            [frame[name] for name in frame.columns],
        )
        return {
            "columns": columns,
            "statistics": describe_columns(frame, numeric),
            "columns_used": to_json_value([str(c) for c in frame.columns]),
            "rows": len(frame),
        }


def _describe_column(name: str, series: pd.Series, max_values: int) -> JsonValue:
    distinct = int(series.nunique(dropna=True))
    kind = _kind(series, distinct)
    described: dict[str, object] = {
        "name": name,
        "kind": kind,
        "nulls": int(series.isna().sum()),
        "distinct": distinct,
    }
    if kind in ("categorical", "boolean") and distinct <= max_values:
        counts = series.value_counts(dropna=True)
        described["values"] = [to_json_value(v) for v in counts.index]
    if kind == "datetime":
        dates = as_dates(series)
        described["min"], described["max"] = dates.min(), dates.max()
    return to_json_value(described)


def _kind(series: pd.Series, distinct: int) -> ColumnKind:
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_numeric_dtype(series):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    sample = series.dropna().head(DATE_SAMPLE).astype(str)
    if not sample.empty and _looks_like_dates(sample):
        return "datetime"
    return "categorical" if distinct <= max(20, len(series) // 2) else "text"


def _looks_like_dates(sample: pd.Series) -> bool:
    if not sample.str.contains(r"\d", regex=True).all():
        return False
    parsed = as_dates(sample)
    return bool(parsed.notna().mean() >= 0.9)
