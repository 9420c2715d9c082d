"""Run the embeddings service: ``python -m sextant_embeddings`` (Kafka + HTTP on one loop)."""

import asyncio

from sextant_embeddings.bootstrap import bootstrap
from sextant_embeddings.presentation.settings import EmbeddingsSettings
from sextant_platform.http_server import serve_until_stopped
from sextant_platform.telemetry import configure_logging


async def main() -> None:
    settings = EmbeddingsSettings()
    configure_logging(settings.SERVICE_NAME, settings.TELEMETRY)
    service = await bootstrap(settings)
    await serve_until_stopped(
        service.http,
        host=settings.HTTP_HOST,
        port=settings.HTTP_PORT,
        start=service.start,
        close=service.close,
    )


if __name__ == "__main__":
    asyncio.run(main())
