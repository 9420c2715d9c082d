"""The main job, end to end on embedded defaults (``make run``).

Starts the four services under a supervisor that restarts any that exits (logs in
``.local/logs/run/``, pids in ``.local/run/``), then does what users and producers do:
uploads the sample dataset over REST, submits one analysis over REST and publishes
another straight to Kafka, follows their progress on ``analysis.progress.v1``, and
prints both answers with the computed figures and citations, and the completed events
read from the result topic.
``make stop`` stops the services and the infrastructure.
"""

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sextant_cli.kafka import publish_request, tail
from sextant_cli.render import analysis_text, event_line
from sextant_cli.rest import ApiError, SextantClient
from tenacity import AsyncRetrying, retry_if_exception, stop_after_delay, wait_fixed

from sextant_contracts import AnalysisRequested
from sextant_ingress.infrastructure.postgres_api_keys import PostgresApiKeys
from sextant_platform.settings import KafkaSettings, PostgresSettings
from sextant_storage.database import create_engine

ROOT = Path(__file__).resolve().parents[2]
LOGS = ROOT / ".local" / "logs" / "run"
PIDS = ROOT / ".local" / "run"
SAMPLE = Path(__file__).with_name("sample") / "sales.csv"
FOLLOW_UP = "And for months with more than 60 units?"
SUPERVISOR = Path(__file__).with_name("supervisor.py")
SUPERVISOR_PID = PIDS / "supervisor.pid"
SERVICES = {  # module: readiness port
    "sextant_tools": 8083,
    "sextant_embeddings": 8082,
    "sextant_orchestrator": 8084,
    "sextant_ingress": 8000,
}
API_URL = "http://127.0.0.1:8000"
TENANT = "demo"
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
    """The services run under the supervisor (``supervisor.py``), which restarts any
    that exits, with backoff, and says so in ``.local/logs/run/supervisor.log``."""
    LOGS.mkdir(parents=True, exist_ok=True)
    PIDS.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "SEXTANT_INGRESS_HTTP_PORT": "8000"}
    if _alive(SUPERVISOR_PID):
        say(f"services already running (supervisor pid {SUPERVISOR_PID.read_text().strip()})")
    else:
        log = (LOGS / "supervisor.out").open("ab")
        supervisor = subprocess.Popen(  # noqa: S603 - our own interpreter and script
            [sys.executable, str(SUPERVISOR), "--pids", str(PIDS), "--logs", str(LOGS), *SERVICES],
            env=env,
            stdout=log,
            stderr=log,
            cwd=ROOT,
            start_new_session=True,
        )
        SUPERVISOR_PID.write_text(str(supervisor.pid))
        say(f"started the services under a supervisor (pid {supervisor.pid});")
        say("  it restarts any that exits: see .local/logs/run/supervisor.log")
    for module, port in SERVICES.items():
        wait_ready(module, port)


def _alive(pid_file: Path) -> bool:
    try:
        os.kill(int(pid_file.read_text()), 0)
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return False
    return True


def wait_ready(module: str, port: int, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                say(f"{module} is ready")
                return
        except httpx.TransportError:
            pass
        if not _alive(SUPERVISOR_PID):
            raise SystemExit("the supervisor died; see .local/logs/run/supervisor.out")
        time.sleep(0.5)
    raise SystemExit(f"{module} not ready after {timeout_s}s; see .local/logs/run/{module}.log")


def stop_services() -> None:
    """The supervisor stops its services (SIGTERM, then SIGKILL after a grace); any
    service left by a supervisor that was itself killed is stopped here."""
    if _alive(SUPERVISOR_PID):
        pid = int(SUPERVISOR_PID.read_text())
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 40
        while _alive(SUPERVISOR_PID) and time.monotonic() < deadline:
            time.sleep(0.2)
        say("stopped the supervisor and its services")
    SUPERVISOR_PID.unlink(missing_ok=True)
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
        return await PostgresApiKeys(engine).create(tenant_id=TENANT, name="make run")
    finally:
        await engine.dispose()


async def when_known(client: SextantClient, analysis_id: str) -> None:
    """A request published to Kafka is known to the API once the orchestrator admitted it."""
    async for attempt in AsyncRetrying(
        retry=retry_if_exception(lambda e: isinstance(e, ApiError) and e.status == 404),
        stop=stop_after_delay(120),
        wait=wait_fixed(0.5),
        reraise=True,
    ):
        with attempt:
            await client.get(analysis_id)


async def show_progress(client: SextantClient, analysis_id: str) -> None:
    await when_known(client, analysis_id)
    async for event in client.follow(analysis_id):
        say("  " + event_line(event.event, event.data))


async def terminal_events(kafka: KafkaSettings, wanted: set[str]) -> dict[str, dict[str, Any]]:
    """The terminal event of each wanted analysis, read from the result topics."""
    found: dict[str, dict[str, Any]] = {}
    async for topic_name, event in tail(kafka, group_id=None, from_beginning=True, progress=False):
        analysis_id = str(event.get("payload", {}).get("analysis_id"))
        if analysis_id in wanted:
            found.setdefault(analysis_id, {"topic": topic_name, **event})
        if set(found) == wanted:
            break
    return found


async def main() -> None:
    if sys.argv[1:] == ["stop"]:
        stop_services()
        return
    start_services()
    kafka = KafkaSettings()
    key = await api_key()
    async with SextantClient(API_URL, key, timeout_s=30) as client:
        dataset = await client.upload(SAMPLE)
        say(f"uploaded {SAMPLE.name}: dataset {dataset['dataset_id']} ({dataset['rows']} rows)")
        thread_id = await client.start_thread()
        accepted = await client.ask(
            thread_id,
            {
                "question": "Which region has the highest sales?",
                "dataset_id": dataset["dataset_id"],
                "documents": DOCUMENTS,
            },
        )
        rest_id = str(accepted["analysis_id"])
        say(
            f"asked over REST in thread {thread_id}: analysis {rest_id}"
            f" (202, {accepted['links']['self']})"
        )

        request = AnalysisRequested.model_validate(
            {
                "analysis_id": str(uuid.uuid4()),
                "question": "What were the total sales per quarter in the north?",
                "dataset_id": dataset["dataset_id"],
            }
        )
        await publish_request(kafka, request, tenant_id=TENANT)
        kafka_id = str(request.analysis_id)
        say(f"published straight to Kafka: analysis {kafka_id}")

        say("following both analyses over SSE (GET /v1/analyses/{id}/events) ...")
        await asyncio.gather(show_progress(client, rest_id), show_progress(client, kafka_id))
        finished = await terminal_events(kafka, {rest_id, kafka_id})
        for analysis_id, label in ((rest_id, "REST submission"), (kafka_id, "Kafka producer")):
            say(f"=== {label} ===")
            print(analysis_text(await client.get(analysis_id)))
            event = finished[analysis_id]
            say(f"  terminal event {event['event_id']} on {event['topic']}")

        follow_up = await client.ask(thread_id, {"question": FOLLOW_UP})
        follow_up_id = str(follow_up["analysis_id"])
        say(f"a follow-up in the same thread: {FOLLOW_UP!r} (analysis {follow_up_id})")
        await show_progress(client, follow_up_id)
        say("=== follow-up (the previous question again, with its filter) ===")
        print(analysis_text(await client.get(follow_up_id)))
    say(f"the web console: {API_URL}/console/ (API key for tenant {TENANT}: {key})")
    say(f"services keep running (REST on {API_URL}/docs); 'make stop' ends them")


if __name__ == "__main__":
    asyncio.run(main())
