"""The server side of request/reply over Kafka, shared by the tools and embeddings services.

Why one: each service had its own copy, and they had drifted (one answered an invalid
request with an error reply, the other dead-lettered it; the reply bodies and headers
differed). Here, for every request record:

* a request that validates is answered by the service's ``answer``, and the reply is
  published on the request's reply topic (if the allow-list pattern matches it), keyed
  and correlated by the request id, as ``application/json`` bytes;
* a request whose id can be read but whose content is invalid gets the service's error
  reply (its requester is not left waiting for a timeout); a record with no readable
  request id goes to the DLQ with the validation error;
* a request older than ``stale_after_s`` is skipped: its requester has given up, and a
  backlog (a new consumer group starts at the earliest offset) is worked off unanswered;
* a reply larger than ``max_reply_bytes`` is replaced by the service's "too large" reply
  (Kafka would refuse it, and the requester would wait it out).

Requests arrive through a :class:`LongRunningConsumer`: several run at once, polling goes
on meanwhile, and offsets are committed every ``commit_interval_s`` past answered
requests only.
"""

import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from prometheus_client import Counter
from pydantic import ValidationError

from sextant_contracts import Envelope
from sextant_contracts.base import Contract
from sextant_contracts.errors import describe_validation_error
from sextant_kafka.long_running_consumer import (
    LongRunningConsumer,
    dead_lettering_consumer,
)
from sextant_kafka.reply_topics import reply_topic_for
from sextant_platform.settings import KafkaSettings

logger = logging.getLogger(__name__)

STALE_SKIPPED = Counter(
    "sextant_stale_requests_skipped",
    "Requests skipped unanswered because they were older than the requesters' patience.",
    ["topic"],
)


class _Request(Protocol):
    request_id: UUID
    reply_topic: str | None


Request = TypeVar("Request", bound=Contract)
Reply = TypeVar("Reply", bound=Contract)


class NotARequest(ValueError):
    """A record with no readable request id: nobody can be answered, so it is dead-lettered."""


@dataclass(frozen=True)
class InvalidRequest:
    """What can be read of a request that does not validate."""

    request_id: UUID
    payload: dict[str, Any]
    problem: str


@dataclass(frozen=True)
class ServedTopic(Generic[Request, Reply]):
    """What a service serves: its request model and topics, and how it answers."""

    request_model: type[Request]
    request_topic: str
    reply_topic: str
    answer: Callable[[Envelope[Request]], Awaitable[Reply]]
    answer_invalid: Callable[[InvalidRequest], Reply]
    too_large: Callable[[Reply, int, int], Reply]
    """(reply, its size, the limit) -> the error reply sent in its place."""


