"""Benchmark: embeddings through the service over Kafka vs raw in-process encode, per backend.

Same run, same machine, same short sentences (12 words). For each backend:
- ``raw_sps``: that backend's model called in-process at batch 32 (for ``torch`` this is
  exactly ``SentenceTransformer.encode``); the baseline the service is judged against;
- ``service_sps``: ``python -m sextant_embeddings`` as its own process, fed by many
  concurrent single-sentence requests over Kafka (``--texts-per-request N``: N sentences
  each) (request -> batcher -> reply), with
  p50/p99 request latency;
- ``batcher_sps``: the service's batcher in-process, no Kafka, the same single-text
  requesters: what batching alone costs against raw (``batcher_ratio``);
- ``cpu_cores_by_process``: cores used during the service run by the service, the load
  generator (this process) and Kafka: on a 2-core box all three share the model's cores;
- ``min_cosine_vs_fp32``: the backend's vectors against sentence-transformers fp32 on a
  fixed text set.
Raw sentence-transformers fp32 is also printed, so every backend's speed-up is visible.
Writes bench/results/embeddings.json. Not a test: ``make bench-embeddings``.
"""

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import IO, Any

import httpx
import numpy as np

from bench.cpu_time import cpu_by_part_s, infrastructure_roots
from bench.machine import described, machine
from sextant_contracts import EmbeddingReplied, EmbeddingRequested, EmbedTexts
from sextant_embeddings.application.batcher import BatchBudget, EmbeddingBatcher
from sextant_embeddings.infrastructure.backends import load_embedding_service
from sextant_embeddings.infrastructure.model_files import resolve_model_path
from sextant_embeddings.infrastructure.openvino_backend import (
    QuantizationTooLossy,
    UnsupportedModel,
)
from sextant_embeddings.infrastructure.sentence_model import from_vectors
from sextant_embeddings.settings import EmbeddingsSettings
from sextant_kafka import create_broker
from sextant_kafka.request_reply import KafkaRequestReply
from sextant_platform.settings import KafkaSettings

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "embeddings.json"
LOCAL = ROOT / ".local"
LOGS = LOCAL / "logs"
WORDS = "revenue churn region quarter growth median outlier forecast cohort margin price unit"
QUALITY_TEXTS = [
    "Revenue grew by twelve percent in the third quarter.",
    "The patient was discharged after two days of observation.",
    "Kafka keeps messages of one key in order within a partition.",
    "Die Umsätze stiegen im dritten Quartal deutlich.",
    "東京の人口は約千四百万人です。",
    "def mean(xs): return sum(xs) / len(xs)",
    "🙂 emoji and punctuation!!! ???",
    "Outliers above the upper fence were removed before fitting the trend line.",
]


def sentences(count: int) -> list[str]:
    words = WORDS.split()
    rng = np.random.default_rng(7)
    return [" ".join(rng.choice(words, size=12)) + f" {i}" for i in range(count)]


def raw_throughput(model: Any, texts: list[str]) -> float:
    model(texts[:64])  # warm-up
    started = time.perf_counter()
    model(texts)
    return len(texts) / (time.perf_counter() - started)


def batcher_throughput(model: Any, texts: list[str], concurrency: int) -> float:
    """The service's batcher in this process, without Kafka: ``concurrency`` requesters of
    one text each, the service's default batch budget. Next to raw and the service, it
    separates what batching costs from what a message's trip through Kafka costs."""
    budget = BatchBudget(max_texts=EmbeddingsSettings.model_fields["MAX_BATCH_TEXTS"].default)

    async def run() -> float:
        batcher = EmbeddingBatcher(model, budget)
        await batcher.start()
        waiting = iter(texts)

        async def requester() -> None:
            for text in waiting:
                await batcher.embed([text])

        try:
            started = time.perf_counter()
            await asyncio.gather(*(requester() for _ in range(concurrency)))
            return len(texts) / (time.perf_counter() - started)
        finally:
            await batcher.stop()

    return asyncio.run(run())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_ready(port: int, process: subprocess.Popen[bytes], timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the service exited with {process.returncode}; see {LOGS}")
            try:
                if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.5)
    raise TimeoutError("the embeddings service did not become ready")


