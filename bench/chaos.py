"""``make chaos``: every accepted analysis ends, whatever is killed meanwhile.

The real stack — Kafka, PostgreSQL and Redis started by the project; the tools service,
two orchestrators and the ingress as processes; the loopback OpenAI-protocol LLM — takes
N analyses, half over REST and half published straight to Kafka, while a fault injector
kill -9s each service, the Kafka broker, PostgreSQL and Redis (and SIGSTOPs each for a
few seconds), restarting what it killed. Then it waits for every analysis to end, and
publishes a matrix of bad records with kcat (a non-Python client), each followed by a
good request with the same key (so on the same partition).

Writes ``bench/results/chaos.json``: submitted, completed, failed (by code), stuck
(not terminal at the end), lost (no row, or a terminal row without its event),
duplicate_terminal_events, redone_finished_steps (a step started again after its
completion was published), faults (by kind), max_recovery_s per fault kind (from the
fault's end until a probe analysis published right then completed), bad_inputs (each:
outcome, whether the partition kept flowing), and the CPU. Targets: stuck = lost =
duplicates = 0.

A benchmark, not a test: ``make chaos``. ``tests/integration/test_chaos.py`` runs a
short version (about 20 analyses, one fault of each kind).
"""

import argparse
import asyncio
import base64
import contextlib
import json
import os
import random
import signal
import subprocess
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import text
from tenacity import AsyncRetrying, retry_if_exception, stop_after_delay, wait_exponential

from bench.e2e_bench import CSV, answer_at_once, llm_in_its_own_thread
from bench.machine import machine
from sextant_contracts import AnalysisRequested, Envelope
from sextant_ingress.infrastructure.postgres_api_keys import PostgresApiKeys
from sextant_storage.database import create_engine
from tests.conftest import REPO_ROOT
from tests.integration.infrastructure import Infrastructure, start_local
from tests.integration.ingress.service import start_ingress
from tests.integration.kafka_helpers import read_all, skip_group_to_end
from tests.integration.orchestrator.service import start_orchestrator
from tests.integration.processes import ServiceProcess, free_port

RESULTS = Path(__file__).parent / "results" / "chaos.json"
LOCAL = REPO_ROOT / ".local"
TERMINAL_TOPICS = ("analysis.completed.v1", "analysis.failed.v1", "analysis.cancelled.v1")
TERMINAL = ("completed", "failed", "cancelled")
QUESTION = "Which region sells most?"
TENANT = "chaos"
PAUSE_S = 3.0


@dataclass
class Target:
    """Something the injector can kill -9 or pause, and bring back."""

    name: str
    pid: Callable[[], int | None]
    restart: Callable[[], Awaitable[None]]


@dataclass
class Fault:
    kind: str
    """``kill:<target>`` or ``pause:<target>``."""
    started: float
    ended: float = 0.0


@dataclass
class Run:
    """What happened, for the report."""

    submitted: dict[str, str] = field(default_factory=dict)
    """analysis id → how it was submitted (rest or kafka)."""
    faults: list[Fault] = field(default_factory=list)
    completed_at: dict[str, float] = field(default_factory=dict)
    """analysis id → wall-clock time its completed event arrived."""
    probes: dict[str, Fault] = field(default_factory=dict)
    """A probe analysis published right after each fault: its latency is the recovery."""
    restart_failures: list[str] = field(default_factory=list)
    """Faults after which the target did not come back within the injector's patience."""


def _read_pid(path: Path, *, first_line: bool = True) -> int | None:
    try:
        lines = path.read_text().split()
        return int(lines[0]) if first_line and lines else None
    except (OSError, ValueError):
        return None


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(p) for p in found.stdout.split()]


async def _script(name: str, action: str) -> None:
    await asyncio.to_thread(
        subprocess.run,
        ["bash", str(REPO_ROOT / "deploy" / "local" / f"{name}.sh"), action],
        check=True,
        capture_output=True,
    )


def server_targets() -> list[Target]:
    """Kafka, PostgreSQL (the postmaster and its backends) and Redis, run by the project."""

    def restart(name: str) -> Callable[[], Awaitable[None]]:
        return lambda: _script(name, "up")

    return [
        Target("kafka", lambda: _read_pid(LOCAL / "kafka" / "kafka.pid"), restart("kafka")),
        Target(
            "postgres",
            lambda: _read_pid(LOCAL / "postgres" / "data" / "postmaster.pid"),
            restart("postgres"),
        ),
        Target("redis", lambda: _read_pid(LOCAL / "redis" / "redis.pid"), restart("redis")),
    ]


