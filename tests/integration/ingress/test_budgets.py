"""Token budgets through the real stack: a tenant at its limit gets ``budget_exhausted``
at the step whose LLM call would pass it, and ``GET /v1/usage`` reports what was used.

The ingress and the orchestrator are processes (the orchestrator with a daily budget of
2,000 tokens for one tenant and prices for the model), the tools and embeddings services
run in-process, and the loopback OpenAI-compatible server reports 1,900 tokens for each
call (1,500 in, 400 out): the first call fits the budget, the next cannot.
"""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_embeddings.bootstrap import EmbeddingsApp
from sextant_ingress.infrastructure.postgres_api_keys import PostgresApiKeys
from sextant_tools.bootstrap import ToolsService
from tests.integration.infrastructure import Infrastructure
from tests.integration.ingress.service import start_ingress
from tests.integration.orchestrator.fake_openai import (
    FakeOpenAI,
    Scripted,
    completion,
    running_fake_openai,
)
from tests.integration.orchestrator.service import (
    SALES_CSV,
    llm_env,
    saw_tool_results,
    start_orchestrator,
    wait_terminal,
)

PER_CALL = (1500, 400)
DAILY_TOKENS = 2000
PRICES = {"gpt-test": {"input_per_million": 1000.0, "output_per_million": 4000.0}}
COST_PER_CALL = 1500 * 1000.0 / 1e6 + 400 * 4000.0 / 1e6  # 3.1


def two_rounds(body: dict[str, Any]) -> Scripted:
    """Round 1 asks for a tool; round 2, having its result, answers."""
    if "tools" in body and not saw_tool_results(body):
        return completion(
            tool_calls=[
                ("group_by_aggregate", {"by": ["region"], "metric": "sales", "aggregation": "sum"})
            ],
            usage=PER_CALL,
        )
    return completion("The east sells the most [T1].", usage=PER_CALL)


@dataclass
class BudgetStack:
    base_url: str
    fake: FakeOpenAI
    limited: dict[str, str]
    """Headers of the tenant with the daily budget."""
    unlimited: dict[str, str]
    limited_tenant: str
    orchestrator_metrics: str


@pytest.fixture(scope="module")
async def budget_stack(
    infra: Infrastructure,
    engine: AsyncEngine,
    tools_service: ToolsService,  # the package conftest's: one per package
    embeddings_service: EmbeddingsApp,
) -> AsyncIterator[BudgetStack]:
    limited_tenant = f"limited-{uuid.uuid4().hex[:8]}"
    async with running_fake_openai() as fake:
        fake.responder = two_rounds
        orchestrator, port = await start_orchestrator(
            infra,
            name="budget-orchestrator",
            group=f"budget-orchestrator-{uuid.uuid4().hex[:8]}",
            llm_env=llm_env(
                fake,
                SEXTANT_ORCHESTRATOR_BUDGETS=json.dumps(
                    {limited_tenant: {"period": "day", "tokens": DAILY_TOKENS}}
                ),
                LLM_PRICES=json.dumps(PRICES),
            ),
        )
        ingress, base_url = await start_ingress(infra, name="budget-ingress")
        try:
            keys = PostgresApiKeys(engine)
            limited = await keys.create(tenant_id=limited_tenant, name="limited")
            unlimited = await keys.create(tenant_id=f"free-{uuid.uuid4().hex[:8]}", name="free")
            yield BudgetStack(
                base_url=base_url,
                fake=fake,
                limited={"Authorization": f"Bearer {limited}"},
                unlimited={"Authorization": f"Bearer {unlimited}"},
                limited_tenant=limited_tenant,
                orchestrator_metrics=f"http://127.0.0.1:{port}/metrics",
            )
            assert await asyncio.to_thread(ingress.stop) == 0
            assert await asyncio.to_thread(orchestrator.stop) == 0
        finally:
            ingress.kill()
            orchestrator.kill()


async def _ask(
    stack: BudgetStack,
    engine: AsyncEngine,
    headers: dict[str, str],
    options: dict[str, Any] | None = None,
) -> Any:
    """Submit one analysis over the sales CSV; its row once it has ended."""
    async with httpx.AsyncClient(base_url=stack.base_url, headers=headers) as client:
        submitted = await client.post(
            "/v1/analyses",
            json={
                "question": "Which region sells the most?",
                "inline_dataset": {"media_type": "text/csv", "content": SALES_CSV},
                **({"options": options} if options else {}),
            },
        )
        assert submitted.status_code == 202, submitted.text
    return await wait_terminal(engine, uuid.UUID(submitted.json()["analysis_id"]))


