"""The DatasetStore port on PostgreSQL (table ``datasets``, migration 0002)."""

import uuid
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_storage.database import autocommit
from sextant_storage.database.datasets import insert_dataset, read_dataset_content
from sextant_tools.domain.datasets import Dataset, DatasetLimits, MediaType
from sextant_tools.domain.errors import DatasetNotFound, DatasetTooLarge

_SELECT = text(
    "SELECT dataset_id, tenant_id, media_type, size_bytes, sha256, created_at "
    "FROM datasets WHERE dataset_id = :dataset_id AND tenant_id = :tenant_id"
)


class PostgresDatasetStore:
    """Stores dataset bytes with their checksum; reads are always scoped by tenant."""

    def __init__(self, engine: AsyncEngine, limits: DatasetLimits) -> None:
        self._engine = engine
        self._one_statement = autocommit(engine)  # one-statement work: no BEGIN/COMMIT
        self._limits = limits

    async def save(self, *, tenant_id: str, media_type: MediaType, content: bytes) -> Dataset:
        if len(content) > self._limits.max_bytes:
            raise DatasetTooLarge(
                f"dataset is {len(content)} bytes; the limit is {self._limits.max_bytes}"
            )
        dataset_id = uuid.uuid4()
        sha256, created_at = await insert_dataset(
            self._engine,
            dataset_id=dataset_id,
            tenant_id=tenant_id,
            media_type=media_type,
            content=content,
        )
        assert created_at is not None, "a fresh uuid4 cannot collide"
        return Dataset(
            dataset_id=dataset_id,
            tenant_id=tenant_id,
            media_type=media_type,
            size_bytes=len(content),
            sha256=sha256,
            created_at=created_at,
        )

    async def load(self, *, tenant_id: str, dataset_id: UUID) -> tuple[Dataset, bytes]:
        async with self._one_statement.connect() as connection:
            row = (
                await connection.execute(
                    _SELECT, {"dataset_id": dataset_id, "tenant_id": tenant_id}
                )
            ).one_or_none()
            if row is None:
                raise DatasetNotFound(f"dataset {dataset_id} does not exist for this tenant")
            content = await read_dataset_content(connection, dataset_id)
        dataset = Dataset(
            dataset_id=row.dataset_id,
            tenant_id=row.tenant_id,
            media_type=row.media_type,
            size_bytes=row.size_bytes,
            sha256=row.sha256,
            created_at=row.created_at,
        )
        return dataset, content
