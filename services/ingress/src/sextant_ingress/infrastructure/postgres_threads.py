"""The Threads port on PostgreSQL: ``threads`` rows, and analyses by their ``thread_id``."""

from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_ingress.domain.submissions import AnalysisView
from sextant_ingress.infrastructure.postgres_analyses import VIEW_COLUMNS, analysis_view
from sextant_storage.database import autocommit

MAX_THREAD_ANALYSES = 200

_CREATE = text(
    "INSERT INTO threads (thread_id, tenant_id) VALUES (:thread_id, :tenant_id)"
    " ON CONFLICT DO NOTHING"
)
_EXISTS = text(
    "SELECT EXISTS (SELECT 1 FROM threads WHERE thread_id = :thread_id"
    " AND tenant_id = :tenant_id) OR EXISTS (SELECT 1 FROM analysis_views"
    " WHERE thread_id = :thread_id AND tenant_id = :tenant_id)"
)
_ANALYSES = text(
    f"SELECT {VIEW_COLUMNS} FROM analysis_views"  # noqa: S608 - constant column list
    " WHERE thread_id = :thread_id AND tenant_id = :tenant_id"
    " ORDER BY created_at, analysis_id LIMIT :limit"
)
_LAST_DATASET = text(
    "SELECT dataset_id FROM analysis_views WHERE thread_id = :thread_id"
    " AND tenant_id = :tenant_id ORDER BY created_at DESC LIMIT 1"
)


class PostgresThreads:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = autocommit(engine)  # one statement each

    async def create(self, thread_id: UUID, *, tenant_id: str) -> None:
        async with self._engine.connect() as connection:
            await connection.execute(_CREATE, {"thread_id": thread_id, "tenant_id": tenant_id})

    async def exists(self, thread_id: UUID, *, tenant_id: str) -> bool:
        async with self._engine.connect() as connection:
            params = {"thread_id": thread_id, "tenant_id": tenant_id}
            return bool((await connection.execute(_EXISTS, params)).scalar())

    async def analyses(self, thread_id: UUID, *, tenant_id: str) -> list[AnalysisView]:
        params = {"thread_id": thread_id, "tenant_id": tenant_id, "limit": MAX_THREAD_ANALYSES}
        async with self._engine.connect() as connection:
            return [analysis_view(row) for row in await connection.execute(_ANALYSES, params)]

    async def last_dataset(self, thread_id: UUID, *, tenant_id: str) -> UUID | None:
        params = {"thread_id": thread_id, "tenant_id": tenant_id}
        async with self._engine.connect() as connection:
            found: UUID | None = (await connection.execute(_LAST_DATASET, params)).scalar()
            return found
