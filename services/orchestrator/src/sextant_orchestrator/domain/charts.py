"""Charts: each tool result that has a shape to show, as a Vega-Lite specification.

People who analyse data would rather look than read. A chart is built from a tool's
result alone (never from the answer's text), so every mark on it is a figure a tool
computed; the chart names that tool call (``call_id``, and ``usermeta.call_id`` in the
spec) so a reader can open the call behind it. The kind follows what the result is:

* group comparisons (``query`` grouped by a category, ``group_by_aggregate``,
  ``top_categories``) - bars, sorted as the result is;
* time buckets (``query`` grouped by a bucketed date, ``time_series_trend``) - a line;
* a correlation matrix - a scatter of its strongest pair's sampled rows (the values
  the tool returns for it, never shown to the model), and a heatmap of the coefficients
  when there are more than two columns;
* distributions (``descriptive_statistics``) - a box per column from its quartiles;
* outliers (``outlier_detection``) - the outlying values as points, by row, between
  rules at the bounds they fell outside.

Data travels inline (``data.values``), so a spec renders anywhere with no request.
"""

from typing import Any, Literal, TypedDict

from sextant_contracts import tool_names
from sextant_contracts.analysis import MAX_CHARTS
from sextant_orchestrator.domain.state import ToolOutcome

VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
"""The ``$schema`` a spec names (an identifier: renderers ship the schema, none fetch it)."""
MAX_POINTS = 200
"""Marks per chart at most (a query result is 50 rows by default)."""

CHART_ONLY_KEYS = frozenset({"scatter"})
"""Result keys that only a chart draws: raw values sampled for a plot, not figures."""


def for_reading(result: Any) -> Any:
    """A tool result as a reader (the model, a citation) sees it: without what only a
    chart draws (raw values sampled for a plot are no figure to cite, and would crowd the
    figures out of any size cap)."""
    if not isinstance(result, dict):
        return result
    return {key: value for key, value in result.items() if key not in CHART_ONLY_KEYS}


ChartKind = Literal["bar", "line", "scatter", "heatmap", "box", "points"]


class ChartSpec(TypedDict):
    chart_id: str
    kind: ChartKind
    title: str
    call_id: str
    spec: dict[str, Any]


def charts_of(outcomes: list[ToolOutcome]) -> list[ChartSpec]:
    """The charts of each tool result that has a shape to show (one each; two for a
    correlation of three columns or more), in call order, numbered ``C1``, ``C2``... (at
    most :data:`MAX_CHARTS`)."""
    charts: list[ChartSpec] = []
    for outcome in outcomes:
        result = outcome["result"]
        if outcome["error"] is not None or not isinstance(result, dict):
            continue
        build = _BUILDERS.get(outcome["tool_name"])
        for kind, title, spec in build(outcome, result) if build else []:
            charts.append(_chart(f"C{len(charts) + 1}", outcome, kind, title, spec))
        if len(charts) >= MAX_CHARTS:
            break
    return charts[:MAX_CHARTS]


def _chart(
    chart_id: str, outcome: ToolOutcome, kind: ChartKind, title: str, spec: dict[str, Any]
) -> ChartSpec:
    call_id = outcome["call_id"]
    return {
        "chart_id": chart_id,
        "kind": kind,
        "title": title,
        "call_id": call_id,
        "spec": {
            "$schema": VEGA_LITE_SCHEMA,
            "title": title,
            "description": f"From tool call {call_id} ({outcome['tool_name']}).",
            "usermeta": {"call_id": call_id, "tool_name": outcome["tool_name"]},
            "width": 400,
            "height": 240,
            **spec,
        },
    }


Drawn = list[tuple[ChartKind, str, dict[str, Any]]]
"""What a result is drawn as: none, one or more charts."""


def _bars(values: list[dict[str, Any]], x: str, y: str, color: str | None = None) -> Any:
    encoding: dict[str, Any] = {
        "x": {"field": x, "type": "nominal", "sort": None},
        "y": {"field": y, "type": "quantitative"},
        "tooltip": [{"field": x}, {"field": y}],
    }
    if color is not None:
        encoding["color"] = {"field": color, "type": "nominal"}
        encoding["xOffset"] = {"field": color}
    return {"data": {"values": values[:MAX_POINTS]}, "mark": "bar", "encoding": encoding}


