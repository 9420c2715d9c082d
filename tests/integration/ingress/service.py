"""Starting ``python -m sextant_ingress`` as a real process, ready to take requests."""

import asyncio
import uuid

from sextant_ingress.presentation.event_recorder import FOLLOWED
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
    await skip_group_to_end(infra.kafka, group, list(FOLLOWED))
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
