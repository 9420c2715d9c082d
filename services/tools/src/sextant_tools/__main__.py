"""Run the tools service: ``python -m sextant_tools`` (Kafka consumer + health probes)."""

import asyncio

from sextant_platform.health import HealthApp, database_check, kafka_check
from sextant_platform.http_server import serve_until_stopped
from sextant_platform.telemetry import configure_logging
from sextant_tools.bootstrap import bootstrap
from sextant_tools.presentation.settings import ToolsSettings


async def main() -> None:
    settings = ToolsSettings()
    configure_logging(settings.SERVICE_NAME, settings.TELEMETRY)
    service = bootstrap(settings)
    probes = HealthApp(
        {"kafka": kafka_check(service.broker), "postgres": database_check(service.engine)}
    )

    await serve_until_stopped(
        probes,
        host=settings.HTTP_HOST,
        port=settings.HTTP_PORT,
        start=service.start,
        close=service.close,
    )


if __name__ == "__main__":
    asyncio.run(main())