def service_target(name: str, process: ServiceProcess, ready_url: str) -> Target:
    """A service process; restarted with the same settings, ready when its probe says so."""

    def pid() -> int | None:
        return process.process.pid if process.process and process.process.poll() is None else None

    async def restart() -> None:
        if process.process is not None and process.process.poll() is None:
            return
        process.start()
        await asyncio.to_thread(process.wait_http, ready_url, timeout_s=180)

    return Target(name, pid, restart)


async def inject(target: Target, kind: str, run: Run, probe: Callable[[], Awaitable[str]]) -> None:
    """One fault: kill -9 (the process and, for PostgreSQL, its backends) and restart, or
    SIGSTOP for a few seconds and SIGCONT."""
    pid = target.pid()
    if pid is None:
        return
    fault = Fault(f"{kind}:{target.name}", time.time())
    run.faults.append(fault)
    print(f"[chaos] {fault.kind}", flush=True)
    if kind == "pause":
        os.kill(pid, signal.SIGSTOP)
        await asyncio.sleep(PAUSE_S)
        os.kill(pid, signal.SIGCONT)
    else:
        victims = [pid, *(_children(pid) if target.name == "postgres" else [])]
        for victim in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        await asyncio.sleep(1.0)
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_delay(180), wait=wait_exponential(max=5)
            ):
                with attempt:
                    await target.restart()
        except Exception as error:  # reported, and tried again once the faults are over
            print(f"[chaos] {target.name} did not come back: {error!r}", flush=True)
            run.restart_failures.append(fault.kind)
    fault.ended = time.time()
    probe_id = await probe()
    run.submitted[probe_id] = "probe"
    run.probes[probe_id] = fault


def _transient(error: BaseException) -> bool:
    if isinstance(error, httpx.HTTPStatusError):
        return error.response.status_code >= 500 or error.response.status_code == 429
    return isinstance(error, httpx.TransportError | OSError)


def request_envelope(analysis_id: uuid.UUID) -> Envelope[AnalysisRequested]:
    request = AnalysisRequested.model_validate(
        {
            "analysis_id": str(analysis_id),
            "question": QUESTION,
            "inline_dataset": {"media_type": "text/csv", "content": CSV},
        }
    )
    return Envelope.wrap(request, tenant_id=TENANT, correlation_id=f"chaos-{analysis_id}")


async def submit_rest(base_url: str, api_key: str) -> str:
    """POST until accepted (the ingress may be down); the Idempotency-Key makes a retry of
    a POST whose answer was lost the same submission."""
    key = uuid.uuid4().hex
    async for attempt in AsyncRetrying(
        retry=retry_if_exception(_transient),
        stop=stop_after_delay(300),
        wait=wait_exponential(multiplier=0.2, max=5),
        reraise=True,
    ):
        with attempt:
            async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
                response = await client.post(
                    "/v1/analyses",
                    json={
                        "question": QUESTION,
                        "inline_dataset": {"media_type": "text/csv", "content": CSV},
                    },
                    headers={"Authorization": f"Bearer {api_key}", "Idempotency-Key": key},
                )
                response.raise_for_status()
    return str(response.json()["analysis_id"])


async def submit_kafka(producer: AIOKafkaProducer) -> str:
    """Publish straight to Kafka as a foreign producer would (retried while the broker is
    away; the idempotent producer keeps it one record)."""
    analysis_id = uuid.uuid4()
    envelope = request_envelope(analysis_id)
    async for attempt in AsyncRetrying(stop=stop_after_delay(300), wait=wait_exponential(max=5)):
        with attempt:
            await asyncio.wait_for(
                producer.send_and_wait(
                    "analysis.requested.v1",
                    envelope.model_dump_json().encode(),
                    key=str(analysis_id).encode(),
                ),
                timeout=30,
            )
    return str(analysis_id)


async def watch_completions(infra: Infrastructure, run: Run, stop: asyncio.Event) -> None:
    """Times of completed events, for recovery times (reconnects through broker faults)."""
    while not stop.is_set():
        consumer = AIOKafkaConsumer(
            "analysis.completed.v1",
            bootstrap_servers=infra.kafka.BOOTSTRAP_SERVERS,
            group_id=None,
            auto_offset_reset="latest",
            enable_auto_commit=False,
        )
        try:
            await consumer.start()
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=500)
                for records in batches.values():
                    for record in records:
                        key = (record.key or b"").decode()
                        run.completed_at.setdefault(key, time.time())
        except Exception as error:  # the broker was killed: reconnect
            print(f"[chaos] watcher reconnects: {type(error).__name__}", flush=True)
            await asyncio.sleep(1)
        finally:
            await consumer.stop()


