"""The Datasets port on PostgreSQL (the shared ``datasets`` tables the tools read)."""

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_ingress.domain.datasets import DatasetMediaType
from sextant_storage.database.datasets import insert_dataset


class PostgresDatasets:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(
        self, *, dataset_id: UUID, tenant_id: str, media_type: DatasetMediaType, content: bytes
    ) -> str:
        sha256, _ = await insert_dataset(
            self._engine,
            dataset_id=dataset_id,
            tenant_id=tenant_id,
            media_type=media_type,
            content=content,
        )
        return sha256
