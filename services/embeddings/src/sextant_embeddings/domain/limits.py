"""Per-request limits, checked before any text reaches the model."""

from collections.abc import Sequence
from dataclasses import dataclass

from sextant_embeddings.domain.errors import (
    EMPTY_TEXT,
    INVALID_REQUEST,
    TEXT_TOO_LONG,
    TOO_MANY_TEXTS,
    EmbeddingError,
)

REPLY_OVERHEAD_BYTES = 16_384
"""Room in a reply for everything but the vectors: envelope, ids, truncation indices."""


def vectors_fitting(reply_bytes: int, dimensions: int) -> int:
    """How many float32 vectors of ``dimensions`` fit in a reply of ``reply_bytes``.

    Vectors travel base64-encoded: 4 bytes per dimension, 4/3 of that as text. With the
    default model (384 dimensions) 1 MB holds 480 of them; a 768-dimension model only 240,
    so a request for 256 texts would get a reply Kafka refuses.
    """
    raw_bytes = (reply_bytes - REPLY_OVERHEAD_BYTES) * 3 // 4
    return max(1, raw_bytes // (dimensions * 4))


@dataclass(frozen=True, slots=True)
class RequestLimits:
    """How much one request may ask for; a larger request gets a clear error, not a stall."""

    max_texts: int = 256
    max_chars_per_text: int = 20_000

    def check(self, texts: Sequence[object]) -> list[str]:
        """Return ``texts`` as strings, or raise :class:`EmbeddingError` saying what is wrong."""
        if not texts:
            raise EmbeddingError(INVALID_REQUEST, "at least one text is required")
        if len(texts) > self.max_texts:
            raise EmbeddingError(
                TOO_MANY_TEXTS, f"{len(texts)} texts in one request; the limit is {self.max_texts}"
            )
        checked: list[str] = []
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise EmbeddingError(
                    INVALID_REQUEST, f"text {index} is a {type(text).__name__}, not a string"
                )
            if not text.strip():
                raise EmbeddingError(EMPTY_TEXT, f"text {index} is empty")
            if len(text) > self.max_chars_per_text:
                raise EmbeddingError(
                    TEXT_TOO_LONG,
                    f"text {index} has {len(text)} characters; the limit is "
                    f"{self.max_chars_per_text}",
                )
            checked.append(text)
        return checked
