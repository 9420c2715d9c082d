"""Tool results drawn as Vega-Lite: the kind follows the result, every mark comes from
it, and every spec renders (vl-convert, the renderer the CLI uses: no browser, no
network) to an SVG with one mark per value."""

import re
from typing import Any

import pytest
import vl_convert

from sextant_contracts import Chart, tool_names
from sextant_orchestrator.application.run_analysis import citations
from sextant_orchestrator.domain.charts import MAX_POINTS, charts_of, for_reading
from sextant_orchestrator.domain.state import ToolOutcome
from sextant_orchestrator.infrastructure.graphs.prompts import earlier_rounds


def _outcome(call_id: str, tool: str, arguments: dict[str, Any], result: Any) -> ToolOutcome:
    return {
        "call_id": call_id,
        "tool_name": tool,
        "arguments": arguments,
        "result": result,
        "error": None,
        "duration_ms": 1.0,
    }


BY_REGION = _outcome(
    "T1",
    tool_names.QUERY,
    {"group_by": ["region"], "aggregates": [{"fn": "sum", "column": "sales"}]},
    {
        "group_by": ["region"],
        "aggregates": ["sum_sales"],
        "table": [
            {"region": "east", "sum_sales": 70.0},
            {"region": "west", "sum_sales": 35.0},
            {"region": "north", "sum_sales": 12.0},
        ],
    },
)
BY_MONTH = _outcome(
    "T2",
    tool_names.QUERY,
    {"group_by": [{"column": "date", "bucket": "month"}], "aggregates": [{"fn": "count"}]},
    {
        "group_by": ["date_month"],
        "aggregates": ["count"],
        "table": [
            {"date_month": "2024-02", "count": 5},
            {"date_month": "2024-01", "count": 3},
            {"date_month": "2024-03", "count": 8},
        ],
    },
)
CORRELATIONS = _outcome(
    "T3",
    tool_names.CORRELATION_MATRIX,
    {"columns": ["sales", "units"]},
    {
        "method": "pearson",
        "matrix": {"sales": {"sales": 1.0, "units": 0.9}, "units": {"sales": 0.9, "units": 1.0}},
        "scatter": {
            "x": "sales",
            "y": "units",
            "coefficient": 0.9,
            "rows_with_both": 40,
            "points": [[10.0, 1.0], [20.0, 2.0], [35.0, 3.0], [40.0, 4.0]],
        },
    },
)
THREE_COLUMNS = {"sales": 1.0, "units": 0.9, "discount": -0.2}
CORRELATIONS_OF_THREE = _outcome(
    "T7",
    tool_names.CORRELATION_MATRIX,
    {},
    {
        **CORRELATIONS["result"],
        "matrix": {name: THREE_COLUMNS for name in THREE_COLUMNS},
    },
)
NO_PAIR_SAMPLED = _outcome(
    "T8",
    tool_names.CORRELATION_MATRIX,
    {},
    {**CORRELATIONS["result"], "scatter": None},
)
STATISTICS = _outcome(
    "T4",
    tool_names.DESCRIPTIVE_STATISTICS,
    {},
    {
        "statistics": {
            "sales": {"min": 3, "q25": 7.0, "median": 10.0, "q75": 25.0, "max": 40},
            "units": {"min": 1, "q25": 1.0, "median": 2.0, "q75": 2.5, "max": 4},
        }
    },
)
OUTLIERS = _outcome(
    "T6",
    tool_names.OUTLIER_DETECTION,
    {"column": "sales", "method": "iqr"},
    {
        "method": "iqr",
        "bounds": {"lower": -5.0, "upper": 45.0, "k": 1.5},
        "outlier_count": 2,
        "outliers": [{"row": 3, "value": 90.0}, {"row": 7, "value": 120.0}],
    },
)
TREND = _outcome(
    "T5",
    tool_names.TIME_SERIES_TREND,
    {"time_column": "date", "value_column": "sales"},
    {
        "period": "month",
        "aggregation": "sum",
        "series": [
            {"period_start": "2024-01-01T00:00:00+00:00", "value": 10.0},
            {"period_start": "2024-02-01T00:00:00+00:00", "value": 14.0},
        ],
    },
)


