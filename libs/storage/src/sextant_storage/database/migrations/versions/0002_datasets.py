"""Datasets held by reference (claim check) for the tools service.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

Content lives in PostgreSQL (``bytea``, TOAST-compressed) next to its metadata so that
one backup holds everything; the size limit (50 MB by default) keeps rows reasonable.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("dataset_id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("media_type", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint(
            "media_type IN ('text/csv', 'application/json')", name="datasets_media_type_valid"
        ),
    )
    op.create_index("datasets_tenant_created", "datasets", ["tenant_id", "created_at"])


def downgrade() -> None:
    op.drop_index("datasets_tenant_created", table_name="datasets")
    op.drop_table("datasets")
