"""One invocation's timeout stops that invocation only.

A timeout recycles the worker pool (the only way to stop a runaway computation); the
invocations queued or running in the same pool used to fail with it (``CancelledError``
or ``BrokenProcessPool``: dead-lettered, their requesters unanswered, the partition's
commits frozen). They now run again on the fresh pool. Real worker processes.
"""

import asyncio
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from sextant_tools.domain.datasets import DatasetLimits
from sextant_tools.domain.errors import ToolTimedOut
from sextant_tools.infrastructure.process_pool_runner import (
    ProcessPoolToolRunner,
    _NotHeld,
    run_tool,
)

SMALL = b"city,sales\nOslo,3\nLima,4\nOslo,5\n"


def _heavy_csv() -> bytes:
    """A pearson matrix of 400 columns over 20,000 rows, with nulls (so pairwise, in
    pandas' own loop): seconds of work on any box."""
    rng = np.random.default_rng(3)
    values = rng.normal(size=(20_000, 400)).round(1)
    values[rng.random(values.shape) < 0.01] = np.nan
    frame = pd.DataFrame(values, columns=[f"c{i}" for i in range(400)])
    return frame.to_csv(index=False).encode()


@pytest.fixture
def runner() -> Iterator[ProcessPoolToolRunner]:
    """One worker, so the cheap invocation queues behind the heavy one in the pool."""
    pool = ProcessPoolToolRunner(
        workers=1, timeout_s=2.0, limits=DatasetLimits(max_bytes=100_000_000)
    )
    pool.warm_up()
    yield pool
    pool.close()


async def test_an_invocation_queued_behind_one_that_times_out_is_answered(
    runner: ProcessPoolToolRunner,
) -> None:
    heavy = asyncio.create_task(
        runner.run(
            tool_name="correlation_matrix",
            media_type="text/csv",
            content=await asyncio.to_thread(_heavy_csv),
            arguments={"method": "pearson"},
        )
    )
    # The heavy one holds the only worker; the cheap one queues behind it, its own time
    # limit (which counts the wait) ending well after the heavy one's.
    await asyncio.sleep(1.0)
    cheap = asyncio.create_task(
        runner.run(
            tool_name="top_categories",
            media_type="text/csv",
            content=SMALL,
            arguments={"column": "city"},
        )
    )

    with pytest.raises(ToolTimedOut):
        await heavy
    answer = await asyncio.wait_for(cheap, timeout=30)

    assert answer["values"][0] == {"value": "Oslo", "count": 2, "share": 2 / 3}


CITIES = b"city,sales\nOslo,3\nLima,4\nOslo,5\nRome,\n"


@pytest.mark.parametrize("workers", [1, 2])
async def test_a_dataset_is_parsed_once_per_tenant(workers: int) -> None:
    """Several tools over one dataset parse it once, however many workers there are (the
    calls go to the worker that holds it); the same bytes under another tenant's key are
    parsed again (never shared); a tool that changes its frame does not change what the
    next tool sees."""
    runner = ProcessPoolToolRunner(
        workers=workers,
        timeout_s=30,
        limits=DatasetLimits(max_bytes=1_000_000),
        parsed_bytes_per_worker=10_000_000,
    )
    try:
        await asyncio.to_thread(runner.warm_up)
        before = await asyncio.to_thread(runner.parses)

        async def run(tool: str, arguments: dict[str, object], key: str) -> dict[str, object]:
            return await runner.run(
                tool_name=tool,
                media_type="text/csv",
                content=CITIES,
                arguments=arguments,
                dataset_key=key,
            )

        first = await run("descriptive_statistics", {}, "acme/d1/sha")
        await run("top_categories", {"column": "city"}, "acme/d1/sha")
        await run(
            "query", {"filters": [{"column": "city", "op": "==", "value": "Oslo"}]}, "acme/d1/sha"
        )
        again = await run("descriptive_statistics", {}, "acme/d1/sha")
        assert await asyncio.to_thread(runner.parses) == before + 1
        await run("descriptive_statistics", {}, "globex/d1/sha")
        assert await asyncio.to_thread(runner.parses) == before + 2
    finally:
        runner.close()
    assert again == first  # the filtered query left the kept frame as it was


def test_a_worker_asked_for_a_dataset_it_no_longer_holds_asks_for_the_bytes() -> None:
    """The service sends no bytes for a dataset the worker reported holding; if it was
    evicted meanwhile, the worker says so instead of failing the call (the runner then
    sends the bytes)."""
    with pytest.raises(_NotHeld):
        run_tool(
            "descriptive_statistics",
            "text/csv",
            None,
            len(CITIES),
            {},
            DatasetLimits(),
            "acme/never-parsed/sha",
            10_000_000,
        )


async def test_a_call_routed_to_a_worker_that_lost_its_dataset_is_answered() -> None:
    runner = ProcessPoolToolRunner(
        workers=1,
        timeout_s=30,
        limits=DatasetLimits(max_bytes=1_000_000),
        parsed_bytes_per_worker=10_000_000,
    )
    try:
        await asyncio.to_thread(runner.warm_up)

        async def statistics(key: str) -> dict[str, object]:
            return await runner.run(
                tool_name="descriptive_statistics",
                media_type="text/csv",
                content=CITIES,
                arguments={},
                dataset_key=key,
            )

        first = await statistics("acme/d1/sha")
        # What the runner believes the worker holds, when the worker evicted it since
        # (another call of the same lane, running concurrently, can make this so).
        runner._lanes[0].held = frozenset({"acme/d2/sha"})
        again = await statistics("acme/d2/sha")
    finally:
        runner.close()
    assert again == first
