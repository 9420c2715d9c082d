"""Export the catalogue's JSON Schemas, and judge whether a schema change is compatible.

``python -m sextant_contracts.schemas export`` rewrites ``schemas/current/``: one file per
topic, the JSON Schema of ``Envelope[payload]`` as consumers receive it, plus the
:class:`DeadLetter` record. ``schemas/released/`` holds the schemas of the last release;
:func:`incompatibilities` lists every way the current code breaks a consumer written
against them. The rule: fields may be added only as optional, never removed, retyped or
made required; enum values may be added, never removed.
"""

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sextant_contracts.catalogue import TOPICS
from sextant_contracts.dead_letter import DeadLetter
from sextant_contracts.envelope import Envelope

SCHEMA_DIR = Path(__file__).parent / "schemas"
CURRENT_DIR = SCHEMA_DIR / "current"
RELEASED_DIR = SCHEMA_DIR / "released"

JsonSchema = dict[str, Any]


def build_schemas() -> dict[str, JsonSchema]:
    """File name → JSON Schema, for every topic payload and the dead-letter record."""
    schemas: dict[str, JsonSchema] = {}
    for spec in TOPICS:
        envelope = Envelope[spec.payload]  # type: ignore[name-defined]
        schema = envelope.model_json_schema(mode="serialization")
        schema["title"] = f"{spec.payload.__name__} on {spec.name}"
        schema["x-topic"] = spec.name
        schema["x-key"] = spec.key
        schemas[f"{spec.name}.json"] = schema
    dead_letter = DeadLetter.model_json_schema(mode="serialization")
    dead_letter["x-topic"] = "<topic>.dlq"
    schemas["dead-letter.json"] = dead_letter
    return schemas


def render(schema: JsonSchema) -> str:
    """The canonical text of a schema file (stable key order, trailing newline)."""
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def export(directory: Path = CURRENT_DIR) -> list[Path]:
    """Write every schema to ``directory``; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in build_schemas().items():
        path = directory / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


def _resolve(schema: JsonSchema, root: JsonSchema) -> JsonSchema:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        resolved: JsonSchema = root["$defs"][ref.removeprefix("#/$defs/")]
        return _resolve(resolved, root)
    return schema


def _types(schema: JsonSchema, root: JsonSchema) -> set[str]:
    schema = _resolve(schema, root)
    if "anyOf" in schema:
        return set().union(*(_types(option, root) for option in schema["anyOf"]))
    if "oneOf" in schema:
        return set().union(*(_types(option, root) for option in schema["oneOf"]))
    if "const" in schema:
        return {f"const:{schema['const']}"}
    kind = schema.get("type")
    if isinstance(kind, list):
        return set(kind)
    if isinstance(kind, str):
        return {kind}
    return {"any"}


def _compare(
    old: JsonSchema, new: JsonSchema, old_root: JsonSchema, new_root: JsonSchema, path: str
) -> Iterator[str]:
    old, new = _resolve(old, old_root), _resolve(new, new_root)
    old_types, new_types = _types(old, old_root), _types(new, new_root)
    if "any" not in new_types and not old_types <= new_types:
        yield f"{path}: type changed from {sorted(old_types)} to {sorted(new_types)}"
        return
    if "enum" in old:
        new_enum = new["enum"] if "enum" in new else old["enum"]
        removed = {str(v) for v in old["enum"]} - {str(v) for v in new_enum}
        if removed:
            yield f"{path}: enum values removed: {sorted(removed)}"
    old_props: JsonSchema = old.get("properties", {})
    new_props: JsonSchema = new.get("properties", {})
    for name in old_props:
        if name not in new_props:
            yield f"{path}.{name}: field removed"
    newly_required = set(new.get("required", [])) - set(old.get("required", []))
    for name in sorted(newly_required):
        kind = "new field" if name not in old_props else "field"
        yield f"{path}.{name}: {kind} is required (new fields must be optional)"
    for name, old_prop in old_props.items():
        if name in new_props:
            yield from _compare(old_prop, new_props[name], old_root, new_root, f"{path}.{name}")
    for key in ("items",):
        if isinstance(old.get(key), dict) and isinstance(new.get(key), dict):
            yield from _compare(old[key], new[key], old_root, new_root, f"{path}[]")
    for branch in ("anyOf", "oneOf"):
        for old_option in old.get(branch, []):
            match = _matching_option(old_option, new.get(branch, []), old_root, new_root)
            if match is not None:
                yield from _compare(old_option, match, old_root, new_root, path)


def _matching_option(
    option: JsonSchema, candidates: list[JsonSchema], old_root: JsonSchema, new_root: JsonSchema
) -> JsonSchema | None:
    """The branch of a union in ``new`` that corresponds to ``option`` of ``old``.

    Same model (title) first, as in discriminated unions of objects; else same types.
    """
    title = _resolve(option, old_root).get("title")
    if title is not None:
        for candidate in candidates:
            if _resolve(candidate, new_root).get("title") == title:
                return candidate
    wanted = _types(option, old_root)
    for candidate in candidates:
        if wanted <= _types(candidate, new_root):
            return candidate
    return None


def incompatibilities(old: JsonSchema, new: JsonSchema) -> list[str]:
    """Every way ``new`` would break a consumer written against ``old`` (empty: compatible)."""
    return list(_compare(old, new, old, new, "$"))


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "export"
    if command == "export":
        for path in export():
            print(f"wrote {path}")
        return 0
    if command == "release":
        for path in export(RELEASED_DIR):
            print(f"released {path}")
        return 0
    print("usage: python -m sextant_contracts.schemas [export|release]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
