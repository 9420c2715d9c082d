"""Parsing that a single hostile record cannot break for the rest of its batch."""

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import ConsumerRecord


def _utf8_safe(value: bytes | None) -> bytes:
    raw = value or b""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="replace").encode("utf-8")
    return raw


async def tolerant_batch_parser(
    records: tuple[ConsumerRecord[bytes, bytes], ...],
    original_parser: Callable[[Any], Awaitable[Any]],
) -> Any:
    """FastStream's batch parser, after making every header value valid UTF-8.

    FastStream decodes each record's headers as UTF-8 and fails the whole batch on one
    bad header; the batch would then be redelivered forever. Bad bytes become U+FFFD
    instead, and the record's body is judged by the handler like any other.
    """
    cleaned = tuple(
        dataclasses.replace(record, headers=[(k, _utf8_safe(v)) for k, v in record.headers])
        for record in records
    )
    return await original_parser(cleaned)
