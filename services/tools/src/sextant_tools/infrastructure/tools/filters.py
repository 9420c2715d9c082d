"""Row filters every tool accepts: declarative conditions, never model text executed.

A filter names a column, an operator and a value. A value that the column does not hold
(``region == "Nort"``) is an error listing the nearest values the column does hold, so a
model can correct itself in its next round instead of reporting on zero rows.
"""

import difflib
from typing import Any

import pandas as pd

from sextant_contracts.tool_arguments import RowFilter
from sextant_tools.domain.errors import InvalidToolArguments, ValueNotFound
from sextant_tools.infrastructure.tools.columns import as_dates, require_columns

MAX_SUGGESTIONS = 8


def apply_filters(frame: pd.DataFrame, filters: list[RowFilter]) -> pd.DataFrame:
    """The rows that meet every filter (the frame itself when there are none)."""
    if not filters:
        return frame
    require_columns(frame, [f.column for f in filters])
    mask = pd.Series(True, index=frame.index)
    for condition in filters:
        mask &= _mask(frame[condition.column], condition)
    return frame[mask]


def _mask(series: pd.Series, condition: RowFilter) -> pd.Series:
    op, value = condition.op, condition.value
    if op == "is_null":
        return series.isna()
    if op == "not_null":
        return series.notna()
    if op == "contains":
        return (
            series.astype("string").str.contains(str(value), case=False, regex=False).fillna(False)
        )
    if op in ("in", "not_in"):
        values = value if isinstance(value, list) else [value]
        matched = series.isin(_coerce_all(series, values, condition))
        return ~matched if op == "not_in" else matched
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise InvalidToolArguments(f"between on {condition.column!r} needs [low, high]")
        low, high = _coerce_all(series, value, condition, check_present=False)
        return _comparable(series, condition).between(low, high)
    coerced = _coerce(series, value, condition, check_present=op in ("==", "!="))
    if op == "==":
        return series == coerced
    if op == "!=":
        return series != coerced
    comparable = _comparable(series, condition)
    comparisons = {
        "<": comparable.lt,
        "<=": comparable.le,
        ">": comparable.gt,
        ">=": comparable.ge,
    }
    return comparisons[op](coerced)


def _comparable(series: pd.Series, condition: RowFilter) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series):
        return series
    parsed = as_dates(series)
    if parsed.notna().sum() >= max(1, series.notna().sum() // 2):
        return parsed
    raise InvalidToolArguments(
        f"{condition.op} needs a numeric or date column; {condition.column!r} is neither"
    )


def _coerce_all(
    series: pd.Series, values: list[Any], condition: RowFilter, *, check_present: bool = True
) -> list[Any]:
    return [_coerce(series, v, condition, check_present=check_present) for v in values]


def _coerce(series: pd.Series, value: Any, condition: RowFilter, *, check_present: bool) -> Any:
    """The value in the column's own type; for text columns, matched case-insensitively
    to a value the column holds (or an error naming the nearest ones)."""
    if value is None:
        raise InvalidToolArguments(f"{condition.op} on {condition.column!r} needs a value")
    if pd.api.types.is_bool_dtype(series):
        return str(value).lower() in ("true", "1", "yes") if isinstance(value, str) else bool(value)
    if pd.api.types.is_numeric_dtype(series):
        try:
            return float(value)
        except (TypeError, ValueError):
            raise InvalidToolArguments(
                f"{condition.column!r} is numeric; {value!r} is not a number"
            ) from None
    if pd.api.types.is_datetime64_any_dtype(series) or not check_present:
        parsed = pd.to_datetime(str(value), errors="coerce")
        return value if pd.isna(parsed) or isinstance(value, int | float) else parsed
    held = {str(v): v for v in series.dropna().unique()}
    text = str(value)
    if text in held:
        return held[text]
    by_case = {k.casefold(): v for k, v in held.items()}
    if text.casefold() in by_case:
        return by_case[text.casefold()]
    nearest = difflib.get_close_matches(text, list(held), n=MAX_SUGGESTIONS, cutoff=0.5)
    shown = nearest or sorted(held)[:MAX_SUGGESTIONS]
    raise ValueNotFound(
        f"{condition.column!r} holds no value {text!r}; "
        f"{'nearest' if nearest else 'some'} values it holds: {shown}"
    )
