"""Make pandas/numpy values JSON-serialisable, with NaN and infinities mapped explicitly.

JSON has no NaN or Infinity. We map NaN/NaT/None to ``null`` and ±inf to the strings
``"Infinity"``/``"-Infinity"`` so that a consumer can tell "missing" from "unbounded".
"""

import math
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from pydantic import JsonValue

POSITIVE_INFINITY = "Infinity"
NEGATIVE_INFINITY = "-Infinity"


def to_json_value(value: Any) -> JsonValue:
    """One scalar or container, converted recursively."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, dict):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return POSITIVE_INFINITY if value > 0 else NEGATIVE_INFINITY
        return value
    if isinstance(value, pd.Timestamp | datetime | date):
        return value.isoformat()
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)
