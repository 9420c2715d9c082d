"""The DatasetWriter port: inline request data stored where the tools service reads it."""

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_storage.database.datasets import insert_dataset


class PostgresDatasetWriter:
    """Stores inline datasets in the shared ``datasets`` table (idempotent by id)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def store_inline(
        self, *, dataset_id: UUID, tenant_id: str, media_type: str, content: bytes
    ) -> None:
        await insert_dataset(
            self._engine,
            dataset_id=dataset_id,
            tenant_id=tenant_id,
            media_type=media_type,
            content=content,
        )
