"""Starting ``python -m sextant_ingress`` as a real process, ready to take requests, and
running the ``sextant`` CLI against it."""

import asyncio
import os
import sys
import uuid
from pathlib import Path
from typing import Protocol

from sextant_ingress.presentation.event_recorder import ANNOUNCED, FOLLOWED
from tests.integration.infrastructure import Infrastructure
from tests.integration.kafka_helpers import skip_group_to_end
from tests.integration.processes import ServiceProcess, free_port


async def start_ingress(
    infra: Infrastructure,
    *,
    name: str,
    outbox_poll_s: float = 0.5,
    env: dict[str, str] | None = None,
) -> tuple[ServiceProcess, str]:
    """(process, base URL) once /readyz answers; its event recorder starts at the topics'
    end in a group of its own, so it records only what happens from now on. ``env``:
    more settings."""
    group = f"{name}-events-{uuid.uuid4().hex[:8]}"
    await skip_group_to_end(infra.kafka, group, [*FOLLOWED, *ANNOUNCED])
    port = free_port()
    process = ServiceProcess(
        "sextant_ingress",
        infra,
        env={
            "SEXTANT_INGRESS_HTTP_PORT": str(port),
            "SEXTANT_INGRESS_EVENTS_CONSUMER_GROUP": group,
            "SEXTANT_INGRESS_OUTBOX_POLL_S": str(outbox_poll_s),
            **(env or {}),
        },
        name=name,
    ).start()
    base_url = f"http://127.0.0.1:{port}"
    await asyncio.to_thread(process.wait_http, f"{base_url}/readyz")
    return process, base_url


class ServesApi(Protocol):
    base_url: str
    api_key: str


async def sextant(
    stack: ServesApi,
    infra: Infrastructure,
    *args: str,
    timeout_s: float = 150,
    env: dict[str, str] | None = None,
) -> str:
    """Run the installed ``sextant`` command (without blocking this loop, which serves the
    loopback LLM); its stdout, or fail with its output. ``env``: more settings."""
    env = {
        **os.environ,
        **infra.environment(),
        "SEXTANT_API_URL": stack.base_url,
        "SEXTANT_API_KEY": stack.api_key,
        **(env or {}),
    }
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("sextant")),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=timeout_s)
    text = output.decode()
    assert process.returncode == 0, f"sextant {' '.join(args)} -> {process.returncode}: {text}"
    return text
