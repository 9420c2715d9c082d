"""Answers written from findings, not by a model: every figure and name comes from a
tool result and carries its citation.

Used with the embedded default model, which cannot be trusted to copy a figure (a 135M
model answered "around 170 grams ... 59 kilograms" for a 5076 g mean). The sentences are
plain and the same for any dataset: the intent decides the lead sentence, the findings
supply the figures.
"""

import difflib
from typing import Any

from sextant_contracts import tool_names
from sextant_orchestrator.domain.findings import findings_of, format_value
from sextant_orchestrator.domain.question_planner import Intent
from sextant_orchestrator.domain.question_reading import QuestionReading
from sextant_orchestrator.domain.state import ToolOutcome

AGGREGATION_WORDS = {
    "sum": "total",
    "mean": "average",
    "median": "median",
    "min": "minimum",
    "max": "maximum",
    "count": "number of rows",
    "std": "standard deviation",
}
MAX_LISTED = 5


def describe_filters(filters: list[dict[str, Any]]) -> str:
    """ " where species = Gentoo and year = 2008" (empty without filters)."""
    parts = []
    for f in filters:
        value = f.get("value")
        op = f.get("op", "==")
        if op == "between" and isinstance(value, list):
            parts.append(f"{f['column']} between {value[0]} and {value[1]}")
        elif op == "in" and isinstance(value, list):
            parts.append(f"{f['column']} in {', '.join(map(str, value))}")
        else:
            parts.append(f"{f['column']} {'=' if op == '==' else op} {value}")
    return f" where {' and '.join(parts)}" if parts else ""


def compose_answer(intent: Intent, outcomes: list[ToolOutcome]) -> str:
    """The answer to ``intent`` from the outcomes of its plan (profile T0 excluded),
    saying first which column stands for a word the data does not spell."""
    readings = "".join(
        f'No column is named "{word}"; read as {column}, the closest in meaning. '
        for word, column in intent.read_as.items()
    )
    return readings + _answer(intent, outcomes)


def _answer(intent: Intent, outcomes: list[ToolOutcome]) -> str:
    planned = [o for o in outcomes if o["call_id"] != "T0"]
    failed = [o for o in planned if o["error"] is not None]
    done = [o for o in planned if o["error"] is None and isinstance(o["result"], dict)]
    if not done:
        if failed:
            return " ".join(
                f"The calculation could not be done: {o['error']} [{o['call_id']}]." for o in failed
            )
        return "No calculation on this dataset answers the question."
    if intent.kind == "overview":
        return _overview(done)
    first = done[0]
    result: dict[str, Any] = first["result"] or {}
    cite = f"[{first['call_id']}]"
    where = describe_filters(intent.filters)
    if first["tool_name"] == tool_names.QUERY:
        return _from_query(intent, result, cite, where)
    if first["tool_name"] == tool_names.CORRELATION_MATRIX:
        matrix = result.get("matrix") or {}
        value = (matrix.get(intent.measure) or {}).get(intent.group)
        return (
            f"The {result.get('method', 'pearson')} correlation between {intent.measure} and "
            f"{intent.group}{where} is {format_value(value)} {cite} ({_strength(value)}), over "
            f"{format_value(result.get('rows'))} rows."
        )
    if first["tool_name"] == tool_names.OUTLIER_DETECTION:
        bounds = result.get("bounds") or {}
        extra = ""
        if "lower" in bounds:
            extra = (
                f", outside {format_value(bounds.get('lower'))} to "
                f"{format_value(bounds.get('upper'))}"
            )
        return (
            f"{intent.measure} has {format_value(result.get('outlier_count'))} outliers{where} "
            f"by the {result.get('method')} rule{extra} {cite}, out of "
            f"{format_value(result.get('rows_considered'))} values."
        )
    if first["tool_name"] == tool_names.DESCRIPTIVE_STATISTICS:
        stats = (result.get("statistics") or {}).get(intent.measure) or {}
        return (
            f"{intent.measure}{where}: mean {format_value(stats.get('mean'))}, median "
            f"{format_value(stats.get('median'))}, from {format_value(stats.get('min'))} to "
            f"{format_value(stats.get('max'))} over {format_value(stats.get('count'))} values "
            f"{cite}."
        )
    return f"See the result of {first['tool_name']} {cite}."


def _overview(done: list[ToolOutcome]) -> str:
    """No single figure was asked for: the main findings of each result, cited."""
    sentences = []
    for outcome in done:
        for finding in findings_of(outcome)[:3]:
            sentences.append(f"{finding['statement']} [{finding['call_id']}].")
    return " ".join(sentences) or "The calculations returned nothing to report."


def _strength(value: Any) -> str:
    if not isinstance(value, int | float):
        return "not computable"
    size = abs(value)
    strength = (
        "very strong"
        if size >= 0.8
        else "strong"
        if size >= 0.6
        else "moderate"
        if size >= 0.4
        else "weak"
        if size >= 0.2
        else "very weak or none"
    )
    return f"{strength}, {'positive' if value > 0 else 'negative' if value < 0 else 'no'} relation"


