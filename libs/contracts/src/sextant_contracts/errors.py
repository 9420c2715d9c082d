"""The structured error carried by replies (tool results, embedding replies)."""

from typing import Annotated

from pydantic import StringConstraints

from sextant_contracts.base import Contract


class ReplyError(Contract):
    """Why a request could not be served. ``code`` is stable and machine-readable."""

    code: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    message: Annotated[str, StringConstraints(max_length=4000)]
    retryable: bool = False
