"""The record a consumer writes to ``<topic>.dlq`` when it gives up on a message."""

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from sextant_contracts.base import Contract


class DeadLetter(Contract):
    """A message that could not be processed, with everything an operator needs to replay it.

    The original bytes travel base64-encoded because a poison message need not be valid
    UTF-8 or JSON; ``original_text`` is filled when they happen to be readable text.
    """

    original_topic: str
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)
    key_base64: str | None = None
    original_base64: str
    original_text: str | None = None
    original_headers: dict[str, str] = Field(default_factory=dict)
    consumer_group: str | None = None
    error_type: Annotated[str, StringConstraints(max_length=256)]
    error_message: Annotated[str, StringConstraints(max_length=8000)]
    attempts: int = Field(
        ge=1,
        description="Deliveries that failed. Consumers dead-letter at the first failure that"
        " is not an outage (outages are waited out in place), so today always 1.",
    )
    failed_at: datetime
