"""What every backend shares: the loaded sentence-transformers model, ranking, truncation."""

from abc import abstractmethod
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
from sentence_transformers import SentenceTransformer

from sextant_embeddings.domain.ports import EmbeddingService, Encoded, Scored
from sextant_embeddings.domain.vectors import Vectors
from sextant_embeddings.infrastructure.tokenization import ModelTokenizer

FloatMatrix = npt.NDArray[np.float32]


def load_sentence_transformer(path: Path, device: str) -> SentenceTransformer:
    """Load the model from ``path`` only (no hub), padding batches to their longest input.

    The packaged ``tokenizer.json`` asks for fixed padding to 128 tokens; a batch of short
    texts would then cost ~7x the compute, so that padding is switched off here and
    sentence-transformers pads each batch to its longest member.
    """
    model = SentenceTransformer(str(path), device=device, local_files_only=True)
    backend_tokenizer = getattr(model.tokenizer, "_tokenizer", None)
    if backend_tokenizer is not None:
        backend_tokenizer.no_padding()
    return model


def to_vectors(matrix: FloatMatrix) -> Vectors:
    packed = np.ascontiguousarray(matrix, dtype="<f4")
    return Vectors(packed.tobytes(), int(packed.shape[0]), int(packed.shape[1]))


def from_vectors(vectors: Vectors) -> FloatMatrix:
    return np.frombuffer(vectors.data, dtype="<f4").reshape(vectors.count, vectors.dimensions)


class SentenceModelBackend(EmbeddingService):
    """Base for backends built on a loaded :class:`SentenceTransformer`."""

    def __init__(self, model: SentenceTransformer, *, model_name: str, batch_size: int) -> None:
        self.model = model
        self.model_name = model_name
        self.batch_size = batch_size
        self.max_tokens = int(model.max_seq_length or 512)
        dimensions = model.get_embedding_dimension()
        if dimensions is None:
            raise ValueError(f"{model_name} does not declare its embedding dimension")
        self.dimensions = int(dimensions)
        self.tokenizer = ModelTokenizer.of(model, self.max_tokens)

    @abstractmethod
    def _encode(self, texts: Sequence[str]) -> FloatMatrix:
        """Unit-length float32 vectors, one row per text, in input order."""

    def _encode_counted(self, texts: Sequence[str]) -> tuple[FloatMatrix, list[int]]:
        """Vectors and each text's tokens before truncation; a backend that tokenizes
        itself counts on the way."""
        return self._encode(texts), self.token_counts(texts)

    def embed(self, texts: Sequence[str]) -> Encoded:
        matrix, counts = self._encode_counted(texts)
        return Encoded(
            vectors=to_vectors(matrix),
            truncated_indices=[i for i, n in enumerate(counts) if n > self.max_tokens],
            token_counts=tuple(min(n, self.max_tokens) for n in counts),
        )

    def rank(self, query: Vectors, passages: Vectors, top_k: int) -> list[Scored]:
        scores = from_vectors(passages) @ from_vectors(query)[0]
        k = min(top_k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        ordered = top[np.lexsort((top, -scores[top]))]  # by score, ties by position
        return [Scored(int(i), float(scores[i])) for i in ordered]

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """Tokens per text before truncation (special tokens included).

        A second pass of the Rust tokenizer costs a few percent of the model call and
        gives both usage figures and which texts the model will only read the start of.
        """
        return self.tokenizer.counts(texts)