def test_each_result_gets_the_chart_its_shape_calls_for_with_its_provenance() -> None:
    failed = {**BY_REGION, "call_id": "T9", "result": None, "error": "unknown column"}
    charts = charts_of([BY_REGION, BY_MONTH, CORRELATIONS, STATISTICS, TREND, OUTLIERS, failed])  # type: ignore[list-item]

    assert [(c["chart_id"], c["kind"], c["call_id"]) for c in charts] == [
        ("C1", "bar", "T1"),
        ("C2", "line", "T2"),
        ("C3", "scatter", "T3"),
        ("C4", "box", "T4"),
        ("C5", "line", "T5"),
        ("C6", "points", "T6"),
    ]
    bars = charts[0]["spec"]
    assert bars["data"]["values"] == BY_REGION["result"]["table"]  # the result's own figures
    assert bars["usermeta"] == {"call_id": "T1", "tool_name": tool_names.QUERY}
    assert charts[0]["title"] == "sum_sales by region"
    months = [v["date_month"] for v in charts[1]["spec"]["data"]["values"]]
    assert months == ["2024-01", "2024-02", "2024-03"]  # time buckets in order
    for chart in charts:
        Chart.model_validate(chart)  # what the completed event carries


def test_a_correlation_is_a_scatter_of_its_strongest_pair_and_a_heatmap_beyond_two() -> None:
    (scatter,) = charts_of([CORRELATIONS])
    assert scatter["spec"]["data"]["values"] == [
        {"x": x, "y": y} for x, y in CORRELATIONS["result"]["scatter"]["points"]
    ]  # the sampled rows, as the tool returned them
    assert scatter["spec"]["encoding"]["x"]["title"] == "sales"
    assert scatter["title"] == "units against sales (pearson r = 0.900; 4 of 40 rows)"

    assert [c["kind"] for c in charts_of([CORRELATIONS_OF_THREE])] == ["scatter", "heatmap"]
    (heatmap,) = charts_of([NO_PAIR_SAMPLED])  # constant columns: no pair to scatter
    assert heatmap["kind"] == "heatmap"
    assert len(heatmap["spec"]["data"]["values"]) == 4


def test_what_only_a_chart_draws_is_kept_from_the_model_and_the_citations() -> None:
    """The scatter's sampled rows are raw values, not figures to cite."""
    read = for_reading(CORRELATIONS["result"])
    assert "scatter" not in read
    assert read["matrix"] == CORRELATIONS["result"]["matrix"]
    (message,) = earlier_rounds([{**CORRELATIONS, "round": 1}])[1:]  # type: ignore[list-item, typeddict-unknown-key]
    assert "points" not in str(message.content)
    assert "0.9" in str(message.content)
    assert (
        citations(
            {"outcomes": [CORRELATIONS], "cited": ["T3"]}  # type: ignore[typeddict-item]
        )[0].excerpt.count("35.0")
        == 0
    )


MARKS = {
    "bar": "mark-rect",
    "scatter": "mark-symbol",
    "line": "mark-line",
    "heatmap": "mark-rect",
    "box": "mark-rule",
    "points": "mark-symbol",
}


@pytest.mark.parametrize(
    ("outcome", "marks"),
    [
        (BY_REGION, 3),
        (BY_MONTH, 1),
        (CORRELATIONS, 4),
        (NO_PAIR_SAMPLED, 4),
        (STATISTICS, 2),
        (OUTLIERS, 2),
    ],
)
def test_every_chart_renders_offline_with_a_mark_per_value(
    outcome: ToolOutcome, marks: int
) -> None:
    (chart,) = charts_of([outcome])
    svg = vl_convert.vegalite_to_svg(chart["spec"])
    group = re.search(
        rf'<g class="{MARKS[chart["kind"]]} role-mark[^"]*"[^>]*>(.*?)</g>', svg, re.S
    )
    assert group is not None, svg[:500]
    assert group.group(1).count('role="graphics-symbol"') >= marks  # one per mark item


def test_a_result_with_nothing_to_draw_gets_no_chart_and_big_ones_are_capped() -> None:
    ungrouped = _outcome(
        "T1",
        tool_names.QUERY,
        {"aggregates": [{"fn": "count"}]},
        {"group_by": [], "aggregates": ["count"], "table": [{"count": 7}]},
    )
    assert charts_of([ungrouped]) == []
    many = [{"region": f"r{i}", "sum_sales": float(i)} for i in range(MAX_POINTS + 50)]
    wide = _outcome(
        "T2", tool_names.QUERY, BY_REGION["arguments"], {**BY_REGION["result"], "table": many}
    )  # type: ignore[dict-item]
    (chart,) = charts_of([wide])
    assert len(chart["spec"]["data"]["values"]) == MAX_POINTS
    assert len(charts_of([BY_REGION] * 12)) == 8
