"""The one way services build an async SQLAlchemy engine (asyncpg driver)."""

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from sextant_platform.settings import PostgresSettings


def create_engine(settings: PostgresSettings) -> AsyncEngine:
    """A pooled engine; ``pool_pre_ping`` replaces connections a Postgres restart broke."""
    return create_async_engine(
        settings.sqlalchemy_url(),
        pool_size=settings.POOL_SIZE,
        max_overflow=settings.MAX_OVERFLOW,
        pool_pre_ping=True,
        hide_parameters=True,
    )
