"""Every tool's numbers equal a direct pandas/numpy computation on the same data."""

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.pandas import column, data_frames, range_indexes

from sextant_tools.infrastructure.json_safe import (
    NEGATIVE_INFINITY,
    POSITIVE_INFINITY,
    to_json_value,
)
from sextant_tools.infrastructure.tools.catalogue import default_catalogue
from sextant_tools.infrastructure.tools.parallel import PARALLEL_MIN_ROWS
from sextant_tools.infrastructure.tools.statistics import SCATTER_POINTS

CATALOGUE = default_catalogue()
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
maybe_null = st.one_of(finite, st.just(float("nan")))
numeric_frames = data_frames(
    columns=[
        column("a", elements=maybe_null, dtype=float),
        column("b", elements=finite, dtype=float),
        column("c", elements=st.integers(-1000, 1000), dtype=int),
    ],
    index=range_indexes(min_size=3, max_size=60),
)
fast = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def close(actual: Any, expected: Any) -> bool:
    expected = to_json_value(expected)
    if expected is None:
        return actual is None
    return math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9)


@fast
@given(frame=numeric_frames)
def test_descriptive_statistics_equal_pandas(frame: pd.DataFrame) -> None:
    _assert_statistics_equal_pandas(frame)


def test_descriptive_statistics_of_a_large_frame_equal_pandas() -> None:
    """Large frames take the parallel path (columns described in threads)."""
    rng = np.random.default_rng(3)
    rows = PARALLEL_MIN_ROWS + 1
    frame = pd.DataFrame(
        {
            "a": np.where(rng.random(rows) < 0.1, np.nan, rng.normal(size=rows)),
            "b": rng.normal(50, 5, size=rows),
            "c": rng.integers(-1000, 1000, size=rows),
        }
    )
    _assert_statistics_equal_pandas(frame)


def _assert_statistics_equal_pandas(frame: pd.DataFrame) -> None:
    result = CATALOGUE.get("descriptive_statistics").run(frame, {})
    assert result["columns_used"] == ["a", "b", "c"]
    assert result["rows"] == len(frame)
    for name in ("a", "b", "c"):
        stats, series = result["statistics"][name], frame[name]
        assert stats["count"] == series.count()
        assert stats["nulls"] == series.isna().sum()
        for key, expected in [
            ("mean", series.mean()),
            ("std", series.std()),
            ("min", series.min()),
            ("q25", series.quantile(0.25)),
            ("median", series.median()),
            ("q75", series.quantile(0.75)),
            ("max", series.max()),
        ]:
            assert close(stats[key], expected), (name, key)


@fast
@given(frame=numeric_frames, method=st.sampled_from(["pearson", "spearman"]))
def test_correlation_matrix_equals_pandas(frame: pd.DataFrame, method: str) -> None:
    result = CATALOGUE.get("correlation_matrix").run(
        frame, {"method": method, "columns": ["a", "b", "c"]}
    )
    expected = frame[["a", "b", "c"]].corr(method=method)  # type: ignore[arg-type]
    for row in ("a", "b", "c"):
        for col in ("a", "b", "c"):
            assert close(result["matrix"][col][row], expected.loc[row, col])


@fast
@given(
    frame=data_frames(
        columns=[
            column("b", elements=finite, dtype=float),
            column("c", elements=st.integers(-1000, 1000), dtype=int),
            column("flat", elements=st.just(7.0), dtype=float),
        ],
        index=range_indexes(min_size=2, max_size=60),
    ),
    method=st.sampled_from(["pearson", "spearman"]),
)
def test_correlation_without_nulls_equals_pandas(frame: pd.DataFrame, method: str) -> None:
    """Without nulls the matrix is one product (numpy), not pandas' pairwise loop: same
    numbers, a constant column's NaN included."""
    result = CATALOGUE.get("correlation_matrix").run(frame, {"method": method})
    expected = frame.corr(method=method)  # type: ignore[arg-type]
    for row in frame.columns:
        for col in frame.columns:
            assert close(result["matrix"][col][row], expected.loc[row, col]), (row, col)


