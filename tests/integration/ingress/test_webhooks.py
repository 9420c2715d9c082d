"""Webhooks through the real ingress process, Kafka and PostgreSQL, to a loopback receiver.

Terminal events are published to the result topics as the orchestrator publishes them;
the ingress records them, owes each subscribed endpoint one delivery, and sends it
signed (Standard Webhooks). The receiver verifies every signature with the secret the
API showed once, by its own HMAC, and counts deliveries per ``webhook-id``.
"""

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_contracts import AnalysisCompleted, AnalysisFailed, AnalysisInterrupted, Envelope
from sextant_contracts.catalogue import ANALYSIS_COMPLETED, ANALYSIS_FAILED, ANALYSIS_INTERRUPTED
from sextant_ingress.infrastructure.postgres_api_keys import PostgresApiKeys
from tests.integration.infrastructure import Infrastructure
from tests.integration.ingress.service import start_ingress
from tests.integration.kafka_helpers import produce_raw, wait_until
from tests.integration.orchestrator.service import interrupted_event
from tests.integration.processes import ServiceProcess, free_port


@dataclass
class Received:
    webhook_id: str
    body: dict[str, Any]
    signature_valid: bool


@dataclass
class Receiver:
    """Answers each POST with the next scripted status (200 once the script is spent)."""

    secret: str = ""
    statuses: list[int] = field(default_factory=list)
    hold_s: float = 0.0
    received: list[Received] = field(default_factory=list)
    started: list[str] = field(default_factory=list)
    """The webhook-id of every request as it arrives (before any hold)."""
    url: str = ""

    def verify(self, headers: Any, body: bytes) -> bool:
        key = base64.b64decode(self.secret.removeprefix("whsec_"))
        signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        fresh = abs(time.time() - int(headers["webhook-timestamp"])) < 300
        return fresh and f"v1,{expected}" in headers["webhook-signature"].split(" ")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.started.append(self.headers["webhook-id"])
            time.sleep(state.hold_s)
            state.received.append(
                Received(
                    webhook_id=self.headers["webhook-id"],
                    body=json.loads(body),
                    signature_valid=state.verify(self.headers, body),
                )
            )
            self.send_response(state.statuses.pop(0) if state.statuses else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    state.url = f"http://127.0.0.1:{server.server_port}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@dataclass
class HookedIngress:
    base_url: str
    headers: dict[str, str]
    tenant: str
    process: ServiceProcess
    infra: Infrastructure

    async def restart(self) -> None:
        self.process, self.base_url = await _start(self.infra, self.tenant)


def _start(infra: Infrastructure, tenant: str) -> Any:
    return start_ingress(
        infra,
        name="webhooks-ingress",
        env={
            # The receiver is on loopback: this tenant's allow-list names it.
            "SEXTANT_INGRESS_WEBHOOK_ALLOWED_NETWORKS": json.dumps({tenant: ["127.0.0.0/8"]}),
            "SEXTANT_INGRESS_WEBHOOK_POLL_S": "0.2",
            "SEXTANT_INGRESS_WEBHOOK_BACKOFF_S": "0.3",
            "SEXTANT_INGRESS_WEBHOOK_BACKOFF_MAX_S": "1",
            "SEXTANT_INGRESS_WEBHOOK_TIMEOUT_S": "2",
        },
    )


@pytest.fixture
async def hooked(infra: Infrastructure, engine: AsyncEngine) -> AsyncIterator[HookedIngress]:
    tenant = f"hooks-{uuid.uuid4().hex[:8]}"
    process, base_url = await _start(infra, tenant)
    key = await PostgresApiKeys(engine).create(tenant_id=tenant, name="hooks")
    ingress = HookedIngress(base_url, {"Authorization": f"Bearer {key}"}, tenant, process, infra)
    try:
        yield ingress
        assert await asyncio.to_thread(ingress.process.stop) == 0
    finally:
        ingress.process.kill()


async def _register(hooked: HookedIngress, receiver: Receiver, **body: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=hooked.base_url, headers=hooked.headers) as client:
        created = await client.post("/v1/webhooks", json={"url": receiver.url, **body})
    assert created.status_code == 201, created.text
    answer: dict[str, Any] = created.json()
    receiver.secret = answer["secret"]
    return answer


async def _finish(
    infra: Infrastructure,
    tenant: str,
    outcome: AnalysisCompleted | AnalysisFailed | AnalysisInterrupted,
) -> str:
    """Publish a terminal (or interrupted) event as the orchestrator does; its event id."""
    envelope = Envelope.wrap(outcome, tenant_id=tenant)
    topic = {
        AnalysisCompleted: ANALYSIS_COMPLETED,
        AnalysisFailed: ANALYSIS_FAILED,
        AnalysisInterrupted: ANALYSIS_INTERRUPTED,
    }[type(outcome)].name
    await produce_raw(
        infra.kafka,
        topic,
        [envelope.model_dump_json().encode()],
        key=str(outcome.analysis_id).encode(),
    )
    return str(envelope.event_id)


async def _deliveries(hooked: HookedIngress, webhook_id: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=hooked.base_url, headers=hooked.headers) as client:
        listed = await client.get(f"/v1/webhooks/{webhook_id}/deliveries")
    assert listed.status_code == 200, listed.text
    items: list[dict[str, Any]] = listed.json()["items"]
    return items


async def test_signed_deliveries_once_per_event_across_a_kill_of_the_deliverer(
    hooked: HookedIngress, receiver: Receiver, infra: Infrastructure
) -> None:
    webhook = await _register(hooked, receiver)
    assert webhook["events"] == ["completed", "failed", "cancelled", "interrupted"]
    assert webhook["secret"].startswith("whsec_")
    completed = AnalysisCompleted(analysis_id=uuid.uuid4(), answer="east leads")
    first_event = await _finish(hooked.infra, hooked.tenant, completed)
    await wait_until(lambda: len(receiver.received) >= 1, timeout_s=30, what="the first delivery")

    # The receiver holds the next delivery while the deliverer is killed mid-request.
    receiver.hold_s = 3.0
    failed = AnalysisFailed(analysis_id=uuid.uuid4(), error_code="budget_exhausted", reason="x")
    second_event = await _finish(hooked.infra, hooked.tenant, failed)
    await wait_until(lambda: len(receiver.started) >= 2, timeout_s=30, what="the second delivery")
    hooked.process.kill()  # SIGKILL while the second delivery is in flight
    receiver.hold_s = 0.0
    await hooked.restart()
    # The restarted deliverer sends the killed one's delivery again once its lease ends.
    delivered: list[dict[str, Any]] = []
    for _ in range(300):
        delivered = await _deliveries(hooked, webhook["webhook_id"])
        if len(delivered) == 2 and {d["status"] for d in delivered} == {"delivered"}:
            break
        await asyncio.sleep(0.2)
    assert {(d["event_id"], d["status"]) for d in delivered} == {
        (first_event, "delivered"),
        (second_event, "delivered"),
    }

    assert all(r.signature_valid for r in receiver.received)
    by_event: dict[str, set[str]] = {}
    for r in receiver.received:
        by_event.setdefault(r.body["data"]["event_id"], set()).add(r.webhook_id)
    # A receiver deduplicating by webhook-id (as the convention asks) sees each event once.
    assert {e: len(ids) for e, ids in by_event.items()} == {first_event: 1, second_event: 1}
    types = {r.body["data"]["event_id"]: r.body["type"] for r in receiver.received}
    assert types == {first_event: "analysis.completed", second_event: "analysis.failed"}
    assert len(receiver.received) == 3, "the killed attempt arrived, then its retry"


async def test_a_500_is_retried_until_a_200_and_unsubscribed_events_are_not_sent(
    hooked: HookedIngress, receiver: Receiver
) -> None:
    webhook = await _register(hooked, receiver, events=["failed"])
    receiver.statuses = [500, 503]
    await _finish(
        hooked.infra, hooked.tenant, AnalysisCompleted(analysis_id=uuid.uuid4(), answer="a")
    )
    failed_event = await _finish(
        hooked.infra,
        hooked.tenant,
        AnalysisFailed(analysis_id=uuid.uuid4(), error_code="internal_error", reason="r"),
    )
    await wait_until(lambda: len(receiver.received) >= 3, timeout_s=30, what="three attempts")
    assert [r.body["data"]["event_id"] for r in receiver.received] == [failed_event] * 3
    assert len({r.webhook_id for r in receiver.received}) == 1, "the same webhook-id each time"

    async def delivered() -> list[dict[str, Any]]:
        return await _deliveries(hooked, webhook["webhook_id"])

    for _ in range(50):
        (delivery,) = await delivered()
        if delivery["status"] == "delivered":
            break
        await asyncio.sleep(0.1)
    assert delivery["status"] == "delivered"
    assert delivery["attempts"] == 3
    assert delivery["last_status_code"] == 200


async def test_an_analysis_waiting_for_an_answer_is_announced_to_its_subscribers(
    hooked: HookedIngress, receiver: Receiver
) -> None:
    await _register(hooked, receiver, events=["interrupted"])
    analysis_id = uuid.uuid4()
    event_id = await _finish(hooked.infra, hooked.tenant, interrupted_event(analysis_id).payload)
    await _finish(
        hooked.infra, hooked.tenant, AnalysisCompleted(analysis_id=analysis_id, answer="a")
    )
    await wait_until(lambda: len(receiver.received) >= 1, timeout_s=30, what="the delivery")
    await asyncio.sleep(1.0)  # the completed event is not subscribed: nothing more comes

    (delivered,) = receiver.received
    assert delivered.signature_valid
    assert delivered.body["type"] == "analysis.interrupted"
    assert delivered.body["data"]["event_id"] == event_id
    assert delivered.body["data"]["payload"]["prompt"].startswith("No column of the dataset is")


async def test_a_private_address_is_refused_at_registration_and_at_delivery(
    hooked: HookedIngress, receiver: Receiver, engine: AsyncEngine
) -> None:
    other = await PostgresApiKeys(engine).create(tenant_id=f"no-allow-{uuid.uuid4().hex[:6]}")
    async with httpx.AsyncClient(
        base_url=hooked.base_url, headers={"Authorization": f"Bearer {other}"}
    ) as client:
        for url in (
            receiver.url,
            "http://10.1.2.3/hook",
            "http://[::1]:8080/x",
            "http://169.254.169.254/",
        ):
            refused = await client.post("/v1/webhooks", json={"url": url})
            assert refused.status_code == 422, (url, refused.text)
            assert "blocked address" in refused.json()["detail"]

    # Registered while allowed, then the address stops being allowed: the delivery is
    # refused at connect time and marked failed at once, saying why.
    webhook = await _register(hooked, receiver)
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE webhooks SET tenant_id = :other WHERE webhook_id = :id"),
            {"other": hooked.tenant + "-moved", "id": webhook["webhook_id"]},
        )
    await _finish(
        hooked.infra,
        hooked.tenant + "-moved",
        AnalysisCompleted(analysis_id=uuid.uuid4(), answer="a"),
    )

    async def outcome() -> list[Any]:
        async with engine.connect() as connection:
            return list(
                await connection.execute(
                    text(
                        "SELECT status, last_error FROM webhook_deliveries WHERE webhook_id = :id"
                    ),
                    {"id": webhook["webhook_id"]},
                )
            )

    for _ in range(100):
        rows = await outcome()
        if rows and rows[0].status != "pending":
            break
        await asyncio.sleep(0.1)
    assert [r.status for r in rows] == ["failed"]
    assert "blocked address" in rows[0].last_error
    assert receiver.received == []
