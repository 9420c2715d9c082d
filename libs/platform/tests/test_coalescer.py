"""The Coalescer: concurrent submissions share writes, in order, with per-item failures."""

import asyncio

import pytest

from sextant_platform.coalescer import Coalescer


class Recorder:
    """A batch writer that records its batches and can be held open or made to fail."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def write(self, items: list[int]) -> list[int | BaseException]:
        self.batches.append(list(items))
        await self.gate.wait()
        return [ValueError(f"odd {i}") if i % 2 else i * 10 for i in items]


async def test_items_submitted_during_a_write_share_the_next_one_in_order() -> None:
    writer = Recorder()
    writer.gate.clear()
    coalescer: Coalescer[int, int] = Coalescer(writer.write)
    first = asyncio.create_task(coalescer.submit(0))
    await asyncio.sleep(0)  # the first write starts with item 0 alone
    rest = [asyncio.create_task(coalescer.submit(i)) for i in (2, 4, 6)]
    await asyncio.sleep(0)
    writer.gate.set()
    assert await first == 0
    assert await asyncio.gather(*rest) == [20, 40, 60]
    assert writer.batches == [[0], [2, 4, 6]]
    assert (coalescer.writes, coalescer.items_written) == (2, 4)


async def test_a_failed_item_fails_alone() -> None:
    coalescer: Coalescer[int, int] = Coalescer(Recorder().write)
    results = await asyncio.gather(*(coalescer.submit(i) for i in range(4)), return_exceptions=True)
    assert results[0::2] == [0, 20]
    assert [type(error) for error in results[1::2]] == [ValueError, ValueError]


async def test_a_failed_write_fails_its_batch_and_the_next_batch_still_runs() -> None:
    calls = 0

    async def flaky(items: list[int]) -> list[int | BaseException]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("database away")
        return list(items)

    coalescer: Coalescer[int, int] = Coalescer(flaky)
    with pytest.raises(ConnectionError):
        await coalescer.submit(1)
    assert await coalescer.submit(2) == 2


async def test_batches_are_capped_at_max_items() -> None:
    writer = Recorder()
    coalescer: Coalescer[int, int] = Coalescer(writer.write, max_items=2)
    await asyncio.gather(*(coalescer.submit(i) for i in (0, 2, 4, 6, 8)))
    assert writer.batches == [[0, 2], [4, 6], [8]]


async def test_a_writer_returning_the_wrong_count_fails_the_batch() -> None:
    async def short(items: list[int]) -> list[int | BaseException]:
        return []

    coalescer: Coalescer[int, int] = Coalescer(short)
    with pytest.raises(RuntimeError, match="0 results for 1 items"):
        await coalescer.submit(1)


async def test_aclose_cancels_a_write_stuck_past_its_grace() -> None:
    writer = Recorder()
    writer.gate.clear()
    coalescer: Coalescer[int, int] = Coalescer(writer.write)
    stuck = asyncio.create_task(coalescer.submit(0))
    await asyncio.sleep(0)
    await coalescer.aclose(grace_s=0.05)
    with pytest.raises(asyncio.CancelledError):
        await stuck
