"""RFC 9457 problem details: the one shape every error of the API takes."""

from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel

PROBLEM = "application/problem+json"


class ProblemDetails(BaseModel):
    """RFC 9457: what went wrong, for machines (``type``, ``status``) and people (``detail``)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None


PROBLEM_SCHEMA_REF = "#/components/schemas/ProblemDetails"
"""Every problem response refers to one schema (the OpenAPI document registers it)."""

_MEANINGS = {
    401: "No API key, or one that is not valid.",
    404: "No such resource for your tenant.",
    409: "Conflicts with the resource's state or an earlier request.",
    413: "The body, or the dataset in it, is over a limit.",
    415: "The body's media type is not accepted here.",
    422: "The request is malformed; the detail says where.",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` documenting the problems a route can answer (plus 401 and
    422, which every authenticated route can)."""
    schema = {"$ref": PROBLEM_SCHEMA_REF}
    return {
        status: {"description": _MEANINGS[status], "content": {PROBLEM: {"schema": schema}}}
        for status in sorted({401, 422, *statuses})
    }


class ApiProblem(Exception):
    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail


def problem(status: int, title: str, detail: str, instance: str = "") -> JSONResponse:
    body = {
        "type": f"https://sextant.dev/problems/{title.lower().replace(' ', '-')}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    return JSONResponse(body, status_code=status, media_type=PROBLEM)
