"""Datasets listed: each upload's name and shape, so a person can pick one again.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03

The ingress measures rows and columns on upload (it reads every row to refuse malformed
data); it now keeps them, with the file's name when there is one, so ``GET /v1/datasets``
can list a tenant's datasets in words a person recognises. Datasets stored before this
revision have none of the three (NULL).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE datasets"
        " ADD COLUMN name text CHECK (char_length(name) BETWEEN 1 AND 255),"
        " ADD COLUMN row_count integer CHECK (row_count >= 0),"
        " ADD COLUMN column_count integer CHECK (column_count >= 0)"
    )


def downgrade() -> None:
    op.execute(
        "ALTER TABLE datasets DROP COLUMN name, DROP COLUMN row_count, DROP COLUMN column_count"
    )