@pytest.mark.parametrize("rows", [5, 1000])
def test_correlation_samples_the_strongest_pair_from_the_frames_own_rows(rows: int) -> None:
    """The scatter's pair is the one pandas finds most correlated; its points are rows of
    the frame where both values are present, spread from the first to the last."""
    rng = np.random.default_rng(7)
    base = rng.normal(size=rows)
    frame = pd.DataFrame(
        {
            "noise": rng.normal(size=rows),
            "price": base * 3 + 10,
            "demand": np.where(np.arange(rows) % 4 == 1, np.nan, -base + rng.normal(size=rows) / 9),
        }
    )
    scatter = CATALOGUE.get("correlation_matrix").run(frame, {})["scatter"]

    expected = frame.corr().abs().where(~np.eye(3, dtype=bool)).stack().idxmax()
    assert {scatter["x"], scatter["y"]} == set(expected)
    assert close(scatter["coefficient"], frame[scatter["x"]].corr(frame[scatter["y"]]))
    both = frame[[scatter["x"], scatter["y"]]].dropna()
    assert scatter["rows_with_both"] == len(both)
    assert len(scatter["points"]) == min(len(both), SCATTER_POINTS)
    present = {tuple(pair) for pair in both.to_numpy().tolist()}
    assert all(tuple(point) in present for point in scatter["points"])
    assert scatter["points"][0] == both.iloc[0].tolist()
    assert scatter["points"][-1] == both.iloc[-1].tolist()


def test_correlation_of_constant_columns_samples_no_pair() -> None:
    frame = pd.DataFrame({"a": [1.0, 1.0, 1.0], "b": [2.0, 2.0, 2.0]})
    assert CATALOGUE.get("correlation_matrix").run(frame, {})["scatter"] is None


@fast
@given(
    frame=data_frames(
        columns=[
            column("region", elements=st.sampled_from(["north", "south", "east"])),
            column("kind", elements=st.sampled_from(["x", "y"])),
            column("revenue", elements=finite, dtype=float),
        ],
        index=range_indexes(min_size=1, max_size=60),
    ),
    aggregation=st.sampled_from(["mean", "sum", "count", "min", "max", "median", "std"]),
)
def test_group_by_equals_pandas(frame: pd.DataFrame, aggregation: str) -> None:
    result = CATALOGUE.get("group_by_aggregate").run(
        frame, {"by": ["region", "kind"], "metric": "revenue", "aggregation": aggregation}
    )
    expected = frame.groupby(["region", "kind"])["revenue"].agg(aggregation)
    assert result["group_count"] == len(expected)
    for group in result["groups"]:
        keys = group["keys"]
        assert close(group["value"], expected.loc[(keys["region"], keys["kind"])])


def test_outliers_by_iqr_and_zscore_equal_numpy() -> None:
    values = np.concatenate([np.linspace(10, 20, 50), [100.0, -80.0]])
    frame = pd.DataFrame({"v": values})
    iqr = CATALOGUE.get("outlier_detection").run(frame, {"column": "v", "method": "iqr"})
    q1, q3 = np.percentile(values, [25, 75])
    expected = values[(values < q1 - 1.5 * (q3 - q1)) | (values > q3 + 1.5 * (q3 - q1))]
    assert sorted(o["value"] for o in iqr["outliers"]) == sorted(expected.tolist())
    z = CATALOGUE.get("outlier_detection").run(
        frame, {"column": "v", "method": "zscore", "threshold": 2}
    )
    zscores = np.abs((values - values.mean()) / values.std(ddof=1))
    assert z["outlier_count"] == int((zscores > 2).sum())


