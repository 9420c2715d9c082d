"""The tools service, running in-process against the real Kafka and PostgreSQL."""

from collections.abc import AsyncIterator

import pytest

from sextant_tools.bootstrap import ToolsService, bootstrap
from sextant_tools.presentation.settings import ToolsSettings
from tests.integration.infrastructure import Infrastructure


@pytest.fixture(scope="package")
async def tools_service(infra: Infrastructure) -> AsyncIterator[ToolsService]:
    settings = ToolsSettings(
        KAFKA=infra.kafka,
        POSTGRES=infra.postgres,
        REDIS=infra.redis,
        CONSUMER_GROUP="tools-integration-tests",
        WORKERS=2,
        TIMEOUT_S=30,
    )
    service = bootstrap(settings)
    await service.broker.start()
    yield service
    await service.broker.stop()
    await service.close()
