"""The structured error carried by replies (tool results, embedding replies)."""

from typing import Annotated

from pydantic import StringConstraints, ValidationError

from sextant_contracts.base import Contract


class ReplyError(Contract):
    """Why a request could not be served. ``code`` is stable and machine-readable."""

    code: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    message: Annotated[str, StringConstraints(max_length=4000)]
    retryable: bool = False


def describe_validation_error(error: ValidationError, *, limit: int = 5) -> str:
    """A one-line, human-readable summary of what failed validation (first ``limit`` errors)."""
    parts = []
    for detail in error.errors(include_url=False)[:limit]:
        location = ".".join(str(part) for part in detail["loc"]) or "body"
        parts.append(f"{location}: {detail['msg']}")
    more = error.error_count() - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)
