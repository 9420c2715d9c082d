"""Reading a Server-Sent Events stream as a browser's EventSource would."""

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Frame:
    id: str | None
    event: str
    data: dict[str, Any]


def parse_frame(block: str) -> Frame | None:
    """One frame from its lines; None for comments and ``retry`` hints."""
    fields: dict[str, list[str]] = {}
    for line in block.splitlines():
        if not line or line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        fields.setdefault(name, []).append(value.removeprefix(" "))
    if "data" not in fields:
        return None
    event_id = fields.get("id", [None])[-1]
    return Frame(
        event_id, fields.get("event", ["message"])[-1], json.loads("\n".join(fields["data"]))
    )


async def frames(response: httpx.Response) -> AsyncIterator[Frame]:
    """Frames as they arrive, until the server ends the stream."""
    buffer = ""
    async for chunk in response.aiter_text():
        buffer += chunk
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            frame = parse_frame(block)
            if frame is not None:
                yield frame
