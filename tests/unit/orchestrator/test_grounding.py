"""Checking an answer's numbers against its evidence."""

import pytest

from sextant_orchestrator.domain.grounding import mentions, numbers_in, ungrounded_numbers

EVIDENCE = [
    "Which region sells the most? Compare with 2023.",
    {
        "rows": 48,
        "statistics": {"sales": {"mean": 664.8960416666667, "max": 1289.35, "nulls": 0}},
        "matrix": {"units": {"sales": 0.9409344552699084}},
        "bounds": {"lower": -231.40125},
        "share": 0.2837,
    },
    "Prices rose 12.5% in May.",
]


@pytest.mark.parametrize(
    "written",
    [
        "664.8960416666667",  # as the tool wrote it
        "664.9",  # rounded
        "665",
        "1,289.35",  # grouped thousands
        "0.94",
        "94%",  # a share as a percentage
        "28.4%",
        "28.37 %",
        "-231.4",
        "\u2212231.40",  # the minus sign
        "48",
        "2023",  # from the question
        "12.5%",  # from a passage
    ],
)
def test_numbers_the_evidence_holds_as_written_or_rounded_pass(written: str) -> None:
    assert ungrounded_numbers(f"The figure is {written}.", EVIDENCE) == []


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [
        ("The mean is 664.8 [T1].", ["664.8"]),  # rounds to 664.9, not 664.8
        ("Sales grew 15% since 2038.", ["15%", "2038"]),
        ("About 94 rows.", ["94"]),  # a share is a percentage only with the sign
        ("It fell by 1,300 units.", ["1,300"]),
        ("11 and 11 again.", ["11"]),  # once each
    ],
)
def test_numbers_the_evidence_does_not_hold_are_listed(answer: str, flagged: list[str]) -> None:
    assert ungrounded_numbers(answer, EVIDENCE) == flagged


def test_markers_small_integers_and_numbers_inside_words_are_not_checked() -> None:
    answer = "1. See [T12] and [D3]: column c77 in Q3 grew 10x; the 3 regions and 10 stores."
    assert [mention.text for mention in mentions(answer)] == ["1", "3", "10"]
    assert ungrounded_numbers(answer, []) == []


def test_evidence_numbers_come_from_values_keys_and_text_but_not_booleans() -> None:
    found = sorted(numbers_in({"2024": [1.5, True, None, float("nan"), "up 7%"], "n": 3}))
    assert found == [1.5, 3.0, 7.0, 2024.0]
