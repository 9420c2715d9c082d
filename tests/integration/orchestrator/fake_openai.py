"""A loopback HTTP server speaking OpenAI's chat-completions protocol, scripted per test.

The real LangChain OpenAI client (and its HTTP stack) talks to it, so retries, parsing and
tool-call handling run for real; only the paid remote model is replaced.
"""

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from sextant_platform.http_server import http_server
from tests.integration.kafka_helpers import wait_until


@dataclass
class Scripted:
    """One scripted answer: a completion, an HTTP error, a hang, or a malformed body.
    ``held_until``: answered only once that event is set (a call a test keeps in flight)."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    hang_s: float = 0.0
    raw: bytes | None = None
    held_until: asyncio.Event | None = None


def completion(
    content: str = "",
    tool_calls: list[tuple[str, dict[str, Any]]] = (),  # type: ignore[assignment]
    *,
    usage: tuple[int, int] = (120, 30),
) -> Scripted:
    """A chat completion; ``usage``: the (prompt, completion) tokens it reports."""
    counter = itertools.count(1)
    message: dict[str, Any] = {"role": "assistant", "content": content or None}
    if tool_calls:
        message["tool_calls"] = [
            {
                "id": f"call_{next(counter)}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments)},
            }
            for name, arguments in tool_calls
        ]
    return Scripted(
        body={
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 0,
            "model": "gpt-test",
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if tool_calls else "stop",
                }
            ],
            "usage": {
                "prompt_tokens": usage[0],
                "completion_tokens": usage[1],
                "total_tokens": sum(usage),
            },
        }
    )


Responder = Callable[[dict[str, Any]], Scripted]


class FakeOpenAI:
    """Answers from ``script`` in order, then from ``responder`` (chosen per request)."""

    def __init__(self, route: str = "/v1/chat/completions") -> None:
        """``route``: where the provider's API answers (Anthropic: ``/v1/messages``)."""
        self.script: list[Scripted] = []
        self.responder: Responder | None = None
        self.requests: list[dict[str, Any]] = []
        self.app = FastAPI()
        self.app.post(route)(self._complete)
        self.base_url = ""

    async def _complete(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        if self.script:
            answer = self.script.pop(0)
        elif self.responder is not None:
            answer = self.responder(body)
        else:
            return JSONResponse({"error": {"message": "script exhausted"}}, status_code=400)
        if answer.hang_s:
            await asyncio.sleep(answer.hang_s)
        if answer.held_until is not None:
            await answer.held_until.wait()
        if answer.raw is not None:
            return Response(answer.raw, media_type="application/json")
        return JSONResponse(answer.body or {}, status_code=answer.status, headers=answer.headers)


@asynccontextmanager
async def running_fake_openai(route: str = "/v1/chat/completions") -> AsyncIterator[FakeOpenAI]:
    fake = FakeOpenAI(route)
    server = http_server(fake.app, host="127.0.0.1", port=0)
    serving = asyncio.create_task(server.serve())
    await wait_until(lambda: server.started, timeout_s=10, what="the fake OpenAI server")
    port = server.servers[0].sockets[0].getsockname()[1]
    fake.base_url = f"http://127.0.0.1:{port}/v1"
    try:
        yield fake
    finally:
        server.should_exit = True
        await serving