async def statuses(infra: Infrastructure, ids: list[str]) -> dict[str, tuple[str, Any]]:
    engine = create_engine(infra.postgres)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT analysis_id, status, error, terminal_event_id FROM analyses"
                    " WHERE analysis_id = ANY(:ids)"
                ),
                {"ids": [uuid.UUID(i) for i in ids]},
            )
            return {str(r.analysis_id): (r.status, r) for r in rows}
    finally:
        await engine.dispose()


async def wait_all_terminal(
    infra: Infrastructure, ids: list[str], timeout_s: float
) -> dict[str, tuple[str, Any]]:
    deadline = time.monotonic() + timeout_s
    found: dict[str, tuple[str, Any]] = {}
    while time.monotonic() < deadline:
        try:
            found = await statuses(infra, ids)
        except Exception as error:  # PostgreSQL restarting
            print(f"[chaos] status read failed: {type(error).__name__}", flush=True)
            await asyncio.sleep(2)
            continue
        open_ = [i for i in ids if found.get(i, ("",))[0] not in TERMINAL]
        if not open_:
            break
        print(f"[chaos] {len(open_)} analyses not yet terminal", flush=True)
        await asyncio.sleep(3)
    return found


async def terminal_events(infra: Infrastructure, ids: set[str]) -> Counter[str]:
    counted: Counter[str] = Counter()
    for topic in TERMINAL_TOPICS:
        for record in await read_all(infra.kafka, topic, expected=10**9, timeout_s=10):
            key = (record.key or b"").decode()
            if key in ids:
                counted[key] += 1
    return counted


async def redone_finished_steps(infra: Infrastructure, ids: set[str]) -> int:
    """Progress events (best effort) in offset order: a step whose ``completed`` was
    published and whose ``started`` (same position) comes again later was redone."""
    records = await read_all(infra.kafka, "analysis.progress.v1", expected=10**9, timeout_s=10)
    completed: dict[str, set[int]] = defaultdict(set)
    redone = 0
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        key = (record.key or b"").decode()
        if key not in ids:
            continue
        payload = json.loads(record.value or b"{}").get("payload", {})
        sequence = int(payload.get("sequence", -1))
        if payload.get("status") == "completed":
            completed[key].add(sequence)
        elif sequence + 1 in completed[key]:
            redone += 1
    return redone


def recovery_times(run: Run) -> dict[str, float | None]:
    """Per fault kind, the longest time from a fault's end until the probe analysis
    published right after it completed (None: a probe that did not complete)."""
    worst: dict[str, float | None] = {}
    for probe, fault in run.probes.items():
        done = run.completed_at.get(probe)
        recovery = round(done - fault.ended, 2) if done is not None else None
        if fault.kind not in worst or recovery is None:
            worst[fault.kind] = recovery
        elif worst[fault.kind] is not None:
            worst[fault.kind] = max(worst[fault.kind] or 0.0, recovery)
    return worst


@dataclass
class BadInput:
    name: str
    value: bytes
    headers: dict[str, str] = field(default_factory=dict)
    codec: str | None = None


def bad_inputs() -> list[BadInput]:
    """What foreign producers send: compressed, malformed, hostile, oversized, unknown."""
    good = request_envelope(uuid.uuid4()).model_dump(mode="json")
    nul = json.loads(json.dumps(good))
    nul["payload"]["question"] = "Which region\u0000 sells most?"
    huge = json.dumps(good).replace(
        '"analysis_id"', '"options": {"max_tool_calls": ' + "9" * 400 + '}, "analysis_id"', 1
    )
    newer = {**good, "schema_version": 99}
    return [
        BadInput("lz4_compressed", json.dumps(good).encode(), codec="lz4"),
        BadInput(
            "zstd_compressed",
            json.dumps(request_envelope(uuid.uuid4()).model_dump(mode="json")).encode(),
            codec="zstd",
        ),
        BadInput("nul_in_question", json.dumps(nul).encode()),
        BadInput("invalid_utf8", b'{"payload": {"question": "\xff\xfe"}}'),
        BadInput("huge_number", huge.encode()),
        BadInput("wrong_schema_version", json.dumps(newer).encode()),
        BadInput(
            "hostile_headers",
            json.dumps(request_envelope(uuid.uuid4()).model_dump(mode="json")).encode(),
            headers={
                "x-sextant-not-before": "soon",
                "x-sextant-attempt": "many",
                "x-sextant-original-topic": "analysis.completed.v1",
            },
        ),
        BadInput("not_json", b"\x00\x01 not json at all"),
        BadInput("oversize", b'{"payload": "' + b"x" * (2 * 1024 * 1024) + b'"}'),
    ]