def _line(values: list[dict[str, Any]], x: str, y: str, x_type: str) -> Any:
    return {
        "data": {"values": values[:MAX_POINTS]},
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": {"field": x, "type": x_type, "sort": None},
            "y": {"field": y, "type": "quantitative"},
            "tooltip": [{"field": x}, {"field": y}],
        },
    }


def _query(outcome: ToolOutcome, result: dict[str, Any]) -> Drawn:
    keys = [str(k) for k in result.get("group_by") or []]
    measures = [str(m) for m in result.get("aggregates") or []]
    table = [r for r in result.get("table") or [] if isinstance(r, dict)]
    if not keys or not measures or not table or len(keys) > 2:
        return []
    measure = measures[0]
    grouped = outcome["arguments"].get("group_by") or []
    bucketed = any(isinstance(key, dict) and key.get("bucket") for key in grouped)
    title = f"{measure} by {' and '.join(keys)}"
    if bucketed and len(keys) == 1:
        ordered = sorted(table, key=lambda record: str(record.get(keys[0])))
        return [("line", title, _line(ordered, keys[0], measure, "ordinal"))]
    return [("bar", title, _bars(table, keys[0], measure, keys[1] if len(keys) == 2 else None))]


def _trend(outcome: ToolOutcome, result: dict[str, Any]) -> Drawn:
    series = [p for p in result.get("series") or [] if isinstance(p, dict)]
    if len(series) < 2:
        return []
    column = outcome["arguments"].get("value_column", "value")
    title = f"{result.get('aggregation', '')} {column} per {result.get('period', 'period')}"
    return [("line", title.strip(), _line(series, "period_start", "value", "temporal"))]


def _groups(outcome: ToolOutcome, result: dict[str, Any]) -> Drawn:
    groups = [g for g in result.get("groups") or [] if isinstance(g, dict)]
    values = [{**(g.get("keys") or {}), "value": g.get("value")} for g in groups]
    keys = list((groups[0].get("keys") or {}) if groups else {})
    if not values or not keys:
        return []
    title = f"{result.get('aggregation')} {result.get('metric')} by {', '.join(keys)}"
    return [("bar", title, _bars(values, keys[0], "value", keys[1] if len(keys) > 1 else None))]


def _categories(outcome: ToolOutcome, result: dict[str, Any]) -> Drawn:
    values = [v for v in result.get("values") or [] if isinstance(v, dict)]
    if not values:
        return []
    return [("bar", f"rows per {result.get('column')}", _bars(values, "value", "count"))]


def _correlations(outcome: ToolOutcome, result: dict[str, Any]) -> Drawn:
    """The strongest pair as a scatter of its sampled rows; the matrix as a heatmap when
    it has more to say than that one pair (three columns or more), or no pair was sampled."""
    matrix = result.get("matrix") or {}
    if len(matrix) < 2:
        return []
    method = str(result.get("method", "pearson"))
    drawn: Drawn = _scatter(result.get("scatter"), method)
    if len(matrix) > 2 or not drawn:
        drawn.append(("heatmap", f"{method} correlations", _heatmap(matrix)))
    return drawn


def _scatter(sample: Any, method: str) -> Drawn:
    if not isinstance(sample, dict):
        return []
    points = [p for p in sample.get("points") or [] if isinstance(p, list) and len(p) == 2]
    x, y = str(sample.get("x")), str(sample.get("y"))
    coefficient = sample.get("coefficient")
    if not points or not isinstance(coefficient, int | float):
        return []
    values = [{"x": first, "y": second} for first, second in points[:MAX_POINTS]]
    shown = f"{len(values)} of {sample.get('rows_with_both', len(values))} rows"
    title = f"{y} against {x} ({method} r = {coefficient:.3f}; {shown})"
    spec = {
        "data": {"values": values},
        "mark": {"type": "point", "filled": True, "opacity": 0.7},
        "encoding": {
            "x": {"field": "x", "type": "quantitative", "title": x, "scale": {"zero": False}},
            "y": {"field": "y", "type": "quantitative", "title": y, "scale": {"zero": False}},
            "tooltip": [{"field": "x", "title": x}, {"field": "y", "title": y}],
        },
    }
    return [("scatter", title, spec)]


