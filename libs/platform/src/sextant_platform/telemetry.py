"""Structured JSON logs and OpenTelemetry tracing, configured once per process.

Why JSON: operators ship logs to a collector that indexes fields; a log line is an
event with ``service``, ``level``, ``message`` and whatever ``extra`` the call site gave.
Secrets never reach logs: settings hold them as ``SecretStr`` and :class:`JsonFormatter`
redacts any ``extra`` key that looks like a credential as a second line of defence.
"""

import json
import logging
import sys
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

from sextant_platform.settings import TelemetrySettings

UNTRACED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def is_machine_poll(scope: MutableMapping[str, Any]) -> bool:
    """A probe or a metrics scrape: machines ask every few seconds, and a span each would
    bury the requests people make. The HTTP apps' server spans (FastAPI's own
    OpenTelemetry support) skip them."""
    return scope.get("path") in UNTRACED_PATHS


_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}
_SECRET_HINTS = ("password", "secret", "token", "api_key", "apikey", "authorization")
REDACTED = "***"


def _is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return any(hint in lowered for hint in _SECRET_HINTS)


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the record's ``extra`` fields and trace ids."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            entry["trace_id"] = format(span_context.trace_id, "032x")
            entry["span_id"] = format(span_context.span_id, "016x")
        for key, value in vars(record).items():
            if key in _STANDARD_ATTRS or key.startswith("_"):
                continue
            entry[key] = REDACTED if _is_secret_key(key) else value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(service: str, settings: TelemetrySettings) -> None:
    """Route the root logger to stdout, as JSON unless ``TELEMETRY_LOG_JSON=false``."""
    handler = logging.StreamHandler(sys.stdout)
    if settings.LOG_JSON:
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(
            logging.Formatter(f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.LOG_LEVEL)
    # Chatty clients: aiokafka at INFO narrates every rebalance, httpx logs one line per
    # request (two per analysis for the LLM alone, which its own spans and the usage
    # ledger already record).
    for chatty in ("aiokafka", "httpx"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))


def configure_tracing(service: str, settings: TelemetrySettings) -> TracerProvider:
    """A tracer provider for ``service``; spans are exported per ``TRACES_EXPORTER``.

    Trace context crosses Kafka in message headers (W3C ``traceparent``): FastStream's
    telemetry middleware (installed by the broker factory) writes it on every publish,
    and the consumers continue it (``sextant_kafka.long_running_consumer``). The provider
    also becomes the process's global one (the first configured, when a test process
    hosts several services), which those consumers' spans go to.
    """
    resource = Resource.create({"service.name": service})
    if settings.TRACES_EXPORTER == "none":
        # Nothing would read the spans: don't record them (measured ~3% of a busy event
        # loop). Trace ids still travel in the headers, unsampled.
        provider = TracerProvider(resource=resource, sampler=ALWAYS_OFF)
    else:
        provider = TracerProvider(resource=resource)
    if settings.TRACES_EXPORTER == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    elif settings.TRACES_EXPORTER == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{settings.OTLP_ENDPOINT}/v1/traces"))
        )
    _make_global(provider)
    return provider


def _make_global(provider: TracerProvider) -> None:
    """The first provider of the process becomes the global one; later ones are left
    alone (OpenTelemetry refuses to replace it, with a warning each time)."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(provider)
