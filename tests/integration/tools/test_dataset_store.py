"""The PostgreSQL dataset store: round trip, checksum, limits, tenant isolation."""

import asyncio
import hashlib
import uuid

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_storage.database.datasets import CHUNK_BYTES
from sextant_storage.database.migrate import alembic_config
from sextant_tools.domain.datasets import DatasetLimits
from sextant_tools.domain.errors import DatasetNotFound, DatasetTooLarge
from sextant_tools.infrastructure.postgres_dataset_store import PostgresDatasetStore
from tests.integration.infrastructure import Infrastructure


async def test_dataset_round_trips_with_its_checksum(engine: AsyncEngine) -> None:
    store = PostgresDatasetStore(engine, DatasetLimits())
    content = b"region,revenue\nnorth,10\nsouth,20\n"
    saved = await store.save(tenant_id="acme", media_type="text/csv", content=content)
    loaded, data = await store.load(tenant_id="acme", dataset_id=saved.dataset_id)
    assert data == content
    assert loaded == saved
    assert loaded.sha256 == hashlib.sha256(content).hexdigest()
    assert loaded.size_bytes == len(content)


@pytest.mark.parametrize(("size", "chunks"), [(0, 0), (CHUNK_BYTES, 1), (2 * CHUNK_BYTES + 7, 3)])
async def test_large_datasets_are_stored_in_chunks_and_read_back_in_order(
    engine: AsyncEngine, size: int, chunks: int
) -> None:
    store = PostgresDatasetStore(engine, DatasetLimits())
    content = bytes(i * 7 % 251 for i in range(size))  # no two chunks alike
    saved = await store.save(tenant_id="acme", media_type="text/csv", content=content)
    _, data = await store.load(tenant_id="acme", dataset_id=saved.dataset_id)
    assert data == content
    async with engine.connect() as connection:
        sizes = (
            (
                await connection.execute(
                    text(
                        "SELECT length(content) FROM dataset_chunks "
                        "WHERE dataset_id = :id ORDER BY seq"
                    ),
                    {"id": saved.dataset_id},
                )
            )
            .scalars()
            .all()
        )
    assert len(sizes) == chunks
    assert sum(sizes) == size
    assert all(part == CHUNK_BYTES for part in sizes[:-1])


async def test_another_tenant_cannot_load_the_dataset(engine: AsyncEngine) -> None:
    store = PostgresDatasetStore(engine, DatasetLimits())
    saved = await store.save(tenant_id="acme", media_type="text/csv", content=b"a\n1\n")
    with pytest.raises(DatasetNotFound):
        await store.load(tenant_id="globex", dataset_id=saved.dataset_id)
    with pytest.raises(DatasetNotFound):
        await store.load(tenant_id="acme", dataset_id=uuid.uuid4())


async def test_oversize_dataset_is_refused_before_it_is_stored(engine: AsyncEngine) -> None:
    store = PostgresDatasetStore(engine, DatasetLimits(max_bytes=10))
    with pytest.raises(DatasetTooLarge, match="limit is 10"):
        await store.save(tenant_id="acme", media_type="text/csv", content=b"a\n" * 10)


async def test_migration_0007_moves_dataset_bytes_both_ways(
    engine: AsyncEngine, infra: Infrastructure
) -> None:
    store = PostgresDatasetStore(engine, DatasetLimits())
    content = bytes(i % 13 for i in range(CHUNK_BYTES + 5))
    saved = await store.save(tenant_id="acme", media_type="text/csv", content=content)
    config = alembic_config(infra.postgres)
    await asyncio.to_thread(command.downgrade, config, "0006")
    try:
        async with engine.connect() as connection:
            inline = (
                await connection.execute(
                    text("SELECT content FROM datasets WHERE dataset_id = :id"),
                    {"id": saved.dataset_id},
                )
            ).scalar_one()
        assert bytes(inline) == content
    finally:
        await asyncio.to_thread(command.upgrade, config, "head")
    _, data = await store.load(tenant_id="acme", dataset_id=saved.dataset_id)
    assert data == content
