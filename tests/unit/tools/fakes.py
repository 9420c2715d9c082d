"""In-memory fakes of the tools service's own ports (``sextant_tools.domain.ports``).

The store keeps datasets per tenant (another tenant's id is not found, as in
PostgreSQL); the runner answers from a script and records what it was asked. The real
adapters are tested against PostgreSQL and real worker processes.
"""

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sextant_tools.domain.datasets import Dataset, MediaType
from sextant_tools.domain.errors import DatasetNotFound

Answer = Callable[[str, dict[str, object]], dict[str, object]]


@dataclass
class FakeDatasetStore:
    stored: dict[tuple[str, UUID], tuple[Dataset, bytes]] = field(default_factory=dict)
    loads: int = 0
    outage: Exception | None = None

    async def save(self, *, tenant_id: str, media_type: MediaType, content: bytes) -> Dataset:
        dataset = Dataset(
            dataset_id=uuid.uuid4(),
            tenant_id=tenant_id,
            media_type=media_type,
            size_bytes=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            created_at=datetime.now(UTC),
        )
        self.stored[(tenant_id, dataset.dataset_id)] = (dataset, content)
        return dataset

    async def load(self, *, tenant_id: str, dataset_id: UUID) -> tuple[Dataset, bytes]:
        self.loads += 1
        if self.outage is not None:
            raise self.outage
        try:
            return self.stored[(tenant_id, dataset_id)]
        except KeyError:
            raise DatasetNotFound(f"dataset {dataset_id} not found") from None


@dataclass
class ScriptedRunner:
    """Answers with ``answer(tool_name, arguments)``, which may raise a ToolError."""

    answer: Answer = field(default=lambda tool, arguments: {"tool": tool})
    runs: list[tuple[str, str | None]] = field(default_factory=list)

    async def run(
        self,
        *,
        tool_name: str,
        media_type: MediaType,
        content: bytes,
        arguments: dict[str, object],
        dataset_key: str | None = None,
    ) -> dict[str, object]:
        self.runs.append((tool_name, dataset_key))
        return self.answer(tool_name, arguments)


@dataclass
class FakeWebFetcher:
    name: str = "web_fetch"
    fetched: list[dict[str, Any]] = field(default_factory=list)

    async def fetch(self, raw_arguments: dict[str, Any]) -> dict[str, Any]:
        self.fetched.append(raw_arguments)
        return {"url": raw_arguments.get("url"), "text": "a page"}
