"""Request limits and the packed vector type: pure domain, no model."""

import struct

import pytest

from sextant_embeddings.domain.errors import EmbeddingError
from sextant_embeddings.domain.limits import RequestLimits
from sextant_embeddings.domain.vectors import Vectors


def test_rows_slice_the_packed_bytes() -> None:
    values = [float(i) for i in range(12)]
    vectors = Vectors(struct.pack("<12f", *values), count=4, dimensions=3)
    middle = vectors.rows(1, 3)
    assert middle.count == 2
    assert struct.unpack("<6f", middle.data) == tuple(values[3:9])
    with pytest.raises(IndexError):
        vectors.rows(2, 5)


def test_vectors_refuse_a_wrong_byte_count() -> None:
    with pytest.raises(ValueError, match="cannot hold"):
        Vectors(b"\x00" * 10, count=1, dimensions=3)


@pytest.mark.parametrize(
    ("texts", "code", "fragment"),
    [
        ([], "invalid_request", "at least one"),
        (["a"] * 4, "too_many_texts", "limit is 3"),
        (["ok", 7], "invalid_request", "text 1 is a int"),
        (["ok", "   "], "empty_text", "text 1 is empty"),
        (["x" * 11], "text_too_long", "11 characters"),
    ],
)
def test_limits_name_what_is_wrong(texts: list[object], code: str, fragment: str) -> None:
    limits = RequestLimits(max_texts=3, max_chars_per_text=10)
    with pytest.raises(EmbeddingError) as caught:
        limits.check(texts)
    assert caught.value.code == code
    assert fragment in caught.value.message


def test_limits_pass_valid_texts_through() -> None:
    assert RequestLimits(max_texts=2, max_chars_per_text=5).check(["a", "bcde"]) == ["a", "bcde"]
