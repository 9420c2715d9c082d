"""Adapters for the workflow's ports: the tools and embeddings services over Kafka."""

import asyncio
import time
import uuid
from typing import Any, Generic, TypeVar

from faststream.kafka import KafkaBroker
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from sextant_contracts import (
    EmbeddingReplied,
    EmbeddingRequested,
    RankPassages,
    ToolInvocationReplied,
    ToolInvocationRequested,
)
from sextant_contracts.base import Contract
from sextant_contracts.catalogue import (
    EMBEDDINGS_REPLIED,
    EMBEDDINGS_REQUESTED,
    TOOLS_REPLIED,
    TOOLS_REQUESTED,
)
from sextant_contracts.tools import LIST_TOOLS
from sextant_kafka.request_reply import (
    KafkaRequestReply,
    ReplyConsumerStopped,
    RequestTimedOut,
)
from sextant_orchestrator.domain.errors import DependencyUnavailable
from sextant_orchestrator.domain.state import ToolOutcome
from sextant_platform.settings import KafkaSettings

ReplyT = TypeVar("ReplyT", ToolInvocationReplied, EmbeddingReplied)

_tracer = trace.get_tracer(__name__)
"""Resolved through the global provider (``configure_tracing`` sets it) when used."""


class ServiceUnavailable(DependencyUnavailable):
    """A service did not answer in time or answered with an error about itself."""


class _ServiceClient(Generic[ReplyT]):
    """One request/reply client per service; a missing reply becomes ServiceUnavailable."""

    service: str
    request_topic: str
    reply_topic: str
    reply_model: type[ReplyT]

    def __init__(
        self, broker: KafkaBroker, settings: KafkaSettings, *, instance_id: str, timeout_s: float
    ) -> None:
        self.client: KafkaRequestReply[ReplyT] = KafkaRequestReply(
            broker,
            settings,
            request_topic=self.request_topic,
            reply_topic=self.reply_topic,
            reply_model=self.reply_model,
            instance_id=instance_id,
        )
        self.timeout_s = timeout_s

    async def _request(self, payload: Contract, request_id: uuid.UUID, tenant_id: str) -> ReplyT:
        try:
            return await self.client.request(
                payload, request_id=request_id, tenant_id=tenant_id, timeout_s=self.timeout_s
            )
        except (RequestTimedOut, ReplyConsumerStopped) as error:
            raise ServiceUnavailable(f"{self.service} service: {error}") from error


class KafkaToolInvoker(_ServiceClient[ToolInvocationReplied]):
    """The ``ToolInvoker`` port over ``tools.requested.v1``."""

    service = "tools"
    request_topic = TOOLS_REQUESTED.name
    reply_topic = TOOLS_REPLIED.name
    reply_model = ToolInvocationReplied

    def __init__(
        self,
        broker: KafkaBroker,
        settings: KafkaSettings,
        *,
        instance_id: str,
        timeout_s: float,
        catalogue_ttl_s: float = 60.0,
    ) -> None:
        super().__init__(broker, settings, instance_id=instance_id, timeout_s=timeout_s)
        self._catalogue_ttl_s = catalogue_ttl_s
        self._catalogue: list[dict[str, Any]] = []
        self._catalogue_expires = float("-inf")
        self._catalogue_fetch = asyncio.Lock()

    async def _call(
        self, tool_name: str, dataset_id: str | None, arguments: dict[str, Any], tenant_id: str
    ) -> ToolInvocationReplied:
        request = ToolInvocationRequested(
            request_id=uuid.uuid4(),
            reply_topic=self.client.reply_topic,
            tool_name=tool_name,
            dataset_id=uuid.UUID(dataset_id) if dataset_id else None,
            arguments=arguments,
        )
        return await self._request(request, request.request_id, tenant_id)

    async def list_tools(self, *, tenant_id: str) -> list[dict[str, Any]]:
        """The catalogue, asked of the tools service at most once per ``catalogue_ttl_s``.

        Every planning step needs it, and asking each time cost a Kafka round trip per
        analysis; it changes only when the tools service is redeployed, and it is the
        same for every tenant. Concurrent callers on an expired cache share one request.
        """
        if time.monotonic() < self._catalogue_expires:
            return [dict(t) for t in self._catalogue]
        async with self._catalogue_fetch:
            if time.monotonic() >= self._catalogue_expires:
                self._catalogue = await self._fetch_catalogue(tenant_id)
                self._catalogue_expires = time.monotonic() + self._catalogue_ttl_s
            return [dict(t) for t in self._catalogue]

    async def _fetch_catalogue(self, tenant_id: str) -> list[dict[str, Any]]:
        reply = await self._call(LIST_TOOLS, None, {}, tenant_id)
        if reply.error is not None or reply.result is None:
            raise ServiceUnavailable(f"tools catalogue unavailable: {reply.error}")
        tools = reply.result.get("tools")
        return [dict(t) for t in tools if isinstance(t, dict)] if isinstance(tools, list) else []

    async def invoke(
        self,
        *,
        call_id: str,
        tool_name: str,
        dataset_id: str | None,
        arguments: dict[str, Any],
        tenant_id: str,
    ) -> ToolOutcome:
        """One tool call, as an ``execute_tool <name>`` span (GenAI conventions): the
        request's Kafka publish and the tools service's handling are its children."""
        with _tracer.start_as_current_span(
            f"execute_tool {tool_name}",
            attributes={
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": tool_name,
                "gen_ai.tool.call.id": call_id,
            },
        ) as span:
            reply = await self._call(tool_name, dataset_id, arguments, tenant_id)
            if reply.error is not None:
                span.set_attribute("error.type", reply.error.code)
                span.set_status(Status(StatusCode.ERROR, reply.error.message[:200]))
        return {
            "call_id": call_id,
            "tool_name": tool_name,
            "arguments": arguments,
            "result": dict(reply.result) if reply.result is not None else None,
            "error": f"{reply.error.code}: {reply.error.message}" if reply.error else None,
            "duration_ms": reply.duration_ms,
        }


class KafkaPassageRanker(_ServiceClient[EmbeddingReplied]):
    """The ``PassageRanker`` port over ``embeddings.requested.v1``."""

    service = "embeddings"
    request_topic = EMBEDDINGS_REQUESTED.name
    reply_topic = EMBEDDINGS_REPLIED.name
    reply_model = EmbeddingReplied

    async def rank(
        self, *, query: str, passages: list[str], top_k: int, tenant_id: str
    ) -> list[tuple[int, float]]:
        request = EmbeddingRequested(
            request_id=uuid.uuid4(),
            reply_topic=self.client.reply_topic,
            task=RankPassages(query=query, passages=passages, top_k=min(top_k, len(passages))),
        )
        reply = await self._request(request, request.request_id, tenant_id)
        if reply.error is not None or reply.ranking is None:
            raise ServiceUnavailable(f"ranking failed: {reply.error}")
        return [(r.index, r.score) for r in reply.ranking]
