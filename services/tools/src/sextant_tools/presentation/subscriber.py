"""The Kafka entrypoint: tool invocations in, results (or structured errors) out.

Served by the platform's :class:`RequestReplyServer` (see it for what happens to
invalid, stale and too-large requests and replies). What is the tools service's own:
PostgreSQL or the network away for a moment is waited out (bounded) before answering,
and the error replies name the tool the request asked for.
"""

from pydantic import ValidationError

from sextant_contracts import (
    Envelope,
    ReplyError,
    ToolInvocationReplied,
    ToolInvocationRequested,
)
from sextant_contracts.catalogue import TOOLS_REPLIED, TOOLS_REQUESTED
from sextant_kafka.request_reply_server import InvalidRequest, ServedTopic
from sextant_platform.resilience import transient_io_policy
from sextant_storage.outages import is_database_outage
from sextant_tools.application.invoke_tool import InvokeTool
from sextant_tools.domain.errors import InvalidToolArguments, ResultTooLarge

REQUESTS = TOOLS_REQUESTED
REPLIES = TOOLS_REPLIED
COMMIT_INTERVAL_S = 0.5
"""Invocations are replayable (and answered from a cache when recent): a crash
redelivers at most ~0.5 s of them."""
UNNAMED_TOOL = "unknown"


def served_tools(invoke: InvokeTool) -> ServedTopic[ToolInvocationRequested, ToolInvocationReplied]:
    """Invocations answered by ``invoke``."""

    async def answer(event: Envelope[ToolInvocationRequested]) -> ToolInvocationReplied:
        async for attempt in transient_io_policy(
            is_database_outage, attempts=10, max_s=10.0, deadline_s=120.0
        ):
            with attempt:
                return await invoke(event.payload, tenant_id=event.tenant_id)
        raise AssertionError("unreachable: the policy reraises")  # pragma: no cover

    return ServedTopic(
        request_model=ToolInvocationRequested,
        request_topic=REQUESTS.name,
        reply_topic=REPLIES.name,
        answer=answer,
        answer_invalid=_invalid,
        too_large=_too_large,
    )


def _invalid(request: InvalidRequest) -> ToolInvocationReplied:
    """An ``invalid_arguments`` error naming the request's tool when that name is valid."""
    problem = InvalidToolArguments(request.problem)
    error = ReplyError(code=problem.code, message=str(problem), retryable=False)
    named = request.payload.get("tool_name")
    try:
        return ToolInvocationReplied(
            request_id=request.request_id, tool_name=str(named), error=error
        )
    except ValidationError:
        return ToolInvocationReplied(
            request_id=request.request_id, tool_name=UNNAMED_TOOL, error=error
        )


def _too_large(reply: ToolInvocationReplied, size: int, max_bytes: int) -> ToolInvocationReplied:
    """An error in place of a result Kafka would refuse (and the requester wait for)."""
    problem = ResultTooLarge(
        f"{reply.tool_name}'s result is {size} bytes; replies are limited to "
        f"{max_bytes}: ask for less (fewer columns, groups or a narrower fetch)"
    )
    return reply.model_copy(
        update={
            "result": None,
            "error": ReplyError(code=problem.code, message=str(problem), retryable=False),
        }
    )
