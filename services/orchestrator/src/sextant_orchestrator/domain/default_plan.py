"""The plan used when the model cannot call tools: enough for a grounded answer."""

from typing import Any

from sextant_contracts import tool_names
from sextant_orchestrator.domain.state import PlannedCall

MAX_OUTLIER_COLUMNS = 3


def numeric_columns(profile: dict[str, Any]) -> list[str]:
    """Columns the profile found numeric (the statistics tool describes only those)."""
    statistics = profile.get("statistics")
    return list(statistics) if isinstance(statistics, dict) else []


def default_plan(profile: dict[str, Any], *, max_calls: int) -> list[PlannedCall]:
    """Correlations across numeric columns, then IQR outliers per numeric column.

    Statistics are not repeated: the profile step already ran them and is cited as T0.
    """
    numeric = numeric_columns(profile)
    calls: list[PlannedCall] = []
    if len(numeric) >= 2:
        calls.append(
            {
                "call_id": "",
                "tool_name": tool_names.CORRELATION_MATRIX,
                "arguments": {"method": "pearson"},
            }
        )
    for column in numeric[:MAX_OUTLIER_COLUMNS]:
        calls.append(
            {
                "call_id": "",
                "tool_name": tool_names.OUTLIER_DETECTION,
                "arguments": {"column": column, "method": "iqr"},
            }
        )
    calls = calls[:max_calls]
    for number, call in enumerate(calls, start=1):
        call["call_id"] = f"T{number}"
    return calls
