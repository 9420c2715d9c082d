"""Benchmark: analyses through the whole real stack, from POST to the completed event.

The ingress, orchestrator and tools run as real processes over the real Kafka, PostgreSQL
and Redis; the LLM is the loopback OpenAI-protocol server answering at once (in its own
thread, so the load generator never delays it). N analyses (a small inline CSV) are
submitted over REST at a fixed concurrency; each latency runs from the start of its POST
to the arrival of its event on ``analysis.completed.v1``. Writes bench/results/e2e.json
(analyses, concurrency, throughput_per_s, cpu_ms_per_analysis: CPU of every process of the
stack per analysis, p50_ms, p99_ms, plus the median of every hop)
and prints where the time goes. Not a test: ``make bench-e2e`` (needs ``make infra-up``).
"""

import argparse
import asyncio
import itertools
import json
import re
import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from sqlalchemy import text

from bench.baseline import checkout, fresh_database, running_as
from bench.cpu_time import cpu_by_part_s, infrastructure_roots
from bench.machine import described, machine
from sextant_ingress.infrastructure.postgres_api_keys import PostgresApiKeys
from sextant_orchestrator.settings import OrchestratorSettings
from sextant_platform.settings import KafkaSettings, PostgresSettings, RedisSettings
from sextant_storage.database import create_engine
from tests.integration.infrastructure import Infrastructure, start_local
from tests.integration.ingress.service import start_ingress
from tests.integration.kafka_helpers import skip_group_to_end
from tests.integration.orchestrator.fake_openai import FakeOpenAI, completion, running_fake_openai
from tests.integration.orchestrator.service import saw_tool_results, start_orchestrator
from tests.integration.processes import ServiceProcess, free_port

RESULTS = Path(__file__).parent / "results" / "e2e.json"
LOCAL = Path(__file__).resolve().parents[1] / ".local"
CSV = "region,sales,units\nnorth,120.5,10\nsouth,80.0,7\nnorth,99.5,9\neast,150.25,12\n"
ANSWER = "North leads [T1]."
RESULT_TOPICS = ["analysis.completed.v1", "analysis.failed.v1"]
DEPLOYED_LEASE_S = OrchestratorSettings.model_fields["LEASE_S"].default
DEPLOYED_OUTBOX_POLL_S = OrchestratorSettings.model_fields["OUTBOX_POLL_S"].default


def answer_at_once(body: dict[str, Any]) -> Any:
    if "tools" in body and saw_tool_results(body):  # round 2: no more calls, the answer
        return completion(ANSWER)
    if "tools" in body:  # planning round 1: one tool call
        return completion(
            tool_calls=[
                ("group_by_aggregate", {"by": ["region"], "metric": "sales", "aggregation": "sum"})
            ]
        )
    return completion(ANSWER)


@contextmanager
def llm_in_its_own_thread() -> Iterator[FakeOpenAI]:
    """The loopback LLM on its own event loop and thread."""
    started = threading.Event()
    holder: dict[str, Any] = {}

    async def serve() -> None:
        async with running_fake_openai() as fake:
            fake.responder = answer_at_once
            holder["fake"], holder["stop"] = fake, asyncio.Event()
            started.set()
            await holder["stop"].wait()

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    started.wait(30)
    try:
        yield holder["fake"]
    finally:
        loop.call_soon_threadsafe(holder["stop"].set)
        thread.join(10)


class CompletionWatcher:
    """Reads the result topics and resolves each analysis's future on its terminal event."""

    def __init__(self, infra: Infrastructure) -> None:
        self._consumer = AIOKafkaConsumer(
            *RESULT_TOPICS,
            bootstrap_servers=infra.kafka.BOOTSTRAP_SERVERS,
            group_id=None,
            auto_offset_reset="latest",
            enable_auto_commit=False,
        )
        self.waiting: dict[str, asyncio.Future[tuple[float, str]]] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._consumer.start()
        await self._consumer.seek_to_end()
        await self._consumer.getmany(timeout_ms=500)  # positions resolved before any POST
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for record in self._consumer:
            arrived = time.perf_counter()
            key = (record.key or b"").decode()
            future = self.waiting.get(key)
            if future is not None and not future.done():
                future.set_result((arrived, record.topic))

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
        await self._consumer.stop()


async def one_analysis(
    client: httpx.AsyncClient, watcher: CompletionWatcher, gate: asyncio.Semaphore
) -> tuple[str, float, float]:
    """(analysis id, POST latency ms, POST-to-completed-event ms)."""
    async with gate:
        started = time.perf_counter()
        response = await client.post(
            "/v1/analyses",
            json={
                "question": "Which region sells most?",
                "inline_dataset": {"media_type": "text/csv", "content": CSV},
            },
        )
        posted = time.perf_counter()
        response.raise_for_status()
        analysis_id = response.json()["analysis_id"]
        future = watcher.waiting.setdefault(analysis_id, asyncio.get_running_loop().create_future())
        arrived, topic = await asyncio.wait_for(future, timeout=300)
        if topic != "analysis.completed.v1":
            raise RuntimeError(f"analysis {analysis_id} ended on {topic}")
        return analysis_id, (posted - started) * 1000, (arrived - started) * 1000


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


