"""The embed and rank use case over a fake of its own port (the model): every path of
``ServeEmbeddingRequest`` in milliseconds, without a model, Kafka or HTTP.

The real backends and the Kafka/HTTP sides are tested in tests/integration/embeddings.
"""

import struct
import uuid
from collections.abc import AsyncIterator, Sequence

import pytest

from sextant_contracts import EmbeddingRequested
from sextant_embeddings.application.batcher import EmbeddingBatcher
from sextant_embeddings.application.serve_request import ServeEmbeddingRequest
from sextant_embeddings.domain.limits import RequestLimits
from sextant_embeddings.domain.ports import EmbeddingService, Encoded, Scored
from sextant_embeddings.domain.vectors import Vectors

AXES = ("sales", "units", "weather")


class KeywordModel(EmbeddingService):
    """One dimension per keyword: a text's vector says which keywords it names. A text
    containing ``explode`` makes the model raise, as a device failure would."""

    model_name = "keyword-fake"
    backend = "fake"
    dimensions = len(AXES)

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> Encoded:
        self.calls.append(list(texts))
        if any("explode" in text for text in texts):
            raise RuntimeError("device lost")
        rows = [[1.0 if axis in text else 0.0 for axis in AXES] for text in texts]
        data = b"".join(struct.pack(f"<{len(AXES)}f", *row) for row in rows)
        truncated = [i for i, text in enumerate(texts) if len(text) > 40]
        return Encoded(Vectors(data, len(texts), len(AXES)), truncated)

    def rank(self, query: Vectors, passages: Vectors, top_k: int) -> list[Scored]:
        (q,) = _rows(query)
        scores = [sum(a * b for a, b in zip(q, p, strict=True)) for p in _rows(passages)]
        order = sorted(range(len(scores)), key=lambda i: -scores[i])[:top_k]
        return [Scored(index=i, score=scores[i]) for i in order]


def _rows(vectors: Vectors) -> list[tuple[float, ...]]:
    size = vectors.dimensions * 4
    return [
        struct.unpack(f"<{vectors.dimensions}f", vectors.data[i * size : (i + 1) * size])
        for i in range(vectors.count)
    ]


@pytest.fixture
async def serve() -> AsyncIterator[ServeEmbeddingRequest]:
    batcher = EmbeddingBatcher(KeywordModel())
    await batcher.start()
    try:
        yield ServeEmbeddingRequest(batcher, RequestLimits(max_texts=4, max_chars_per_text=100))
    finally:
        await batcher.stop()


def _request(task: dict[str, object]) -> EmbeddingRequested:
    return EmbeddingRequested.model_validate({"request_id": str(uuid.uuid4()), "task": task})


async def test_texts_are_embedded_with_the_model_named() -> None:
    model = KeywordModel()
    batcher = EmbeddingBatcher(model)
    await batcher.start()
    try:
        serve = ServeEmbeddingRequest(batcher, RequestLimits())
        reply = await serve(_request({"operation": "embed", "texts": ["sales by region", "units"]}))
    finally:
        await batcher.stop()
    assert reply.error is None
    assert (reply.model, reply.backend) == ("keyword-fake", "fake")
    assert reply.vectors is not None
    assert (reply.vectors.count, reply.vectors.dimensions) == (2, 3)
    assert model.calls == [["sales by region", "units"]]


async def test_passages_are_ranked_by_their_similarity_to_the_query(
    serve: ServeEmbeddingRequest,
) -> None:
    reply = await serve(
        _request(
            {
                "operation": "rank",
                "query": "sales and units",
                "passages": ["the weather", "units sold", "sales and units by month"],
                "top_k": 2,
            }
        )
    )
    assert reply.error is None
    assert reply.ranking is not None
    assert [p.index for p in reply.ranking] == [2, 1]


async def test_truncated_passages_are_numbered_as_the_request_numbers_them(
    serve: ServeEmbeddingRequest,
) -> None:
    """The query is input 0 of the model call; the reply counts passages from 0."""
    long_passage = "sales " * 10
    reply = await serve(
        _request({"operation": "rank", "query": "sales", "passages": ["units", long_passage]})
    )
    assert reply.truncated_indices == [1]


async def test_a_request_over_the_limits_gets_an_error_reply_not_an_exception(
    serve: ServeEmbeddingRequest,
) -> None:
    reply = await serve(_request({"operation": "embed", "texts": ["a", "b", "c", "d", "e"]}))
    assert reply.vectors is None
    assert reply.error is not None
    assert reply.error.code == "too_many_texts"
    assert not reply.error.retryable


async def test_a_model_failure_is_an_internal_retryable_error_reply(
    serve: ServeEmbeddingRequest,
) -> None:
    reply = await serve(_request({"operation": "embed", "texts": ["explode"]}))
    assert reply.error is not None
    assert reply.error.code == "internal_error"
    assert reply.error.retryable
    assert "device lost" in reply.error.message