def kcat_produce(infra: Infrastructure, bad: BadInput, key: str) -> str | None:
    """Publish one record with kcat (None when the broker took it, else why not)."""
    with tempfile.NamedTemporaryFile(suffix=".msg") as message:
        message.write(bad.value)
        message.flush()
        command = ["kcat", "-P", "-b", infra.kafka.BOOTSTRAP_SERVERS, "-t", "analysis.requested.v1"]
        command += ["-k", key]
        for name, value in bad.headers.items():
            command += ["-H", f"{name}={value}"]
        if bad.codec:
            command += ["-z", bad.codec]
        done = subprocess.run([*command, message.name], capture_output=True, text=True, timeout=60)
    if done.returncode != 0 or "failed" in done.stderr.lower():
        return (done.stderr.strip() or f"kcat exited {done.returncode}")[-300:]
    return None


async def bad_input_matrix(infra: Infrastructure, producer: AIOKafkaProducer) -> dict[str, Any]:
    """Each bad record, then a good request with the same key: the bad one must end in a
    clear error (DLQ with a reason, or a failed analysis) or be served, and the good one
    behind it on the same partition must complete."""
    cases: list[tuple[BadInput, str, str | None, str]] = []
    for bad in bad_inputs():
        key = f"chaos-bad-{bad.name}-{uuid.uuid4().hex[:6]}"
        refused = await asyncio.to_thread(kcat_produce, infra, bad, key)
        follower = uuid.uuid4()
        await producer.send_and_wait(
            "analysis.requested.v1",
            request_envelope(follower).model_dump_json().encode(),
            key=key.encode(),
        )
        cases.append((bad, key, refused, str(follower)))
    followers = [c[3] for c in cases]
    embedded = {
        c[0].name: str(json.loads(c[0].value)["payload"]["analysis_id"])
        for c in cases
        if c[0].name in ("lz4_compressed", "zstd_compressed", "hostile_headers")
    }
    rows = await wait_all_terminal(infra, followers + list(embedded.values()), timeout_s=240)
    letters = await read_all(infra.kafka, "analysis.requested.v1.dlq", expected=10**9, timeout_s=10)
    by_key = {}
    for record in letters:
        letter = json.loads(record.value or b"{}")
        raw_key = letter.get("key_base64")
        if raw_key:
            by_key[base64.b64decode(raw_key).decode(errors="replace")] = letter
    report: dict[str, Any] = {}
    for bad, key, refused, follower_id in cases:
        flowing = rows.get(follower_id, ("",))[0] == "completed"
        if refused is not None:
            outcome = f"refused by the broker: {refused}"
        elif key in by_key:
            letter = by_key[key]
            outcome = f"dead-lettered: {letter['error_type']}: {letter['error_message'][:160]}"
        elif bad.name in embedded:
            outcome = f"analysis {rows.get(embedded[bad.name], ('missing',))[0]}"
        else:
            outcome = "no trace (neither dead-lettered nor run)"
        report[bad.name] = {"outcome": outcome, "partition_kept_flowing": flowing}
    return report


