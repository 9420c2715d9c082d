"""What the application needs from an embedding model (adapters live in infrastructure)."""

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

from sextant_embeddings.domain.vectors import Vectors


@dataclass(frozen=True, slots=True)
class Encoded:
    """One model call's output: unit-length vectors, which inputs were cut to fit, and the
    tokens the model read per input (for usage figures)."""

    vectors: Vectors
    truncated_indices: list[int] = field(default_factory=list)
    token_counts: tuple[int, ...] = ()

    @property
    def tokens(self) -> int:
        return sum(self.token_counts)


@dataclass(frozen=True, slots=True)
class Scored:
    """A passage's position in its request and its cosine similarity to the query."""

    index: int
    score: float


class EmbeddingService(ABC):
    """A loaded sentence-embedding model. Calls are CPU/GPU-bound: run them off the loop."""

    model_name: str
    backend: str
    dimensions: int
    concurrent_calls: int = 1
    """How many ``embed`` calls may usefully run at once: more than one where the adapter
    keeps several inference streams (one call's tail then overlaps the next call's head);
    one where a call already takes the whole device."""

    @abstractmethod
    def embed(self, texts: Sequence[str]) -> Encoded:
        """Encode ``texts`` (any number; the adapter sub-batches) into normalized vectors."""

    @abstractmethod
    def rank(self, query: Vectors, passages: Vectors, top_k: int) -> list[Scored]:
        """The ``top_k`` passages by cosine similarity to the single ``query`` vector."""

    def close(self) -> None:  # noqa: B027 - optional hook, most adapters hold nothing to free
        """Release the model's memory (device buffers, compiled graphs)."""
