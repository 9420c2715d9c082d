"""Dead-letter records as the API shows them to a tenant: its own, newest first.

A record in ``<topic>.dlq`` says which message a consumer gave up on and why. The
tenant a record belongs to is the one its original message (an envelope) names; a
record whose original is no readable envelope belongs to no tenant and is shown to none
(operators read those with ``sextant tail`` or kcat).
"""

import json
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from sextant_contracts import DeadLetter

MAX_ORIGINAL_CHARS = 2000


@dataclass(frozen=True, slots=True)
class DeadLetterView:
    topic: str
    partition: int
    offset: int
    error_type: str
    error_message: str
    failed_at: datetime
    original: str
    """The message given up on, as text (clipped)."""


def tenant_letter(raw: bytes | None, tenant_id: str) -> DeadLetterView | None:
    """The record as shown to ``tenant_id``; None when it is not theirs (or no record)."""
    try:
        letter = DeadLetter.model_validate_json(raw or b"")
        envelope = json.loads(letter.original_text or "")
    except (ValidationError, ValueError):
        return None
    if not isinstance(envelope, dict) or envelope.get("tenant_id") != tenant_id:
        return None
    return DeadLetterView(
        topic=letter.original_topic,
        partition=letter.partition,
        offset=letter.offset,
        error_type=letter.error_type,
        error_message=letter.error_message,
        failed_at=letter.failed_at,
        original=(letter.original_text or "")[:MAX_ORIGINAL_CHARS],
    )
