"""Dataset bytes in PostgreSQL: ``datasets`` (one row each) + ``dataset_chunks`` (the bytes).

The tools service reads datasets by id; the ingress API (uploads) and the orchestrator
(small inline datasets) write them. This module is the one place that knows the layout:
the content is split into CHUNK_BYTES rows (migration 0007), which PostgreSQL writes and
reads 2-3x faster than one value of tens of MB.
"""

import asyncio
import hashlib
from datetime import datetime
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

CHUNK_BYTES = 1 << 20
HASH_IN_THREAD_BYTES = 1 << 20
"""Contents this large are hashed in a thread: 50 MB took ~30 ms of the event loop."""

_INSERT = text(
    "INSERT INTO datasets (dataset_id, tenant_id, media_type, size_bytes, sha256, name,"
    " row_count, column_count) "
    "VALUES (:dataset_id, :tenant_id, :media_type, :size_bytes, :sha256, :name, :rows,"
    " :columns) "
    "ON CONFLICT (dataset_id) DO NOTHING "
    "RETURNING created_at"
)
_INSERT_CHUNK = text(
    "INSERT INTO dataset_chunks (dataset_id, seq, content) VALUES (:dataset_id, :seq, :content)"
)
_SELECT_CHUNKS = text(
    "SELECT content FROM dataset_chunks WHERE dataset_id = :dataset_id ORDER BY seq"
)


async def insert_dataset(
    engine: AsyncEngine,
    *,
    dataset_id: UUID,
    tenant_id: str,
    media_type: str,
    content: bytes,
    name: str | None = None,
    shape: tuple[int, int] | None = None,
) -> tuple[str, datetime | None]:
    """Store ``content``; returns (sha256, created_at), created_at None if the id existed.
    ``name`` (a file's) and ``shape`` (rows, columns) when the writer knows them: they
    let the dataset be listed and picked again."""
    if len(content) >= HASH_IN_THREAD_BYTES:  # hashlib releases the GIL while hashing
        sha256 = await asyncio.to_thread(_sha256, content)
    else:
        sha256 = _sha256(content)
    values = {
        "dataset_id": dataset_id,
        "tenant_id": tenant_id,
        "media_type": media_type,
        "size_bytes": len(content),
        "sha256": sha256,
        "name": name,
        "rows": shape[0] if shape else None,
        "columns": shape[1] if shape else None,
    }
    view = memoryview(content)
    chunks = [
        {"dataset_id": dataset_id, "seq": seq, "content": view[start : start + CHUNK_BYTES]}
        for seq, start in enumerate(range(0, len(content), CHUNK_BYTES))
    ]
    async with engine.begin() as connection:
        created_at = (await connection.execute(_INSERT, values)).scalar_one_or_none()
        if created_at is not None and chunks:  # a retried insert stores its chunks once
            await connection.execute(_INSERT_CHUNK, chunks)
    return sha256, created_at


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


async def read_dataset_content(connection: AsyncConnection, dataset_id: UUID) -> bytes:
    """The dataset's bytes, its chunks joined in order (b"" for an empty dataset)."""
    rows = await connection.execute(_SELECT_CHUNKS, {"dataset_id": dataset_id})
    return b"".join(row.content for row in rows)
