"""JSON logs carry extra fields and redact anything that looks like a credential; spans
are recorded only when an exporter is configured."""

import json
import logging

from sextant_platform.settings import TelemetrySettings
from sextant_platform.telemetry import REDACTED, JsonFormatter, configure_tracing


def _format(**extra: object) -> dict[str, object]:
    record = logging.LogRecord(
        "sextant.test", logging.INFO, __file__, 1, "hello %s", ("world",), None
    )
    for key, value in extra.items():
        setattr(record, key, value)
    return dict(json.loads(JsonFormatter("tools").format(record)))


def test_log_line_is_json_with_service_and_extra_fields() -> None:
    entry = _format(analysis_id="a-1", attempt=2)
    assert entry["message"] == "hello world"
    assert entry["service"] == "tools"
    assert entry["level"] == "INFO"
    assert (entry["analysis_id"], entry["attempt"]) == ("a-1", 2)


def test_credential_like_fields_are_redacted() -> None:
    entry = _format(api_key="sk-live-123", db_password="p", authorization="Bearer x")
    assert entry["api_key"] == entry["db_password"] == entry["authorization"] == REDACTED


def test_spans_are_recorded_only_when_something_exports_them() -> None:
    silent = configure_tracing("svc", TelemetrySettings(TRACES_EXPORTER="none"))
    exported = configure_tracing("svc", TelemetrySettings(TRACES_EXPORTER="console"))
    with silent.get_tracer("t").start_as_current_span("quiet") as span:
        assert not span.is_recording()
        assert span.get_span_context().trace_id != 0  # ids still propagate
    with exported.get_tracer("t").start_as_current_span("loud") as span:
        assert span.is_recording()
    exported.shutdown()
