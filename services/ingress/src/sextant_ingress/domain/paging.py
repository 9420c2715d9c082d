"""Where a page of the analyses list starts: an opaque cursor with an exact form.

A cursor is 24 bytes, base64url without padding (32 characters): microseconds since the
Unix epoch of the last item's creation, then its id. Every string of that form is a
position in the list, so the API documents the form as a pattern and never refuses a
well-formed cursor: one that no analysis has simply continues from where it would be,
and a time past what a timestamp can hold is read as the latest one.
"""

import base64
import struct
from datetime import UTC, datetime, timedelta
from uuid import UUID

CURSOR_PATTERN = r"^[A-Za-z0-9_-]{32}$"
"""The form of every cursor (what the OpenAPI document states)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST_US = (datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC) - _EPOCH) // timedelta(
    microseconds=1
)
_FORM = struct.Struct(">Q16s")


def encode_cursor(created_at: datetime, analysis_id: UUID) -> str:
    """The cursor that continues after the item created at ``created_at`` with this id."""
    micros = max((created_at - _EPOCH) // timedelta(microseconds=1), 0)
    packed = _FORM.pack(micros, analysis_id.bytes)
    return base64.urlsafe_b64encode(packed).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """The position a cursor names. Raises ValueError only for a string that does not
    have the cursor's form (the API refuses those before they get here)."""
    if len(cursor) != 32:
        raise ValueError("a cursor is 32 characters")
    try:
        packed = base64.urlsafe_b64decode(cursor.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as error:
        raise ValueError("a cursor is base64url") from error
    micros, identifier = _FORM.unpack(packed)
    return _EPOCH + timedelta(microseconds=min(micros, _LATEST_US)), UUID(bytes=identifier)
