"""The Kafka entrypoint: embedding requests in, one reply per request out.

Requests arrive through a :class:`LongRunningConsumer`, not a FastStream batch
subscriber: a batch subscriber polls again only once every request of the previous poll
is answered, so the model sat idle through each reply, commit and poll (~30% of the
time under load). Here polling goes on while the model runs, so the requests that arrive
meanwhile are already queued in the batcher when it is next free; offsets are still
committed only past answered requests.

Each record is judged on its own: a valid request is served, a request whose id can be
read but whose content is invalid gets an error reply (the requester is not left
waiting), and a record that is not a request at all goes to the DLQ. A request older
than ``stale_after_s`` is skipped: its requester has given up, and a backlog (a new
consumer group starts at the earliest offset) is worked off without running the model.
"""

import json
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from prometheus_client import Counter
from pydantic import ValidationError

from sextant_contracts import EmbeddingReplied, EmbeddingRequested, Envelope, topic
from sextant_contracts.errors import describe_validation_error
from sextant_embeddings.application.serve_request import ServeEmbeddingRequest
from sextant_embeddings.domain.errors import INVALID_REQUEST, EmbeddingError
from sextant_platform.kafka.long_running_consumer import (
    LongRunningConsumer,
    dead_lettering_consumer,
)
from sextant_platform.kafka.reply_topics import reply_topic_for
from sextant_platform.settings import KafkaSettings

logger = logging.getLogger(__name__)

REQUESTS = topic("embeddings.requested.v1")
REPLIES = topic("embeddings.replied.v1")
RequestEnvelope = Envelope[EmbeddingRequested]
COMMIT_INTERVAL_S = 0.5
"""Requests are short and replayable: a crash redelivers at most ~0.5 s of them."""


STALE_SKIPPED = Counter(
    "sextant_embeddings_stale_requests_skipped",
    "Requests skipped unanswered because they were older than the requesters' patience.",
)


class NotARequest(ValueError):
    """A record with no readable request id: nobody can be answered, so it is dead-lettered."""


def _readable_header(raw: bytes) -> tuple[UUID, str | None, dict[str, Any]] | None:
    """The request id, reply topic and envelope of an invalid request, when they can be read."""
    try:
        body = json.loads(raw)
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


class EmbeddingRequestHandler:
    """Serves one request record and publishes its reply; unreadable records raise."""

    def __init__(
        self,
        broker: KafkaBroker,
        serve: ServeEmbeddingRequest,
        *,
        group_id: str,
        stale_after_s: float,
        reply_topics_allowed: str = re.escape(REPLIES.name),
    ) -> None:
        self._broker = broker
        self._serve = serve
        self._reply_topics_allowed = reply_topics_allowed
        self._group_id = group_id
        self._stale_after = timedelta(seconds=stale_after_s)

    async def handle(self, record: ConsumerRecord[bytes, bytes]) -> None:
        raw = record.value or b""
        try:
            event = RequestEnvelope.model_validate_json(raw)
        except ValidationError as error:
            await self._answer_invalid(raw, error)
            return
        if datetime.now(UTC) - event.occurred_at > self._stale_after:
            STALE_SKIPPED.inc()
            logger.debug("stale request skipped", extra={"request_id": event.payload.request_id})
            return
        answer = await self._serve(event.payload)
        await self._reply(
            answer,
            tenant_id=event.tenant_id,
            reply_topic=event.payload.reply_topic,
            correlation_id=event.correlation_id,
            causation_id=event.event_id,
            trace=event.trace,
        )

    async def _answer_invalid(self, raw: bytes, error: ValidationError) -> None:
        readable = _readable_header(raw)
        if readable is None:
            raise NotARequest(describe_validation_error(error)) from error
        request_id, reply_topic, body = readable
        problem = EmbeddingError(INVALID_REQUEST, describe_validation_error(error))
        tenant = body.get("tenant_id")
        await self._reply(
            self._serve.error_reply(request_id, problem),
            tenant_id=tenant if isinstance(tenant, str) and tenant else "unknown",
            reply_topic=reply_topic,
        )

    async def _reply(
        self, reply: EmbeddingReplied, *, tenant_id: str, reply_topic: str | None, **links: Any
    ) -> None:
        topic = reply_topic_for(
            reply_topic, default=REPLIES.name, allowed=self._reply_topics_allowed
        )
        envelope: Envelope[EmbeddingReplied] = Envelope.wrap(reply, tenant_id=tenant_id, **links)
        await self._broker.publish(
            envelope.model_dump(mode="json"),
            topic,
            key=str(reply.request_id).encode(),
            correlation_id=str(reply.request_id),
        )


def embedding_request_consumer(
    broker: KafkaBroker,
    serve: ServeEmbeddingRequest,
    *,
    settings: KafkaSettings,
    group_id: str,
    client_id: str,
    max_in_flight: int,
    stale_after_s: float,
    reply_topics_allowed: str = re.escape(REPLIES.name),
) -> LongRunningConsumer:
    """Serve ``embeddings.requested.v1``, up to ``max_in_flight`` requests at once."""
    handler = EmbeddingRequestHandler(
        broker,
        serve,
        group_id=group_id,
        stale_after_s=stale_after_s,
        reply_topics_allowed=reply_topics_allowed,
    )
    return dead_lettering_consumer(
        broker,
        settings,
        [REQUESTS.name],
        group_id=group_id,
        client_id=client_id,
        handler=handler.handle,
        max_in_flight=max_in_flight,
        commit_interval_s=COMMIT_INTERVAL_S,
    )
