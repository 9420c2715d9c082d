"""The Kafka entrypoint: tool invocations in, results (or structured errors) out.

Requests come through a :class:`LongRunningConsumer`, so several run at once (the
worker pool bounds the CPU work) and offsets are committed every ``COMMIT_INTERVAL_S``
past answered requests only. A FastStream subscriber answered one request at a time and
committed after each, so under concurrent analyses every invocation queued behind the
others and paid an offset-commit round trip.

A record that is not a request goes to the DLQ; PostgreSQL or the network away for a
moment is waited out (bounded) first. A request older than ``stale_after_s`` is skipped:
its requester has given up, and a backlog (a new consumer group starts at the earliest
offset) is worked off without running any tool.
"""

import logging
import re
from datetime import UTC, datetime, timedelta

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from prometheus_client import Counter

from sextant_contracts import (
    Envelope,
    ReplyError,
    ToolInvocationReplied,
    ToolInvocationRequested,
    topic,
)
from sextant_platform.kafka.reply_topics import reply_topic_for
from sextant_platform.resilience import is_database_outage, transient_io_policy
from sextant_tools.application.invoke_tool import InvokeTool
from sextant_tools.domain.errors import ResultTooLarge

logger = logging.getLogger(__name__)

REQUESTS = topic("tools.requested.v1")
REPLIES = topic("tools.replied.v1")
RequestEnvelope = Envelope[ToolInvocationRequested]
COMMIT_INTERVAL_S = 0.5
"""Invocations are replayable (and answered from a cache when recent): a crash
redelivers at most ~0.5 s of them."""

STALE_SKIPPED = Counter(
    "sextant_tools_stale_requests_skipped",
    "Invocations skipped unanswered because they were older than the requesters' patience.",
)


class ToolRequestHandler:
    """Answers one invocation record; a record that is not an invocation raises."""

    def __init__(
        self,
        broker: KafkaBroker,
        invoke: InvokeTool,
        *,
        stale_after_s: float,
        max_reply_bytes: int,
        reply_topics_allowed: str = re.escape(REPLIES.name),
    ) -> None:
        self._broker = broker
        self._invoke = invoke
        self._reply_topics_allowed = reply_topics_allowed
        self._stale_after = timedelta(seconds=stale_after_s)
        self._max_reply_bytes = max_reply_bytes

    async def handle(self, record: ConsumerRecord[bytes, bytes]) -> None:
        event = RequestEnvelope.model_validate_json(record.value or b"")
        reply_topic = reply_topic_for(
            event.payload.reply_topic, default=REPLIES.name, allowed=self._reply_topics_allowed
        )
        if datetime.now(UTC) - event.occurred_at > self._stale_after:
            STALE_SKIPPED.inc()
            logger.debug("stale invocation skipped", extra={"request_id": event.payload.request_id})
            return
        async for attempt in transient_io_policy(
            is_database_outage, attempts=10, max_s=10.0, deadline_s=120.0
        ):
            with attempt:
                reply = await self._invoke(event.payload, tenant_id=event.tenant_id)
        body = self._reply_body(reply, event)
        if len(body) > self._max_reply_bytes:
            body = self._reply_body(self._too_large(reply, len(body)), event)
        await self._broker.publish(
            body,
            reply_topic,
            key=str(event.payload.request_id).encode(),
            correlation_id=str(event.payload.request_id),
            headers={"content-type": "application/json"},
        )

    @staticmethod
    def _reply_body(reply: ToolInvocationReplied, request: RequestEnvelope) -> bytes:
        envelope: Envelope[ToolInvocationReplied] = Envelope.wrap(
            reply,
            tenant_id=request.tenant_id,
            correlation_id=request.correlation_id,
            causation_id=request.event_id,
            trace=request.trace,
        )
        return envelope.model_dump_json().encode()

    def _too_large(self, reply: ToolInvocationReplied, size: int) -> ToolInvocationReplied:
        """An error in place of a result Kafka would refuse (and the requester wait for)."""
        problem = ResultTooLarge(
            f"{reply.tool_name}'s result is {size} bytes; replies are limited to "
            f"{self._max_reply_bytes}: ask for less (fewer columns, groups or a narrower fetch)"
        )
        return reply.model_copy(
            update={
                "result": None,
                "error": ReplyError(code=problem.code, message=str(problem), retryable=False),
            }
        )
