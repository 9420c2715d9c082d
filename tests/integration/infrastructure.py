"""Bring up the real Kafka, PostgreSQL and Redis once per test session.

Default: the project's own local processes (``deploy/local/infra.sh up``), which need no
Docker engine. With ``SEXTANT_TEST_INFRA=testcontainers`` and a Docker engine, the same
three servers come from testcontainers instead. Either way the tests receive settings
objects, never hard-coded addresses.
"""

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from sextant_platform.settings import KafkaSettings, PostgresSettings, RedisSettings

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA_SCRIPT = REPO_ROOT / "deploy" / "local" / "infra.sh"


@dataclass
class Infrastructure:
    kafka: KafkaSettings
    postgres: PostgresSettings
    redis: RedisSettings
    local: bool

    def environment(self) -> dict[str, str]:
        """The settings as environment variables, for services started as processes."""
        env: dict[str, str] = {}
        for prefix, settings in (
            ("KAFKA_", self.kafka),
            ("POSTGRES_", self.postgres),
            ("REDIS_", self.redis),
        ):
            for name, value in settings.model_dump().items():
                if value is None:
                    continue
                if isinstance(value, SecretStr):
                    value = value.get_secret_value()
                env[prefix + name] = value if isinstance(value, str) else json.dumps(value)
        return env


def start_local() -> Infrastructure:
    subprocess.run(["bash", str(INFRA_SCRIPT), "up"], check=True, cwd=REPO_ROOT)
    return Infrastructure(KafkaSettings(), PostgresSettings(), RedisSettings(), local=True)


def start_testcontainers() -> Infrastructure:  # pragma: no cover - needs a Docker engine
    from testcontainers.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer
    from testcontainers.redis import RedisContainer

    kafka = KafkaContainer("apache/kafka:4.1.1").with_kraft()
    postgres = PostgresContainer(
        "postgres:15", username="sextant", password="sextant", dbname="sextant"
    )
    redis = RedisContainer("redis:7").with_command("redis-server --appendonly yes")
    for container in (kafka, postgres, redis):
        container.start()
    return Infrastructure(
        KafkaSettings(BOOTSTRAP_SERVERS=kafka.get_bootstrap_server()),
        PostgresSettings(
            HOST=postgres.get_container_host_ip(), PORT=int(postgres.get_exposed_port(5432))
        ),
        RedisSettings(
            URL=f"redis://{redis.get_container_host_ip()}:{redis.get_exposed_port(6379)}/0"
        ),
        local=False,
    )


def start() -> Infrastructure:
    if os.environ.get("SEXTANT_TEST_INFRA") == "testcontainers":
        return start_testcontainers()
    return start_local()


def restart_local_redis() -> None:
    """Stop and start the project's local Redis (AOF persistence), as an outage would."""
    script = REPO_ROOT / "deploy" / "local" / "redis.sh"
    subprocess.run(["bash", str(script), "down"], check=True)
    subprocess.run(["bash", str(script), "up"], check=True)
