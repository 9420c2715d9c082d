"""The offline planner: a question and a dataset profile in, tool calls out.

Used when the model cannot call tools (the embedded default). The intent comes from the
question's wording ("which ... highest", "how many", "average", "correlate", "per
month", "outliers", "missing"); the columns and filters from :mod:`question_reading`.
Deterministic, so the same question on the same data always gets the same plan.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from sextant_contracts import tool_names
from sextant_orchestrator.domain.default_plan import default_plan
from sextant_orchestrator.domain.question_reading import (
    Meanings,
    QuestionReading,
    column_words,
    read_question,
    stem,
)

IntentKind = Literal[
    "argmax",
    "argmin",
    "top_n",
    "count",
    "distinct",
    "aggregate",
    "correlation",
    "trend",
    "outliers",
    "missing",
    "unresolved",
    "overview",
]

HIGH = (
    r"highest|most|largest|biggest|greatest|max(?:imum)?|top|best|warmest|hottest|heaviest"
    r"|longest|richest|rainiest|windiest|oldest|fastest|more"
)
LOW = (
    r"lowest|least|smallest|fewest|min(?:imum)?|worst|bottom|coldest|coolest|lightest"
    r"|shortest|poorest|cheapest|youngest|slowest|less"
)
OVERVIEW_CALLS = 3
NUMBER_WORDS = {
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}
BUCKETS = {
    "year": (
        r"\b(?:per|by|each|every|a|over the) years?\b|\byearly\b|\bannual(?:ly)?\b"
        r"|\bover time\b|\btrend\b"
    ),
    "quarter": r"\b(?:per|by|each|every|a) quarters?\b|\bquarterly\b",
    "month": r"\b(?:per|by|each|every|a) months?\b|\bmonthly\b",
    "week": r"\b(?:per|by|each|every|a) weeks?\b|\bweekly\b",
    "weekday": r"\bweekdays?\b|\bday of (?:the )?week\b",
    "day": r"\b(?:per|by|each|every|a) days?\b|\bdaily\b",
    "hour": r"\b(?:per|by|each|every|an) hours?\b|\bhourly\b|\bhour of (?:the )?day\b",
}


@dataclass
class Intent:
    """What the question asks, in terms the answer composer can phrase."""

    kind: IntentKind
    measure: str | None = None
    aggregation: str = "count"
    group: str | None = None
    bucket: str | None = None
    limit: int = 1
    filters: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""
    read_as: dict[str, str] = field(default_factory=dict)
    """Words of the question no column spells, and the column taken for each by meaning."""

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "Intent":
        """Back from the checkpointed state (:meth:`as_dict`)."""
        known = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "measure": self.measure,
            "aggregation": self.aggregation,
            "group": self.group,
            "bucket": self.bucket,
            "limit": self.limit,
            "filters": self.filters,
            "note": self.note,
            "read_as": self.read_as,
        }


@dataclass
class OfflinePlan:
    intent: Intent
    calls: list[dict[str, Any]]
    """Tool calls as (tool_name, arguments) dicts; call ids are given by the workflow."""


def plan_question(
    question: str,
    profile: dict[str, Any],
    meanings: Meanings | None = None,
    earlier: Sequence[str] = (),
) -> OfflinePlan:
    """The tool calls that answer ``question`` on the profiled dataset; ``meanings``
    (see :func:`read_question`) let a column stand for a word no column spells.

    ``earlier``: the questions asked before it in its thread, oldest first. A follow-up
    that asks nothing of its own ("and for the West only?", "what about 2024?") asks the
    previous question again with its filters added to the previous ones (a filter on
    the same column replaces the earlier one); the previous question is read the same
    way, so a third turn carries the filters of the first two."""
    reading = read_question(question, profile, meanings)
    intent = _intent(question.lower(), reading)
    if earlier and _continues(question.lower(), intent):
        previous = plan_question(earlier[-1], profile, meanings, earlier[:-1]).intent
        if previous.kind not in ("unresolved", "overview"):
            intent = _carried(previous, intent.filters)
    intent.read_as = dict(reading.read_as)
    calls = _calls(intent, reading)
    if not calls and intent.kind == "overview":
        intent.measure = None
        calls = [
            {"tool_name": c["tool_name"], "arguments": c["arguments"]}
            for c in default_plan(profile, max_calls=OVERVIEW_CALLS)
        ]
    return OfflinePlan(intent=intent, calls=calls)


def _continues(text: str, intent: Intent) -> bool:
    """Asks nothing of its own: only filters (read as a count of the rows they keep when
    standing alone), or nothing the planner reads at all."""
    if intent.kind == "overview":
        return True
    return intent.kind == "count" and not _has(r"how many|number of|\bcount\b", text)


def _carried(previous: Intent, filters: list[dict[str, Any]]) -> Intent:
    replaced = {f["column"] for f in filters}
    kept = [f for f in previous.filters if f["column"] not in replaced]
    return replace(previous, filters=kept + filters, read_as={})


def _has(pattern: str, text: str) -> bool:
    return re.search(pattern, text) is not None


def _aggregation(text: str, default: str) -> str:
    if _has(r"\baverage|\bmean\b|\btypical|\bon average\b|\bper capita\b", text):
        return "mean"
    if _has(r"\bmedian\b", text):
        return "median"
    if _has(r"\btotal\b|\bsum\b|\boverall\b|\bcombined\b|\bin all\b", text):
        return "sum"
    if _has(r"\bminimum\b|\bmin\b|\bsmallest value\b", text):
        return "min"
    if _has(r"\bmaximum\b|\bmax\b|\blargest value\b", text):
        return "max"
    return default


def _top_n(text: str) -> int | None:
    match = re.search(r"\b(?:top|bottom|first)\s+(\d+|" + "|".join(NUMBER_WORDS) + r")\b", text)
    match = match or re.search(
        r"\b(\d+|" + "|".join(NUMBER_WORDS) + r")\s+(?:" + HIGH + "|" + LOW + r")\b", text
    )
    if not match:
        return None
    raw = match.group(1)
    return int(raw) if raw.isdigit() else NUMBER_WORDS[raw]


def _intent(text: str, reading: QuestionReading) -> Intent:
    numeric = [c for c in reading.named("numeric") if c not in reading.filtered_columns]
    categorical = [
        c
        for c in reading.named("categorical", "boolean", "text")
        if c not in reading.filtered_columns
    ]
    filters = reading.filters
    unknown = reading.unknown_measures + (reading.unknown_terms if not filters else [])
    if unknown:
        return Intent(kind="unresolved", note=", ".join(unknown))
    if (
        _has(r"correlat|relat|associat|linked|connected|\bvs\.?\b|versus", text)
        and len(numeric) >= 2
    ):
        return Intent(kind="correlation", measure=numeric[0], group=numeric[1], filters=filters)
    if _has(r"outlier|anomal|unusual|extreme", text):
        return Intent(kind="outliers", measure=_first(numeric), filters=filters)
    if _has(r"\bmissing\b|\bnull|\bempty\b|\bblank\b|\bno value", text):
        return Intent(kind="missing", measure=_first(numeric + categorical), filters=filters)
    if _has(
        r"how many (?:distinct|different|unique)|number of (?:distinct|different|unique)", text
    ) or (_has(r"how many\b", text) and categorical and _mentions_plural(text, categorical[0])):
        return Intent(kind="distinct", measure=_first(categorical), filters=filters)
    bucket = next((b for b, pattern in BUCKETS.items() if _has(pattern, text)), None)
    time_column = _time_column(reading)
    if bucket and time_column:
        return Intent(
            kind="trend",
            measure=_first(numeric, exclude={time_column}),
            aggregation=_aggregation(text, "sum"),
            group=time_column,
            bucket=bucket,
            filters=filters,
        )
    high, low = _has(rf"\b(?:{HIGH})\b", text), _has(rf"\b(?:{LOW})\b", text)
    asks_which = _has(r"\bwhich\b|\bwhat\b|\bwho\b|\bwhere\b|\bname\b|\blist\b|\btop\b", text)
    top = _top_n(text)
    which_period = re.search(
        r"\b(?:which|what)\s+(year|quarter|month|week|weekday|day|hour)\b", text
    )
    if which_period and (high or low) and time_column:
        measure = _first(numeric, exclude={time_column})
        return Intent(
            kind="argmin" if low and not high else "argmax",
            measure=measure,
            aggregation=_aggregation(text, "sum") if measure else "count",
            group=time_column,
            bucket=which_period.group(1),
            filters=filters,
        )
    group = _group_column(text, categorical, reading)
    if (high or low) and asks_which and group:
        measure = _first(numeric)
        default = "sum" if measure else "count"
        return Intent(
            kind="top_n" if top and top > 1 else ("argmin" if low and not high else "argmax"),
            measure=measure,
            aggregation=_aggregation(text, default) if measure else "count",
            group=group,
            limit=top or 1,
            filters=filters,
        )
    if _has(r"how many|number of|\bcount\b", text):
        return Intent(kind="count", filters=filters)
    aggregation = _aggregation(text, "")
    if not aggregation:
        if high:
            aggregation = "max"
        elif low:
            aggregation = "min"
    if aggregation and numeric:
        by = group if _has(r"\b(?:by|per|for each|each|across)\b", text) else None
        return Intent(
            kind="aggregate",
            measure=numeric[0],
            aggregation=aggregation,
            group=by,
            limit=50 if by else 1,
            filters=filters,
        )
    if filters:
        return Intent(kind="count", filters=filters)
    return Intent(kind="overview", measure=_first(numeric), filters=filters)


def _first(candidates: list[str], *, exclude: set[str] | None = None) -> str | None:
    """The best candidate not excluded (None when there is none)."""
    for column in candidates:
        if column not in (exclude or set()):
            return column
    return None


def _mentions_plural(text: str, column: str) -> bool:
    """How many species ...: distinct values of ``species``; "how many penguins weigh
    ..." counts rows."""
    match = re.search(r"how many (\w+)", text)
    if not match:
        return False
    asked = stem(match.group(1))
    return any(stem(w) == asked for w in column_words(column) if len(w) > 2)