async def drive(
    texts: list[str], concurrency: int, per_request: int = 1
) -> tuple[float, list[float]]:
    """Send ``per_request`` texts per request, ``concurrency`` requests in flight;
    sentences/s and request latencies."""
    settings = KafkaSettings()
    broker = create_broker(settings, client_id="bench-embeddings")
    client = KafkaRequestReply(
        broker,
        settings,
        request_topic="embeddings.requested.v1",
        reply_topic="embeddings.replied.v1",
        reply_model=EmbeddingReplied,
    )
    latencies: list[float] = []
    queue = iter([texts[i : i + per_request] for i in range(0, len(texts), per_request)])

    async def worker() -> None:
        for chunk in queue:
            request = EmbeddingRequested(
                request_id=uuid.uuid4(),
                reply_topic=client.reply_topic,
                task=EmbedTexts(texts=chunk),
            )
            started = time.perf_counter()
            reply = await client.request(
                request, request_id=request.request_id, tenant_id="bench", timeout_s=120
            )
            latencies.append(time.perf_counter() - started)
            if reply.error is not None:
                raise RuntimeError(reply.error.message)

    async with broker:
        await broker.start()
        await client.ready()
        try:
            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
        finally:
            await client.close()
    return len(texts) / elapsed, latencies


def start_service(backend: str, port: int, log: IO[bytes]) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SEXTANT_EMBEDDINGS_BACKEND": backend,
        "SEXTANT_EMBEDDINGS_DEVICE": "cpu" if backend.startswith("openvino") else "auto",
        "SEXTANT_EMBEDDINGS_HTTP_PORT": str(port),
        "SEXTANT_EMBEDDINGS_CONSUMER_GROUP": "bench-embeddings",
        "HF_HUB_OFFLINE": "1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "sextant_embeddings"], env=env, stdout=log, stderr=log
    )


async def batcher_counters(port: int) -> dict[str, float]:
    """The service's own batcher counters, from its /metrics."""
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    wanted = ("batches_total", "texts_total", "model_busy_seconds_total")
    counters = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        for suffix in wanted:
            if name == f"sextant_embeddings_{suffix}":
                counters[suffix] = float(value)
    return counters


async def measure_service(
    process: subprocess.Popen[bytes],
    port: int,
    texts: list[str],
    concurrency: int,
    per_request: int,
) -> dict[str, Any]:
    await wait_ready(port, process)
    await drive(texts[: concurrency * 2], concurrency)  # warm-up: compile, assignment
    parts = {"service": [process.pid], "kafka": infrastructure_roots(LOCAL).get("kafka", [])}
    before = await batcher_counters(port)
    cpu_before, generator_before = cpu_by_part_s(parts), time.process_time()
    started = time.perf_counter()
    sps, latencies = await drive(texts, concurrency, per_request)
    elapsed = time.perf_counter() - started
    cpu_after, generator_after = cpu_by_part_s(parts), time.process_time()
    after = await batcher_counters(port)
    cores = {name: (cpu_after[name] - cpu_before[name]) / elapsed for name in parts}
    cores["load_generator"] = (generator_after - generator_before) / elapsed
    batches = after["batches_total"] - before["batches_total"]
    return {
        "service_sps": sps,
        "p50_ms": float(np.percentile(latencies, 50) * 1000),
        "p99_ms": float(np.percentile(latencies, 99) * 1000),
        "model_busy_share": (after["model_busy_seconds_total"] - before["model_busy_seconds_total"])
        / elapsed,
        "mean_batch_texts": (after["texts_total"] - before["texts_total"]) / max(batches, 1),
        "cpu_cores_by_process": {name: round(used, 2) for name, used in cores.items()},
    }


