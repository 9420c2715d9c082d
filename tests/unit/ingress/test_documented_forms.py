"""Every value of a form the OpenAPI document states is accepted, and the rules in the
models are the ones their JSON Schemas state (schemathesis relies on both)."""

import re
import uuid
from datetime import UTC, datetime

import jsonschema_rs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from sextant_contracts import AnalysisSubmission
from sextant_contracts.analysis import VISIBLE_NUL_FREE_PATTERN
from sextant_ingress.domain.events import (
    LAST_EVENT_ID_PATTERN,
    TERMINAL_SEQUENCE,
    parse_last_event_id,
)
from sextant_ingress.domain.paging import CURSOR_PATTERN, decode_cursor, encode_cursor
from sextant_ingress.presentation.openapi_document import exact_parameters

DATASET = "5b0c7a3e-2f6d-4f0a-9d0e-1c2b3a4d5e6f"


def test_a_cursor_names_the_position_it_was_made_from() -> None:
    created, analysis_id = datetime(2026, 12, 2, 17, 5, 1, 123456, tzinfo=UTC), uuid.uuid4()
    cursor = encode_cursor(created, analysis_id)
    assert re.fullmatch(CURSOR_PATTERN, cursor)
    assert decode_cursor(cursor) == (created, analysis_id)


@given(st.from_regex(CURSOR_PATTERN, fullmatch=True))
def test_every_cursor_of_the_documented_form_is_a_position(cursor: str) -> None:
    created, _ = decode_cursor(cursor)
    assert created.year <= 9999


@given(st.from_regex(LAST_EVENT_ID_PATTERN, fullmatch=True))
def test_every_event_id_of_the_documented_form_is_a_position(value: str) -> None:
    assert 0 <= parse_last_event_id(value) <= TERMINAL_SEQUENCE


def test_an_event_id_of_another_form_is_refused() -> None:
    with pytest.raises(ValueError, match="not an event id"):
        parse_last_event_id("null")
    assert parse_last_event_id(None) == -1


_ABSENT = object()
_SUBMISSION_SCHEMA = jsonschema_rs.validator_for(AnalysisSubmission.model_json_schema())


def _maybe(*values: object) -> st.SearchStrategy[object]:
    return st.sampled_from([_ABSENT, *values])


def _as_body(drawn: dict[str, object]) -> dict[str, object]:
    body = {k: v for k, v in drawn.items() if v is not _ABSENT and k != "language"}
    if drawn["language"] is not _ABSENT:
        body["options"] = {"language": drawn["language"]}
    return body


submissions = st.fixed_dictionaries(
    {
        "question": _maybe("Which region?", "  padded\n", " \t\u3000", "a\x00b", "\x1c", ""),
        "dataset_id": _maybe(None, DATASET),
        "inline_dataset": _maybe(None, {"media_type": "text/csv", "content": "a\n1"}),
        "language": _maybe("en", " ", "e\x00"),
    }
).map(_as_body)


@given(submissions)
def test_the_model_accepts_exactly_what_its_json_schema_accepts(body: dict[str, object]) -> None:
    """Text rules (no NUL, a question not only white space) and the one-dataset-source
    rule: the JSON Schema a client or schemathesis reads says what the model does."""
    try:
        AnalysisSubmission.model_validate(body)
        accepted = True
    except ValidationError:
        accepted = False
    assert _SUBMISSION_SCHEMA.is_valid(body) is accepted, body


def test_the_question_is_stripped_once_accepted() -> None:
    body = {"question": "  Which region?\n", "dataset_id": DATASET}
    assert AnalysisSubmission.model_validate(body).question == "Which region?"


def test_the_white_space_in_the_pattern_is_what_strip_removes() -> None:
    """Every character up to U+3000 (the last white space): the pattern and Python's
    ``strip`` agree on which are white space, in Python's and in Rust's regex engine."""
    as_schema = jsonschema_rs.validator_for({"type": "string", "pattern": VISIBLE_NUL_FREE_PATTERN})
    disagree = [
        hex(code)
        for code in range(0x3001)
        if len(
            {
                chr(code) != "\x00" and bool(chr(code).strip()),
                bool(re.fullmatch(VISIBLE_NUL_FREE_PATTERN, chr(code))),
                as_schema.is_valid(chr(code)),
            }
        )
        > 1
    ]
    assert disagree == []


def test_optional_parameters_are_not_documented_as_null() -> None:
    nullable = {"anyOf": [{"type": "string", "pattern": "x"}, {"type": "null"}], "title": "T"}
    document = {
        "paths": {
            "/a": {
                "get": {
                    "parameters": [
                        {"name": "q", "in": "query", "required": False, "schema": nullable},
                        {"name": "p", "in": "path", "required": True, "schema": nullable},
                    ]
                }
            }
        }
    }
    exact = exact_parameters(document)["paths"]["/a"]["get"]["parameters"]
    assert exact[0]["schema"] == {"type": "string", "pattern": "x", "title": "T"}
    assert exact[1]["schema"] == nullable  # a required one keeps what it says
