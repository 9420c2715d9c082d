"""The Kafka entrypoint: embedding requests in (a poll at a time), replies out.

A batch subscriber takes everything waiting on the topic in one poll, so that many
small requests reach the batcher together. Each record is judged on its own: a valid
request is served, a request whose id can be read but whose content is invalid gets an
error reply (the requester is not left waiting), and a record that is not a request
at all goes to the DLQ. The batch's offsets are committed once every record is answered.
"""

import asyncio
import json
import logging
from typing import Any
from uuid import UUID

from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pydantic import ValidationError

from sextant_contracts import EmbeddingReplied, EmbeddingRequested, Envelope, topic
from sextant_contracts.errors import describe_validation_error
from sextant_embeddings.application.serve_request import ServeEmbeddingRequest
from sextant_embeddings.domain.errors import INVALID_REQUEST, EmbeddingError
from sextant_platform.kafka import publish_dead_letter, subscriber_options
from sextant_platform.kafka.parsing import tolerant_batch_parser
from sextant_platform.settings import KafkaSettings

logger = logging.getLogger(__name__)

REQUESTS = topic("embeddings.requested.v1")
REPLIES = topic("embeddings.replied.v1")
RequestEnvelope = Envelope[EmbeddingRequested]


def _readable_header(body: object) -> tuple[UUID, str | None, dict[str, Any]] | None:
    """The request id, reply topic and envelope of an invalid request, when they can be read."""
    if isinstance(body, bytes | str):
        try:
            body = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None
    if not isinstance(body, dict) or not isinstance(body.get("payload"), dict):
        return None
    payload = body["payload"]
    try:
        request_id = UUID(str(payload.get("request_id")))
    except ValueError:
        return None
    reply_topic = payload.get("reply_topic")
    return request_id, reply_topic if isinstance(reply_topic, str) else None, body


def register_embedding_subscriber(
    broker: KafkaBroker,
    serve: ServeEmbeddingRequest,
    *,
    settings: KafkaSettings,
    group_id: str,
    max_records: int,
) -> None:
    """Serve ``embeddings.requested.v1``; reply on each request's reply topic."""

    async def reply(
        reply_body: EmbeddingReplied, *, tenant_id: str, reply_topic: str | None, **links: Any
    ) -> None:
        envelope: Envelope[EmbeddingReplied] = Envelope.wrap(
            reply_body, tenant_id=tenant_id, **links
        )
        await broker.publish(
            envelope.model_dump(mode="json"),
            reply_topic or REPLIES.name,
            key=str(reply_body.request_id).encode(),
            correlation_id=str(reply_body.request_id),
        )

    async def handle_one(body: object, record: Any) -> None:
        try:
            event = RequestEnvelope.model_validate(body)
        except ValidationError as error:
            readable = _readable_header(body)
            if readable is None:
                await publish_dead_letter(broker, record, error, consumer_group=group_id)
                return
            request_id, reply_topic, raw = readable
            problem = EmbeddingError(INVALID_REQUEST, describe_validation_error(error))
            tenant = raw.get("tenant_id")
            await reply(
                serve.error_reply(request_id, problem),
                tenant_id=tenant if isinstance(tenant, str) and tenant else "unknown",
                reply_topic=reply_topic,
            )
            return
        answer = await serve(event.payload)
        await reply(
            answer,
            tenant_id=event.tenant_id,
            reply_topic=event.payload.reply_topic,
            correlation_id=event.correlation_id,
            causation_id=event.event_id,
            trace=event.trace,
        )

    async def handle_embedding_requests(bodies: list[Any], message: KafkaMessage) -> None:
        records = message.raw_message
        assert isinstance(records, tuple)  # a batch subscriber always receives a tuple
        await asyncio.gather(
            *(handle_one(body, record) for body, record in zip(bodies, records, strict=True))
        )

    broker.subscriber(
        REQUESTS.name,
        batch=True,
        max_records=max_records,
        batch_timeout_ms=200,
        parser=tolerant_batch_parser,
        **subscriber_options(settings, group_id=group_id),
    )(handle_embedding_requests)
