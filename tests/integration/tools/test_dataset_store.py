"""The PostgreSQL dataset store: round trip, checksum, limits, tenant isolation."""

import hashlib
import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_tools.domain.datasets import DatasetLimits
from sextant_tools.domain.errors import DatasetNotFound, DatasetTooLarge
from sextant_tools.infrastructure.postgres_dataset_store import PostgresDatasetStore


async def test_dataset_round_trips_with_its_checksum(engine: AsyncEngine) -> None:
    store = PostgresDatasetStore(engine, DatasetLimits())
    content = b"region,revenue\nnorth,10\nsouth,20\n"
    saved = await store.save(tenant_id="acme", media_type="text/csv", content=content)
    loaded, data = await store.load(tenant_id="acme", dataset_id=saved.dataset_id)
    assert data == content
    assert loaded == saved
    assert loaded.sha256 == hashlib.sha256(content).hexdigest()
    assert loaded.size_bytes == len(content)


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
