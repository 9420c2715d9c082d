"""``make eval``: answer accuracy through the whole real stack, on public datasets.

The ingress, orchestrator (embedded defaults: no LLM settings at all) and tools run as
real processes over the real Kafka, PostgreSQL and Redis. Each dataset is uploaded over
REST, each question submitted over REST and its answer read back from the API. Expected
answers are computed with pandas in ``bench/eval_questions.py``, never by the service.

Writes ``bench/results/eval.json``: questions, answer_accuracy (the answer names the
right entity and states the right figure), tool_coverage (the right figure is in some
tool result), grounded_share (nothing ungrounded in the answer), p50_s/p99_s per
analysis, the same per question kind, the held-out set's figures apart, and the CPU.
A benchmark, not a test: ``tests/integration/test_eval_smoke.py`` runs five questions.
"""

import argparse
import asyncio
import json
import statistics
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.eval_questions import HELD_OUT, QUESTIONS, SMOKE, Question, load_datasets
from bench.eval_scoring import answer_is_right, tools_computed
from bench.machine import machine
from sextant_ingress.infrastructure.postgres_api_keys import PostgresApiKeys
from sextant_storage.database import create_engine
from tests.integration.infrastructure import Infrastructure, start_local
from tests.integration.ingress.service import start_ingress
from tests.integration.kafka_helpers import skip_group_to_end
from tests.integration.orchestrator.service import start_orchestrator
from tests.integration.processes import ServiceProcess, free_port

RESULTS = Path(__file__).parent / "results" / "eval.json"
TERMINAL = ("completed", "failed", "cancelled")
EMBEDDED_DEFAULTS = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "LLM_PROVIDER": "local"}


@dataclass
class Scored:
    question: Question
    held_out: bool
    status: str
    answer: str
    right: bool
    covered: bool
    grounded: bool
    seconds: float


class Stack:
    """Tools, orchestrator and ingress as processes; the API's base URL and a key."""

    def __init__(self, infra: Infrastructure) -> None:
        self.infra = infra
        self.processes: list[ServiceProcess] = []
        self.base_url = ""
        self.api_key = ""

    async def start(self) -> None:
        tools_group = f"eval-tools-{uuid.uuid4().hex[:6]}"
        await skip_group_to_end(self.infra.kafka, tools_group, ["tools.requested.v1"])
        tools = ServiceProcess(
            "sextant_tools",
            self.infra,
            env={
                "SEXTANT_TOOLS_HTTP_PORT": str(free_port()),
                "SEXTANT_TOOLS_CONSUMER_GROUP": tools_group,
            },
            name="eval-tools",
        ).start()
        self.processes.append(tools)
        # Matching words to columns by meaning asks the embeddings service.
        embeddings_group = f"eval-embeddings-{uuid.uuid4().hex[:6]}"
        await skip_group_to_end(self.infra.kafka, embeddings_group, ["embeddings.requested.v1"])
        embeddings_port = free_port()
        embeddings = ServiceProcess(
            "sextant_embeddings",
            self.infra,
            env={
                "SEXTANT_EMBEDDINGS_HTTP_PORT": str(embeddings_port),
                "SEXTANT_EMBEDDINGS_CONSUMER_GROUP": embeddings_group,
            },
            name="eval-embeddings",
        ).start()
        self.processes.append(embeddings)
        await asyncio.to_thread(
            embeddings.wait_http, f"http://127.0.0.1:{embeddings_port}/readyz", timeout_s=300
        )
        orchestrator, _ = await start_orchestrator(
            self.infra,
            name="eval-orchestrator",
            group=f"eval-orchestrator-{uuid.uuid4().hex[:6]}",
            llm_env=EMBEDDED_DEFAULTS,
        )
        self.processes.append(orchestrator)
        ingress, self.base_url = await start_ingress(self.infra, name="eval-ingress")
        self.processes.append(ingress)
        engine = create_engine(self.infra.postgres)
        try:
            self.api_key = await PostgresApiKeys(engine).create(tenant_id="eval", name="eval")
        finally:
            await engine.dispose()

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


