"""Apply the Alembic migrations programmatically (``provision migrate``, test fixtures)."""

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

from sextant_platform.settings import PostgresSettings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(settings: PostgresSettings) -> Config:
    """An Alembic config pointing at the packaged migrations and ``settings``' database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["postgres_settings"] = settings
    return config


def _upgrade(settings: PostgresSettings, revision: str) -> None:
    command.upgrade(alembic_config(settings), revision)


async def upgrade_to_head(settings: PostgresSettings) -> None:
    """Bring the schema up to date; Alembic is synchronous, so it runs in a worker thread."""
    await asyncio.to_thread(_upgrade, settings, "head")
