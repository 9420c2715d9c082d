"""Alembic environment: runs migrations over asyncpg with the settings the caller passed."""

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from sextant_platform.settings import PostgresSettings
from sextant_storage.database.engine import create_engine


def _run(connection: Connection, schema: str) -> None:
    context.configure(connection=connection, target_metadata=None, version_table_schema=schema)
    with context.begin_transaction():
        context.run_migrations()


async def _run_online(settings: PostgresSettings) -> None:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            await connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{settings.SCHEMA}"'))
            await connection.execute(text(f'SET search_path TO "{settings.SCHEMA}"'))
            await connection.commit()
            await connection.run_sync(_run, settings.SCHEMA)
            await connection.commit()
    finally:
        await engine.dispose()


settings = context.config.attributes.get("postgres_settings") or PostgresSettings()
asyncio.run(_run_online(settings))
