"""Session fixtures over the real infrastructure, and per-test isolation helpers."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_kafka.admin import admin_client, ensure_catalogue_topics
from sextant_storage.database import create_engine, upgrade_to_head
from sextant_storage.redis_client import create_redis
from tests.integration.infrastructure import Infrastructure, start


@pytest.fixture(scope="session")
def infra() -> Infrastructure:
    """Kafka, PostgreSQL and Redis, up once for the whole session, topics and schema applied."""
    infrastructure = start()
    asyncio.run(ensure_catalogue_topics(infrastructure.kafka))
    asyncio.run(upgrade_to_head(infrastructure.postgres))
    return infrastructure


@pytest.fixture(scope="session")
async def kafka_admin(infra: Infrastructure) -> AsyncIterator[AIOKafkaAdminClient]:
    admin = admin_client(infra.kafka, client_id="sextant-tests")
    await admin.start()
    yield admin
    await admin.close()


@pytest.fixture
async def fresh_topic(kafka_admin: AIOKafkaAdminClient) -> str:
    """A unique topic with its .dlq companion: tests never share a topic."""
    name = f"test.{uuid.uuid4().hex[:12]}"
    await kafka_admin.create_topics(
        [NewTopic(n, num_partitions=1, replication_factor=1) for n in (name, f"{name}.dlq")]
    )
    return name


@pytest.fixture(scope="session")
async def engine(infra: Infrastructure) -> AsyncIterator[AsyncEngine]:
    db = create_engine(infra.postgres)
    yield db
    await db.dispose()


@pytest.fixture
async def redis(infra: Infrastructure) -> AsyncIterator[Redis]:
    client = create_redis(infra.redis)
    yield client
    await client.aclose()
