"""Loading datasets: CSV and JSON records, and every limit as a clear error."""

import pytest

from sextant_tools.domain.datasets import DatasetLimits
from sextant_tools.domain.errors import DatasetTooLarge, DatasetUnreadable
from sextant_tools.infrastructure.frames import load_frame

LIMITS = DatasetLimits(max_bytes=10_000, max_rows=5, max_columns=3)


def test_csv_and_json_records_load_to_the_same_frame() -> None:
    csv = load_frame(b"a,b\n1,x\n2,y\n", "text/csv", LIMITS)
    records = load_frame(b'[{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]', "application/json", LIMITS)
    assert csv.to_dict("list") == records.to_dict("list") == {"a": [1, 2], "b": ["x", "y"]}


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