ROUND = re.compile(r"\(round (\d+)")


def _label(envelope: dict[str, Any]) -> str:
    """ "plan round 1" from a progress event; the terminal event is "terminal"."""
    payload = envelope.get("payload", {})
    step = payload.get("step")
    if step is None:
        return "terminal event written"
    found = ROUND.search(str(payload.get("message", "")))
    return f"{step} round {found.group(1)}" if found else str(step)


async def hop_profile(infra: Infrastructure, ids: list[str]) -> dict[str, float]:
    """Median ms of each hop, from the rows and the recorded events in sequence order:
    a step (started -> completed) and the gap to the next one (checkpoint, progress)."""
    engine = create_engine(infra.postgres)
    hops: dict[str, list[float]] = {}
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT a.analysis_id, a.created_at, e.sequence, e.envelope"
                    " FROM analyses a JOIN analysis_events e USING (analysis_id)"
                    " WHERE a.analysis_id = ANY(:ids) ORDER BY a.analysis_id, e.sequence"
                ),
                {"ids": [uuid.UUID(i) for i in ids]},
            )
            per_analysis: dict[str, dict[str, Any]] = {}
            for row in rows:
                item = per_analysis.setdefault(
                    str(row.analysis_id), {"created": row.created_at, "events": []}
                )
                occurred = datetime.fromisoformat(row.envelope["occurred_at"])
                item["events"].append((occurred, _label(row.envelope)))
    finally:
        await engine.dispose()

    def add(name: str, start: datetime, end: datetime) -> None:
        hops.setdefault(name, []).append((end - start).total_seconds() * 1000)

    for item in per_analysis.values():
        events = item["events"]
        if not events:
            continue
        add("accepted -> profile started (outbox relay, Kafka, consumer, admit, lease)",
            item["created"], events[0][0])  # fmt: skip
        for (start, label), (end, following) in itertools.pairwise(events):
            name = f"step {label}" if label == following else f"{label} -> {following}"
            add(name, start, end)
    return {name: round(statistics.median(values), 2) for name, values in hops.items()}


