"""A thread's earlier turns, as a follow-up question sees them.

Bounded, so a long conversation costs a follow-up a fixed amount of prompt: the last
``RECENT_TURNS`` turns in full (question, answer, the findings' statements), the ones
before them summed up by their questions, and the whole cut to ``MAX_CONTEXT_TOKENS``
(counted at four characters a token, as budgets count prompts) from the oldest end.
"""

from typing import TypedDict

from sextant_orchestrator.domain.budgets import CHARS_PER_TOKEN

RECENT_TURNS = 4
TURNS_READ = 20
"""Turns read from the store at most: the recent ones and the older ones summed up."""
MAX_CONTEXT_TOKENS = 1500
ANSWER_CHARS = 1200
FINDINGS_PER_TURN = 8
OLDER_QUESTION_CHARS = 160


class Turn(TypedDict):
    """One earlier analysis of the thread (checkpointed with the follow-up's state)."""

    analysis_id: str
    question: str
    answer: str
    findings: list[str]


def conversation(turns: list[Turn]) -> str:
    """The earlier turns as text for a model's prompt, oldest first ("" when none)."""
    if not turns:
        return ""
    older, recent = turns[:-RECENT_TURNS], turns[-RECENT_TURNS:]
    lines: list[str] = []
    if older:
        asked = "; ".join(t["question"][:OLDER_QUESTION_CHARS] for t in older)
        lines.append(f"Earlier, {len(older)} more questions were asked: {asked}")
    for number, turn in enumerate(recent, start=len(older) + 1):
        lines.append(f"Q{number}: {turn['question']}")
        lines.append(f"A{number}: {turn['answer'][:ANSWER_CHARS]}")
        lines += [f"  - {statement}" for statement in turn["findings"][:FINDINGS_PER_TURN]]
    text = "\n".join(lines)
    limit = MAX_CONTEXT_TOKENS * CHARS_PER_TOKEN
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]
