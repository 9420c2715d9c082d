"""PostgreSQL access: the async engine factory and the Alembic migrations of the results schema."""

from sextant_storage.database.engine import autocommit, create_engine
from sextant_storage.database.migrate import upgrade_to_head

__all__ = ["autocommit", "create_engine", "upgrade_to_head"]
