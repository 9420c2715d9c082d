"""Topic provisioning from the contracts catalogue, and a description of the broker.

Topics are created explicitly (the broker runs with ``auto.create.topics.enable=false``)
so that each one gets the partition count the catalogue declares, together with its
``.dlq`` companion.
"""

import contextlib
from dataclasses import dataclass, field
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.protocol.admin import ApiVersionRequest

from sextant_contracts import TOPICS, TopicSpec
from sextant_platform.resilience import transient_io_policy
from sextant_platform.settings import KafkaSettings

CONSUMER_GROUP_HEARTBEAT_API_KEY = 68
"""KIP-848's consumer-group protocol: spoken by Apache Kafka 4.x brokers."""


@dataclass(frozen=True, slots=True)
class BrokerDescription:
    """What the cluster says about itself; used by ``make infra-status`` and the tests."""

    cluster_id: str
    controller_id: int
    broker_ids: list[int]
    process_roles: str
    api_keys: dict[int, tuple[int, int]] = field(default_factory=dict)

    @property
    def is_kraft(self) -> bool:
        """``process.roles`` exists only in KRaft mode (no ZooKeeper)."""
        return bool(self.process_roles)

    @property
    def speaks_kafka_4_protocol(self) -> bool:
        return CONSUMER_GROUP_HEARTBEAT_API_KEY in self.api_keys


def admin_client(
    settings: KafkaSettings, *, client_id: str = "sextant-admin"
) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(
        bootstrap_servers=settings.BOOTSTRAP_SERVERS,
        client_id=client_id,
        request_timeout_ms=settings.REQUEST_TIMEOUT_MS,
    )


def _is_broker_unavailable(error: BaseException) -> bool:
    from aiokafka.errors import KafkaConnectionError, KafkaError

    return isinstance(error, KafkaConnectionError | ConnectionError | OSError) or (
        isinstance(error, KafkaError) and getattr(error, "retriable", False)
    )


def topic_names(spec: TopicSpec) -> tuple[str, str]:
    """The main and dead-letter topic of ``spec``."""
    return spec.name, spec.dlq_topic


def new_topics(specs: tuple[TopicSpec, ...], replication_factor: int) -> list[NewTopic]:
    """Every topic (main, DLQ) the catalogue needs, with its settings."""
    topics = []
    for spec in specs:
        for name in topic_names(spec):
            topics.append(
                NewTopic(
                    name=name,
                    num_partitions=spec.partitions,
                    replication_factor=replication_factor,
                    topic_configs={"retention.ms": str(spec.retention_ms)},
                )
            )
    return topics


async def ensure_topics(
    admin: AIOKafkaAdminClient,
    topics: list[NewTopic],
) -> list[str]:
    """Create the topics that do not exist yet; returns the names it created."""
    existing = set(await admin.list_topics())
    missing = [t for t in topics if t.name not in existing]
    if not missing:
        return []
    with contextlib.suppress(TopicAlreadyExistsError):  # a concurrent provisioner won: fine
        await admin.create_topics(missing)
    return [t.name for t in missing]


async def ensure_catalogue_topics(
    settings: KafkaSettings, *, replication_factor: int = 1
) -> list[str]:
    """Create every catalogue topic (with its DLQ companion); waits for the broker."""
    async for attempt in transient_io_policy(
        _is_broker_unavailable, attempts=30, max_s=2.0, deadline_s=90
    ):
        with attempt:
            admin = admin_client(settings)
            await admin.start()
    try:
        return await ensure_topics(admin, new_topics(TOPICS, replication_factor))
    finally:
        await admin.close()


async def describe_broker(admin: AIOKafkaAdminClient) -> BrokerDescription:
    """Cluster id, brokers, KRaft roles and the protocol API versions the broker speaks."""
    cluster: dict[str, Any] = await admin.describe_cluster()
    broker_ids = [int(b["node_id"]) for b in cluster["brokers"]]
    node_id = broker_ids[0]
    (configs,) = await admin.describe_configs(
        [ConfigResource(ConfigResourceType.BROKER, str(node_id), {"process.roles": None})]
    )
    roles = ""
    for resource in configs.resources:
        for entry in resource[4]:
            if entry[0] == "process.roles":
                roles = entry[1] or ""
    response = await admin._client.send(node_id, ApiVersionRequest())
    api_keys = {key: (low, high) for key, low, high in response.api_versions}
    return BrokerDescription(
        cluster_id=str(cluster["cluster_id"]),
        controller_id=int(cluster["controller_id"]),
        broker_ids=broker_ids,
        process_roles=roles,
        api_keys=api_keys,
    )
