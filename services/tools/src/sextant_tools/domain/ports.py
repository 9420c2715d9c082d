"""Ports of the tools service: what the use cases need from the outside world."""

from typing import Any, Protocol
from uuid import UUID

from sextant_tools.domain.datasets import Dataset, MediaType


class DatasetStore(Protocol):
    """Keeps dataset content by id, scoped by tenant."""

    async def save(self, *, tenant_id: str, media_type: MediaType, content: bytes) -> Dataset:
        """Store ``content``; raises DatasetTooLarge above the configured byte limit."""
        ...

    async def load(self, *, tenant_id: str, dataset_id: UUID) -> tuple[Dataset, bytes]:
        """The dataset and its bytes; raises DatasetNotFound (also for another tenant's id)."""
        ...


class ToolRunner(Protocol):
    """Runs one tool over dataset bytes, off the event loop, within a time limit."""

    async def run(
        self,
        *,
        tool_name: str,
        media_type: MediaType,
        content: bytes,
        arguments: dict[str, object],
        dataset_key: str | None = None,
    ) -> dict[str, object]:
        """The tool's JSON result; raises a ToolError subclass (ToolTimedOut on timeout).

        ``dataset_key`` names the content for good (tenant, dataset id and content hash):
        a runner may keep the parsed dataset under it, so that the next tool over the
        same dataset does not parse it again. None: nothing is kept."""
        ...


class WebFetcher(Protocol):
    """Fetches a public web page for the agent; refuses non-public destinations."""

    name: str

    async def fetch(self, raw_arguments: dict[str, Any]) -> dict[str, Any]: ...