async def run(
    infra: Infrastructure, analyses: int, concurrency: int, warmup: int, orchestrator_count: int
) -> dict[str, Any]:
    key = await _api_key(infra)
    with llm_in_its_own_thread() as fake:
        llm_env = {
            "LLM_PROVIDER": "openai-compatible",
            "LLM_BASE_URL": fake.base_url,
            "LLM_MODEL": "bench",
            "LLM_TIMEOUT_S": "30",
            # As deployed, not as the tests run it: their 3 s lease (for quick takeovers)
            # is renewed twice a second, about two database writes per analysis here.
            "SEXTANT_ORCHESTRATOR_LEASE_S": str(DEPLOYED_LEASE_S),
            "SEXTANT_ORCHESTRATOR_OUTBOX_POLL_S": str(DEPLOYED_OUTBOX_POLL_S),
        }
        tools_group = f"bench-tools-{uuid.uuid4().hex[:6]}"
        # A new group would otherwise replay every tool request the topic still holds.
        await skip_group_to_end(infra.kafka, tools_group, ["tools.requested.v1"])
        tools = ServiceProcess(
            "sextant_tools",
            infra,
            env={
                "SEXTANT_TOOLS_HTTP_PORT": str(free_port()),
                "SEXTANT_TOOLS_CONSUMER_GROUP": tools_group,
            },
            name="bench-tools",
        ).start()
        ingress, base_url = await start_ingress(
            infra, name="bench-ingress", outbox_poll_s=DEPLOYED_OUTBOX_POLL_S
        )
        group = f"bench-orchestrator-{uuid.uuid4().hex[:6]}"
        orchestrators = [
            (
                await start_orchestrator(
                    infra,
                    name=f"bench-orchestrator-{number}",
                    group=group,
                    new_group=number == 0,
                    llm_env={
                        **llm_env,
                        "SEXTANT_ORCHESTRATOR_MAX_CONCURRENT_ANALYSES": str(max(concurrency, 4)),
                    },
                )
            )[0]
            for number in range(orchestrator_count)
        ]
        watcher = CompletionWatcher(infra)
        try:
            await watcher.start()
            async with httpx.AsyncClient(
                base_url=base_url, headers={"X-API-Key": key}, timeout=60
            ) as client:
                gate = asyncio.Semaphore(concurrency)
                await asyncio.gather(*(one_analysis(client, watcher, gate) for _ in range(warmup)))
                parts = _parts(orchestrators, ingress, tools)
                cpu_before = cpu_by_part_s(parts)
                started = time.perf_counter()
                done = await asyncio.gather(
                    *(one_analysis(client, watcher, gate) for _ in range(analyses))
                )
                elapsed = time.perf_counter() - started
                cpu_by_part = {
                    name: seconds - cpu_before[name]
                    for name, seconds in cpu_by_part_s(parts).items()
                }
                cpu_s = sum(cpu_by_part.values())
        finally:
            await watcher.stop()
            for process in (*orchestrators, ingress, tools):
                process.stop()
    latencies = [total for _, _, total in done]
    posts = [post for _, post, _ in done]
    return {
        "analyses": analyses,
        "concurrency": concurrency,
        "orchestrators": orchestrator_count,
        "throughput_per_s": round(analyses / elapsed, 2),
        "cpu_ms_per_analysis": round(cpu_s * 1000 / analyses, 1),
        "cpu_ms_per_analysis_by_part": {
            name: round(seconds * 1000 / analyses, 1) for name, seconds in cpu_by_part.items()
        },
        "p50_ms": round(percentile(latencies, 0.50), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "post_p50_ms": round(percentile(posts, 0.50), 1),
        "hops_median_ms": await hop_profile(infra, [analysis_id for analysis_id, _, _ in done]),
    }


def _parts(
    orchestrators: list[ServiceProcess], ingress: ServiceProcess, tools: ServiceProcess
) -> dict[str, list[int]]:
    """Every process of the stack, by part: each service (with its workers), each server."""
    services = {"orchestrator": orchestrators, "ingress": [ingress], "tools": [tools]}
    return {
        **{
            name: [p.process.pid for p in processes if p.process is not None]
            for name, processes in services.items()
        },
        **infrastructure_roots(LOCAL),
    }


async def _api_key(infra: Infrastructure) -> str:
    engine = create_engine(infra.postgres)
    try:
        return await PostgresApiKeys(engine).create(tenant_id="bench", name="bench-e2e")
    finally:
        await engine.dispose()


def _measure(
    args: argparse.Namespace, infra: Infrastructure, concurrency: int, analyses: int
) -> dict[str, Any]:
    return asyncio.run(run(infra, analyses, concurrency, args.warmup, args.orchestrators))


TODAY_DATABASE = "sextant_bench_today"


def _infra_on(database: str) -> Infrastructure:
    """The local servers, with a database of this side's own."""
    return Infrastructure(
        KafkaSettings(), PostgresSettings(DB=database), RedisSettings(), local=True
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--analyses", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--c1-analyses", type=int, default=60, help="analyses at concurrency 1")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument(
        "--orchestrators", type=int, default=1, help="orchestrator processes (one group)"
    )
    parser.add_argument(
        "--baseline",
        default="3a7b11c",
        help="git ref measured in the same run, alternating with today's code ('' skips it)",
    )
    args = parser.parse_args()
    start_local()
    infra = _infra_on(TODAY_DATABASE)
    fresh_database(None, TODAY_DATABASE)
    baseline = checkout(args.baseline) if args.baseline else None
    if baseline is not None:
        fresh_database(baseline, baseline.database)
    print(described())
    result: dict[str, Any] = machine()
    # A pass thrown away first: Kafka's JIT and the servers' caches warm up over the first
    # minutes, and whichever side ran first paid for it (measured: Kafka's CPU per
    # analysis 22.6 ms in a first run, 7.0 ms in the next, same code).
    _measure(args, infra, args.concurrency, args.analyses // 2)
    # Alternating today / baseline at each concurrency: drift in the box hits both.
    result.update(_measure(args, infra, args.concurrency, args.analyses))
    if baseline is not None:
        with running_as(baseline):
            base_many = _measure(
                args, _infra_on(baseline.database), args.concurrency, args.analyses
            )
    result["c1"] = _measure(args, infra, 1, args.c1_analyses)
    if baseline is not None:
        with running_as(baseline):
            base_one = _measure(args, _infra_on(baseline.database), 1, args.c1_analyses)
        result["baseline"] = {
            "ref": baseline.ref,
            "sha": baseline.sha,
            **{k: v for k, v in base_many.items() if k != "hops_median_ms"},
            "c1": {k: v for k, v in base_one.items() if k != "hops_median_ms"},
        }
        result["speedup_vs_baseline"] = round(
            result["throughput_per_s"] / base_many["throughput_per_s"], 2
        )
        result["c1_p50_vs_baseline"] = round(base_one["p50_ms"] / result["c1"]["p50_ms"], 2)
        result["cpu_per_analysis_vs_baseline"] = round(
            base_many["cpu_ms_per_analysis"] / result["cpu_ms_per_analysis"], 2
        )
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    slowest = max(result["hops_median_ms"].items(), key=lambda item: item[1])
    print(f"slowest hop (median): {slowest[0]} = {slowest[1]} ms")


if __name__ == "__main__":
    main()
