"""A real PostgreSQL: migrations applied, results written and read through SQLAlchemy/asyncpg."""

import json
import uuid

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_platform.settings import PostgresSettings
from sextant_storage.database.migrate import MIGRATIONS_DIR, alembic_config


async def test_migrations_are_at_head(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        revision = (
            await connection.execute(text("SELECT version_num FROM alembic_version"))
        ).scalar_one()
        tables = set(
            (
                await connection.execute(
                    text(
                        "SELECT table_name FROM information_schema.tables"
                        " WHERE table_schema = 'public'"
                    )
                )
            ).scalars()
        )
    head = ScriptDirectory.from_config(alembic_config(PostgresSettings())).get_current_head()
    assert revision == head
    assert len(list(MIGRATIONS_DIR.glob("versions/0*.py"))) == int(head or 0)  # no gaps
    assert {
        "analyses",
        "outbox",
        "processed_events",
        "datasets",
        "api_keys",
        "pending_cancellations",
    } <= tables


async def test_analysis_row_is_written_and_read_back(engine: AsyncEngine) -> None:
    analysis_id = uuid.uuid4()
    request = {"question": "mean revenue?", "dataset_id": str(uuid.uuid4())}
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO analyses (analysis_id, tenant_id, question, request) "
                "VALUES (:id, 'tenant-a', :q, CAST(:r AS jsonb))"
            ),
            {"id": analysis_id, "q": request["question"], "r": json.dumps(request)},
        )
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "SELECT tenant_id, status, request, citations FROM analyses"
                    " WHERE analysis_id = :id"
                ),
                {"id": analysis_id},
            )
        ).one()
        version = (await connection.execute(text("SELECT version()"))).scalar_one()
    async with engine.begin() as connection:  # an accepted row nobody runs: leave none
        await connection.execute(
            text("DELETE FROM analyses WHERE analysis_id = :id"), {"id": analysis_id}
        )
    assert row.tenant_id == "tenant-a"
    assert row.status == "accepted"
    assert row.request == request
    assert row.citations == []
    assert version.startswith("PostgreSQL")


async def test_status_outside_the_lifecycle_is_rejected(engine: AsyncEngine) -> None:
    with pytest.raises(IntegrityError, match="analyses_status_valid"):
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO analyses (analysis_id, tenant_id, status, question, request) "
                    "VALUES (:id, 't', 'exploded', 'q', '{}'::jsonb)"
                ),
                {"id": uuid.uuid4()},
            )
