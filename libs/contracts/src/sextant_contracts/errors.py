"""The structured error carried by replies (tool results, embedding replies)."""

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from pydantic import StringConstraints, ValidationError

from sextant_contracts.base import Contract


class ReplyError(Contract):
    """Why a request could not be served. ``code`` is stable and machine-readable."""

    code: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    message: Annotated[str, StringConstraints(max_length=4000)]
    retryable: bool = False


def describe_validation_error(
    error: ValidationError | Sequence[Mapping[str, Any]],
    *,
    limit: int = 5,
    whole: str = "body",
) -> str:
    """A one-line, human-readable summary of what failed validation (first ``limit``
    errors): ``where: why; ...``, ``whole`` naming an error of the whole input.

    Takes pydantic's ``ValidationError`` or its ``errors()`` list (what FastAPI's
    ``RequestValidationError`` gives): every service words its validation errors alike."""
    details = error.errors(include_url=False) if isinstance(error, ValidationError) else error
    parts = []
    for detail in details[:limit]:
        location = ".".join(str(part) for part in detail["loc"]) or whole
        parts.append(f"{location}: {detail['msg']}")
    more = len(details) - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)
