"""The long-running consumer never commits past a record whose handler is still running."""

import pytest
from aiokafka import TopicPartition

from sextant_platform.kafka.long_running_consumer import LongRunningConsumer, PartitionProgress
from sextant_platform.settings import KafkaSettings

pytestmark = pytest.mark.unit


def test_nothing_handed_out_means_nothing_to_commit() -> None:
    assert PartitionProgress().committable() is None


def test_commit_stops_below_the_oldest_running_record_even_if_later_ones_finished() -> None:
    progress = PartitionProgress()
    for offset in (10, 11, 12):
        progress.started(offset)
    progress.finished(11)
    progress.finished(12)
    assert progress.committable() == 10  # 10 still runs: a crash must redeliver it
    progress.finished(10)
    assert progress.committable() == 13  # all done: commit past the last one


def test_a_record_never_finished_holds_the_commit_back() -> None:
    progress = PartitionProgress()
    progress.started(5)
    progress.started(6)
    progress.finished(6)
    assert progress.committable() == 5


class _CommitDuringRebalance:
    """A consumer whose commit lets a rebalance revoke the partition while it is in flight,
    as aiokafka does when the group rebalances during the commit's round trip."""

    def __init__(self, owner: "LongRunningConsumer") -> None:
        self.owner = owner
        self.committed: list[dict[TopicPartition, int]] = []

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.committed.append(dict(offsets))
        self.owner._progress.clear()  # revoked under the commit (no await point needed)


async def test_a_partition_revoked_while_its_commit_is_in_flight_is_not_a_crash() -> None:
    partition = TopicPartition("tools.requested.v1", 2)

    async def nothing(*_: object) -> None:
        return None

    consumer = LongRunningConsumer(
        KafkaSettings(),
        ["tools.requested.v1"],
        group_id="g",
        client_id="c",
        handler=nothing,
        on_error=nothing,
    )
    fake = _CommitDuringRebalance(consumer)
    consumer._consumer = fake  # type: ignore[assignment]
    progress = consumer._progress.setdefault(partition, PartitionProgress())
    progress.started(7)
    progress.finished(7)

    await consumer._commit({partition})  # raised KeyError: TopicPartition(... partition=2)

    assert fake.committed == [{partition: 8}]
    assert partition not in consumer._progress
