"""The Datasets port on PostgreSQL (the shared ``datasets`` tables the tools read)."""

from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_ingress.domain.datasets import DatasetMediaType, ListedDataset
from sextant_ingress.domain.paging import decode_cursor, encode_cursor
from sextant_storage.database.datasets import insert_dataset

_PAGE = (
    "SELECT dataset_id, name, media_type, size_bytes, row_count, column_count, created_at"
    " FROM datasets WHERE tenant_id = :tenant_id{after}"
    " ORDER BY created_at DESC, dataset_id DESC LIMIT :limit"
)
_FIRST_PAGE = text(_PAGE.format(after=""))
_NEXT_PAGE = text(_PAGE.format(after=" AND (created_at, dataset_id) < (:after_created, :after_id)"))


class PostgresDatasets:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(
        self,
        *,
        dataset_id: UUID,
        tenant_id: str,
        media_type: DatasetMediaType,
        content: bytes,
        name: str | None,
        shape: tuple[int, int],
    ) -> str:
        sha256, _ = await insert_dataset(
            self._engine,
            dataset_id=dataset_id,
            tenant_id=tenant_id,
            media_type=media_type,
            content=content,
            name=name,
            shape=shape,
        )
        return sha256

    async def page(
        self, *, tenant_id: str, limit: int, cursor: str | None
    ) -> tuple[list[ListedDataset], str | None]:
        """Newest first; the cursor continues after the last item of the previous page
        (the analyses list's cursor form)."""
        params: dict[str, Any] = {"tenant_id": tenant_id, "limit": limit + 1}
        query = _FIRST_PAGE
        if cursor is not None:
            params["after_created"], params["after_id"] = decode_cursor(cursor)
            query = _NEXT_PAGE
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query, params)).all()
        found = [ListedDataset(*row) for row in rows[:limit]]
        more = len(rows) > limit
        return found, encode_cursor(found[-1].created_at, found[-1].dataset_id) if more else None
