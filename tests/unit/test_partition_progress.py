"""The long-running consumer never commits past a record whose handler is still running."""

import pytest

from sextant_platform.kafka.long_running_consumer import PartitionProgress

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
