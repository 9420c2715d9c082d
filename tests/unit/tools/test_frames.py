"""Loading datasets: CSV and JSON records, and every limit as a clear error."""

import io

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.pandas import column, data_frames, range_indexes

from sextant_tools.domain.datasets import DatasetLimits
from sextant_tools.domain.errors import DatasetTooLarge, DatasetUnreadable
from sextant_tools.infrastructure.frames import (
    PROBE_BYTES,
    _parse_csv_with_arrow,
    _probe_says_pandas,
    load_frame,
)

LIMITS = DatasetLimits(max_bytes=10_000, max_rows=5, max_columns=3)
WIDE = DatasetLimits(max_bytes=1_000_000, max_rows=1_000, max_columns=10)
HUGE = DatasetLimits(max_bytes=10_000_000, max_rows=100_000, max_columns=10)


@pytest.mark.parametrize("wrap", [bytes, memoryview], ids=["bytes", "memoryview"])
def test_csv_and_json_records_load_to_the_same_frame(wrap: type) -> None:
    """Workers parse a memoryview of shared memory; the service's tests pass bytes."""
    csv = load_frame(wrap(b"a,b\n1,x\n2,y\n"), "text/csv", LIMITS)
    records = load_frame(
        wrap(b'\xef\xbb\xbf[{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]'), "application/json", LIMITS
    )
    assert csv.to_dict("list") == records.to_dict("list") == {"a": [1, 2], "b": ["x", "y"]}


def test_a_memoryview_that_needs_pandas_parses_like_bytes() -> None:
    """Dates send a large CSV to pandas' parser (probe) even when it comes as a memoryview."""
    content = b"day,v\n" + b"".join(b"2024-01-%02d,%d\n" % (1 + i % 28, i) for i in range(9000))
    assert len(content) > PROBE_BYTES
    assert _probe_says_pandas(memoryview(content))
    pd.testing.assert_frame_equal(
        load_frame(memoryview(content), "text/csv", HUGE), _pandas_reference(content)
    )


@pytest.mark.parametrize(
    ("content", "media_type", "error", "fragment"),
    [
        (b"a,b\n\xff\xfe,1\n", "text/csv", DatasetUnreadable, "UTF-8"),
        (b'a,b\n1,2,3,4\n"unterminated', "text/csv", DatasetUnreadable, "CSV"),
        (b"", "text/csv", DatasetUnreadable, "CSV"),
        (b"{not json", "application/json", DatasetUnreadable, "JSON"),
        (b'{"a": 1}', "application/json", DatasetUnreadable, "list of records"),
        (b"x" * 10_001, "text/csv", DatasetTooLarge, "bytes"),
        (b"a\n" + b"1\n" * 6, "text/csv", DatasetTooLarge, "rows"),
        (b"a,b,c,d\n1,2,3,4\n", "text/csv", DatasetTooLarge, "columns"),
    ],
)
def test_bad_datasets_are_clear_errors(
    content: bytes, media_type: str, error: type[Exception], fragment: str
) -> None:
    with pytest.raises(error, match=fragment):
        load_frame(content, media_type, LIMITS)  # type: ignore[arg-type]


def _pandas_reference(content: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(content), encoding="utf-8-sig")


@pytest.mark.parametrize(
    ("content", "fast_path"),
    [
        (b"a,b,c\n1,2.5,x\n3,,y\n-4,1e3,\n", True),
        (b"n,s\n1,NA\n2,null\n3,N/A\n4,None\n5,<NA>\n6,ok\n", True),  # pandas' null markers
        (b'q,v\n"a, quoted",1\n"with ""quotes""",2\n', True),
        (b"\xef\xbb\xbfa,b\n1,2\n", True),  # UTF-8 byte-order mark
        (b"a,b\n007,1.50\n10,2\n", True),
        (b"when,v\n2024-01-01,1\n2024-01-02,2\n", False),  # pyarrow would make timestamps
        (b"flag,v\ntrue,1\nfalse,2\n", False),  # pyarrow would make booleans
        (b"a,a\n1,2\n", False),  # pandas renames the duplicate to a.1
        (b"a,empty\n1,\n2,\n", False),  # an all-empty column is float NaN in pandas
        (b"a,b,c\n1,2\n3,4,5\n", False),  # a short row: pandas fills NaN
    ],
    ids=[
        "numbers",
        "nulls",
        "quotes",
        "bom",
        "leading-zeros",
        "dates",
        "booleans",
        "duplicate-names",
        "empty-column",
        "short-row",
    ],
)
def test_csv_reads_exactly_as_pandas_whichever_parser_runs(content: bytes, fast_path: bool) -> None:
    assert (_parse_csv_with_arrow(content) is not None) == fast_path
    pd.testing.assert_frame_equal(load_frame(content, "text/csv", WIDE), _pandas_reference(content))


@settings(max_examples=60, deadline=None)
@given(
    frame=data_frames(
        columns=[
            column("x", elements=st.floats(allow_nan=True, allow_infinity=False, width=64)),
            column("n", elements=st.integers(-(2**53), 2**53)),
            column("t", elements=st.sampled_from(["a", "b c", "", "NA", "ü", "x,y", '"q"'])),
        ],
        index=range_indexes(min_size=1, max_size=40),
    )
)
def test_generated_csv_reads_exactly_as_pandas(frame: pd.DataFrame) -> None:
    content = frame.to_csv(index=False).encode()
    pd.testing.assert_frame_equal(load_frame(content, "text/csv", WIDE), _pandas_reference(content))


def test_a_large_csv_whose_first_lines_hold_dates_skips_the_fast_path() -> None:
    rows = "".join(f"2024-01-{day % 28 + 1:02d},{day}\n" for day in range(20_000))
    content = ("when,v\n" + rows).encode()
    assert len(content) > PROBE_BYTES
    assert _probe_says_pandas(content)
    assert _parse_csv_with_arrow(content) is None
    pd.testing.assert_frame_equal(load_frame(content, "text/csv", HUGE), _pandas_reference(content))


def test_a_large_numeric_csv_takes_the_fast_path() -> None:
    content = ("a,b\n" + "".join(f"{i},{i / 7}\n" for i in range(20_000))).encode()
    assert not _probe_says_pandas(content)
    assert _parse_csv_with_arrow(content) is not None
    pd.testing.assert_frame_equal(load_frame(content, "text/csv", HUGE), _pandas_reference(content))


def test_nested_values_in_json_records_become_their_json_text() -> None:
    """pandas cannot hash a list: a profile of such a column raised TypeError in the
    worker (found by schemathesis uploading generated records)."""
    content = b'[{"a": [1, 2], "b": {"x": 1}, "c": 1}, {"a": "plain", "b": null, "c": 2}]'
    frame = load_frame(content, "application/json", LIMITS)
    assert frame["a"].tolist() == ["[1, 2]", "plain"]
    assert frame["b"].tolist()[0] == '{"x": 1}'
    assert frame["c"].tolist() == [1, 2]
    assert frame["a"].nunique() == 2
