"""Provision and inspect the infrastructure: ``python -m sextant_storage.provision <command>``.

Commands:
  topics    create every catalogue topic with its .dlq companion
  migrate   apply the Alembic migrations of the results schema
  describe  print what Kafka, PostgreSQL and Redis say about themselves
"""

import asyncio
import sys

from sqlalchemy import text

from sextant_kafka.admin import admin_client, describe_broker, ensure_catalogue_topics
from sextant_platform.settings import KafkaSettings, PostgresSettings, RedisSettings
from sextant_storage.database import create_engine, upgrade_to_head
from sextant_storage.redis_client import create_redis


async def _topics() -> None:
    created = await ensure_catalogue_topics(KafkaSettings())
    print(
        f"topics: {len(created)} created"
        + (f" ({', '.join(created)})" if created else ", all present")
    )


async def _migrate() -> None:
    await upgrade_to_head(PostgresSettings())
    print("migrations: at head")


async def _describe() -> None:
    admin = admin_client(KafkaSettings())
    await admin.start()
    try:
        broker = await describe_broker(admin)
        topics = await admin.list_topics()
    finally:
        await admin.close()
    print(
        f"kafka: cluster {broker.cluster_id}, brokers {broker.broker_ids}, "
        f"KRaft roles '{broker.process_roles}', {len(broker.api_keys)} protocol APIs"
        f"{' (Kafka 4 consumer protocol)' if broker.speaks_kafka_4_protocol else ''}, "
        f"{len([t for t in topics if not t.startswith('__')])} topics"
    )
    engine = create_engine(PostgresSettings())
    try:
        async with engine.connect() as connection:
            version = (await connection.execute(text("SHOW server_version"))).scalar_one()
            revision = (
                await connection.execute(text("SELECT version_num FROM alembic_version"))
            ).scalar_one_or_none()
    finally:
        await engine.dispose()
    print(f"postgres: server {version}, schema revision {revision}")
    redis = create_redis(RedisSettings())
    try:
        info = await redis.info("server")
        persistence = await redis.info("persistence")
    finally:
        await redis.aclose()
    aof = "on" if persistence["aof_enabled"] else "off"
    print(f"redis: server {info['redis_version']}, append-only {aof}")


COMMANDS = {"topics": _topics, "migrate": _migrate, "describe": _describe}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        return 2
    asyncio.run(COMMANDS[argv[1]]())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
