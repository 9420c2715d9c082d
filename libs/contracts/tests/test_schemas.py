"""Committed JSON Schemas: no drift from the code, and compatible with the last release."""

import copy
import json
from typing import Any

import pytest

from sextant_contracts.schemas import (
    CURRENT_DIR,
    RELEASED_DIR,
    build_schemas,
    incompatibilities,
    render,
)

SCHEMAS = build_schemas()


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_committed_schema_matches_the_code(name: str) -> None:
    committed = CURRENT_DIR / name
    assert committed.exists(), f"{name} is not committed; run 'make schemas'"
    assert committed.read_text(encoding="utf-8") == render(SCHEMAS[name]), (
        f"{name} drifted from the code; run 'make schemas' and commit the result"
    )


def test_no_committed_schema_is_orphaned() -> None:
    assert {p.name for p in CURRENT_DIR.glob("*.json")} == set(SCHEMAS)


@pytest.mark.parametrize("name", sorted(p.name for p in RELEASED_DIR.glob("*.json")))
def test_code_is_compatible_with_the_released_schema(name: str) -> None:
    released = json.loads((RELEASED_DIR / name).read_text(encoding="utf-8"))
    assert name in SCHEMAS, f"released topic schema {name} disappeared"
    assert incompatibilities(released, SCHEMAS[name]) == []


def _with_payload_change(change: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    old = SCHEMAS["analysis.requested.v1.json"]
    new = copy.deepcopy(old)
    change(new["$defs"]["AnalysisRequested"], new)
    return old, new


def test_new_required_field_is_incompatible() -> None:
    def add_required(payload: dict[str, Any], _: dict[str, Any]) -> None:
        payload["properties"]["priority"] = {"type": "integer"}
        payload["required"].append("priority")

    problems = incompatibilities(*_with_payload_change(add_required))
    assert any("priority: new field is required" in p for p in problems)


def test_new_optional_field_is_compatible() -> None:
    def add_optional(payload: dict[str, Any], _: dict[str, Any]) -> None:
        payload["properties"]["priority"] = {"type": "integer", "default": 0}

    assert incompatibilities(*_with_payload_change(add_optional)) == []


def test_removed_field_is_incompatible() -> None:
    problems = incompatibilities(
        *_with_payload_change(lambda p, _: p["properties"].pop("question"))
    )
    assert any("question: field removed" in p for p in problems)


def test_changed_type_is_incompatible() -> None:
    def retype(payload: dict[str, Any], _: dict[str, Any]) -> None:
        payload["properties"]["question"] = {"type": "integer"}

    assert any("type changed" in p for p in incompatibilities(*_with_payload_change(retype)))


def test_removed_enum_value_is_incompatible() -> None:
    old = SCHEMAS["analysis.progress.v1.json"]
    new = copy.deepcopy(old)
    new["$defs"]["WorkflowStep"]["enum"].remove("retrieve")
    assert any("enum values removed" in p for p in incompatibilities(old, new))
