"""Request/reply contracts between the orchestrator and the embeddings service."""

from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, StringConstraints

from sextant_contracts.base import Contract
from sextant_contracts.errors import ReplyError

MAX_TEXTS_PER_REQUEST = 256
MAX_PASSAGES_PER_RANK = 512


class EmbedTexts(Contract):
    """Return one vector per text, in order."""

    operation: Literal["embed"] = "embed"
    texts: list[str] = Field(min_length=1, max_length=MAX_TEXTS_PER_REQUEST)
    normalize: bool = Field(
        default=True,
        description="Kept for compatibility: the service always returns unit-length vectors.",
    )


class RankPassages(Contract):
    """Rank ``passages`` by cosine similarity to ``query``; only scores travel back."""

    operation: Literal["rank"] = "rank"
    query: Annotated[str, StringConstraints(min_length=1)]
    passages: list[str] = Field(min_length=1, max_length=MAX_PASSAGES_PER_RANK)
    top_k: int = Field(default=5, ge=1, le=MAX_PASSAGES_PER_RANK)


class EmbeddingRequested(Contract):
    """An embed or rank request; the reply carries the same ``request_id``."""

    request_id: UUID
    reply_topic: Annotated[str, StringConstraints(min_length=1, max_length=249)] | None = None
    task: EmbedTexts | RankPassages = Field(discriminator="operation")


class EncodedVectors(Contract):
    """Vectors packed as little-endian float32, base64-encoded, row-major.

    JSON float lists cost ~25x more to encode and decode than this.
    """

    dtype: Literal["float32"] = "float32"
    count: int = Field(ge=0)
    dimensions: int = Field(ge=0)
    data_base64: str


class RankedPassage(Contract):
    index: int = Field(ge=0, description="Position of the passage in the request.")
    score: float


class EmbeddingReplied(Contract):
    """The answer to an :class:`EmbeddingRequested`: vectors or ranking, or an error."""

    request_id: UUID
    model: str = ""
    backend: str = ""
    vectors: EncodedVectors | None = None
    ranking: list[RankedPassage] | None = None
    truncated_indices: list[int] = Field(
        default_factory=list, description="Texts cut to the model's input limit."
    )
    error: ReplyError | None = None
