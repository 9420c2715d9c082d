"""The query tool and row filters equal direct pandas; bad columns and values are coded
errors that name the real ones."""

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sextant_tools.domain.errors import ColumnNotFound, InvalidToolArguments, ValueNotFound
from sextant_tools.infrastructure.tools.catalogue import default_catalogue

CATALOGUE = default_catalogue()
PENGUINS = pd.DataFrame(
    {
        "species": ["Adelie", "Gentoo", "Gentoo", "Chinstrap", "Adelie", "Gentoo", None],
        "island": ["Torgersen", "Biscoe", "Biscoe", "Dream", "Dream", "Biscoe", "Dream"],
        "body_mass_g": [3750.0, 5000.0, 5400.0, 3800.0, np.nan, 4875.0, 3600.0],
        "year": [2007, 2008, 2009, 2007, 2008, 2009, 2009],
    }
)
SALES = pd.DataFrame(
    {
        "date": ["2024-01-05", "2024-01-20", "2024-02-03", "2024-04-11", "2025-01-02"],
        "region": ["North", "South", "North", "East", "North"],
        "sales": [100.0, 50.0, 25.0, 80.0, 10.0],
    }
)


def query(frame: pd.DataFrame, **arguments: Any) -> dict[str, Any]:
    return CATALOGUE.get("query").run(frame, arguments)


def test_argmax_over_groups_is_the_group_with_the_highest_mean() -> None:
    result = query(
        PENGUINS,
        group_by=["species"],
        aggregates=[{"fn": "mean", "column": "body_mass_g"}, {"fn": "count"}],
        limit=1,
    )
    expected = PENGUINS.groupby("species")["body_mass_g"].mean().sort_values(ascending=False)
    assert result["table"] == [
        {
            "species": "Gentoo",
            "mean_body_mass_g": pytest.approx(expected.iloc[0]),
            "count": 3,
        }
    ]
    assert result["group_count"] == 4  # the null species is a group of its own
    assert result["truncated"] is True
    assert result["sorted_by"] == "mean_body_mass_g"


def test_filters_then_count_equals_pandas() -> None:
    result = query(
        PENGUINS,
        filters=[
            {"column": "body_mass_g", "op": ">", "value": 3700},
            {"column": "island", "op": "in", "value": ["biscoe", "Dream"]},
        ],
    )
    expected = PENGUINS[(PENGUINS.body_mass_g > 3700) & PENGUINS.island.isin(["Biscoe", "Dream"])]
    assert result["table"] == [{"count": len(expected)}]
    assert result["rows"] == len(expected)
    assert result["rows_before_filters"] == len(PENGUINS)


def test_time_buckets_and_share_of_total() -> None:
    result = query(
        SALES,
        group_by=[{"column": "date", "bucket": "month"}],
        aggregates=[{"fn": "sum", "column": "sales"}],
        share_of_total=True,
        sort_by="date_month",
        descending=False,
    )
    months = pd.to_datetime(SALES.date).dt.to_period("M").astype(str)
    expected = SALES.groupby(months)["sales"].sum()
    assert [r["date_month"] for r in result["table"]] == list(expected.index)
    assert [r["sum_sales"] for r in result["table"]] == list(expected)
    assert sum(r["sum_sales_share"] for r in result["table"]) == pytest.approx(1.0)


def test_year_bucket_of_a_numeric_year_column_is_the_year() -> None:
    result = query(PENGUINS, group_by=[{"column": "year", "bucket": "year"}], sort_by="year_year")
    assert {r["year_year"]: r["count"] for r in result["table"]} == {2007: 2, 2008: 2, 2009: 3}


def test_between_on_dates_and_nulls_aggregate() -> None:
    result = query(
        SALES,
        filters=[{"column": "date", "op": "between", "value": ["2024-01-01", "2024-12-31"]}],
        aggregates=[{"fn": "sum", "column": "sales"}, {"fn": "nunique", "column": "region"}],
    )
    assert result["table"] == [{"sum_sales": 255.0, "nunique_region": 3}]
    nulls = query(PENGUINS, aggregates=[{"fn": "nulls", "column": "body_mass_g"}])
    assert nulls["table"] == [{"nulls_body_mass_g": 1}]


def test_every_tool_takes_the_same_filters() -> None:
    result = CATALOGUE.get("descriptive_statistics").run(
        PENGUINS,
        {"columns": ["body_mass_g"], "filters": [{"column": "species", "value": "gentoo"}]},
    )
    assert result["statistics"]["body_mass_g"]["mean"] == pytest.approx(
        PENGUINS[PENGUINS.species == "Gentoo"].body_mass_g.mean()
    )
    assert result["rows"] == 3


def test_a_value_the_column_does_not_hold_lists_the_nearest_ones() -> None:
    with pytest.raises(ValueNotFound, match=r"'Gentooo'.*\['Gentoo'"):
        query(PENGUINS, filters=[{"column": "species", "value": "Gentooo"}])
    assert ValueNotFound.code == "unknown_value"


def test_an_unknown_column_names_the_nearest_real_one() -> None:
    with pytest.raises(ColumnNotFound, match=r"'body_mass': nearest \['body_mass_g'\]"):
        query(PENGUINS, aggregates=[{"fn": "mean", "column": "body_mass"}])


def test_arguments_are_checked_not_executed() -> None:
    with pytest.raises(InvalidToolArguments, match="not numeric"):
        query(PENGUINS, aggregates=[{"fn": "sum", "column": "species"}])
    with pytest.raises(InvalidToolArguments, match="op"):
        query(PENGUINS, filters=[{"column": "year", "op": "__import__('os')", "value": 1}])
    with pytest.raises(InvalidToolArguments, match="sort_by"):
        query(PENGUINS, group_by=["species"], sort_by="mass")


groups = st.sampled_from(["a", "b", "c", "d"])
values = st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.just(float("nan")))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.tuples(groups, values), min_size=1, max_size=40),
    fn=st.sampled_from(["sum", "mean", "median", "min", "max", "count", "std"]),
    threshold=st.floats(-1e6, 1e6, allow_nan=False),
)
def test_filtered_group_aggregates_equal_pandas(
    rows: list[tuple[str, float]], fn: str, threshold: float
) -> None:
    frame = pd.DataFrame(rows, columns=["g", "x"])
    result = query(
        frame,
        filters=[{"column": "x", "op": ">=", "value": threshold}],
        group_by=["g"],
        aggregates=[{"fn": fn, "column": "x"}],
        limit=1000,
    )
    selected = frame[frame.x >= threshold]
    expected = selected.groupby("g")["x"].agg(fn)
    got = {r["g"]: r[f"{fn}_x"] for r in result["table"]}
    assert set(got) == set(expected.index)
    for group, value in expected.items():
        if pd.isna(value):
            assert got[group] is None
        else:
            assert math.isclose(got[group], value, rel_tol=1e-9, abs_tol=1e-6)


def test_profile_lists_columns_with_kinds_and_values() -> None:
    result = CATALOGUE.get("profile_dataset").run(SALES, {})
    columns = {c["name"]: c for c in result["columns"]}
    assert columns["date"]["kind"] == "datetime"
    assert columns["date"]["min"].startswith("2024-01-05")
    assert columns["region"]["kind"] == "categorical"
    assert set(columns["region"]["values"]) == {"North", "South", "East"}
    assert columns["sales"]["kind"] == "numeric"
    assert result["statistics"]["sales"]["max"] == 100.0
