"""Numbers in a completed answer that none of its evidence contains.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24

The orchestrator checks every number of an answer against its tool results, passages
and question (``AnalysisCompleted.ungrounded_numbers``); the API shows the list with the
answer. Rows finished before this migration read as an empty list: they were not checked.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE analyses ADD COLUMN ungrounded_numbers jsonb NOT NULL DEFAULT '[]'")


def downgrade() -> None:
    op.execute("ALTER TABLE analyses DROP COLUMN ungrounded_numbers")
