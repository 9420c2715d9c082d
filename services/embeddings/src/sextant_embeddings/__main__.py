"""Run the embeddings service: ``python -m sextant_embeddings`` (Kafka + HTTP on one loop)."""

from sextant_embeddings.bootstrap import bootstrap
from sextant_embeddings.settings import EmbeddingsSettings
from sextant_platform.service_main import RunningService, run_service


async def build(settings: EmbeddingsSettings) -> RunningService:
    service = await bootstrap(settings)
    return RunningService(http=service.http, start=service.start, close=service.close)


if __name__ == "__main__":
    run_service(EmbeddingsSettings, build)
