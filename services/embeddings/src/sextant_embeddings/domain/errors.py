"""Why an embedding request is refused; codes are stable and machine-readable."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EmbeddingError(Exception):
    """A request the service will not serve as asked (not retryable unless said so)."""

    code: str
    message: str
    retryable: bool = False

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


INVALID_REQUEST = "invalid_request"
TOO_MANY_TEXTS = "too_many_texts"
TEXT_TOO_LONG = "text_too_long"
EMPTY_TEXT = "empty_text"
INTERNAL = "internal_error"
