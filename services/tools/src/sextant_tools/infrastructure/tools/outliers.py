"""Outlier detection by interquartile range or z-score."""

import pandas as pd
from pydantic import JsonValue

from sextant_contracts import tool_names
from sextant_contracts.tool_arguments import OutlierArguments
from sextant_tools.infrastructure.json_safe import to_json_value
from sextant_tools.infrastructure.tools.base import Tool, numeric_series

MAX_REPORTED = 100


class OutlierDetectionTool(Tool[OutlierArguments]):
    """Rows whose value lies outside Q1-k·IQR..Q3+k·IQR, or whose |z| exceeds a limit."""

    name = tool_names.OUTLIER_DETECTION
    description = (
        "Find outliers in a numeric column by the IQR rule (outside Q1-k*IQR..Q3+k*IQR, k=1.5) "
        "or by z-score (|x-mean|/std > 3, sample std). Nulls are ignored."
    )
    arguments = OutlierArguments

    def compute(self, frame: pd.DataFrame, args: OutlierArguments) -> dict[str, JsonValue]:
        series = numeric_series(frame, args.column).dropna()
        if args.method == "iqr":
            k = args.threshold or 1.5
            q1, q3 = series.quantile(0.25), series.quantile(0.75)
            lower, upper = q1 - k * (q3 - q1), q3 + k * (q3 - q1)
            mask = (series < lower) | (series > upper)
            bounds = {"lower": lower, "upper": upper, "k": k}
        else:
            limit = args.threshold or 3.0
            std = series.std()
            z = (series - series.mean()) / std if std and std > 0 else series * 0.0
            mask = z.abs() > limit
            bounds = {"mean": series.mean(), "std": std, "z_limit": limit}
        outliers = series[mask]
        return {
            "method": args.method,
            "bounds": to_json_value(bounds),
            "outlier_count": int(mask.sum()),
            "outliers": [
                to_json_value({"row": index, "value": value})
                for index, value in outliers.head(MAX_REPORTED).items()
            ],
            "columns_used": [args.column],
            "rows": len(frame),
            "rows_considered": len(series),
        }
