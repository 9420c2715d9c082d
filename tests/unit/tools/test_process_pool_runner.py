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
from sextant_tools.infrastructure.process_pool_runner import ProcessPoolToolRunner

SMALL = b"city,sales\nOslo,3\nLima,4\nOslo,5\n"


def _heavy_csv() -> bytes:
    """A pearson matrix of 300 columns over 20,000 rows: seconds of work on any box."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(20_000, 300)), columns=[f"c{i}" for i in range(300)])
    return frame.round(1).to_csv(index=False).encode()


@pytest.fixture
def runner() -> Iterator[ProcessPoolToolRunner]:
    """One worker, so the cheap invocation queues behind the heavy one in the pool."""
    pool = ProcessPoolToolRunner(
        workers=1, timeout_s=1.0, limits=DatasetLimits(max_bytes=100_000_000)
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
    await asyncio.sleep(0.1)  # the heavy one holds the only worker
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
