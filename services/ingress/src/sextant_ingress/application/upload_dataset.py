"""Use case: store an uploaded dataset once it is known to be one, within the limits."""

import asyncio
import uuid

from sextant_ingress.application.ports import Datasets
from sextant_ingress.domain.datasets import (
    DatasetLimits,
    DatasetMediaType,
    DatasetTooLarge,
    ListedDataset,
    StoredDataset,
    dataset_name,
    measure,
)


class UploadDataset:
    """Measure (rows, columns: every row is read, so malformed data is refused here, not
    by a tool later), check the limits, store."""

    def __init__(self, datasets: Datasets, limits: DatasetLimits) -> None:
        self._datasets = datasets
        self.limits = limits

    async def __call__(
        self,
        *,
        tenant_id: str,
        media_type: DatasetMediaType,
        content: bytes,
        name: str | None = None,
    ) -> StoredDataset:
        """Raises DatasetTooLarge or DatasetUnreadable, each with its reason. ``name``
        (a file's, say) is kept to list the dataset by, cleaned by :func:`dataset_name`."""
        if len(content) > self.limits.max_bytes:
            raise DatasetTooLarge(f"the limit is {self.limits.max_bytes} bytes")
        rows, columns = await asyncio.to_thread(measure, media_type, content)  # CPU-bound
        if rows > self.limits.max_rows:
            raise DatasetTooLarge(f"{rows} rows; the limit is {self.limits.max_rows}")
        dataset_id = uuid.uuid4()
        name = dataset_name(name)
        sha256 = await self._datasets.add(
            dataset_id=dataset_id,
            tenant_id=tenant_id,
            media_type=media_type,
            content=content,
            name=name,
            shape=(rows, columns),
        )
        return StoredDataset(
            dataset_id=dataset_id,
            media_type=media_type,
            size_bytes=len(content),
            sha256=sha256,
            rows=rows,
            columns=columns,
            name=name,
        )


class ListDatasets:
    """A tenant's stored datasets, newest first, a page at a time: what a person picks
    from to ask about one again."""

    def __init__(self, datasets: Datasets) -> None:
        self._datasets = datasets

    async def __call__(
        self, *, tenant_id: str, limit: int, cursor: str | None
    ) -> tuple[list[ListedDataset], str | None]:
        return await self._datasets.page(tenant_id=tenant_id, limit=limit, cursor=cursor)
