"""One REST-submitted analysis is one trace, across all four services and every Kafka hop.

Every service runs as its own process exporting over OTLP/HTTP to a loopback receiver
(the collector of these tests); the model is the loopback OpenAI-compatible server. The
trace starts at the ingress's ``POST /v1/analyses`` span and goes on through the outbox
relay, the orchestrator (its LLM calls as GenAI spans, its tool calls as
``execute_tool`` spans), the tools and embeddings services' request handling and
replies, and the ingress's recording of the result events for SSE. Every span's parent
is a span of the same trace, and the log lines written inside it carry its ids.
"""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sextant_cli.rest import sse_events
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_ingress.infrastructure.postgres_api_keys import PostgresApiKeys
from tests.integration.infrastructure import Infrastructure
from tests.integration.ingress.service import start_ingress
from tests.integration.kafka_helpers import skip_group_to_end
from tests.integration.orchestrator.fake_openai import running_fake_openai
from tests.integration.orchestrator.service import (
    DOCUMENTS,
    SALES_CSV,
    llm_env,
    plan_then_answer,
    start_orchestrator,
)
from tests.integration.otlp_receiver import (
    SPAN_KIND_CLIENT,
    SPAN_KIND_CONSUMER,
    SPAN_KIND_SERVER,
    OtlpReceiver,
    ReceivedSpan,
    otlp,  # noqa: F401 - fixture
    otlp_env,
)
from tests.integration.processes import ServiceProcess, free_port

SERVICES = {"ingress", "orchestrator", "tools", "embeddings"}


@dataclass
class TracedStack:
    base_url: str
    headers: dict[str, str]
    orchestrator: ServiceProcess


async def _request_reply_service(
    infra: Infrastructure, receiver: OtlpReceiver, service: str, extra: dict[str, str]
) -> ServiceProcess:
    """The tools or embeddings service in a consumer group of its own (started at the
    topic's end), so this test's requests are all served by this traced process."""
    prefix = f"SEXTANT_{service.upper()}"
    group = f"{service}-traced-{uuid.uuid4().hex[:8]}"
    await skip_group_to_end(infra.kafka, group, [f"{service}.requested.v1"])
    port = free_port()
    process = ServiceProcess(
        f"sextant_{service}",
        infra,
        env={
            f"{prefix}_HTTP_PORT": str(port),
            f"{prefix}_CONSUMER_GROUP": group,
            **otlp_env(receiver),
            **extra,
        },
        name=f"{service}-traced",
    ).start()
    await asyncio.to_thread(process.wait_http, f"http://127.0.0.1:{port}/readyz", timeout_s=180)
    return process


@pytest.fixture
async def traced_stack(
    infra: Infrastructure,
    engine: AsyncEngine,
    otlp: OtlpReceiver,  # noqa: F811 - the fixture imported above
) -> AsyncIterator[TracedStack]:
    processes: list[ServiceProcess] = []
    async with running_fake_openai() as fake:
        fake.responder = plan_then_answer
        try:
            processes.append(await _request_reply_service(infra, otlp, "tools", {}))
            processes.append(
                await _request_reply_service(
                    infra, otlp, "embeddings", {"SEXTANT_EMBEDDINGS_BACKEND": "torch"}
                )
            )
            orchestrator, _ = await start_orchestrator(
                infra,
                name="orchestrator-traced",
                group=f"orchestrator-traced-{uuid.uuid4().hex[:8]}",
                llm_env=llm_env(fake, **otlp_env(otlp)),
            )
            processes.append(orchestrator)
            ingress, base_url = await start_ingress(
                infra, name="ingress-traced", env=otlp_env(otlp)
            )
            processes.append(ingress)
            tenant = f"traced-{uuid.uuid4().hex[:8]}"
            key = await PostgresApiKeys(engine).create(tenant_id=tenant, name="traced")
            yield TracedStack(base_url, {"Authorization": f"Bearer {key}"}, orchestrator)
            for process in reversed(processes):
                assert await asyncio.to_thread(process.stop) == 0, process.tail()
        finally:
            for process in processes:
                process.kill()


async def _analyse(stack: TracedStack) -> str:
    """Upload, submit and follow one analysis to its end; its id."""
    async with httpx.AsyncClient(
        base_url=stack.base_url, headers=stack.headers, timeout=120
    ) as client:
        upload = await client.post(
            "/v1/datasets", content=SALES_CSV, headers={"Content-Type": "text/csv"}
        )
        assert upload.status_code == 201, upload.text
        submitted = await client.post(
            "/v1/analyses",
            json={
                "question": "Which region sells the most?",
                "dataset_id": upload.json()["dataset_id"],
                "documents": DOCUMENTS,
            },
        )
        assert submitted.status_code == 202, submitted.text
        analysis_id = str(submitted.json()["analysis_id"])
        async with client.stream("GET", f"/v1/analyses/{analysis_id}/events") as stream:
            frames = [frame async for frame in sse_events(stream)]
        assert frames[-1].event == "completed", frames[-1]
    return analysis_id