def _from_query(intent: Intent, result: dict[str, Any], cite: str, where: str) -> str:
    table: list[dict[str, Any]] = [r for r in result.get("table") or [] if isinstance(r, dict)]
    keys: list[str] = list(result.get("group_by") or [])
    aggregates: list[str] = list(result.get("aggregates") or [])
    if not table:
        return f"No rows match{where} {cite}."
    if intent.kind in ("argmax", "argmin", "top_n") and keys:
        return _ranking(intent, table, keys[0], aggregates[0], result, cite, where)
    if intent.kind == "trend" and keys:
        return _series(intent, table, keys[0], aggregates[0], cite, where)
    if intent.kind == "count":
        return f"{format_value(table[0].get('count'))} rows{where or ' in all'} {cite}."
    if intent.kind == "distinct":
        return (
            f"{intent.measure} has {format_value(table[0].get(aggregates[0]))} distinct "
            f"values{where} {cite}."
        )
    if intent.kind == "missing":
        parts = [
            f"{name.removeprefix('nulls_')}: {format_value(table[0].get(name))}"
            for name in aggregates
            if name.startswith("nulls_")
        ]
        rows = format_value(table[0].get("count"))
        return f"Missing values{where}: {'; '.join(parts)} {cite}, of {rows} rows."
    if keys:
        listed = "; ".join(
            f"{row.get(keys[0])}: {format_value(row.get(aggregates[0]))}" for row in table[:10]
        )
        return f"{_label(aggregates[0])} by {keys[0]}{where}: {listed} {cite}."
    return (
        f"The {_label(aggregates[0])}{where} is {format_value(table[0].get(aggregates[0]))} "
        f"{cite}, over {format_value(table[0].get('count', result.get('rows')))} rows."
    )


def _label(aggregate: str) -> str:
    """ "sum_sales" → "total sales"; "count" → "number of rows"."""
    fn, _, column = aggregate.partition("_")
    if not column:
        return AGGREGATION_WORDS.get(fn, fn)
    return f"{AGGREGATION_WORDS.get(fn, fn)} {column}"


def _ranking(
    intent: Intent,
    table: list[dict[str, Any]],
    key: str,
    measure: str,
    result: dict[str, Any],
    cite: str,
    where: str,
) -> str:
    label = _label(measure)
    if intent.kind == "top_n":
        listed = ", ".join(
            f"{row.get(key)} ({format_value(row.get(measure))})" for row in table[: intent.limit]
        )
        side = "highest" if result.get("descending", True) else "lowest"
        return f"The {intent.limit} {key} values with the {side} {label}{where}: {listed} {cite}."
    top = table[0]
    side = "lowest" if intent.kind == "argmin" else "highest"
    sentence = (
        f"{top.get(key)} has the {side} {label}{where}: {format_value(top.get(measure))} {cite}"
    )
    share = top.get(f"{measure}_share")
    if isinstance(share, int | float):
        sentence += f", {format_value(share * 100)}% of the total"
    sentence += "."
    others = table[1:MAX_LISTED]
    if others:
        listed = ", ".join(f"{row.get(key)} {format_value(row.get(measure))}" for row in others)
        sentence += f" Next: {listed} {cite}."
    return sentence


def _series(
    intent: Intent, table: list[dict[str, Any]], key: str, measure: str, cite: str, where: str
) -> str:
    label = _label(measure)
    listed = "; ".join(f"{row.get(key)}: {format_value(row.get(measure))}" for row in table[:24])
    more = f" (and {len(table) - 24} more)" if len(table) > 24 else ""
    peak = max(
        (r for r in table if isinstance(r.get(measure), int | float)),
        key=lambda r: r[measure],
        default=None,
    )
    sentence = f"{label.capitalize()} per {intent.bucket}{where}: {listed}{more} {cite}."
    if peak is not None and len(table) > 1:
        sentence += f" The highest is {peak.get(key)} ({format_value(peak.get(measure))}) {cite}."
    return sentence


def compose_unresolved(reading: QuestionReading, terms: list[str]) -> str:
    """The answer when the question names something the data does not hold: say so and
    list the nearest real columns and values, instead of computing a figure about
    something else."""
    names = list(reading.columns)
    values = [str(v) for info in reading.columns.values() for v in info.values]
    parts = []
    for term in terms:
        near_columns = reading.nearest_in_meaning.get(term) or difflib.get_close_matches(
            term.lower(), names, n=3, cutoff=0.4
        )
        near_values = difflib.get_close_matches(term, values, n=3, cutoff=0.5)
        nearest = [*near_columns, *near_values]
        hint = f" (nearest: {', '.join(nearest)})" if nearest else ""
        parts.append(f'"{term}"{hint}')
    held = [
        f"{info.name} ({', '.join(map(str, info.values[:8]))})"
        for info in reading.columns.values()
        if info.values
    ]
    return (
        f"The dataset holds no {'; no '.join(parts)}: no column or value of that name, so "
        f"nothing was computed for it. Its columns are: {', '.join(names)}."
        + (f" Values it holds: {'; '.join(held[:5])}." if held else "")
    )
