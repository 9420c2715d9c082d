"""The dataset cache in front of the real PostgreSQL store.

A stored dataset never changes, so the cache may answer without reading PostgreSQL;
these tests prove it did by deleting the rows behind its back.
"""

import asyncio
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_tools.domain.datasets import Dataset, DatasetLimits
from sextant_tools.domain.errors import DatasetNotFound
from sextant_tools.infrastructure.cached_dataset_store import CachedDatasetStore
from sextant_tools.infrastructure.postgres_dataset_store import PostgresDatasetStore


class CountingStore(PostgresDatasetStore):
    """The real store, counting the loads that reach PostgreSQL."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine, DatasetLimits())
        self.reads = 0

    async def load(self, *, tenant_id: str, dataset_id: uuid.UUID) -> tuple[Dataset, bytes]:
        self.reads += 1
        return await super().load(tenant_id=tenant_id, dataset_id=dataset_id)


async def delete_rows(engine: AsyncEngine, dataset_id: uuid.UUID) -> None:
    async with engine.begin() as connection:
        for table in ("dataset_chunks", "datasets"):
            await connection.execute(
                text(f"DELETE FROM {table} WHERE dataset_id = :id"),
                {"id": dataset_id},
            )


async def saved(store: CachedDatasetStore, content: bytes, tenant: str = "acme") -> uuid.UUID:
    return (await store.save(tenant_id=tenant, media_type="text/csv", content=content)).dataset_id


async def test_a_loaded_dataset_is_served_again_without_reading_postgres(
    engine: AsyncEngine,
) -> None:
    backing = CountingStore(engine)
    store = CachedDatasetStore(backing, max_bytes=1 << 20)
    content = b"x,y\n1,2\n3,4\n"
    dataset_id = await saved(store, content)
    first = await store.load(tenant_id="acme", dataset_id=dataset_id)
    await delete_rows(engine, dataset_id)
    again = await store.load(tenant_id="acme", dataset_id=dataset_id)
    assert again == first
    assert again[1] == content
    assert backing.reads == 1


async def test_another_tenant_never_gets_a_cached_dataset(engine: AsyncEngine) -> None:
    store = CachedDatasetStore(CountingStore(engine), max_bytes=1 << 20)
    dataset_id = await saved(store, b"x\n1\n", tenant="acme")
    await store.load(tenant_id="acme", dataset_id=dataset_id)
    with pytest.raises(DatasetNotFound):
        await store.load(tenant_id="globex", dataset_id=dataset_id)


async def test_least_recently_used_datasets_leave_first_and_big_ones_are_not_kept(
    engine: AsyncEngine,
) -> None:
    backing = CountingStore(engine)
    store = CachedDatasetStore(backing, max_bytes=100)
    old, recent, newest = [await saved(store, bytes([65 + i]) * 40) for i in range(3)]
    for dataset_id in (old, recent, newest):  # 120 bytes in all: ``old`` is evicted
        await store.load(tenant_id="acme", dataset_id=dataset_id)
    assert store.cached_bytes == 80
    too_big = await saved(store, b"z" * 101)
    await store.load(tenant_id="acme", dataset_id=too_big)
    assert store.cached_bytes == 80  # kept out, nothing evicted for it
    for dataset_id in (old, too_big):
        await delete_rows(engine, dataset_id)
        with pytest.raises(DatasetNotFound):  # not cached: the store was asked again
            await store.load(tenant_id="acme", dataset_id=dataset_id)
    reads_before = backing.reads
    assert (await store.load(tenant_id="acme", dataset_id=recent))[1] == b"B" * 40
    assert backing.reads == reads_before


async def test_concurrent_loads_of_one_dataset_share_one_read(engine: AsyncEngine) -> None:
    backing = CountingStore(engine)
    store = CachedDatasetStore(backing, max_bytes=1 << 20)
    dataset_id = await saved(store, b"x\n" + b"1\n" * 1000)
    loads = await asyncio.gather(
        *(store.load(tenant_id="acme", dataset_id=dataset_id) for _ in range(8))
    )
    assert backing.reads == 1
    assert all(loaded == loads[0] for loaded in loads)


async def test_a_missing_dataset_is_not_remembered(engine: AsyncEngine) -> None:
    backing = CountingStore(engine)
    store = CachedDatasetStore(backing, max_bytes=1 << 20)
    missing = uuid.uuid4()
    for _ in range(2):
        with pytest.raises(DatasetNotFound):
            await store.load(tenant_id="acme", dataset_id=missing)
    assert backing.reads == 2
    assert store.cached_bytes == 0
