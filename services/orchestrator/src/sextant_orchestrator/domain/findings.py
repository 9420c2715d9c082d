"""Findings: what a tool result says, one statement each, with the path to every value.

A finding is the unit an answer cites: "Gentoo: mean body_mass_g = 5076.02" with the
tool call that computed it (``T1``) and where each value sits in that result
(``table[0].mean_body_mass_g``), so a reader (or a check) can find the figure.
"""

from typing import Any, TypedDict

from sextant_contracts import tool_names
from sextant_orchestrator.domain.state import ToolOutcome

MAX_FINDINGS_PER_RESULT = 10


class Finding(TypedDict):
    statement: str
    values: dict[str, Any]
    paths: dict[str, str]
    call_id: str
    tool_name: str


def format_value(value: Any) -> str:
    """A figure as an answer writes it: integers whole, others to 4 significant places
    past the point at most (the grounding check accepts such roundings)."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return format_value(int(value))
        magnitude = abs(value)
        if magnitude >= 100:
            return f"{value:,.2f}" if magnitude >= 10_000 else f"{value:.2f}"
        if magnitude >= 1:
            return f"{value:.3f}".rstrip("0").rstrip(".")
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


def findings_of(outcome: ToolOutcome) -> list[Finding]:
    """The findings of one successful tool result (none for an error)."""
    result = outcome["result"]
    if outcome["error"] is not None or not isinstance(result, dict):
        return []
    name = outcome["tool_name"]
    if name == tool_names.QUERY:
        return _query_findings(outcome, result)
    if name == tool_names.CORRELATION_MATRIX:
        return _correlation_findings(outcome, result)
    if name == tool_names.OUTLIER_DETECTION:
        return _outlier_findings(outcome, result)
    if name == tool_names.TOP_CATEGORIES:
        return _category_findings(outcome, result)
    if name in (tool_names.DESCRIPTIVE_STATISTICS, tool_names.PROFILE_DATASET):
        return _statistics_findings(outcome, result)
    if name == tool_names.GROUP_BY_AGGREGATE:
        return _group_findings(outcome, result)
    if name == tool_names.TIME_SERIES_TREND:
        return _trend_findings(outcome, result)
    return []


def _finding(
    outcome: ToolOutcome, statement: str, values: dict[str, Any], paths: dict[str, str]
) -> Finding:
    return {
        "statement": statement,
        "values": values,
        "paths": paths,
        "call_id": outcome["call_id"],
        "tool_name": outcome["tool_name"],
    }


def _query_findings(outcome: ToolOutcome, result: dict[str, Any]) -> list[Finding]:
    keys: list[str] = list(result.get("group_by") or [])
    findings = []
    for index, record in enumerate((result.get("table") or [])[:MAX_FINDINGS_PER_RESULT]):
        if not isinstance(record, dict):
            continue
        label = ", ".join(f"{k} = {record.get(k)}" for k in keys)
        measures = {k: v for k, v in record.items() if k not in keys}
        text = "; ".join(f"{k} = {format_value(v)}" for k, v in measures.items())
        findings.append(
            _finding(
                outcome,
                f"{label}: {text}" if label else text,
                dict(record),
                {k: f"table[{index}].{k}" for k in record},
            )
        )
    return findings


def _correlation_findings(outcome: ToolOutcome, result: dict[str, Any]) -> list[Finding]:
    matrix = result.get("matrix") or {}
    columns = list(matrix)
    findings = []
    for i, first in enumerate(columns):
        for second in columns[i + 1 :]:
            value = (matrix.get(first) or {}).get(second)
            findings.append(
                _finding(
                    outcome,
                    f"{result.get('method', 'pearson')} correlation of {first} and {second} "
                    f"= {format_value(value)}",
                    {"correlation": value},
                    {"correlation": f"matrix.{first}.{second}"},
                )
            )
    return findings[:MAX_FINDINGS_PER_RESULT]


def _outlier_findings(outcome: ToolOutcome, result: dict[str, Any]) -> list[Finding]:
    count = result.get("outlier_count")
    column = result.get("column") or outcome["arguments"].get("column")
    return [
        _finding(
            outcome,
            f"{column}: {format_value(count)} outliers ({result.get('method')})",
            {"outlier_count": count},
            {"outlier_count": "outlier_count"},
        )
    ]


def _category_findings(outcome: ToolOutcome, result: dict[str, Any]) -> list[Finding]:
    findings = [
        _finding(
            outcome,
            f"{result.get('column')}: {result.get('distinct')} distinct values",
            {"distinct": result.get("distinct")},
            {"distinct": "distinct"},
        )
    ]
    for index, item in enumerate((result.get("values") or [])[:5]):
        findings.append(
            _finding(
                outcome,
                f"{result.get('column')} = {item.get('value')}: {item.get('count')} rows",
                dict(item),
                {k: f"values[{index}].{k}" for k in item},
            )
        )
    return findings


def _statistics_findings(outcome: ToolOutcome, result: dict[str, Any]) -> list[Finding]:
    findings = []
    for column, stats in list((result.get("statistics") or {}).items())[:MAX_FINDINGS_PER_RESULT]:
        if not isinstance(stats, dict):
            continue
        chosen = {k: stats.get(k) for k in ("mean", "median", "min", "max", "count")}
        findings.append(
            _finding(
                outcome,
                f"{column}: " + ", ".join(f"{k} = {format_value(v)}" for k, v in chosen.items()),
                chosen,
                {k: f"statistics.{column}.{k}" for k in chosen},
            )
        )
    return findings


def _group_findings(outcome: ToolOutcome, result: dict[str, Any]) -> list[Finding]:
    label = f"{result.get('aggregation')} {result.get('metric')}"
    findings = []
    for index, group in enumerate((result.get("groups") or [])[:MAX_FINDINGS_PER_RESULT]):
        keys = ", ".join(f"{k} = {v}" for k, v in (group.get("keys") or {}).items())
        findings.append(
            _finding(
                outcome,
                f"{keys}: {label} = {format_value(group.get('value'))}",
                {"value": group.get("value")},
                {"value": f"groups[{index}].value"},
            )
        )
    return findings


def _trend_findings(outcome: ToolOutcome, result: dict[str, Any]) -> list[Finding]:
    values = {"slope_per_period": result.get("slope_per_period")}
    values["growth_rate"] = result.get("growth_rate")
    return [
        _finding(
            outcome,
            f"per {result.get('period')}: slope {format_value(values['slope_per_period'])}, "
            f"growth from first to last {format_value(values['growth_rate'])}",
            values,
            {k: k for k in values},
        )
    ]
