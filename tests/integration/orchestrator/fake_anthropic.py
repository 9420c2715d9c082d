"""Anthropic's Messages protocol on the loopback fake: the real ``ChatAnthropic`` client
(the ``anthropic`` SDK and its HTTP stack) talks to it, so tool-use blocks, tool results
and usage are parsed for real."""

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from tests.integration.orchestrator.fake_openai import FakeOpenAI, Scripted, running_fake_openai


def message(text: str = "", tool_uses: list[tuple[str, dict[str, Any]]] = ()) -> Scripted:  # type: ignore[assignment]
    """One assistant message: text, and/or ``tool_use`` blocks (stop_reason tool_use)."""
    counter = itertools.count(1)
    content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    content += [
        {"type": "tool_use", "id": f"toolu_{next(counter):02d}", "name": name, "input": arguments}
        for name, arguments in tool_uses
    ]
    return Scripted(
        body={
            "id": "msg_test",
            "type": "message",
            "role": "assistant",
            "model": "claude-test",
            "content": content,
            "stop_reason": "tool_use" if tool_uses else "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 100, "output_tokens": 20},
        }
    )


@asynccontextmanager
async def running_fake_anthropic() -> AsyncIterator[FakeOpenAI]:
    """The fake; point ``LLM_BASE_URL`` at ``fake.base_url`` less its ``/v1``."""
    async with running_fake_openai(route="/v1/messages") as fake:
        yield fake
