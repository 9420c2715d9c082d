"""Which numbers in an answer no tool result, passage or the question contains.

Why: the rule is that agents never compute numbers in their heads, and the prompt says
so, but a prompt is a request, not a guarantee (the embedded 135M-parameter model writes
years and counts that exist nowhere). The answer is checked after the fact: every number
written in it must be one of the evidence's numbers, as written or rounded (664.896 may
appear as 664.9 or 665; a share 0.283 as 28.3%). What fails the check is reported with the
answer, so a reader knows which figures to distrust.

Plain text matching, on purpose: numbers spelled as words ("two million") and figures
glued to letters ("Q3", "10x") are not checked, and integers up to ``SMALL_INTEGER`` are
let through (list items, "the 3 regions"); the check flags what it can read, it does not
prove an answer right.
"""

import math
import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

SMALL_INTEGER = 10

CITATION = re.compile(r"\[((?:T|D)\d+)\]")
"""A citation marker in an answer: [T<n>] cites a tool call, [D<n>] a passage."""
_NUMBER = re.compile(
    r"(?<![\w.,])"  # not the tail of a word, a decimal or a grouped number
    r"(?P<sign>[-\u2212]?)"  # ASCII hyphen or the minus sign
    r"(?P<digits>\d{1,3}(?:,\d{3})+|\d+)"
    r"(?:\.(?P<decimals>\d+))?"
    r"(?P<percent>\s?%)?"
    r"(?![\w%])"
    r"(?!\.\d)"
)


@dataclass(frozen=True, slots=True)
class NumberMention:
    """A number as the answer writes it: its text, value, decimals shown, and a % sign."""

    text: str
    value: float
    decimals: int
    percent: bool

    def found_in(self, known: list[float]) -> bool:
        """Some number of ``known`` (sorted) rounds to this one; for a percentage, also
        some number x 100 (a share of 0.283 written as 28.3%)."""
        tolerance = 0.5 * 10.0**-self.decimals * (1 + 1e-9)
        ranges = [(self.value - tolerance, self.value + tolerance)]
        if self.percent:
            ranges.append(((self.value - tolerance) / 100, (self.value + tolerance) / 100))
        for low, high in ranges:
            index = bisect_left(known, low)
            if index < len(known) and known[index] <= high:
                return True
        return False


def mentions(text: str) -> list[NumberMention]:
    """The numbers written in ``text``, citation markers ([T1], [D2]) left out."""
    found = []
    for match in _NUMBER.finditer(CITATION.sub(" ", text)):
        decimals = match["decimals"] or ""
        digits = match["digits"].replace(",", "")
        magnitude = float(f"{digits}.{decimals}" if decimals else digits)
        found.append(
            NumberMention(
                text=match.group().strip(),
                value=-magnitude if match["sign"] else magnitude,
                decimals=len(decimals),
                percent=bool(match["percent"]),
            )
        )
    return found


def numbers_in(evidence: object) -> Iterator[float]:
    """Every finite number in a JSON-like value: its numbers and those written in its text."""
    if isinstance(evidence, bool):
        return
    if isinstance(evidence, int | float):
        if math.isfinite(evidence):
            yield float(evidence)
    elif isinstance(evidence, str):
        yield from (mention.value for mention in mentions(evidence))
    elif isinstance(evidence, dict):
        for key, value in evidence.items():
            yield from numbers_in(key)
            yield from numbers_in(value)
    elif isinstance(evidence, list | tuple):
        for item in evidence:
            yield from numbers_in(item)


def _trivial(mention: NumberMention) -> bool:
    return not mention.percent and mention.decimals == 0 and abs(mention.value) <= SMALL_INTEGER


def ungrounded_numbers(answer: str, evidence: Iterable[object]) -> list[str]:
    """The numbers of ``answer`` that match no number of ``evidence``, in order, once each."""
    known = sorted(set(numbers_in(list(evidence))))
    missing: dict[str, None] = {}
    for mention in mentions(answer):
        if _trivial(mention) or mention.text in missing:
            continue
        if not mention.found_in(known):
            missing[mention.text] = None
    return list(missing)


_NAME = re.compile(
    r"\"(?P<quoted>[^\"\n]{1,80})\""  # "quoted values"
    r"|(?P<snake>\b[A-Za-z][A-Za-z0-9]*_[A-Za-z0-9_]+\b)"  # column_like_names
    r"|(?P<proper>\b[A-Z][a-zA-Z]*(?:['\-][A-Za-z]+)*(?:\s+[A-Z][a-zA-Z]*(?:['\-][A-Za-z]+)*)*)"
)
COMMON_CAPITALISED = frozenset(
    "I A The This That These Those It Its There Their They We You He She Next See Note "
    "However Overall Also And But Or So Yes No Not Based According Data Dataset Table "
    "Total Average Mean Median Sum Count Missing Values Rows Column Columns".lower().split()
)


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z0-9]*(?:['\-][A-Za-z0-9]+)*", text)}


def _texts_in(evidence: object) -> Iterator[str]:
    if isinstance(evidence, str):
        yield evidence
    elif isinstance(evidence, dict):
        for key, value in evidence.items():
            yield str(key)
            yield from _texts_in(value)
    elif isinstance(evidence, list | tuple):
        for item in evidence:
            yield from _texts_in(item)


def ungrounded_names(answer: str, evidence: Iterable[object]) -> list[str]:
    """Names the answer states that no evidence contains: quoted values, column-like
    ``snake_case`` names, and capitalised words inside a sentence ("East Africa" when the
    data's regions are North, South and East). A name counts as found when each of its
    words appears in some evidence text, in any case."""
    texts = list(_texts_in(list(evidence)))
    known_words: set[str] = set()
    known_lower = []
    for text in texts:
        known_words |= _words(text)
        known_lower.append(text.lower())
    cleaned = CITATION.sub(" ", answer)
    missing: dict[str, None] = {}
    for match in _NAME.finditer(cleaned):
        name = match.group(match.lastgroup or 0).strip()
        if match.lastgroup == "proper":
            words = [w for w in name.split() if w.lower() not in COMMON_CAPITALISED]
            if not words:
                continue
            name = " ".join(words)
        if match.lastgroup == "snake" and any(name.lower() in text for text in known_lower):
            continue
        if all(w in known_words for w in _words(name)):
            continue
        missing[name] = None
    return list(missing)


_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+(?=\s|$)|\n|$)")


def drop_sentences_stating(answer: str, offending: list[str]) -> str:
    """The answer without the sentences that state any of ``offending`` (numbers or
    names that failed the check); a note says how many were dropped."""
    kept, dropped = [], 0
    for sentence in _SENTENCE.findall(answer):
        if any(item and item in sentence for item in offending):
            dropped += 1
        else:
            kept.append(sentence.strip())
    text = " ".join(s for s in kept if s)
    if dropped:
        note = f"({dropped} sentence(s) removed: they stated figures or names no tool computed.)"
        text = f"{text} {note}".strip()
    return text
