"""Traces leave a service over OTLP and continue across a Kafka hop.

A loopback OTLP/HTTP receiver (a small server that decodes the protobuf payloads as a
collector would) stands in for the collector; the tools service runs as a process
with ``TELEMETRY_TRACES_EXPORTER=otlp``. A request published with a W3C ``traceparent``
header must come back as spans of that same trace: the consumer's processing span, child
of the producer's span, and the reply's publish span, child of the processing span; the
reply record carries the trace on.
"""

import asyncio
import secrets
import uuid

from sextant_contracts import Envelope, ToolInvocationRequested
from sextant_contracts.tools import LIST_TOOLS
from tests.integration.infrastructure import Infrastructure
from tests.integration.kafka_helpers import produce_raw, read_all, skip_group_to_end
from tests.integration.otlp_receiver import (
    SPAN_KIND_CONSUMER,
    SPAN_KIND_PRODUCER,
    OtlpReceiver,
    otlp,  # noqa: F401 - fixture
    otlp_env,
)
from tests.integration.processes import ServiceProcess, free_port


async def test_a_request_is_traced_through_the_tools_service_to_its_reply(
    infra: Infrastructure,
    otlp: OtlpReceiver,  # noqa: F811
) -> None:
    group = f"tools-traced-{uuid.uuid4().hex[:8]}"
    await skip_group_to_end(infra.kafka, group, ["tools.requested.v1"])
    service = ServiceProcess(
        "sextant_tools",
        infra,
        env={
            "SEXTANT_TOOLS_HTTP_PORT": str(free_port()),
            "SEXTANT_TOOLS_CONSUMER_GROUP": group,
            **otlp_env(otlp),
        },
        name="tools-traced",
    ).start()
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    request_id = uuid.uuid4()
    request = Envelope.wrap(
        ToolInvocationRequested(request_id=request_id, tool_name=LIST_TOOLS), tenant_id="acme"
    )
    try:
        await asyncio.to_thread(service.wait_http, f"{service_url(service)}/readyz")
        await produce_raw(
            infra.kafka,
            "tools.requested.v1",
            [request.model_dump_json().encode()],
            key=str(request_id).encode(),
            headers=[("traceparent", f"00-{trace_id}-{parent_id}-01".encode())],
        )
        replies = await read_all(
            infra.kafka, "tools.replied.v1", expected=1, key=str(request_id).encode()
        )
        for _ in range(100):
            ours = [s for s in otlp.spans if s.trace_id == trace_id]
            if len(ours) >= 2:
                break
            await asyncio.sleep(0.1)
        assert service.stop() == 0
    finally:
        service.kill()

    assert replies, "the tools service answered"
    ours = [s for s in otlp.spans if s.trace_id == trace_id]
    (processing,) = [s for s in ours if s.kind == SPAN_KIND_CONSUMER]
    assert processing.service == "tools"
    assert processing.name == "process tools.requested.v1"
    assert processing.parent_span_id == parent_id, "continues the producer's span"
    assert processing.attributes["messaging.system"] == "kafka"
    assert processing.attributes["messaging.consumer.group.name"] == group
    publishes = [s for s in ours if s.kind == SPAN_KIND_PRODUCER]
    assert publishes, ours
    parents = {s.span_id: s.parent_span_id for s in ours}
    for span in publishes:  # FastStream's "create" then "publish", under the processing
        ancestors = []
        while span.span_id in parents and parents[span.span_id] in parents:
            ancestors.append(parents[span.span_id])
            span = next(s for s in ours if s.span_id == parents[span.span_id])
        assert processing.span_id in ancestors, [
            (s.name, s.span_id, s.parent_span_id) for s in ours
        ]
    reply_headers = dict(replies[0].headers or ())
    assert trace_id in reply_headers["traceparent"].decode(), "the reply carries the trace on"
    assert otlp.content_types == {"application/x-protobuf"}


def service_url(service: ServiceProcess) -> str:
    return f"http://127.0.0.1:{service.env['SEXTANT_TOOLS_HTTP_PORT']}"
