"""Run the ingress API: ``python -m sextant_ingress`` (REST + outbox relay).

``python -m sextant_ingress create-key <tenant>`` prints a new API key for a tenant.
"""

import asyncio
import sys

from sextant_ingress.bootstrap import bootstrap
from sextant_ingress.presentation.settings import IngressSettings
from sextant_platform.http_server import serve_until_stopped
from sextant_platform.telemetry import configure_logging


async def serve() -> None:
    settings = IngressSettings()
    configure_logging(settings.SERVICE_NAME, settings.TELEMETRY)
    app = bootstrap(settings)
    await serve_until_stopped(
        app.api, host=settings.HTTP_HOST, port=settings.HTTP_PORT, start=app.start, close=app.close
    )


async def create_key(tenant_id: str) -> None:
    app = bootstrap(IngressSettings())
    try:
        print(await app.keys.create(tenant_id=tenant_id, name="cli"))
    finally:
        await app.engine.dispose()
        await app.redis.aclose()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "create-key":
        asyncio.run(create_key(sys.argv[2]))
    else:
        asyncio.run(serve())
