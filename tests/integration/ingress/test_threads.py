"""Threads through the real stack: a 3-turn conversation over REST on the embedded
default (the packaged local model, the offline planner), where each follow-up asks the
previous question again with its filter added to the earlier ones.

The ingress and the orchestrator are processes, the tools and embeddings services run
in-process; expected figures are computed here with pandas, independently.
"""

import asyncio
import io
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_contracts.catalogue import ANALYSIS_COMPLETED
from sextant_embeddings.bootstrap import EmbeddingsApp
from sextant_ingress.infrastructure.postgres_api_keys import PostgresApiKeys
from sextant_tools.bootstrap import ToolsService
from tests.integration.infrastructure import Infrastructure
from tests.integration.ingress.service import sextant, start_ingress
from tests.integration.kafka_helpers import read_all
from tests.integration.orchestrator.service import start_orchestrator, wait_terminal

pytestmark = pytest.mark.slow

SALES = (
    "region,product,year,sales\n"
    "west,tea,2023,10\nwest,tea,2024,20\nwest,coffee,2024,5\nwest,coffee,2023,7\n"
    "east,tea,2024,30\neast,coffee,2024,40\nnorth,tea,2023,3\nnorth,coffee,2024,9\n"
)
TURNS = ["What are the total sales per product?", "And for the west only?", "And in 2024?"]


@dataclass
class ThreadStack:
    base_url: str
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


