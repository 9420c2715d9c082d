"""An outage that outlasts the budget ends the analysis ``failed``, never ``running``.

Redis (the checkpoint store) is stopped while an analysis is admitted and run: every
attempt to resume fails; once ``OUTAGE_BUDGET_S`` has passed the request is given up on,
and its analysis ends ``failed`` with ``dependency_unavailable`` and one terminal event
before the record goes to the DLQ. (It used to be dead-lettered with the row left
``running`` for ever.) Its own module: Redis is down for a while.
"""

import asyncio
import subprocess
import uuid

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import REPO_ROOT
from tests.integration.infrastructure import Infrastructure
from tests.integration.orchestrator.fake_openai import running_fake_openai
from tests.integration.orchestrator.service import (
    events_for,
    llm_env,
    plan_then_answer,
    publish_request,
    request_envelope,
    start_orchestrator,
    wait_terminal,
)

REDIS_SCRIPT = REPO_ROOT / "deploy" / "local" / "redis.sh"


def _redis(action: str) -> None:
    subprocess.run(["bash", str(REDIS_SCRIPT), action], check=True, capture_output=True)


async def test_an_outage_longer_than_the_budget_ends_the_analysis_failed(
    infra: Infrastructure, engine: AsyncEngine
) -> None:
    async with running_fake_openai() as fake:
        fake.responder = plan_then_answer
        process, _ = await start_orchestrator(
            infra,
            name="orchestrator-outage",
            group=f"orchestrator-outage-{uuid.uuid4().hex[:8]}",
            llm_env={**llm_env(fake), "SEXTANT_ORCHESTRATOR_OUTAGE_BUDGET_S": "2"},
        )
        try:
            await asyncio.to_thread(_redis, "down")
            try:
                envelope = request_envelope()
                analysis_id = envelope.payload.analysis_id
                await publish_request(infra.kafka, envelope)
                row = await wait_terminal(engine, analysis_id, timeout_s=240, process=process)
            finally:
                await asyncio.to_thread(_redis, "up")
        finally:
            assert await asyncio.to_thread(process.stop) == 0
            process.kill()

    assert row.status == "failed"
    assert row.error is not None
    assert row.error["code"] == "dependency_unavailable"
    assert "checkpoint store unavailable" in row.error["reason"]
    failed = await events_for(infra.kafka, "analysis.failed.v1", analysis_id, expected=1)
    assert [e["event_id"] for e in failed] == [str(row.terminal_event_id)]
