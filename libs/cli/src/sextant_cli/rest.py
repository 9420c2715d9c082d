"""A small async client of the ingress REST API, including the SSE stream.

``follow`` reconnects with ``Last-Event-ID`` when the connection drops, so a restarted
ingress or a flaky network costs a pause, not missed or repeated events.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from sextant_contracts.status import TERMINAL_STATUSES

TERMINAL_EVENTS = TERMINAL_STATUSES
"""An SSE event named after a terminal status is the stream's last."""


class ApiError(Exception):
    """The API answered with a problem document; ``str()`` is its detail."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status


@dataclass(frozen=True, slots=True)
class StreamEvent:
    id: str | None
    event: str
    data: dict[str, Any]

    @property
    def terminal(self) -> bool:
        return self.event in TERMINAL_EVENTS

    @property
    def waits(self) -> bool:
        """The analysis paused for an answer: nothing follows until someone answers."""
        return self.event == "interrupted"


def _raise_for_problem(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        body = response.json()
        title, detail = str(body.get("title", "")), str(body.get("detail", response.text))
    except ValueError:
        title, detail = response.reason_phrase, response.text
    raise ApiError(response.status_code, title, detail)


def parse_sse_block(block: str) -> StreamEvent | None:
    """One SSE frame; None for comments, ``retry`` hints and frames without data."""
    fields: dict[str, list[str]] = {}
    for line in block.splitlines():
        if not line or line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        fields.setdefault(name, []).append(value.removeprefix(" "))
    if "data" not in fields:
        return None
    data = json.loads("\n".join(fields["data"]))
    return StreamEvent(fields.get("id", [None])[-1], fields.get("event", ["message"])[-1], data)


async def sse_events(response: httpx.Response) -> AsyncIterator[StreamEvent]:
    """Events of an open ``text/event-stream`` response as they arrive, until it ends."""
    buffer = ""
    async for chunk in response.aiter_text():
        buffer += chunk.replace("\r\n", "\n")
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            event = parse_sse_block(block)
            if event is not None:
                yield event


class SextantClient:
    def __init__(self, base_url: str, api_key: str, *, timeout_s: float = 30.0) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout_s,
        )

    async def __aenter__(self) -> "SextantClient":
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self._http.aclose()

    async def upload(self, path: Path, media_type: str | None = None) -> dict[str, Any]:
        kind = media_type or ("application/json" if path.suffix == ".json" else "text/csv")
        content = await asyncio.to_thread(path.read_bytes)
        response = await self._http.post(
            "/v1/datasets",
            content=content,
            headers={"Content-Type": kind},
            params={"name": path.name[:255]},  # listed by it (GET /v1/datasets, the console)
        )
        _raise_for_problem(response)
        return dict(response.json())

    async def submit(
        self, body: dict[str, Any], *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        response = await self._http.post("/v1/analyses", json=body, headers=headers)
        _raise_for_problem(response)
        return dict(response.json())

    async def start_thread(self) -> str:
        response = await self._http.post("/v1/threads")
        _raise_for_problem(response)
        return str(response.json()["thread_id"])

    async def ask(
        self, thread_id: str, body: dict[str, Any], *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        response = await self._http.post(
            f"/v1/threads/{thread_id}/analyses", json=body, headers=headers
        )
        _raise_for_problem(response)
        return dict(response.json())

    async def thread(self, thread_id: str) -> dict[str, Any]:
        response = await self._http.get(f"/v1/threads/{thread_id}")
        _raise_for_problem(response)
        return dict(response.json())

    async def get(self, analysis_id: str) -> dict[str, Any]:
        response = await self._http.get(f"/v1/analyses/{analysis_id}")
        _raise_for_problem(response)
        return dict(response.json())

    async def cancel(self, analysis_id: str, reason: str) -> dict[str, Any]:
        response = await self._http.post(
            f"/v1/analyses/{analysis_id}/cancel", json={"reason": reason}
        )
        _raise_for_problem(response)
        return dict(response.json())

    async def resume(self, analysis_id: str, response: dict[str, Any]) -> dict[str, Any]:
        response_ = await self._http.post(
            f"/v1/analyses/{analysis_id}/resume", json={"response": response}
        )
        _raise_for_problem(response_)
        return dict(response_.json())

    async def follow(
        self, analysis_id: str, *, reconnects: int = 10, answered: str | None = None
    ) -> AsyncIterator[StreamEvent]:
        """Events of the analysis until its terminal one, or until it waits for an answer,
        resuming after disconnects. ``answered``: an interrupt just answered (the stream
        may still say the analysis waits on it until the answer is taken)."""
        last_id: str | None = None
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(httpx.TransportError),
            stop=stop_after_attempt(reconnects),
            wait=wait_exponential(multiplier=0.5, max=10),
            reraise=True,
        ):
            with attempt:
                async for event in self._stream(analysis_id, last_id):
                    last_id = event.id or last_id
                    if event.waits and event.data["payload"].get("interrupt_id") == answered:
                        continue
                    yield event
                    if event.terminal or event.waits:
                        return

    async def _stream(self, analysis_id: str, last_id: str | None) -> AsyncIterator[StreamEvent]:
        headers = {"Last-Event-ID": last_id} if last_id else {}
        async with self._http.stream(
            "GET",
            f"/v1/analyses/{analysis_id}/events",
            headers=headers,
            timeout=httpx.Timeout(self._http.timeout.connect, read=None),
        ) as response:
            if not response.is_success:
                await response.aread()
                _raise_for_problem(response)
            async for event in sse_events(response):
                yield event