def test_trend_slope_and_growth_equal_numpy() -> None:
    dates = pd.date_range("2025-01-01", periods=365, freq="D")
    revenue = np.arange(365, dtype=float)
    frame = pd.DataFrame({"day": dates.astype(str), "revenue": revenue})
    result = CATALOGUE.get("time_series_trend").run(
        frame, {"time_column": "day", "value_column": "revenue", "period": "month"}
    )
    monthly = pd.Series(revenue, index=dates).resample("MS").sum()
    assert [p["value"] for p in result["series"]] == monthly.tolist()
    slope = np.polyfit(np.arange(len(monthly)), monthly.to_numpy(), 1)[0]
    assert close(result["slope_per_period"], slope)
    assert close(result["growth_rate"], (monthly.iloc[-1] - monthly.iloc[0]) / abs(monthly.iloc[0]))


def test_top_categories_equal_value_counts() -> None:
    frame = pd.DataFrame({"city": ["a", "b", "a", "c", "a", "b", None]})
    result = CATALOGUE.get("top_categories").run(frame, {"column": "city", "top": 2})
    assert [(v["value"], v["count"]) for v in result["values"]] == [("a", 3), ("b", 2)]
    assert close(result["values"][0]["share"], 3 / 6)


def test_nan_and_infinities_are_mapped_explicitly() -> None:
    assert to_json_value([float("nan"), float("inf"), -float("inf"), np.float64(1.5), pd.NaT]) == [
        None,
        POSITIVE_INFINITY,
        NEGATIVE_INFINITY,
        1.5,
        None,
    ]


def test_catalogue_describes_every_tool_for_llm_binding() -> None:
    described = CATALOGUE.describe()
    assert {d["name"] for d in described} == {
        "profile_dataset",
        "query",
        "descriptive_statistics",
        "correlation_matrix",
        "group_by_aggregate",
        "outlier_detection",
        "time_series_trend",
        "top_categories",
    }
    for entry in described:
        assert entry["description"]
        assert entry["parameters"]["type"] == "object"


@pytest.mark.parametrize(
    ("tool", "arguments", "code", "fragment"),
    [
        ("nope", {}, "unknown_tool", "available"),
        ("group_by_aggregate", {"by": ["missing"], "metric": "v"}, "unknown_column", "missing"),
        ("group_by_aggregate", {"by": "v"}, "invalid_arguments", "metric"),
        ("descriptive_statistics", {"columns": ["name"]}, "invalid_arguments", "not numeric"),
        ("outlier_detection", {"column": "v", "method": "magic"}, "invalid_arguments", "method"),
        ("descriptive_statistics", {"colums": ["v"]}, "invalid_arguments", "colums"),
        (
            "time_series_trend",
            {"time_column": "name", "value_column": "v"},
            "invalid_arguments",
            "dates",
        ),
    ],
)
def test_bad_arguments_are_clear_errors(
    tool: str, arguments: dict[str, Any], code: str, fragment: str
) -> None:
    from sextant_tools.domain.errors import ToolError

    frame = pd.DataFrame({"v": [1.0, 2.0, 3.0], "name": ["x", "y", "z"]})
    with pytest.raises(ToolError) as raised:
        CATALOGUE.get(tool).run(frame, arguments)
    assert raised.value.code == code
    assert fragment in str(raised.value)


def test_a_nearly_constant_column_correlates_as_pandas_says() -> None:
    """Found by the property above: values 1e-129 apart make the product of the sums of
    squares underflow, and pandas answers NaN where a stepwise division answered 1."""
    frame = pd.DataFrame({"b": [1.298292e-129, 0.0], "c": [0, 1], "d": [1.0, 2.0]})
    result = CATALOGUE.get("correlation_matrix").run(frame, {"method": "pearson"})
    expected = frame.corr()
    assert math.isnan(expected.loc["b", "b"])
    assert result["matrix"]["b"]["b"] is None
    assert close(result["matrix"]["c"]["d"], expected.loc["d", "c"])
