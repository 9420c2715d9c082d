"""Column checks shared by every tool: a wrong name is an error naming the right ones."""

import difflib
from collections.abc import Sequence

import pandas as pd

from sextant_tools.domain.errors import ColumnNotFound

MAX_LISTED_COLUMNS = 50


def require_columns(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    """Raise ColumnNotFound naming the missing columns, the nearest real ones, and the
    available ones, so the caller can retry with a column that exists."""
    missing = [c for c in columns if c not in frame.columns]
    if not missing:
        return
    names = [str(c) for c in frame.columns]
    nearest = {
        m: difflib.get_close_matches(m, names, n=3, cutoff=0.5)
        or difflib.get_close_matches(m.lower(), [n.lower() for n in names], n=3, cutoff=0.5)
        for m in missing
    }
    hints = "; ".join(f"{m!r}: nearest {near}" for m, near in nearest.items() if near)
    available = ", ".join(names[:MAX_LISTED_COLUMNS])
    raise ColumnNotFound(
        f"unknown column(s) {missing}"
        + (f" ({hints})" if hints else "")
        + f"; available: {available}"
    )


def as_dates(series: pd.Series) -> pd.Series:
    """The column as datetimes (unreadable values become NaT)."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return series
    return pd.to_datetime(series, errors="coerce", format="mixed")
