"""The OpenAPI document as clients should read it: exact about what the API accepts.

FastAPI describes an optional parameter (``str | None = None``) as "a string or null".
A query parameter or header cannot carry a JSON null: a generated client would send the
text ``null``, which the API refuses. Optional is what ``required: false`` already says,
so the null alternative is dropped from every parameter's schema here. Problem
responses refer to one registered ``ProblemDetails`` schema (one model in a generated
client, not one per route).
"""

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from sextant_ingress.presentation.problems import ProblemDetails

OpenApiDocument = dict[str, Any]


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    options = schema.get("anyOf")
    if not isinstance(options, list):
        return schema
    kept = [option for option in options if option != {"type": "null"}]
    if len(kept) != 1 or len(kept) == len(options):
        return schema
    rest = {key: value for key, value in schema.items() if key != "anyOf"}
    return {**kept[0], **rest}


def exact_parameters(document: OpenApiDocument) -> OpenApiDocument:
    """``document`` with no optional parameter described as possibly null."""
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", []):
                if not parameter.get("required", False) and "schema" in parameter:
                    parameter["schema"] = _without_null(parameter["schema"])
    return document


def with_problem_schema(document: OpenApiDocument) -> OpenApiDocument:
    """Register the one problem-details schema the responses refer to."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["ProblemDetails"] = ProblemDetails.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    return document


def exact_openapi(app: FastAPI) -> Callable[[], OpenApiDocument]:
    """A replacement for ``app.openapi``: FastAPI's document, made exact, built once."""
    build = app.openapi

    def openapi() -> OpenApiDocument:
        if app.openapi_schema is None:
            app.openapi_schema = with_problem_schema(exact_parameters(build()))
        return app.openapi_schema

    return openapi
