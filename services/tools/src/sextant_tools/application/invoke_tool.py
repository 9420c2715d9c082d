"""Use case: answer one tool invocation with a result or a structured error.

A tool error is an answer, not a failure: the reply carries a stable error code and the
consumer keeps going. Only infrastructure failures (database down) propagate, so the
Kafka layer retries the message.
"""

import time
from collections import OrderedDict

from sextant_contracts import ReplyError, ToolInvocationReplied, ToolInvocationRequested
from sextant_contracts.tools import LIST_TOOLS
from sextant_tools.domain.errors import InvalidToolArguments, ToolError, UnknownTool
from sextant_tools.domain.ports import DatasetStore, ToolRunner, WebFetcher

RECENT_REPLIES = 1024


class InvokeTool:
    """Load the dataset, run the tool off the event loop, reply."""

    def __init__(
        self,
        store: DatasetStore,
        runner: ToolRunner,
        catalogue: list[dict[str, object]],
        web: WebFetcher | None = None,
    ) -> None:
        self._store = store
        self._runner = runner
        self._web = web
        self._catalogue = list(catalogue)
        self._known_tools = {str(entry["name"]) for entry in catalogue}
        self._recent: OrderedDict[tuple[str, str], ToolInvocationReplied] = OrderedDict()

    async def __call__(
        self, request: ToolInvocationRequested, *, tenant_id: str
    ) -> ToolInvocationReplied:
        key = (tenant_id, str(request.request_id))
        if key in self._recent:  # a redelivered duplicate: answer again without recomputing
            return self._recent[key]
        started = time.perf_counter()
        try:
            result = await self._compute(request, tenant_id)
            reply = ToolInvocationReplied(
                request_id=request.request_id,
                tool_name=request.tool_name,
                result=result,
                duration_ms=(time.perf_counter() - started) * 1000,
            )
        except ToolError as error:
            reply = ToolInvocationReplied(
                request_id=request.request_id,
                tool_name=request.tool_name,
                error=ReplyError(code=error.code, message=str(error), retryable=error.retryable),
                duration_ms=(time.perf_counter() - started) * 1000,
            )
        self._remember(key, reply)
        return reply

    async def _compute(self, request: ToolInvocationRequested, tenant_id: str) -> dict[str, object]:
        if request.tool_name == LIST_TOOLS:
            return {"tools": self._catalogue}
        if request.tool_name not in self._known_tools:
            raise UnknownTool(
                f"unknown tool {request.tool_name!r}; available: {sorted(self._known_tools)}"
            )
        if self._web is not None and request.tool_name == self._web.name:
            return await self._web.fetch(dict(request.arguments))
        if request.dataset_id is None:
            raise InvalidToolArguments(f"{request.tool_name} needs a dataset_id")
        dataset, content = await self._store.load(
            tenant_id=tenant_id, dataset_id=request.dataset_id
        )
        return await self._runner.run(
            tool_name=request.tool_name,
            media_type=dataset.media_type,
            content=content,
            arguments=dict(request.arguments),
            dataset_key=f"{tenant_id}/{dataset.dataset_id}/{dataset.sha256}",
        )

    def _remember(self, key: tuple[str, str], reply: ToolInvocationReplied) -> None:
        if reply.error is not None and reply.error.retryable:
            return  # a timeout may succeed next time: do not cache it
        self._recent[key] = reply
        while len(self._recent) > RECENT_REPLIES:
            self._recent.popitem(last=False)
