"""API keys on PostgreSQL (migration 0005): key hash → tenant."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_ingress.domain.api_keys import hash_api_key, new_api_key
from sextant_storage.database import autocommit

_RESOLVE = text("SELECT tenant_id FROM api_keys WHERE key_hash = :key_hash AND revoked_at IS NULL")
_CREATE = text(
    "INSERT INTO api_keys (key_hash, tenant_id, name) VALUES (:key_hash, :tenant, :name)"
)


class PostgresApiKeys:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._one_statement = autocommit(engine)  # one-statement work: no BEGIN/COMMIT

    async def tenant_for(self, key: str) -> str | None:
        async with self._one_statement.connect() as connection:
            tenant = (
                await connection.execute(_RESOLVE, {"key_hash": hash_api_key(key)})
            ).scalar_one_or_none()
        return None if tenant is None else str(tenant)

    async def create(self, *, tenant_id: str, name: str = "") -> str:
        """A new key for ``tenant_id``; the plain key is returned once and never stored."""
        key = new_api_key()
        async with self._engine.begin() as connection:
            await connection.execute(
                _CREATE, {"key_hash": hash_api_key(key), "tenant": tenant_id, "name": name}
            )
        return key
