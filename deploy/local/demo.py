"""The main job, end to end on embedded defaults (``make run``).

Starts the four services as supervised processes (logs in ``.local/logs/run/``, pids in
``.local/run/``), then does what users and producers do: uploads the sample dataset
over REST, submits one analysis over REST and publishes another straight to Kafka,
follows their progress on ``analysis.progress.v1``, and prints both answers with the
computed figures and citations, and the completed events read from the result topic.
``make stop`` stops the services and the infrastructure.
"""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from sextant_contracts import AnalysisRequested, Envelope
from sextant_ingress.infrastructure.postgres_api_keys import PostgresApiKeys
from sextant_platform.database import create_engine
from sextant_platform.settings import KafkaSettings, PostgresSettings

ROOT = Path(__file__).resolve().parents[2]
LOGS = ROOT / ".local" / "logs" / "run"
PIDS = ROOT / ".local" / "run"
SAMPLE = Path(__file__).with_name("sample") / "sales.csv"
SERVICES = {  # module: readiness port
    "sextant_tools": 8083,
    "sextant_embeddings": 8082,
    "sextant_orchestrator": 8084,
    "sextant_ingress": 8000,
}
TERMINAL_TOPICS = ["analysis.completed.v1", "analysis.failed.v1", "analysis.cancelled.v1"]
DOCUMENTS = [
    {
        "document_id": "pricing-2026",
        "title": "Pricing policy 2026",
        "text": "East prices are the highest; discounts above 15% need approval.",
    },
    {
        "document_id": "ops-memo",
        "title": "Operations memo",
        "text": "The west warehouse moved in June; shipping times were longer that month.",
    },
]


def say(message: str) -> None:
    print(f"\033[1;34m[run]\033[0m {message}", flush=True)


def start_services() -> None:
    LOGS.mkdir(parents=True, exist_ok=True)
    PIDS.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "SEXTANT_INGRESS_HTTP_PORT": "8000"}
    for module in SERVICES:
        pid_file = PIDS / f"{module}.pid"
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text()), 0)
                say(f"{module} already running (pid {pid_file.read_text().strip()})")
                continue
            except (ProcessLookupError, ValueError):
                pid_file.unlink()
        log = (LOGS / f"{module}.log").open("ab")
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", module],
            env=env,
            stdout=log,
            stderr=log,
            cwd=ROOT,
            start_new_session=True,
        )
        pid_file.write_text(str(process.pid))
        say(f"started {module} (pid {process.pid}, log .local/logs/run/{module}.log)")
    for module, port in SERVICES.items():
        wait_ready(module, port)


def wait_ready(module: str, port: int, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                say(f"{module} is ready")
                return
        except httpx.TransportError:
            pass
        pid = int((PIDS / f"{module}.pid").read_text())
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            raise SystemExit(f"{module} died; see .local/logs/run/{module}.log") from None
        time.sleep(0.5)
    raise SystemExit(f"{module} not ready after {timeout_s}s; see .local/logs/run/{module}.log")


def stop_services() -> None:
    for pid_file in PIDS.glob("*.pid"):
        try:
            os.killpg(int(pid_file.read_text()), signal.SIGTERM)
            say(f"stopped {pid_file.stem}")
        except (ProcessLookupError, ValueError, PermissionError):
            pass
        pid_file.unlink(missing_ok=True)


async def api_key() -> str:
    engine = create_engine(PostgresSettings())
    try:
        return await PostgresApiKeys(engine).create(tenant_id="demo", name="make run")
    finally:
        await engine.dispose()


async def follow(kafka: KafkaSettings, wanted: set[str]) -> dict[str, dict[str, Any]]:
    """Print progress of ``wanted`` analyses until each has its terminal event."""
    consumer = AIOKafkaConsumer(
        "analysis.progress.v1",
        *TERMINAL_TOPICS,
        bootstrap_servers=kafka.BOOTSTRAP_SERVERS,
        auto_offset_reset="earliest",
        group_id=None,
        enable_auto_commit=False,
    )
    await consumer.start()
    finished: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + 600
    try:
        while set(finished) != wanted and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    key = (record.key or b"").decode()
                    if key not in wanted:
                        continue
                    event = json.loads(record.value)
                    payload = event["payload"]
                    if record.topic == "analysis.progress.v1":
                        say(f"  {key[:8]} {payload['step']:<10} {payload['status']}")
                    elif key not in finished:
                        finished[key] = {"topic": record.topic, **event}
    finally:
        await consumer.stop()
    return finished


def show(title: str, analysis: dict[str, Any]) -> None:
    say(f"=== {title}: {analysis['status']} ===")
    if analysis.get("answer"):
        print(analysis["answer"])
    if analysis.get("error"):
        print("error:", analysis["error"])
    for call in analysis.get("tool_calls", []):
        result = json.dumps(call.get("result"))[:300]
        print(f"  [{call['call_id']}] {call['tool_name']} {call['arguments']} -> {result}")
    for citation in analysis.get("citations", []):
        print(f"  cites {citation['marker']} {citation['kind']} {citation['source_id']}")


async def main() -> None:
    if sys.argv[1:] == ["stop"]:
        stop_services()
        return
    start_services()
    kafka = KafkaSettings()
    key = await api_key()
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url="http://127.0.0.1:8000", timeout=30) as api:
        upload = await api.post(
            "/v1/datasets",
            content=SAMPLE.read_bytes(),
            headers={**headers, "Content-Type": "text/csv"},
        )
        upload.raise_for_status()
        dataset_id = upload.json()["dataset_id"]
        say(f"uploaded {SAMPLE.name}: dataset {dataset_id} ({upload.json()['rows']} rows)")
        submitted = await api.post(
            "/v1/analyses",
            json={
                "question": "Which region has the highest sales, and do discounts relate to units?",
                "dataset_id": dataset_id,
                "documents": DOCUMENTS,
            },
            headers=headers,
        )
        submitted.raise_for_status()
        rest_id = submitted.json()["analysis_id"]
        say(f"submitted over REST: analysis {rest_id} (202, {submitted.headers['location']})")

        request = AnalysisRequested.model_validate(
            {
                "analysis_id": str(uuid.uuid4()),
                "question": "Are there outliers in sales?",
                "dataset_id": dataset_id,
            }
        )
        producer = AIOKafkaProducer(bootstrap_servers=kafka.BOOTSTRAP_SERVERS, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(
                "analysis.requested.v1",
                Envelope.wrap(request, tenant_id="demo").model_dump_json().encode(),
                key=str(request.analysis_id).encode(),
            )
        finally:
            await producer.stop()
        kafka_id = str(request.analysis_id)
        say(f"published straight to Kafka: analysis {kafka_id}")

        say("following analysis.progress.v1 ...")
        finished = await follow(kafka, {rest_id, kafka_id})
        for analysis_id, label in ((rest_id, "REST submission"), (kafka_id, "Kafka producer")):
            fetched = await api.get(f"/v1/analyses/{analysis_id}", headers=headers)
            show(f"{label} {analysis_id}", fetched.json())
            event = finished.get(analysis_id)
            if event:
                say(f"  terminal event {event['event_id']} on {event['topic']}")
    say("services keep running (REST on http://127.0.0.1:8000/docs); 'make stop' ends them")


if __name__ == "__main__":
    asyncio.run(main())