def service_run(
    backend: str, texts: list[str], concurrency: int, per_request: int
) -> dict[str, Any]:
    """The service as its own process (as deployed), driven from this one."""
    port = free_port()
    LOGS.mkdir(parents=True, exist_ok=True)
    with (LOGS / f"bench-embeddings-{backend}.log").open("wb") as log:
        process = start_service(backend, port, log)
        try:
            return asyncio.run(measure_service(process, port, texts, concurrency, per_request))
        finally:
            process.terminate()
            process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backends", default="torch,openvino,openvino-int8")
    parser.add_argument("--sentences", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument(
        "--texts-per-request",
        type=int,
        default=1,
        help="sentences in each request (1: every request is one sentence)",
    )
    args = parser.parse_args()
    texts = sentences(args.sentences)

    from sentence_transformers import SentenceTransformer

    device = "cuda" if __import__("torch").cuda.is_available() else "cpu"
    reference = SentenceTransformer(str(resolve_model_path(None)), device=device)
    fp32 = reference.encode(QUALITY_TEXTS, normalize_embeddings=True)
    st_sps = raw_throughput(lambda t: reference.encode(t, batch_size=32), texts)
    print(described())
    print(f"raw sentence-transformers fp32 ({device}): {st_sps:8.0f} sentences/s")

    entries: list[dict[str, Any]] = []
    for backend in args.backends.split(","):
        try:
            model = load_embedding_service(
                backend=backend,  # type: ignore[arg-type]
                device="cpu" if backend.startswith("openvino") else "auto",
                model_path=None,
                batch_size=32,
            )
        except (QuantizationTooLossy, UnsupportedModel, ImportError, RuntimeError) as refusal:
            # A backend that refuses to load on this CPU (int8 below its quality floor,
            # say) is reported with its reason; the others are still measured.
            reason = f"{type(refusal).__name__}: {refusal}"
            entries.append({"backend": backend, "skipped": reason})
            print(f"{backend:>13}: skipped ({reason})")
            continue
        raw_sps = raw_throughput(model.embed, texts)
        batcher_sps = batcher_throughput(model, texts, args.concurrency)
        vectors = from_vectors(model.embed(QUALITY_TEXTS).vectors)
        cosine = float((vectors * fp32).sum(axis=1).min())
        model.close()
        del model
        measured = service_run(backend, texts, args.concurrency, args.texts_per_request)
        entry = {
            "backend": backend,
            "device": "cpu" if backend.startswith("openvino") else device,
            "raw_sps": round(raw_sps, 1),
            "service_sps": round(measured["service_sps"], 1),
            "ratio": round(measured["service_sps"] / raw_sps, 3),
            "batcher_sps": round(batcher_sps, 1),
            "batcher_ratio": round(batcher_sps / raw_sps, 3),
            "cpu_cores_by_process": measured["cpu_cores_by_process"],
            "p50_ms": round(measured["p50_ms"], 1),
            "p99_ms": round(measured["p99_ms"], 1),
            "min_cosine_vs_fp32": round(cosine, 6),
            "model_busy_share": round(measured["model_busy_share"], 3),
            "mean_batch_texts": round(measured["mean_batch_texts"], 1),
            "speedup_vs_sentence_transformers_fp32": round(measured["service_sps"] / st_sps, 2),
        }
        entries.append(entry)
        print(
            f"{backend:>13}: raw {raw_sps:7.0f}/s  service {entry['service_sps']:7.0f}/s  "
            f"ratio {entry['ratio']:.2f} (in-process batcher {entry['batcher_ratio']:.2f})  "
            f"p50 {entry['p50_ms']:.0f} ms  p99 {entry['p99_ms']:.0f} ms  cos>={cosine:.4f}  "
            f"model busy {entry['model_busy_share']:.0%}, "
            f"{entry['mean_batch_texts']:.0f} texts/call; cores used: "
            + ", ".join(f"{k} {v:.2f}" for k, v in entry["cpu_cores_by_process"].items())
        )
    measured_cpu = [e for e in entries if "skipped" not in e and e["device"] == "cpu"]
    best = max(measured_cpu, key=lambda e: e["service_sps"], default=None)
    if best is not None:
        print(
            f"best CPU backend: {best['backend']}, "
            f"{best['speedup_vs_sentence_transformers_fp32']:.2f}x raw fp32 sentence-transformers"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                **machine(),
                "best_cpu_backend": best["backend"] if best else None,
                "speedup_vs_raw_fp32": (
                    best["speedup_vs_sentence_transformers_fp32"] if best else None
                ),
                "sentences": len(texts),
                "concurrency": args.concurrency,
                "texts_per_request": args.texts_per_request,
                "raw_sentence_transformers_fp32_sps": round(st_sps, 1),
                "backends": entries,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
