"""Time-series trend: resample by period, fit a line, report growth."""

import numpy as np
import pandas as pd
from pydantic import JsonValue

from sextant_contracts import tool_names
from sextant_contracts.tool_arguments import TrendArguments
from sextant_tools.domain.errors import InvalidToolArguments
from sextant_tools.infrastructure.json_safe import to_json_value
from sextant_tools.infrastructure.tools.base import (
    Tool,
    numeric_series,
    require_columns,
)

PERIOD_ALIASES = {"day": "D", "week": "W", "month": "MS", "quarter": "QS", "year": "YS"}


class TimeSeriesTrendTool(Tool[TrendArguments]):
    """Aggregate per period, least-squares slope per period, and first-to-last growth rate."""

    name = tool_names.TIME_SERIES_TREND
    description = (
        "Resample a value column by day/week/month/quarter/year (sum or mean), then report the "
        "least-squares slope per period and the growth rate from the first to the last period."
    )
    arguments = TrendArguments

    def compute(self, frame: pd.DataFrame, args: TrendArguments) -> dict[str, JsonValue]:
        require_columns(frame, [args.time_column])
        values = numeric_series(frame, args.value_column)
        times = pd.to_datetime(frame[args.time_column], errors="coerce", utc=True, format="mixed")
        if times.isna().all():
            raise InvalidToolArguments(f"column {args.time_column!r} holds no parseable dates")
        series = pd.Series(values.to_numpy(), index=times).dropna().sort_index()
        series = series[series.index.notna()]
        resampled = series.resample(PERIOD_ALIASES[args.period]).agg(args.aggregation)
        resampled = resampled.dropna()
        slope = (
            float(np.polyfit(np.arange(len(resampled)), resampled.to_numpy(), 1)[0])
            if len(resampled) >= 2
            else None
        )
        first, last = (resampled.iloc[0], resampled.iloc[-1]) if len(resampled) else (None, None)
        growth = (
            (last - first) / abs(first) if first not in (None, 0) and last is not None else None
        )
        return {
            "period": args.period,
            "aggregation": args.aggregation,
            "series": [
                to_json_value({"period_start": index, "value": value})
                for index, value in resampled.items()
            ],
            "slope_per_period": to_json_value(slope),
            "growth_rate": to_json_value(growth),
            "columns_used": [args.time_column, args.value_column],
            "rows": len(frame),
        }