async def ask(
    client: httpx.AsyncClient, dataset_id: str, text: str
) -> tuple[dict[str, Any], float]:
    """Submit over REST and poll until terminal; (the analysis, seconds from POST)."""
    started = time.perf_counter()
    accepted = await client.post("/v1/analyses", json={"question": text, "dataset_id": dataset_id})
    accepted.raise_for_status()
    analysis_id = accepted.json()["analysis_id"]
    while True:
        response = await client.get(f"/v1/analyses/{analysis_id}")
        if response.status_code == 200 and response.json()["status"] in TERMINAL:
            return response.json(), time.perf_counter() - started
        await asyncio.sleep(0.05)


async def evaluate(stack: Stack, questions: list[tuple[Question, bool]]) -> list[Scored]:
    datasets = load_datasets()
    scored: list[Scored] = []
    async with httpx.AsyncClient(
        base_url=stack.base_url, headers={"X-API-Key": stack.api_key}, timeout=120
    ) as client:
        uploaded: dict[str, str] = {}
        for name in sorted({q.dataset for q, _ in questions}):
            response = await client.post(
                "/v1/datasets",
                content=datasets[name].to_csv(index=False).encode(),
                headers={"Content-Type": "text/csv"},
            )
            response.raise_for_status()
            uploaded[name] = response.json()["dataset_id"]
        for question, held_out in questions:
            expected = question.expected(datasets[question.dataset])
            analysis, seconds = await ask(client, uploaded[question.dataset], question.text)
            answer = analysis.get("answer") or ""
            scored.append(
                Scored(
                    question=question,
                    held_out=held_out,
                    status=analysis["status"],
                    answer=answer,
                    right=analysis["status"] == "completed" and answer_is_right(answer, expected),
                    covered=tools_computed(analysis.get("tool_calls") or [], expected),
                    grounded=not analysis.get("ungrounded_numbers")
                    and not analysis.get("ungrounded_values"),
                    seconds=seconds,
                )
            )
            mark = "ok " if scored[-1].right else "BAD"
            print(
                f"{mark} {seconds:5.2f}s [{question.dataset}] {question.text}\n    {answer[:240]}"
            )
    return scored


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summary(scored: list[Scored]) -> dict[str, Any]:
    if not scored:
        return {"questions": 0}
    seconds = [s.seconds for s in scored]
    return {
        "questions": len(scored),
        "answer_accuracy": round(sum(s.right for s in scored) / len(scored), 3),
        "tool_coverage": round(sum(s.covered for s in scored) / len(scored), 3),
        "grounded_share": round(sum(s.grounded for s in scored) / len(scored), 3),
        "p50_s": round(statistics.median(seconds), 3),
        "p99_s": round(percentile(seconds, 0.99), 3),
    }


def report(scored: list[Scored]) -> dict[str, Any]:
    main = [s for s in scored if not s.held_out]
    by_kind: dict[str, list[Scored]] = defaultdict(list)
    for item in main:
        by_kind[item.question.kind].append(item)
    return {
        **summary(main),
        "by_kind": {kind: summary(items) for kind, items in sorted(by_kind.items())},
        "held_out": summary([s for s in scored if s.held_out]),
        "datasets": sorted({s.question.dataset for s in scored}),
        "model": "embedded defaults (offline planner, answers composed from findings)",
        **machine(),
        "failures": [
            {"question": s.question.text, "status": s.status, "answer": s.answer[:500]}
            for s in scored
            if not s.right
        ],
    }


async def run(smoke: bool) -> dict[str, Any]:
    chosen = (
        [(QUESTIONS[i], False) for i in SMOKE]
        if smoke
        else [
            *((q, False) for q in QUESTIONS),
            *((q, True) for q in HELD_OUT),
        ]
    )
    stack = Stack(start_local())
    await stack.start()
    try:
        return report(await evaluate(stack, chosen))
    finally:
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="five questions only")
    args = parser.parse_args()
    result = asyncio.run(run(args.smoke))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    shown = {k: v for k, v in result.items() if k != "failures"}
    print(json.dumps(shown, indent=2))


if __name__ == "__main__":
    main()
