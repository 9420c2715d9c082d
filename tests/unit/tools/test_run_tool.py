"""The worker's entry point parses the dataset where the service put it: shared memory."""

from multiprocessing import shared_memory

import pandas as pd
import pytest

from sextant_tools.domain.datasets import DatasetLimits, MediaType
from sextant_tools.infrastructure.process_pool_runner import run_tool

LIMITS = DatasetLimits(max_bytes=1_000_000, max_rows=10_000, max_columns=10)


def _run_from_shared_memory(
    content: bytes, media_type: MediaType, tool_name: str, arguments: dict[str, object]
) -> dict[str, object]:
    block = shared_memory.SharedMemory(create=True, size=len(content) + 100)
    try:
        block.buf[: len(content)] = content
        block.buf[len(content) :] = b"x" * 100  # bytes past the dataset are never read
        return run_tool(tool_name, media_type, block.name, len(content), arguments, LIMITS)
    finally:
        block.close()  # raises BufferError if the worker left a view of the block alive
        block.unlink()


@pytest.mark.parametrize(
    ("content", "media_type"),
    [
        (b"city,sales\nOslo,3\nLima,4\nOslo,5\nRome,\n", "text/csv"),
        (
            b'[{"city": "Oslo", "sales": 3}, {"city": "Lima", "sales": 4},'
            b' {"city": "Oslo", "sales": 5}, {"city": "Rome", "sales": null}]',
            "application/json",
        ),
    ],
)
def test_a_tool_runs_on_a_dataset_in_shared_memory(content: bytes, media_type: MediaType) -> None:
    categories = _run_from_shared_memory(content, media_type, "top_categories", {"column": "city"})
    statistics = _run_from_shared_memory(content, media_type, "descriptive_statistics", {})

    expected = pd.DataFrame({"city": ["Oslo", "Lima", "Oslo", "Rome"], "sales": [3, 4, 5, None]})
    assert categories["rows"] == 4
    assert categories["values"] == [  # type: ignore[comparison-overlap]
        {"value": "Oslo", "count": 2, "share": 0.5},
        {"value": "Lima", "count": 1, "share": 0.25},
        {"value": "Rome", "count": 1, "share": 0.25},
    ]
    described = statistics["statistics"]["sales"]  # type: ignore[index]
    assert described["count"] == 3
    assert described["nulls"] == 1
    assert described["mean"] == pytest.approx(expected["sales"].mean())
    assert described["median"] == pytest.approx(expected["sales"].median())


def test_a_smaller_dataset_after_a_larger_one_reads_only_its_own_bytes() -> None:
    """The worker reuses its buffer: what a larger dataset left there must not be read."""
    larger = b"sales\n" + b"1000\n" * 500
    smaller = b"sales\n1\n2\n"

    first = _run_from_shared_memory(larger, "text/csv", "descriptive_statistics", {})
    second = _run_from_shared_memory(smaller, "text/csv", "descriptive_statistics", {})

    assert first["rows"] == 500
    assert second["rows"] == 2
    assert second["statistics"]["sales"]["max"] == 2  # type: ignore[index]