def _submission_trace(receiver: OtlpReceiver) -> str:
    (submission,) = [
        s for s in receiver.spans if s.kind == SPAN_KIND_SERVER and s.name == "POST /v1/analyses"
    ]
    return submission.trace_id


async def _whole_trace(receiver: OtlpReceiver, trace_id: str) -> list[ReceivedSpan]:
    """The trace's spans once the last hop (the ingress recording the completed event
    for SSE) has been exported, and every span's parent with it."""
    for _ in range(200):
        ours = [s for s in receiver.spans if s.trace_id == trace_id]
        ids = {s.span_id for s in ours}
        recorded = any(
            s.service == "ingress" and s.name == "process analysis.completed.v1" for s in ours
        )
        complete = {s.service for s in ours} == SERVICES
        if recorded and complete and all(s.parent_span_id in ids for s in ours if s.parent_span_id):
            return ours
        await asyncio.sleep(0.1)
    return [s for s in receiver.spans if s.trace_id == trace_id]


def _ancestors(span: ReceivedSpan, spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
    by_id = {s.span_id: s for s in spans}
    found = []
    while span.parent_span_id in by_id:
        span = by_id[span.parent_span_id]
        found.append(span)
    return found


async def test_one_rest_analysis_is_one_trace_across_every_service(
    traced_stack: TracedStack,
    otlp: OtlpReceiver,  # noqa: F811
) -> None:
    await _analyse(traced_stack)
    trace_id = _submission_trace(otlp)
    spans = await _whole_trace(otlp, trace_id)
    outline = sorted((s.service, s.name) for s in spans)

    assert {s.service for s in spans} == SERVICES, outline
    (root,) = [s for s in spans if not s.parent_span_id]
    assert (root.service, root.name) == ("ingress", "POST /v1/analyses"), outline
    ids = {s.span_id for s in spans}
    orphans = [(s.service, s.name) for s in spans if s.parent_span_id not in ids | {""}]
    assert not orphans, f"parents missing from the trace: {orphans}"

    (run,) = [s for s in spans if s.name == "process analysis.requested.v1"]
    assert run.service == "orchestrator"
    assert run.kind == SPAN_KIND_CONSUMER
    assert root in _ancestors(run, spans), "the run continues the submission"

    chats = [s for s in spans if s.attributes.get("gen_ai.operation.name") == "chat"]
    assert len(chats) >= 2, outline  # two planning rounds and the synthesis
    for chat in chats:
        assert chat.service == "orchestrator"
        assert chat.kind == SPAN_KIND_CLIENT
        assert chat.name == "chat gpt-test"
        assert chat.attributes["gen_ai.request.model"] == "gpt-test"
        assert chat.attributes["gen_ai.provider.name"] == "openai-compatible"
        assert chat.attributes["gen_ai.usage.input_tokens"] == 120  # what the server reported
        assert chat.attributes["gen_ai.usage.output_tokens"] == 30
        assert run in _ancestors(chat, spans)

    tool_calls = [s for s in spans if s.attributes.get("gen_ai.operation.name") == "execute_tool"]
    assert {s.attributes["gen_ai.tool.name"] for s in tool_calls} >= {
        "profile_dataset",
        "group_by_aggregate",
        "correlation_matrix",
    }
    handled = [s for s in spans if s.service == "tools" and s.kind == SPAN_KIND_CONSUMER]
    assert handled, outline
    for call in tool_calls:  # each tool call's request is handled under it
        assert any(call in _ancestors(h, spans) for h in handled), (call.name, outline)
    (ranking,) = [s for s in spans if s.service == "embeddings" and s.kind == SPAN_KIND_CONSUMER]
    assert run in _ancestors(ranking, spans)

    (recorded,) = [s for s in spans if s.name == "process analysis.completed.v1"]
    assert recorded.service == "ingress"
    assert run in _ancestors(recorded, spans)

    finished = _log_lines(traced_stack.orchestrator, "analysis finished")
    assert any(line.get("trace_id") == trace_id for line in finished), finished


def _log_lines(process: ServiceProcess, message: str) -> list[dict[str, object]]:
    lines = []
    for raw in process.log_path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(raw)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict) and entry.get("message") == message:
            lines.append(entry)
    return lines
