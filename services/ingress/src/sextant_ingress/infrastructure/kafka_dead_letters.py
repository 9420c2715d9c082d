"""The DeadLetterReads port on Kafka: the last records of a ``.dlq`` topic, read with a
consumer of no group (partitions assigned by hand, nothing committed), so reading them
changes nothing for anyone."""

import time

from aiokafka import ConsumerRecord, TopicPartition

from sextant_contracts import dlq_topic_name
from sextant_contracts import topic as catalogue_topic
from sextant_ingress.domain.dead_letters import DeadLetterView, tenant_letter
from sextant_kafka.broker import create_consumer
from sextant_platform.settings import KafkaSettings

SCANNED_PER_PARTITION = 500
"""How far back each partition is read (the tenant's records among them are shown)."""
READ_FOR_S = 5.0


class KafkaDeadLetters:
    def __init__(self, settings: KafkaSettings, *, client_id: str) -> None:
        self._settings = settings
        self._client_id = client_id

    async def recent(self, topic: str, *, tenant_id: str, limit: int) -> list[DeadLetterView]:
        """The tenant's last ``limit`` records of ``topic``'s dead-letter companion."""
        records = await self._tail(dlq_topic_name(topic), catalogue_topic(topic).partitions)
        letters = [letter for r in records if (letter := tenant_letter(r.value, tenant_id))]
        letters.sort(key=lambda letter: letter.failed_at, reverse=True)
        return letters[:limit]

    async def _tail(self, topic: str, partitions_count: int) -> list[ConsumerRecord[bytes, bytes]]:
        """The last records of each partition (a ``.dlq`` has its topic's partitions:
        provisioning creates both from the catalogue)."""
        consumer = create_consumer(
            self._settings,
            client_id=self._client_id,
            group_id=None,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            partitions = [TopicPartition(topic, number) for number in range(partitions_count)]
            consumer.assign(partitions)
            ends = await consumer.end_offsets(partitions)
            starts = await consumer.beginning_offsets(partitions)
            for partition in partitions:
                consumer.seek(
                    partition, max(starts[partition], ends[partition] - SCANNED_PER_PARTITION)
                )
            pending = {p for p in partitions if ends[p] > max(starts[p], 0)}
            records: list[ConsumerRecord[bytes, bytes]] = []
            deadline = time.monotonic() + READ_FOR_S
            while pending and time.monotonic() < deadline:
                batch = await consumer.getmany(*pending, timeout_ms=200)
                for partition, found in batch.items():
                    records += found
                    if found and found[-1].offset + 1 >= ends[partition]:
                        pending.discard(partition)
            return records
        finally:
            await consumer.stop()
