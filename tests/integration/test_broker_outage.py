"""Guarantee 1 under a broker outage: with Kafka down, ``POST /v1/analyses`` still answers
202 (the request is in PostgreSQL's outbox), and once Kafka is back the relay publishes
it and the analysis completes, with its one terminal event on the result topic."""

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_ingress.infrastructure.postgres_api_keys import PostgresApiKeys
from sextant_kafka.admin import ensure_catalogue_topics
from tests.integration.infrastructure import Infrastructure
from tests.integration.orchestrator.fake_openai import running_fake_openai
from tests.integration.orchestrator.service import (
    ANSWER,
    SALES_CSV,
    events_for,
    llm_env,
    plan_then_answer,
    start_orchestrator,
    wait_terminal,
)
from tests.integration.processes import ServiceProcess, free_port
from tests.integration.second_broker import PrivateBroker

pytestmark = pytest.mark.slow


@pytest.fixture
async def broker(tmp_path: Path) -> AsyncIterator[PrivateBroker]:
    private = PrivateBroker(tmp_path)
    await asyncio.to_thread(private.start)
    await ensure_catalogue_topics(private.settings)
    try:
        yield private
    finally:
        await asyncio.to_thread(private.stop)


async def outbox_published_at(engine: AsyncEngine, analysis_id: str) -> object:
    async with engine.connect() as connection:
        return (
            await connection.execute(
                text(
                    "SELECT published_at FROM outbox WHERE message_key = :key"
                    " AND topic = 'analysis.requested.v1'"
                ),
                {"key": analysis_id},
            )
        ).scalar_one()


async def test_an_accepted_request_survives_a_broker_outage(
    broker: PrivateBroker, infra: Infrastructure, engine: AsyncEngine
) -> None:
    isolated = dataclasses.replace(infra, kafka=broker.settings)
    tenant = f"outage-{uuid.uuid4().hex[:8]}"
    key = await PostgresApiKeys(engine).create(tenant_id=tenant)
    tools_port = free_port()
    tools = ServiceProcess(
        "sextant_tools",
        isolated,
        env={"SEXTANT_TOOLS_HTTP_PORT": str(tools_port), "SEXTANT_TOOLS_CONSUMER_GROUP": "t"},
        name="outage-tools",
    ).start()
    ingress_port = free_port()
    ingress = ServiceProcess(
        "sextant_ingress",
        isolated,
        env={
            "SEXTANT_INGRESS_HTTP_PORT": str(ingress_port),
            "SEXTANT_INGRESS_OUTBOX_POLL_S": "0.5",
        },
        name="outage-ingress",
    ).start()
    async with running_fake_openai() as fake:
        fake.responder = plan_then_answer
        orchestrator, _ = await start_orchestrator(
            isolated, name="outage-orchestrator", group="outage-orchestrator", llm_env=llm_env(fake)
        )
        try:
            base = f"http://127.0.0.1:{ingress_port}"
            await asyncio.to_thread(ingress.wait_http, f"{base}/readyz")
            # Every service connected before the outage (a tools service still starting
            # when the broker went away could not connect, and exited: no supervisor here).
            await asyncio.to_thread(tools.wait_http, f"http://127.0.0.1:{tools_port}/readyz")

            await asyncio.to_thread(broker.stop)
            async with httpx.AsyncClient(
                base_url=base, headers={"X-API-Key": key}, timeout=30
            ) as client:
                not_ready = await client.get("/readyz")
                submitted = await client.post(
                    "/v1/analyses",
                    json={
                        "question": "Which region sells the most?",
                        "inline_dataset": {"media_type": "text/csv", "content": SALES_CSV},
                    },
                )
            assert not_ready.status_code == 503  # the probe tells the truth...
            assert not_ready.json()["checks"]["kafka"] is False
            assert submitted.status_code == 202, submitted.text  # ...and nothing is refused
            analysis_id = submitted.json()["analysis_id"]
            await asyncio.sleep(3)  # the relay keeps retrying meanwhile
            assert await outbox_published_at(engine, analysis_id) is None

            await asyncio.to_thread(broker.start)
            row = await wait_terminal(
                engine, uuid.UUID(analysis_id), timeout_s=180, process=orchestrator
            )
            assert row.status == "completed", row.error
            assert row.answer == ANSWER
            assert await outbox_published_at(engine, analysis_id) is not None
            completed = await events_for(
                broker.settings, "analysis.completed.v1", uuid.UUID(analysis_id), expected=1
            )
            assert [e["event_id"] for e in completed] == [str(row.terminal_event_id)]
        finally:
            for process in (orchestrator, ingress, tools):
                process.kill()
