"""The tools and embeddings services in-process, and the orchestrator's Kafka clients."""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from sextant_kafka import create_broker
from sextant_orchestrator.infrastructure.service_clients import (
    KafkaPassageRanker,
    KafkaToolInvoker,
)
from tests.integration.embeddings.conftest import embeddings_service  # noqa: F401 - fixture
from tests.integration.infrastructure import Infrastructure
from tests.integration.tools.conftest import tools_service  # noqa: F401 - fixture


@dataclass
class ServiceClients:
    tools: KafkaToolInvoker
    ranker: KafkaPassageRanker


@pytest.fixture(scope="package")
async def service_clients(
    infra: Infrastructure,
    tools_service: object,  # noqa: F811 - the imported fixture
    embeddings_service: object,  # noqa: F811 - the imported fixture
) -> AsyncIterator[ServiceClients]:
    broker = create_broker(infra.kafka, client_id="orchestrator-tests")
    instance = f"orchestrator-tests-{uuid.uuid4().hex[:8]}"
    clients = ServiceClients(
        tools=KafkaToolInvoker(broker, infra.kafka, instance_id=instance, timeout_s=60),
        ranker=KafkaPassageRanker(broker, infra.kafka, instance_id=instance, timeout_s=60),
    )
    await broker.start()
    await clients.tools.client.ready()
    await clients.ranker.client.ready()
    yield clients
    await clients.tools.client.close()
    await clients.ranker.client.close()
    await broker.stop()
