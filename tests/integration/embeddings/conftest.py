"""The embeddings service running in-process against the real Kafka, plus a client."""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from sextant_contracts import EmbeddingReplied
from sextant_embeddings.bootstrap import EmbeddingsApp, bootstrap
from sextant_embeddings.settings import EmbeddingsSettings
from sextant_kafka import create_broker
from sextant_kafka.request_reply import KafkaRequestReply
from tests.integration.infrastructure import Infrastructure
from tests.integration.kafka_helpers import skip_group_to_end

MAX_CHARS_PER_TEXT = 4_000


@pytest.fixture(scope="package")
async def embeddings_service(
    infra: Infrastructure, torch_embeddings: Any
) -> AsyncIterator[EmbeddingsApp]:
    settings = EmbeddingsSettings(
        KAFKA=infra.kafka,
        CONSUMER_GROUP=f"embeddings-integration-tests-{uuid.uuid4().hex[:8]}",
        MAX_CHARS_PER_TEXT=MAX_CHARS_PER_TEXT,
    )
    # A new group per run starts at the topic's end: serve only this run's requests.
    await skip_group_to_end(infra.kafka, settings.CONSUMER_GROUP, ["embeddings.requested.v1"])
    service = await bootstrap(settings, model=torch_embeddings)
    await service.start()
    yield service
    await service.stop_serving()  # the session fixture owns the model


@pytest.fixture(scope="package")
async def embedding_client(
    infra: Infrastructure, embeddings_service: EmbeddingsApp
) -> AsyncIterator[KafkaRequestReply[EmbeddingReplied]]:
    broker = create_broker(infra.kafka, client_id="embeddings-test-client")
    client = KafkaRequestReply(
        broker,
        infra.kafka,
        request_topic="embeddings.requested.v1",
        reply_topic="embeddings.replied.v1",
        reply_model=EmbeddingReplied,
        instance_id=f"tests-{uuid.uuid4().hex[:8]}",
    )
    await broker.start()
    await client.ready()
    yield client
    await client.close()
    await broker.stop()