class RequestReplyServer(Generic[Request, Reply]):
    """Answers one request record (see the module's docstring); unreadable records raise."""

    def __init__(
        self,
        broker: KafkaBroker,
        served: ServedTopic[Request, Reply],
        *,
        stale_after_s: float,
        max_reply_bytes: int,
        reply_topics_allowed: str | None = None,
    ) -> None:
        self._broker = broker
        self._served = served
        self._envelope: type[Envelope[Request]] = Envelope[served.request_model]  # type: ignore[name-defined]
        self._stale_after = timedelta(seconds=stale_after_s)
        self._max_reply_bytes = max_reply_bytes
        self._allowed = reply_topics_allowed or re.escape(served.reply_topic)

    async def handle(self, record: ConsumerRecord[bytes, bytes]) -> None:
        raw = record.value or b""
        try:
            event = self._envelope.model_validate_json(raw)
        except ValidationError as error:
            await self._answer_invalid(raw, error)
            return
        request: _Request = event.payload  # type: ignore[assignment]  # every request has both
        # Checked before any work: a request naming a topic we do not answer on is refused.
        reply_topic = self._reply_topic(request.reply_topic)
        if datetime.now(UTC) - event.occurred_at > self._stale_after:
            STALE_SKIPPED.labels(self._served.request_topic).inc()
            logger.debug("stale request skipped", extra={"request_id": request.request_id})
            return
        reply = await self._served.answer(event)
        await self._publish(
            reply,
            reply_topic,
            tenant_id=event.tenant_id,
            correlation_id=event.correlation_id,
            causation_id=event.event_id,
            trace=event.trace,
        )

    @property
    def request_topic(self) -> str:
        return self._served.request_topic

    def _reply_topic(self, requested: str | None) -> str:
        return reply_topic_for(requested, default=self._served.reply_topic, allowed=self._allowed)

    async def _answer_invalid(self, raw: bytes, error: ValidationError) -> None:
        readable = _readable_request(raw)
        if readable is None:
            raise NotARequest(describe_validation_error(error)) from error
        request_id, body = readable
        payload = body["payload"]
        reply_topic = payload.get("reply_topic")
        tenant = body.get("tenant_id")
        reply = self._served.answer_invalid(
            InvalidRequest(request_id, payload, describe_validation_error(error))
        )
        await self._publish(
            reply,
            self._reply_topic(reply_topic if isinstance(reply_topic, str) else None),
            tenant_id=tenant if isinstance(tenant, str) and tenant else "unknown",
        )

    async def _publish(self, reply: Reply, topic: str, *, tenant_id: str, **links: Any) -> None:
        body = self._body(reply, tenant_id, links)
        if len(body) > self._max_reply_bytes:
            too_large = self._served.too_large(reply, len(body), self._max_reply_bytes)
            body = self._body(too_large, tenant_id, links)
        request_id = str(reply.request_id)  # type: ignore[attr-defined]  # every reply has one
        await self._broker.publish(
            body,
            topic,
            key=request_id.encode(),
            correlation_id=request_id,
            headers={"content-type": "application/json"},
        )

    @staticmethod
    def _body(reply: Reply, tenant_id: str, links: dict[str, Any]) -> bytes:
        envelope: Envelope[Reply] = Envelope.wrap(reply, tenant_id=tenant_id, **links)
        return envelope.model_dump_json().encode()


def _readable_request(raw: bytes) -> tuple[UUID, dict[str, Any]] | None:
    """The request id and the envelope as JSON of an invalid request, when readable."""
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(body, dict) or not isinstance(body.get("payload"), dict):
        return None
    try:
        request_id = UUID(str(body["payload"].get("request_id")))
    except ValueError:
        return None
    return request_id, body


class RequestServerSettings(Protocol):
    """What :func:`serve_requests` reads of a service's settings (tools, embeddings)."""

    @property
    def KAFKA(self) -> KafkaSettings: ...  # noqa: N802 - the settings' field names

    @property
    def SERVICE_NAME(self) -> str: ...  # noqa: N802

    @property
    def CONSUMER_GROUP(self) -> str: ...  # noqa: N802

    @property
    def STALE_REQUEST_S(self) -> float: ...  # noqa: N802

    @property
    def REPLY_TOPICS_ALLOWED(self) -> str: ...  # noqa: N802

    @property
    def MAX_IN_FLIGHT_REQUESTS(self) -> int: ...  # noqa: N802


def serve_requests(
    served: ServedTopic[Any, Any],
    broker: KafkaBroker,
    settings: RequestServerSettings,
    *,
    max_reply_bytes: int,
    commit_interval_s: float,
) -> LongRunningConsumer:
    """The consumer that serves ``served``'s request topic, up to
    ``MAX_IN_FLIGHT_REQUESTS`` requests at once; records that are not requests go to
    ``<topic>.dlq`` with the reason."""
    server = RequestReplyServer(
        broker,
        served,
        stale_after_s=settings.STALE_REQUEST_S,
        max_reply_bytes=max_reply_bytes,
        reply_topics_allowed=settings.REPLY_TOPICS_ALLOWED,
    )
    return dead_lettering_consumer(
        broker,
        settings.KAFKA,
        [server.request_topic],
        group_id=settings.CONSUMER_GROUP,
        client_id=settings.SERVICE_NAME,
        handler=server.handle,
        max_in_flight=settings.MAX_IN_FLIGHT_REQUESTS,
        commit_interval_s=commit_interval_s,
    )
