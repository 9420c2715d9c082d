"""Composition root of the embeddings service: load the model once, wire everything to it."""

import asyncio
import logging
from dataclasses import dataclass

from fastapi import FastAPI
from faststream.kafka import KafkaBroker

from sextant_embeddings.application.batcher import BatchBudget, EmbeddingBatcher
from sextant_embeddings.application.serve_request import ServeEmbeddingRequest
from sextant_embeddings.domain.limits import RequestLimits, vectors_fitting
from sextant_embeddings.domain.ports import EmbeddingService
from sextant_embeddings.infrastructure.backends import load_embedding_service
from sextant_embeddings.presentation.http_api import create_http_app
from sextant_embeddings.presentation.subscriber import (
    COMMIT_INTERVAL_S,
    served_embeddings,
)
from sextant_embeddings.settings import EmbeddingsSettings
from sextant_kafka.broker import service_broker
from sextant_kafka.long_running_consumer import LongRunningConsumer
from sextant_kafka.message_size import MAX_MESSAGE_BYTES
from sextant_kafka.request_reply_server import serve_requests

logger = logging.getLogger(__name__)

READY_PING_TIMEOUT_S = 2.0


@dataclass
class EmbeddingsApp:
    """Everything the running service owns; ``start``/``close`` bracket its life."""

    model: EmbeddingService
    batcher: EmbeddingBatcher
    serve: ServeEmbeddingRequest
    broker: KafkaBroker
    consumer: LongRunningConsumer
    http: FastAPI

    async def start(self) -> None:
        await self.batcher.start()
        await self.broker.start()
        await self.consumer.start()

    async def stop_serving(self) -> None:
        """Stop taking requests, answer those in flight, stop the batcher; keep the model."""
        await self.consumer.stop()
        await self.broker.stop()
        await self.batcher.stop()

    async def close(self) -> None:
        await self.stop_serving()
        await asyncio.to_thread(self.model.close)


async def bootstrap(
    settings: EmbeddingsSettings, *, model: EmbeddingService | None = None
) -> EmbeddingsApp:
    """Build the service; the model loads in a thread so the loop stays free meanwhile.

    ``model`` lets several service instances in one process (tests) share a loaded model.
    """
    if model is None:
        model = await asyncio.to_thread(
            load_embedding_service,
            backend=settings.BACKEND,
            device=settings.DEVICE,
            model_path=settings.EMBEDDING_MODEL_PATH,
            batch_size=settings.MODEL_BATCH_SIZE,
            torch_dtype=settings.TORCH_DTYPE,
            threads=settings.THREADS,
            int8_min_cosine=settings.INT8_MIN_COSINE,
        )
    batcher = EmbeddingBatcher(
        model, BatchBudget(max_texts=settings.MAX_BATCH_TEXTS, max_chars=settings.MAX_BATCH_CHARS)
    )
    limits = RequestLimits(
        max_texts=_texts_per_request(settings.MAX_TEXTS_PER_REQUEST, model.dimensions),
        max_chars_per_text=settings.MAX_CHARS_PER_TEXT,
    )
    serve = ServeEmbeddingRequest(batcher, limits)
    broker = service_broker(settings)
    consumer = serve_requests(
        served_embeddings(serve),
        broker,
        settings,
        max_reply_bytes=MAX_MESSAGE_BYTES,
        commit_interval_s=COMMIT_INTERVAL_S,
    )

    async def ready() -> bool:
        return bool(await broker.ping(timeout=READY_PING_TIMEOUT_S))

    http = create_http_app(
        serve,
        batcher,
        max_body_bytes=settings.MAX_TEXTS_PER_REQUEST * settings.MAX_CHARS_PER_TEXT * 4 + 65_536,
        ready=ready,
    )
    return EmbeddingsApp(
        model=model, batcher=batcher, serve=serve, broker=broker, consumer=consumer, http=http
    )


def _texts_per_request(configured: int, dimensions: int) -> int:
    """The configured limit, lowered if that many vectors would not fit in one Kafka reply
    (a reply Kafka refuses is never delivered: the requester would wait it out)."""
    fitting = vectors_fitting(MAX_MESSAGE_BYTES, dimensions)
    if fitting >= configured:
        return configured
    logger.warning(
        "MAX_TEXTS_PER_REQUEST lowered to fit a reply in one Kafka message",
        extra={"configured": configured, "lowered_to": fitting, "dimensions": dimensions},
    )
    return fitting
