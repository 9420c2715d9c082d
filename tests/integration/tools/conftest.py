"""The tools service, running in-process against the real Kafka and PostgreSQL."""

import uuid
from collections.abc import AsyncIterator

import pytest

from sextant_tools.bootstrap import ToolsService, bootstrap
from sextant_tools.settings import ToolsSettings
from tests.integration.infrastructure import Infrastructure
from tests.integration.kafka_helpers import skip_group_to_end


@pytest.fixture(scope="package")
async def tools_service(infra: Infrastructure) -> AsyncIterator[ToolsService]:
    settings = ToolsSettings(
        KAFKA=infra.kafka,
        POSTGRES=infra.postgres,
        REDIS=infra.redis,
        # A group of its own per run: a member of an earlier, interrupted run may still
        # hold "tools-integration-tests" for a whole session timeout.
        CONSUMER_GROUP=f"tools-integration-tests-{uuid.uuid4().hex[:8]}",
        WORKERS=2,
        TIMEOUT_S=30,
        # Tests read replies on topics of their own (``client`` fixture), by pattern.
        REPLY_TOPICS_ALLOWED=r"tools\.replied\.v1|test\.tool-replies\.[0-9a-f]+",
    )
    # The shared topic keeps what earlier runs published: serve only new invocations.
    await skip_group_to_end(infra.kafka, settings.CONSUMER_GROUP, ["tools.requested.v1"])
    service = bootstrap(settings)
    await service.start()
    await service.consumer.wait_assigned(timeout_s=120)  # a slow, loaded box
    yield service
    await service.close()
