"""What the workflow needs from the other services (adapters live in infrastructure)."""

from typing import Any, Protocol

from sextant_orchestrator.domain.state import ToolOutcome


class ToolInvoker(Protocol):
    """The tools service: every number in an answer comes through here."""

    async def list_tools(self, *, tenant_id: str) -> list[dict[str, Any]]: ...

    async def invoke(
        self,
        *,
        call_id: str,
        tool_name: str,
        dataset_id: str | None,
        arguments: dict[str, Any],
        tenant_id: str,
    ) -> ToolOutcome: ...


class PassageRanker(Protocol):
    """The embeddings service: passages ranked by similarity to a query."""

    async def rank(
        self, *, query: str, passages: list[str], top_k: int, tenant_id: str
    ) -> list[tuple[int, float]]: ...
