"""The offline planner and the composed answer, over the real tools run in-process.

The expected figures are computed here with pandas, independently of the tools; the
questions are phrased as a new user would, on data the planner has never seen."""

from typing import Any

import pandas as pd
import pytest

from sextant_contracts.tool_arguments import ARGUMENTS
from sextant_orchestrator.domain.answer_composer import compose_answer, compose_unresolved
from sextant_orchestrator.domain.findings import findings_of
from sextant_orchestrator.domain.grounding import ungrounded_names, ungrounded_numbers
from sextant_orchestrator.domain.question_planner import OfflinePlan, plan_question
from sextant_orchestrator.domain.question_reading import read_question
from sextant_orchestrator.domain.state import ToolOutcome
from sextant_tools.infrastructure.tools.catalogue import default_catalogue
from tests.conftest import REPO_ROOT

CATALOGUE = default_catalogue()
SALES = pd.read_csv(REPO_ROOT / "deploy" / "local" / "sample" / "sales.csv")
CITIES = pd.DataFrame(
    {
        "city": ["Oslo", "Rome", "Lima"] * 4,
        "temperature_c": [2, 15, 19, 5, 18, 20, 1, 14, 18, 3, 16, 21],
    }
)


def answer(frame: pd.DataFrame, question: str) -> tuple[OfflinePlan, list[ToolOutcome], str]:
    profile = CATALOGUE.get("profile_dataset").run(frame, {})
    plan = plan_question(question, profile)
    outcomes: list[ToolOutcome] = []
    for number, call in enumerate(plan.calls, start=1):
        ARGUMENTS[call["tool_name"]].model_validate(call["arguments"])  # the contract's model
        result: dict[str, Any] | None = CATALOGUE.get(call["tool_name"]).run(
            frame, call["arguments"]
        )
        outcomes.append(
            {
                "call_id": f"T{number}",
                "tool_name": call["tool_name"],
                "arguments": call["arguments"],
                "result": result,
                "error": None,
                "duration_ms": 0.0,
            }
        )
    if plan.intent.kind == "unresolved":
        text = compose_unresolved(read_question(question, profile), plan.intent.note.split(", "))
    else:
        text = compose_answer(plan.intent, outcomes)
    evidence = [question, profile] + [[o["arguments"], o["result"]] for o in outcomes]
    assert ungrounded_numbers(text, evidence) == []
    assert ungrounded_names(text, evidence) == []
    return plan, outcomes, text


def test_which_region_has_the_highest_sales_names_a_region_of_the_data() -> None:
    totals = SALES.groupby("region")["sales"].sum()
    plan, _, text = answer(SALES, "Which region has the highest sales?")
    assert plan.intent.kind == "argmax"
    assert text.startswith(f"{totals.idxmax()} has the highest total sales: {totals.max():.2f}")
    assert "[T1]" in text


def test_which_city_is_warmest_on_average_uses_the_temperature_mean() -> None:
    means = CITIES.groupby("city")["temperature_c"].mean()
    _, _, text = answer(CITIES, "Which city is warmest on average?")
    assert text.startswith(f"{means.idxmax()} has the highest average temperature_c: {means.max()}")


def test_a_named_value_becomes_a_filter() -> None:
    expected = SALES[SALES.region == "north"]["discount"].mean()
    plan, _, text = answer(SALES, "What is the average discount in the North?")
    assert plan.intent.filters == [{"column": "region", "op": "==", "value": "north"}]
    assert f"{expected:.4f}".rstrip("0") in text


def test_a_lowest_question_sorts_ascending() -> None:
    means = SALES.groupby("region")["units"].mean()
    _, _, text = answer(SALES, "Which region has the lowest average units?")
    assert text.startswith(f"{means.idxmin()} has the lowest average units")


def test_top_n_lists_n_groups_in_order() -> None:
    totals = SALES.groupby("region")["units"].sum().sort_values(ascending=False)
    _, _, text = answer(SALES, "Top 3 regions by total units")
    listed = ", ".join(f"{region} ({value})" for region, value in totals.head(3).items())
    assert listed in text


def test_time_buckets_from_a_date_column() -> None:
    months = pd.to_datetime(SALES["month"]).dt.to_period("M").astype(str)
    totals = SALES.groupby(months)["sales"].sum()
    plan, _, text = answer(SALES, "What were the total sales per month?")
    assert plan.intent.kind == "trend"
    assert f"{totals.index[0]}: {totals.iloc[0]:.2f}" in text
    assert f"The highest is {totals.idxmax()}" in text