def _heatmap(matrix: dict[str, Any]) -> dict[str, Any]:
    cells = [
        {"row": str(first), "column": str(second), "coefficient": value}
        for first, row in matrix.items()
        if isinstance(row, dict)
        for second, value in row.items()
    ]
    return {
        "data": {"values": cells[:MAX_POINTS]},
        "mark": "rect",
        "encoding": {
            "x": {"field": "column", "type": "nominal"},
            "y": {"field": "row", "type": "nominal"},
            "color": {
                "field": "coefficient",
                "type": "quantitative",
                "scale": {"domain": [-1, 1], "scheme": "redblue"},
            },
            "tooltip": [{"field": "row"}, {"field": "column"}, {"field": "coefficient"}],
        },
    }


_QUARTILES = ("min", "q25", "median", "q75", "max")


def _distributions(outcome: ToolOutcome, result: dict[str, Any]) -> Drawn:
    statistics = result.get("statistics") or {}
    boxes = [
        {"column": str(column), **{k: stats[k] for k in _QUARTILES}}
        for column, stats in statistics.items()
        if isinstance(stats, dict)
        and all(isinstance(stats.get(k), int | float) for k in _QUARTILES)
    ]
    if not boxes:
        return []
    x = {"field": "column", "type": "nominal"}
    spec = {
        "data": {"values": boxes[:MAX_POINTS]},
        "layer": [
            {
                "mark": "rule",
                "encoding": {
                    "x": x,
                    "y": {"field": "min", "type": "quantitative", "title": "value"},
                    "y2": {"field": "max"},
                },
            },
            {
                "mark": {"type": "bar", "size": 20},
                "encoding": {
                    "x": x,
                    "y": {"field": "q25", "type": "quantitative"},
                    "y2": {"field": "q75"},
                },
            },
            {
                "mark": {"type": "tick", "color": "white", "size": 20},
                "encoding": {"x": x, "y": {"field": "median", "type": "quantitative"}},
            },
        ],
    }
    return [("box", "distribution per column (min, quartiles, max)", spec)]


def _outliers(outcome: ToolOutcome, result: dict[str, Any]) -> Drawn:
    points = [p for p in result.get("outliers") or [] if isinstance(p, dict)]
    if not points:
        return []
    column = str(outcome["arguments"].get("column", "value"))
    bounds = result.get("bounds") or {}
    limits = [
        {"bound": name, "value": bounds[name]}
        for name in ("lower", "upper")
        if isinstance(bounds.get(name), int | float)
    ]
    layers: list[dict[str, Any]] = [
        {
            "data": {"values": points[:MAX_POINTS]},
            "mark": {"type": "point", "filled": True},
            "encoding": {
                "x": {"field": "row", "type": "quantitative", "title": "row"},
                "y": {"field": "value", "type": "quantitative", "title": column},
                "tooltip": [{"field": "row"}, {"field": "value"}],
            },
        }
    ]
    if limits:
        layers.append(
            {
                "data": {"values": limits},
                "mark": {"type": "rule", "strokeDash": [4, 4]},
                "encoding": {"y": {"field": "value", "type": "quantitative"}},
            }
        )
    title = (
        f"{result.get('outlier_count', len(points))} outliers of {column} ({result.get('method')})"
    )
    return [("points", title, {"layer": layers})]


_BUILDERS: dict[str, Any] = {
    tool_names.OUTLIER_DETECTION: _outliers,
    tool_names.QUERY: _query,
    tool_names.TIME_SERIES_TREND: _trend,
    tool_names.GROUP_BY_AGGREGATE: _groups,
    tool_names.TOP_CATEGORIES: _categories,
    tool_names.CORRELATION_MATRIX: _correlations,
    tool_names.DESCRIPTIVE_STATISTICS: _distributions,
}
