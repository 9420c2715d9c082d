"""Writing dataset bytes to the ``datasets`` table (migration 0002), for every service.

The tools service reads datasets by id; the ingress API (uploads) and the orchestrator
(small inline datasets) write them. One insert statement keeps the checksum and size
columns consistent whoever writes.
"""

import hashlib
from datetime import datetime
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_INSERT = text(
    "INSERT INTO datasets (dataset_id, tenant_id, media_type, size_bytes, sha256, content) "
    "VALUES (:dataset_id, :tenant_id, :media_type, :size_bytes, :sha256, :content) "
    "ON CONFLICT (dataset_id) DO NOTHING "
    "RETURNING created_at"
)


async def insert_dataset(
    engine: AsyncEngine, *, dataset_id: UUID, tenant_id: str, media_type: str, content: bytes
) -> tuple[str, datetime | None]:
    """Store ``content``; returns (sha256, created_at), created_at None if the id existed."""
    sha256 = hashlib.sha256(content).hexdigest()
    values = {
        "dataset_id": dataset_id,
        "tenant_id": tenant_id,
        "media_type": media_type,
        "size_bytes": len(content),
        "sha256": sha256,
        "content": content,
    }
    async with engine.begin() as connection:
        created_at = (await connection.execute(_INSERT, values)).scalar_one_or_none()
    return sha256, created_at
