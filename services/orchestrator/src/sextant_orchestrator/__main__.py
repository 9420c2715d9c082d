"""Run the orchestrator: ``python -m sextant_orchestrator`` (Kafka consumers + probes)."""

import asyncio

from sextant_orchestrator.bootstrap import bootstrap
from sextant_orchestrator.presentation.settings import OrchestratorSettings
from sextant_platform.http_server import serve_until_stopped
from sextant_platform.telemetry import configure_logging


async def main() -> None:
    settings = OrchestratorSettings()
    configure_logging(settings.SERVICE_NAME, settings.TELEMETRY)
    app = await bootstrap(settings)
    await serve_until_stopped(
        app.probes,
        host=settings.HTTP_HOST,
        port=settings.HTTP_PORT,
        start=app.start,
        close=app.close,
    )


if __name__ == "__main__":
    asyncio.run(main())
