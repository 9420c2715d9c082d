"""Every HTTP request is a server span named after its route, continuing the caller's
trace; probes are not traced."""

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sextant_platform.http_tracing import HttpServerSpans

CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
CALLER_SPAN = "b7ad6b7169203331"


@pytest.fixture
def traced() -> tuple[httpx.AsyncClient, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    async def make(request: Request) -> JSONResponse:
        return JSONResponse({"thing_id": request.path_params["thing_id"]})

    async def boom(_request: Request) -> JSONResponse:
        return JSONResponse({"detail": "down"}, status_code=503)

    async def healthz(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    app = Starlette(
        routes=[
            Route("/v1/things/{thing_id}", make, methods=["POST"]),
            Route("/boom", boom),
            Route("/healthz", healthz),
        ],
        middleware=[Middleware(HttpServerSpans, tracer_provider=provider)],
    )
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    return client, exporter


async def test_a_request_is_a_server_span_named_after_its_route_template(
    traced: tuple[httpx.AsyncClient, InMemorySpanExporter],
) -> None:
    client, exporter = traced
    response = await client.post(
        "/v1/things/42", headers={"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"}
    )
    assert response.status_code == 200
    (span,) = exporter.get_finished_spans()
    assert span.name == "POST /v1/things/{thing_id}"
    assert span.kind == SpanKind.SERVER
    assert span.attributes is not None
    assert span.attributes["http.route"] == "/v1/things/{thing_id}"
    assert span.attributes["url.path"] == "/v1/things/42"
    assert span.attributes["http.response.status_code"] == 200
    assert format(span.context.trace_id, "032x") == CALLER_TRACE, "continues the caller"
    assert span.parent is not None
    assert format(span.parent.span_id, "016x") == CALLER_SPAN


async def test_a_server_error_marks_the_span_failed_and_probes_are_not_traced(
    traced: tuple[httpx.AsyncClient, InMemorySpanExporter],
) -> None:
    client, exporter = traced
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/boom")).status_code == 503
    (span,) = exporter.get_finished_spans()
    assert span.name == "GET /boom"
    assert span.status.status_code == StatusCode.ERROR
    assert span.parent is None, "no caller: the request starts a trace"
