"""The embed and rank use cases, shared by the Kafka subscriber and the HTTP API."""

import base64
import logging
from collections.abc import Sequence
from uuid import UUID

from sextant_contracts import (
    EmbeddingReplied,
    EmbeddingRequested,
    EmbedTexts,
    EncodedVectors,
    RankedPassage,
    RankPassages,
    ReplyError,
)
from sextant_embeddings.application.batcher import EmbeddingBatcher
from sextant_embeddings.domain.errors import INTERNAL, EmbeddingError
from sextant_embeddings.domain.limits import RequestLimits
from sextant_embeddings.domain.ports import Encoded

logger = logging.getLogger(__name__)


def encode_vectors(encoded: Encoded) -> EncodedVectors:
    vectors = encoded.vectors
    return EncodedVectors(
        count=vectors.count,
        dimensions=vectors.dimensions,
        data_base64=base64.b64encode(vectors.data).decode("ascii"),
    )


class ServeEmbeddingRequest:
    """Checks limits, queues texts on the shared batcher, shapes the reply."""

    def __init__(self, batcher: EmbeddingBatcher, limits: RequestLimits) -> None:
        self.batcher = batcher
        self.limits = limits

    @property
    def model_name(self) -> str:
        return self.batcher.service.model_name

    @property
    def backend(self) -> str:
        return self.batcher.service.backend

    async def embed(self, texts: Sequence[object]) -> Encoded:
        """Vectors for ``texts``; raises :class:`EmbeddingError` for a request over limits."""
        return await self.batcher.embed(self.limits.check(texts))

    async def __call__(self, request: EmbeddingRequested) -> EmbeddingReplied:
        """Serve a Kafka request; every failure becomes an error reply, never an exception."""
        try:
            if isinstance(request.task, EmbedTexts):
                encoded = await self.embed(request.task.texts)
                return self._reply(
                    request.request_id,
                    vectors=encode_vectors(encoded),
                    truncated=encoded.truncated_indices,
                )
            return await self._rank(request.request_id, request.task)
        except EmbeddingError as error:
            return self.error_reply(request.request_id, error)
        except Exception as error:
            logger.exception("embedding request failed", extra={"request_id": request.request_id})
            return self.error_reply(
                request.request_id, EmbeddingError(INTERNAL, str(error), retryable=True)
            )

    async def _rank(self, request_id: UUID, task: RankPassages) -> EmbeddingReplied:
        encoded = await self.embed([task.query, *task.passages])
        vectors = encoded.vectors
        scored = self.batcher.service.rank(
            vectors.rows(0, 1), vectors.rows(1, vectors.count), task.top_k
        )
        return self._reply(
            request_id,
            ranking=[RankedPassage(index=s.index, score=s.score) for s in scored],
            truncated=[i - 1 for i in encoded.truncated_indices if i > 0],
        )

    def _reply(
        self,
        request_id: UUID,
        *,
        vectors: EncodedVectors | None = None,
        ranking: list[RankedPassage] | None = None,
        truncated: list[int],
    ) -> EmbeddingReplied:
        return EmbeddingReplied(
            request_id=request_id,
            model=self.model_name,
            backend=self.backend,
            vectors=vectors,
            ranking=ranking,
            truncated_indices=truncated,
        )

    def error_reply(self, request_id: UUID, error: EmbeddingError) -> EmbeddingReplied:
        return EmbeddingReplied(
            request_id=request_id,
            model=self.model_name,
            backend=self.backend,
            error=ReplyError(code=error.code, message=error.message, retryable=error.retryable),
        )
