"""The runner's shared-memory blocks: reused when safe, discarded otherwise, never leaked."""

from multiprocessing import shared_memory

import pytest

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


def test_beyond_keep_the_smallest_idle_block_goes(blocks: SharedBlocks) -> None:
    held = [blocks.holding(b"x" * size) for size in (10, 1_000, 100_000)]
    for block in held:
        blocks.give_back(block, reusable=True)

    assert blocks.idle == 2
    assert not _exists(held[0].name)
    assert blocks.holding(b"y" * 500) is held[1]  # best fit, not the largest
    blocks.give_back(held[1], reusable=True)
    blocks.close()
    assert blocks.idle == 0