def test_correlation_between_two_named_columns() -> None:
    expected = SALES["sales"].corr(SALES["units"])
    _, _, text = answer(SALES, "Are sales and units correlated?")
    assert f"{expected:.4f}" in text


def test_counts_distinct_values_and_rows() -> None:
    _, _, distinct = answer(SALES, "How many distinct regions are there?")
    assert f"region has {SALES.region.nunique()} distinct values" in distinct
    _, _, rows = answer(SALES, "How many rows are there for the west region?")
    assert rows.startswith(f"{(SALES.region == 'west').sum()} rows where region = west")


@pytest.mark.parametrize(
    ("question", "missing"),
    [
        ("What is the total profit by region?", "profit"),
        ("What were sales in Atlantis?", "Atlantis"),
    ],
)
def test_a_column_or_value_the_data_lacks_is_said_not_invented(question: str, missing: str) -> None:
    plan, outcomes, text = answer(SALES, question)
    assert plan.intent.kind == "unresolved"
    assert outcomes == []
    assert f'holds no "{missing}"' in text
    assert "Its columns are: month, region, sales, units, discount" in text


def test_findings_point_at_their_values() -> None:
    _, outcomes, _ = answer(SALES, "Which region has the highest sales?")
    findings = findings_of(outcomes[0])
    top = findings[0]
    assert top["call_id"] == "T1"
    assert top["paths"]["sum_sales"] == "table[0].sum_sales"
    table = outcomes[0]["result"]["table"]  # type: ignore[index]
    assert top["values"]["sum_sales"] == table[0]["sum_sales"]
    assert top["statement"].startswith(f"region = {table[0]['region']}: sum_sales = ")


WEATHER = pd.DataFrame(
    {
        "city": ["Bergen", "Madrid", "Dublin"] * 3,
        "precipitation_mm": [250.0, 30.5, 80.0, 220.0, 25.0, 95.5, 240.5, 20.0, 70.0],
        "wind_kmh": [20.0, 10.0, 30.0, 22.0, 12.0, 28.0, 18.0, 9.0, 33.0],
    }
)


def _answer_with_meanings(
    frame: pd.DataFrame, question: str, meanings: dict[str, dict[str, float]]
) -> tuple[OfflinePlan, str]:
    profile = CATALOGUE.get("profile_dataset").run(frame, {})
    plan = plan_question(question, profile, meanings)
    outcomes: list[ToolOutcome] = [
        {
            "call_id": f"T{number}",
            "tool_name": call["tool_name"],
            "arguments": call["arguments"],
            "result": CATALOGUE.get(call["tool_name"]).run(frame, call["arguments"]),
            "error": None,
            "duration_ms": 0.0,
        }
        for number, call in enumerate(plan.calls, start=1)
    ]
    if plan.intent.kind == "unresolved":
        reading = read_question(question, profile, meanings)
        return plan, compose_unresolved(reading, plan.intent.note.split(", "))
    return plan, compose_answer(plan.intent, outcomes)


def test_a_word_no_column_spells_is_read_by_meaning_and_the_answer_says_so() -> None:
    """The embeddings service scored "rainfall" against the column names (as the
    orchestrator asks it to): the closest, clearly ahead, stands for it."""
    totals = WEATHER.groupby("city")["precipitation_mm"].sum()
    plan, text = _answer_with_meanings(
        WEATHER,
        "Which city has the highest total rainfall?",
        {"rainfall": {"precipitation_mm": 0.83, "wind_kmh": 0.34, "city": 0.2}},
    )
    assert plan.intent.kind == "argmax"
    assert plan.intent.measure == "precipitation_mm"
    assert text.startswith('No column is named "rainfall"; read as precipitation_mm')
    assert f"{totals.idxmax()} has the highest total precipitation_mm: {totals.max():g}" in text


@pytest.mark.parametrize(
    "scores",
    [
        {"sales": 0.61, "units": 0.34},  # related, not the same measure
        {"sales": 0.80, "units": 0.72},  # no clear winner
    ],
)
def test_a_weak_or_ambiguous_meaning_is_not_taken(scores: dict[str, float]) -> None:
    plan, text = _answer_with_meanings(
        SALES, "What is the total profit by region?", {"profit": scores}
    )
    assert plan.intent.kind == "unresolved"
    assert plan.calls == []
    assert 'holds no "profit" (nearest: sales, units)' in text
