"""The broker is a real Apache Kafka 4.x in KRaft mode, and our producer talks to it safely."""

import uuid
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from sextant_contracts import TOPICS, AnalysisRequested, Envelope, InlineDataset
from sextant_kafka import create_broker
from sextant_kafka.admin import describe_broker, topic_names
from tests.integration.infrastructure import REPO_ROOT, Infrastructure
from tests.integration.kafka_helpers import wait_until


async def test_broker_is_apache_kafka_4_in_kraft_mode(
    infra: Infrastructure, kafka_admin: AIOKafkaAdminClient
) -> None:
    broker = await describe_broker(kafka_admin)
    assert broker.is_kraft
    assert set(broker.process_roles.split(",")) == {"broker", "controller"}
    assert broker.speaks_kafka_4_protocol, "ConsumerGroupHeartbeat (KIP-848) is advertised"
    assert len(broker.api_keys) > 50
    if infra.local:
        meta = (REPO_ROOT / ".local" / "kafka" / "data" / "meta.properties").read_text()
        assert f"cluster.id={broker.cluster_id}" in meta, (
            "the broker is the one deploy/local formatted"
        )


async def test_every_catalogue_topic_exists_with_its_companions(
    kafka_admin: AIOKafkaAdminClient,
) -> None:
    existing = set(await kafka_admin.list_topics())
    for spec in TOPICS:
        assert set(topic_names(spec)) <= existing
    (described,) = await kafka_admin.describe_topics(["analysis.requested.v1"])
    assert len(described["partitions"]) == 6


async def test_started_producer_uses_acks_all_and_idempotence(
    infra: Infrastructure, fresh_topic: str
) -> None:
    broker = create_broker(infra.kafka, client_id="test-producer")
    async with broker:
        await broker.start()
        # aiokafka keeps these privately; reading them proves what the live producer uses.
        producer = broker.config.broker_config.producer._producer.producer
        assert producer._txn_manager is not None, "idempotent producer (has a producer-id manager)"
        assert producer._sender._acks == -1, "acks=all"
        metadata = await broker.publish(b"ping", fresh_topic)
        assert metadata.offset >= 0


async def test_faststream_round_trip_over_a_real_topic(
    infra: Infrastructure, fresh_topic: str
) -> None:
    broker = create_broker(infra.kafka, client_id="test-roundtrip")
    received: list[Envelope[AnalysisRequested]] = []

    @broker.subscriber(
        fresh_topic, group_id=f"g-{uuid.uuid4().hex[:8]}", auto_offset_reset="earliest"
    )
    async def handle(event: Envelope[AnalysisRequested]) -> None:
        received.append(event)

    request = AnalysisRequested(
        analysis_id=uuid.uuid4(),
        question="What drives revenue?",
        inline_dataset=InlineDataset(media_type="text/csv", content="region,revenue\nnorth,10\n"),
    )
    sent = Envelope.wrap(request, tenant_id="acme", correlation_id=str(request.analysis_id))
    async with broker:
        await broker.start()
        await broker.publish(
            sent.model_dump(mode="json"), fresh_topic, key=str(request.analysis_id).encode()
        )
        await wait_until(lambda: len(received) == 1, what="the round trip")
    assert received == [sent]


def test_repo_local_data_is_git_ignored() -> None:
    ignored = (REPO_ROOT / ".gitignore").read_text().splitlines()
    assert ".local/" in ignored
    assert Path(REPO_ROOT / "deploy" / "local" / "infra.sh").exists()
