"""A server span per HTTP request, so a REST-submitted analysis starts its trace here.

Why a span at the door: what the request does (the outbox row it writes carries the
current trace context in its headers) then belongs to the trace that the request began,
and a client that sends a W3C ``traceparent`` sees its own trace continue through every
service. Attributes follow OpenTelemetry's HTTP server conventions; the span is named
after the route *template* (``POST /v1/analyses/{analysis_id}/cancel``), known once the
router has matched. Probes and ``/metrics`` are polled every few seconds by machines and
get no spans.
"""

from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode, TracerProvider
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNTRACED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def route_template(scope: Scope) -> str | None:
    """The matched route's template (``/v1/analyses/{analysis_id}``), once routed."""
    route: Any = scope.get("route")
    template = getattr(route, "path", None)
    return template if isinstance(template, str) else None


class HttpServerSpans:
    """ASGI middleware: one ``SERVER`` span per request, continuing the caller's trace.

    An event stream's span lasts as long as the stream: the request is served until then.
    """

    def __init__(self, app: ASGIApp, tracer_provider: TracerProvider | None = None) -> None:
        """``tracer_provider``: the global one (``configure_tracing`` sets it) unless given."""
        self.app = app
        self.tracer = trace.get_tracer(__name__, tracer_provider=tracer_provider)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNTRACED_PATHS:
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        carrier = {
            key.decode("latin-1"): value.decode("latin-1")
            for key, value in scope.get("headers") or ()
        }
        with self.tracer.start_as_current_span(
            method,
            context=propagate.extract(carrier),
            kind=SpanKind.SERVER,
            attributes={
                "http.request.method": method,
                "url.path": scope["path"],
                "url.scheme": scope.get("scheme", "http"),
            },
        ) as span:

            async def observed(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(Status(StatusCode.ERROR))
                        span.set_attribute("error.type", str(status))
                await send(message)

            try:
                await self.app(scope, receive, observed)
            finally:
                if (template := route_template(scope)) is not None:
                    span.update_name(f"{method} {template}")
                    span.set_attribute("http.route", template)