def _time_column(reading: QuestionReading) -> str | None:
    dates = reading.named("datetime") or reading.of_kind("datetime")
    if dates:
        return dates[0]
    years = [c for c in reading.of_kind("numeric") if c.lower() in ("year", "yr", "years")]
    return years[0] if years else None


def _group_column(text: str, categorical: list[str], reading: QuestionReading) -> str | None:
    """The column whose values answer "which ...": the one named after "which"/"what"/
    "per"/"by", else the best-named categorical column, else (for a "which" question)
    the only low-cardinality one. "What was the highest wind?" names none: no grouping."""
    candidates = [
        c
        for c in reading.of_kind("categorical", "boolean", "text")
        if c not in reading.filtered_columns
    ]
    for match in re.finditer(r"\b(?:which|what|each|per|by|every)\s+(\w+)", text):
        asked = stem(match.group(1))
        for column in candidates:
            if asked in {stem(w) for w in column_words(column)}:
                return column
    if categorical:
        return categorical[0]
    if not _has(r"\bwhich\b|\bwho\b|\bwhere\b", text):
        return None
    groupable = [c for c in candidates if 1 < reading.columns[c].distinct <= 500]
    return groupable[0] if groupable else None


def _calls(intent: Intent, reading: QuestionReading) -> list[dict[str, Any]]:
    filters = intent.filters
    with_filters: dict[str, Any] = {"filters": filters} if filters else {}
    if intent.kind in ("argmax", "argmin", "top_n"):
        aggregates = [{"fn": "count"}]
        if intent.measure:
            aggregates = [{"fn": intent.aggregation, "column": intent.measure}, {"fn": "count"}]
        key: str | dict[str, str] = intent.group or ""
        if intent.bucket:
            key = {"column": intent.group or "", "bucket": intent.bucket}
        return [
            _query(
                group_by=[key],
                aggregates=aggregates,
                descending=intent.kind != "argmin",
                limit=max(intent.limit, 5),
                share_of_total=intent.aggregation in ("sum", "count"),
                **with_filters,
            )
        ]
    if intent.kind == "count":
        return [_query(aggregates=[{"fn": "count"}], **with_filters)]
    if intent.kind == "distinct" and intent.measure:
        return [
            _query(aggregates=[{"fn": "nunique", "column": intent.measure}], **with_filters),
            {
                "tool_name": tool_names.TOP_CATEGORIES,
                "arguments": {"column": intent.measure, **with_filters},
            },
        ]
    if intent.kind == "aggregate" and intent.measure:
        return [
            _query(
                group_by=[intent.group] if intent.group else [],
                aggregates=[{"fn": intent.aggregation, "column": intent.measure}, {"fn": "count"}],
                limit=intent.limit,
                **with_filters,
            )
        ]
    if intent.kind == "trend" and intent.group:
        aggregates = [{"fn": "count"}]
        if intent.measure:
            aggregates = [{"fn": intent.aggregation, "column": intent.measure}, {"fn": "count"}]
        key = {"column": intent.group, "bucket": intent.bucket or "year"}
        name = f"{intent.group}_{intent.bucket}"
        return [
            _query(
                group_by=[key],
                aggregates=aggregates,
                sort_by=name,
                descending=False,
                limit=200,
                **with_filters,
            )
        ]
    if intent.kind == "correlation" and intent.measure and intent.group:
        return [
            {
                "tool_name": tool_names.CORRELATION_MATRIX,
                "arguments": {"columns": [intent.measure, intent.group], **with_filters},
            }
        ]
    if intent.kind == "outliers" and intent.measure:
        return [
            {
                "tool_name": tool_names.OUTLIER_DETECTION,
                "arguments": {"column": intent.measure, "method": "iqr", **with_filters},
            }
        ]
    if intent.kind == "missing":
        columns = [intent.measure] if intent.measure else list(reading.columns)
        return [
            _query(
                aggregates=[{"fn": "nulls", "column": c} for c in columns[:10]] + [{"fn": "count"}],
                **with_filters,
            )
        ]
    if intent.kind == "overview" and intent.measure:
        return [
            {
                "tool_name": tool_names.DESCRIPTIVE_STATISTICS,
                "arguments": {"columns": [intent.measure], **with_filters},
            }
        ]
    return []


def _query(**arguments: Any) -> dict[str, Any]:
    return {"tool_name": tool_names.QUERY, "arguments": arguments}
