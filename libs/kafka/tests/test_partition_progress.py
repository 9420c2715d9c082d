"""The long-running consumer never commits past a record whose handler is still running,
survives a revoked partition, and never dies silently."""

import asyncio
import contextlib
import json

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import UnsupportedCodecError

from sextant_contracts.catalogue import TOOLS_REQUESTED
from sextant_kafka.long_running_consumer import LongRunningConsumer, PartitionProgress
from sextant_platform.fatal import failures, forget_failures, must_not_die
from sextant_platform.health import HealthApp
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
    partition = TopicPartition(TOOLS_REQUESTED.name, 2)

    async def nothing(*_: object) -> None:
        return None

    consumer = LongRunningConsumer(
        KafkaSettings(),
        [TOOLS_REQUESTED.name],
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


class _BrokenConsumer:
    """A consumer whose poll raises what aiokafka raised for an lz4 batch without its codec."""

    def assignment(self) -> set[TopicPartition]:
        return set()

    def resume(self, *_: TopicPartition) -> None:
        return None

    async def getmany(self, **_: object) -> dict[TopicPartition, list[object]]:
        raise UnsupportedCodecError("Libraries for lz4 compression codec not found")


async def test_a_poll_loop_that_dies_is_logged_marks_the_process_failed_and_stops_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    forget_failures()
    stopped = asyncio.Event()

    async def nothing(*_: object) -> None:
        return None

    consumer = LongRunningConsumer(
        KafkaSettings(), ["t"], group_id="g-dies", client_id="c", handler=nothing, on_error=nothing
    )
    consumer._consumer = _BrokenConsumer()  # type: ignore[assignment]
    task = asyncio.create_task(consumer._poll_loop())
    must_not_die(task, what="the poll loop of g-dies", stop=stopped.set)
    await asyncio.wait_for(stopped.wait(), 5)

    (failure,) = failures()
    assert failure.startswith("the poll loop of g-dies: UnsupportedCodecError: ")
    assert failure.endswith("Libraries for lz4 compression codec not found")
    assert "the poll loop of g-dies failed; stopping the process" in caplog.text
    response = await _get(HealthApp({}), "/healthz")
    assert response == (503, {"status": "failed", "failures": failures()})
    forget_failures()
    assert await _get(HealthApp({}), "/healthz") == (200, {"status": "ok"})


async def test_an_orderly_stop_is_not_a_death() -> None:
    forget_failures()
    stopped = asyncio.Event()
    task = asyncio.create_task(asyncio.sleep(60))
    must_not_die(task, what="sleeper", stop=stopped.set)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await asyncio.sleep(0)
    assert not stopped.is_set()
    assert failures() == []


async def _get(app: HealthApp, path: str) -> tuple[int, dict[str, object]]:
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    await app({"type": "http", "method": "GET", "path": path}, receive, send)
    body = sent[1]["body"]
    assert isinstance(body, bytes)
    return int(str(sent[0]["status"])), json.loads(body)
