"""JSON logs carry extra fields and redact anything that looks like a credential."""

import json
import logging

from sextant_platform.telemetry import REDACTED, JsonFormatter


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
