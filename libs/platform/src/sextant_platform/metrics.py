"""Prometheus metrics: the HTTP golden signals for every service, plus each service's own.

Why Prometheus' client rather than the OpenTelemetry metrics SDK here: ``/metrics`` in
the Prometheus text format is what scrapers, KEDA and HPA adapters read, and the client
has no exporter process to run. Labels use the route *template* (``/v1/analyses/{id}``),
never the raw path, so label cardinality stays bounded.
"""

import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HTTP_REQUESTS = Counter(
    "sextant_http_requests_total",
    "HTTP requests served, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "sextant_http_request_duration_seconds",
    "Time to the response's first byte, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def _route_of(scope: Scope) -> str:
    route: Any = scope.get("route")
    template = getattr(route, "path", None)
    return template if isinstance(template, str) else "unmatched"


class HttpMetrics:
    """ASGI middleware: counts and times every request; streams are timed to their
    response start, not their end (an SSE stream can last minutes)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                HTTP_LATENCY.labels(scope["method"], _route_of(scope)).observe(
                    time.perf_counter() - started
                )
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:
            HTTP_REQUESTS.labels(scope["method"], _route_of(scope), str(status)).inc()


async def metrics_endpoint(_request: Request) -> Response:
    """``GET /metrics`` in the Prometheus text format."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
