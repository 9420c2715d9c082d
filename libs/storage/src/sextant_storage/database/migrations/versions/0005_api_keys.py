"""API keys: each maps to one tenant; only a SHA-256 of the key is stored.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24

Keys are long random tokens, so an unsalted SHA-256 is enough to make a leaked table
useless (no dictionary to try) while keeping lookups a single indexed equality.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("key_hash", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(128), nullable=False, server_default=""),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
    )
    op.create_index("api_keys_tenant", "api_keys", ["tenant_id"])


def downgrade() -> None:
    op.drop_index("api_keys_tenant", table_name="api_keys")
    op.drop_table("api_keys")