async def _usage(stack: BudgetStack, headers: dict[str, str], **period: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=stack.base_url, headers=headers) as client:
        response = await client.get("/v1/usage", params=period)
        assert response.status_code == 200, response.text
        report: dict[str, Any] = response.json()
        return report


async def test_a_tenant_at_its_limit_fails_at_the_call_that_would_pass_it(
    budget_stack: BudgetStack, engine: AsyncEngine
) -> None:
    asked_before = len(budget_stack.fake.requests)
    first = await _ask(budget_stack, engine, budget_stack.limited)
    assert first.status == "failed"
    assert first.error is not None
    assert first.error["code"] == "budget_exhausted"
    assert first.error["step"] == "plan"  # round 2's call: round 1 used 1,900 of 2,000
    assert f"used 1900 of its {DAILY_TOKENS} tokens this day" in first.error["reason"]
    assert len(budget_stack.fake.requests) == asked_before + 1, "the refused call not made"

    second = await _ask(budget_stack, engine, budget_stack.limited)
    assert second.status == "failed"
    assert second.error is not None
    assert second.error["code"] == "budget_exhausted"
    assert len(budget_stack.fake.requests) == asked_before + 1, "no call made at all"

    report = await _usage(budget_stack, budget_stack.limited)
    today = datetime.now(UTC).date()
    assert (report["from"], report["to"]) == (str(today.replace(day=1)), str(today))
    assert report["analyses"] == 1
    assert (report["llm_calls"], report["input_tokens"], report["output_tokens"]) == (
        1,
        *PER_CALL,
    )
    assert report["cost"] == pytest.approx(COST_PER_CALL)
    assert report["by_model"] == [
        {
            "provider": "openai-compatible",
            "model": "gpt-test",
            "llm_calls": 1,
            "input_tokens": PER_CALL[0],
            "output_tokens": PER_CALL[1],
            "cost": pytest.approx(COST_PER_CALL),
        }
    ]

    async with httpx.AsyncClient() as client:
        metrics = (await client.get(budget_stack.orchestrator_metrics)).text
    labels = (
        'kind="input",model="gpt-test",provider="openai-compatible",'
        f'tenant="{budget_stack.limited_tenant}"'
    )
    assert f"sextant_llm_tokens_total{{{labels}}} 1500.0" in metrics


async def test_a_tenant_without_a_budget_runs_and_sees_only_its_own_usage(
    budget_stack: BudgetStack, engine: AsyncEngine
) -> None:
    row = await _ask(budget_stack, engine, budget_stack.unlimited)
    assert row.status == "completed", row.error
    report = await _usage(budget_stack, budget_stack.unlimited)
    assert report["analyses"] == 1
    assert report["llm_calls"] == row.usage["llm_calls"] == 2
    assert report["input_tokens"] == row.usage["input_tokens"] == 2 * PER_CALL[0]

    assert (await _usage(budget_stack, budget_stack.unlimited, **{"from": "2001-01-01"}))[
        "llm_calls"
    ] == 2
    empty = await _usage(
        budget_stack, budget_stack.unlimited, **{"from": "2001-01-01", "to": "2001-01-31"}
    )
    assert (empty["analyses"], empty["llm_calls"], empty["by_model"]) == (0, 0, [])
    backwards = await _usage(
        budget_stack, budget_stack.unlimited, **{"from": "2001-02-01", "to": "2001-01-01"}
    )
    assert backwards["llm_calls"] == 0, "a span that ends before it starts holds nothing"


async def test_an_analysis_with_its_own_budget_stops_at_it(
    budget_stack: BudgetStack, engine: AsyncEngine
) -> None:
    row = await _ask(budget_stack, engine, budget_stack.unlimited, options={"max_tokens": 2000})
    assert row.status == "failed"
    assert row.error is not None
    assert row.error["code"] == "budget_exhausted"
    assert row.error["step"] == "plan"
    assert "the analysis used 1900 of its 2000 tokens" in row.error["reason"]
