"""The runner's shared-memory blocks: reused when safe, bounded, never leaked."""

import os
from multiprocessing import shared_memory

import pytest

from sextant_tools.domain.errors import SharedMemoryFull
from sextant_tools.infrastructure.shared_blocks import SharedBlocks, block_buffer


def _exists(name: str) -> bool:
    try:
        shared_memory.SharedMemory(name=name).close()
    except FileNotFoundError:
        return False
    return True


@pytest.fixture
def blocks() -> SharedBlocks:
    return SharedBlocks(keep=2)


def test_a_block_given_back_carries_the_next_dataset_that_fits(blocks: SharedBlocks) -> None:
    first = blocks.holding(b"a,b\n1,2\n3,4\n")
    blocks.give_back(first, reusable=True)

    second = blocks.holding(b"x\n9\n")
    larger = blocks.holding(b"y" * (first.size + 1))

    assert second is first
    assert bytes(block_buffer(second)[:4]) == b"x\n9\n"
    assert larger is not first
    assert larger.size >= first.size + 1
    for block in (second, larger):
        blocks.give_back(block, reusable=True)
    blocks.close()
    assert not _exists(first.name)
    assert not _exists(larger.name)


def test_a_block_a_worker_may_still_read_is_discarded(blocks: SharedBlocks) -> None:
    block = blocks.holding(b"a\n1\n")
    blocks.give_back(block, reusable=False)

    assert blocks.idle == 0
    assert not _exists(block.name)


def test_in_use_and_idle_blocks_together_never_exceed_keep(blocks: SharedBlocks) -> None:
    small, medium = blocks.holding(b"x" * 10), blocks.holding(b"x" * 1_000)
    with pytest.raises(RuntimeError, match="more than 2"):
        blocks.holding(b"x")
    blocks.give_back(small, reusable=True)
    blocks.give_back(medium, reusable=True)

    large = blocks.holding(b"y" * 100_000)  # fits no idle block: the smallest makes room

    assert not _exists(small.name)
    assert _exists(medium.name)
    assert blocks.holding(b"z" * 500) is medium  # best fit
    blocks.give_back(large, reusable=True)
    blocks.give_back(medium, reusable=True)
    blocks.close()
    assert not _exists(medium.name)
    assert not _exists(large.name)


def test_a_dataset_dev_shm_has_no_room_for_is_a_clear_error_not_a_crash(
    blocks: SharedBlocks,
) -> None:
    """Writing into pages tmpfs cannot supply is SIGBUS; the space is reserved first."""
    stats = os.statvfs("/dev/shm")
    too_large = stats.f_blocks * stats.f_frsize + (1 << 20)
    before = set(os.listdir("/dev/shm"))

    with pytest.raises(SharedMemoryFull, match="2 x WORKERS x MAX_DATASET_BYTES"):
        blocks._take(too_large)  # the content itself would not fit in this process either

    assert set(os.listdir("/dev/shm")) <= before  # the failed block was removed
    served = blocks.holding(b"a\n1\n")  # and the next dataset is served
    assert bytes(block_buffer(served)[:4]) == b"a\n1\n"
    blocks.give_back(served, reusable=False)