async def run_chaos(*, analyses: int, faults_per_kind: int, seed: int) -> dict[str, Any]:
    random.seed(seed)
    infra = start_local()
    run = Run()
    processes: list[ServiceProcess] = []
    with llm_in_its_own_thread() as fake:
        fake.responder = answer_at_once
        llm_env = {
            "LLM_PROVIDER": "openai-compatible",
            "LLM_BASE_URL": fake.base_url,
            "LLM_MODEL": "chaos",
            "LLM_TIMEOUT_S": "30",
            "SEXTANT_ORCHESTRATOR_OUTAGE_BUDGET_S": "240",
            # The lifecycle sweep runs here as in production, faster: whatever a fault
            # leaves without an owner is driven again within seconds.
            "SEXTANT_ORCHESTRATOR_SWEEP_INTERVAL_S": "5",
            "SEXTANT_ORCHESTRATOR_REDRIVE_GRACE_S": "10",
            "SEXTANT_ORCHESTRATOR_REDRIVE_EVERY_S": "30",
        }
        tools_group = f"chaos-tools-{uuid.uuid4().hex[:6]}"
        await skip_group_to_end(infra.kafka, tools_group, ["tools.requested.v1"])
        tools_port = free_port()
        tools = ServiceProcess(
            "sextant_tools",
            infra,
            env={
                "SEXTANT_TOOLS_HTTP_PORT": str(tools_port),
                "SEXTANT_TOOLS_CONSUMER_GROUP": tools_group,
            },
            name="chaos-tools",
        ).start()
        processes.append(tools)
        await asyncio.to_thread(tools.wait_http, f"http://127.0.0.1:{tools_port}/readyz")
        group = f"chaos-orchestrator-{uuid.uuid4().hex[:6]}"
        targets = [service_target("tools", tools, f"http://127.0.0.1:{tools_port}/readyz")]
        for number in (1, 2):
            process, port = await start_orchestrator(
                infra,
                name=f"chaos-orchestrator-{number}",
                group=group,
                llm_env=llm_env,
                new_group=number == 1,
            )
            processes.append(process)
            targets.append(
                service_target(f"orchestrator-{number}", process, f"http://127.0.0.1:{port}/readyz")
            )
        ingress, base_url = await start_ingress(infra, name="chaos-ingress")
        processes.append(ingress)
        targets.append(service_target("ingress", ingress, f"{base_url}/readyz"))
        targets += server_targets()
        engine = create_engine(infra.postgres)
        try:
            api_key = await PostgresApiKeys(engine).create(tenant_id=TENANT, name="chaos")
        finally:
            await engine.dispose()

        producer = AIOKafkaProducer(
            bootstrap_servers=infra.kafka.BOOTSTRAP_SERVERS, acks="all", enable_idempotence=True
        )
        await producer.start()
        stop_watching = asyncio.Event()
        watcher = asyncio.create_task(watch_completions(infra, run, stop_watching))
        try:
            gate = asyncio.Semaphore(8)

            kinds = [(t, k) for t in targets for k in ("kill", "pause")] * faults_per_kind
            random.shuffle(kinds)
            window_s = 4.0 * len(kinds)  # submissions spread over the faults

            async def one(number: int) -> None:
                await asyncio.sleep(random.uniform(0, window_s))
                async with gate:
                    if number % 2:
                        run.submitted[await submit_kafka(producer)] = "kafka"
                    else:
                        run.submitted[await submit_rest(base_url, api_key)] = "rest"

            async def injector() -> None:
                for target, kind in kinds:
                    await asyncio.sleep(random.uniform(2, 6))
                    await inject(target, kind, run, lambda: submit_kafka(producer))

            started = time.time()
            await asyncio.gather(injector(), *(one(n) for n in range(analyses)))
            for target in targets:  # anything a fault left down comes back
                if target.pid() is None:
                    await target.restart()
            ids = list(run.submitted)
            rows = await wait_all_terminal(infra, ids, timeout_s=600)
            events = await terminal_events(infra, set(ids))
            redone = await redone_finished_steps(infra, set(ids))
            matrix = await bad_input_matrix(infra, producer)
        finally:
            stop_watching.set()
            await watcher
            await producer.stop()
            for process in reversed(processes):
                process.kill()

    statuses_seen = Counter(rows.get(i, ("missing",))[0] for i in ids)
    failed_codes = Counter(
        (rows[i][1].error or {}).get("code", "?") for i in ids if rows.get(i, ("",))[0] == "failed"
    )
    lost = [i for i in ids if i not in rows or (rows[i][0] in TERMINAL and events.get(i, 0) == 0)]
    return {
        "submitted": len(ids),  # the analyses asked for and one probe per fault
        "by_channel": dict(Counter(run.submitted.values())),
        "completed": statuses_seen.get("completed", 0),
        "failed": dict(failed_codes),
        "cancelled": statuses_seen.get("cancelled", 0),
        "stuck": sum(1 for i in ids if i in rows and rows[i][0] not in TERMINAL),
        "lost": len(lost),
        "duplicate_terminal_events": sum(max(0, n - 1) for n in events.values()),
        "redone_finished_steps": redone,
        "faults": dict(Counter(f.kind for f in run.faults)),
        "restart_failures": run.restart_failures,
        "max_recovery_s": recovery_times(run),
        "bad_inputs": matrix,
        "duration_s": round(time.time() - started, 1),
        **machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--analyses", type=int, default=100, help="besides one probe per fault")
    parser.add_argument("--faults-per-kind", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    report = asyncio.run(
        run_chaos(analyses=args.analyses, faults_per_kind=args.faults_per_kind, seed=args.seed)
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    ok = report["stuck"] == 0 and report["lost"] == 0 and report["duplicate_terminal_events"] == 0
    print("targets met" if ok else "TARGETS MISSED: stuck, lost and duplicates must be 0")


if __name__ == "__main__":
    main()