@pytest.fixture(scope="module")
async def thread_stack(
    infra: Infrastructure,
    engine: AsyncEngine,
    tools_service: ToolsService,  # the package conftest's: one per package
    embeddings_service: EmbeddingsApp,
) -> AsyncIterator[ThreadStack]:
    orchestrator, _ = await start_orchestrator(
        infra,
        name="threads-orchestrator",
        group=f"threads-orchestrator-{uuid.uuid4().hex[:8]}",
        llm_env={"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "LLM_PROVIDER": "local"},
    )
    ingress, base_url = await start_ingress(infra, name="threads-ingress")
    try:
        key = await PostgresApiKeys(engine).create(tenant_id=f"threads-{uuid.uuid4().hex[:8]}")
        yield ThreadStack(base_url, key)
        assert await asyncio.to_thread(ingress.stop) == 0
        assert await asyncio.to_thread(orchestrator.stop) == 0
    finally:
        ingress.kill()
        orchestrator.kill()


def _totals(frame: pd.DataFrame) -> dict[str, float]:
    return {k: float(v) for k, v in frame.groupby("product")["sales"].sum().items()}


def _result_totals(row: Any) -> dict[str, float]:
    """Product → summed sales, from the turn's query result."""
    (query,) = [c for c in row.tool_calls if c["tool_name"] == "query"]
    result = query["result"]
    column = result["aggregates"][0]  # the summed measure comes first
    return {r["product"]: float(r[column]) for r in result["table"]}


async def test_a_three_turn_thread_carries_each_filter_forward(
    thread_stack: ThreadStack, engine: AsyncEngine
) -> None:
    async with httpx.AsyncClient(
        base_url=thread_stack.base_url, headers=thread_stack.headers, timeout=60
    ) as client:
        upload = await client.post(
            "/v1/datasets", content=SALES, headers={"Content-Type": "text/csv"}
        )
        assert upload.status_code == 201, upload.text
        started = await client.post("/v1/threads")
        assert started.status_code == 201, started.text
        thread_id = started.json()["thread_id"]

        rows = []
        for number, question in enumerate(TURNS):
            body: dict[str, Any] = {"question": question}
            if number == 0:
                body["dataset_id"] = upload.json()["dataset_id"]
            asked = await client.post(f"/v1/threads/{thread_id}/analyses", json=body)
            assert asked.status_code == 202, asked.text
            analysis_id = uuid.UUID(asked.json()["analysis_id"])
            rows.append(await wait_terminal(engine, analysis_id, timeout_s=240))
            assert rows[-1].status == "completed", rows[-1].error

        thread = (await client.get(f"/v1/threads/{thread_id}")).json()
        unknown = await client.get(f"/v1/threads/{uuid.uuid4()}")
        last = (await client.get(f"/v1/analyses/{analysis_id}")).json()

    data = pd.read_csv(io.StringIO(SALES))
    west = data[data["region"] == "west"]
    expected = [_totals(data), _totals(west), _totals(west[west["year"] == 2024])]
    assert [_result_totals(row) for row in rows] == expected
    (third_query,) = [c for c in rows[2].tool_calls if c["tool_name"] == "query"]
    assert third_query["arguments"]["filters"] == [
        {"column": "region", "op": "==", "value": "west"},
        {"column": "year", "op": "==", "value": 2024},
    ]
    assert [a["question"] for a in thread["analyses"]] == TURNS
    assert [a["answer"] for a in thread["analyses"]] == [row.answer for row in rows]
    assert unknown.status_code == 404
    assert last["thread_id"] == thread_id  # an analysis names its conversation
    assert {a["thread_id"] for a in thread["analyses"]} == {thread_id}


async def test_the_cli_asks_in_the_current_thread_and_shows_it(
    thread_stack: ThreadStack, infra: Infrastructure, tmp_path: Path
) -> None:
    csv = tmp_path / "sales.csv"
    csv.write_text(SALES)
    env = {"SEXTANT_THREAD_FILE": str(tmp_path / "thread")}
    dataset = json.loads(await sextant(thread_stack, infra, "upload", str(csv)))
    first = await sextant(
        thread_stack, infra, "ask", TURNS[0], "--dataset-id", dataset["dataset_id"], env=env
    )
    thread_id = first.splitlines()[0].removeprefix("thread ")
    assert (tmp_path / "thread").read_text() == thread_id
    second = await sextant(thread_stack, infra, "ask", TURNS[1], env=env)
    assert second.splitlines()[0] == f"thread {thread_id}", "the current thread"
    assert '"value": "west"' in second  # the follow-up's query carries the filter

    shown = await sextant(thread_stack, infra, "thread", env=env)
    lines = shown.splitlines()
    assert lines[0] == f"thread {thread_id}: 2 questions"
    assert lines[1] == f"Q1: {TURNS[0]}"
    assert lines[3] == f"Q2: {TURNS[1]}"


async def test_a_completed_analysis_carries_its_charts_and_the_cli_renders_them(
    thread_stack: ThreadStack, infra: Infrastructure, engine: AsyncEngine, tmp_path: Path
) -> None:
    """The per-product totals drawn as bars from the query's own result: on the API, on
    the completed event, and as SVG/PNG files the CLI renders offline."""
    async with httpx.AsyncClient(
        base_url=thread_stack.base_url, headers=thread_stack.headers, timeout=60
    ) as client:
        upload = await client.post(
            "/v1/datasets", content=SALES, headers={"Content-Type": "text/csv"}
        )
        asked = await client.post(
            "/v1/analyses",
            json={"question": TURNS[0], "dataset_id": upload.json()["dataset_id"]},
        )
        analysis_id = uuid.UUID(asked.json()["analysis_id"])
        row = await wait_terminal(engine, analysis_id, timeout_s=240)
        shown = (await client.get(f"/v1/analyses/{analysis_id}")).json()
    assert row.status == "completed", row.error

    (chart,) = shown["charts"]
    (query,) = [c for c in shown["tool_calls"] if c["tool_name"] == "query"]
    assert chart["kind"] == "bar"
    assert chart["call_id"] == query["call_id"]
    measure = query["result"]["aggregates"][0]
    drawn = {v["product"]: v[measure] for v in chart["spec"]["data"]["values"]}
    assert drawn == _totals(pd.read_csv(io.StringIO(SALES)))  # pandas, independently
    (event,) = [
        json.loads(r.value)
        for r in await read_all(
            infra.kafka, ANALYSIS_COMPLETED.name, expected=1, key=str(analysis_id).encode()
        )
    ]
    assert event["payload"]["charts"] == shown["charts"]

    printed = await sextant(
        thread_stack, infra, "status", str(analysis_id), "--charts", str(tmp_path / "charts")
    )
    assert f"chart C1 bar: {chart['title']} (from {query['call_id']})" in printed
    svg = (tmp_path / "charts" / "C1.svg").read_text()
    assert svg.count('aria-roledescription="bar"') == len(drawn)
    assert (tmp_path / "charts" / "C1.png").read_bytes().startswith(b"\x89PNG")
