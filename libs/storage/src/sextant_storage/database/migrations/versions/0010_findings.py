"""Findings and ungrounded names of a completed answer.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

The orchestrator turns each tool result into findings (statement, values, the tool call,
the path of each value) and checks the names an answer states against its evidence
(``AnalysisCompleted.findings``, ``ungrounded_values``); the API returns both with the
answer. Rows finished before this migration read as empty lists.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE analyses ADD COLUMN findings jsonb NOT NULL DEFAULT '[]',"
        " ADD COLUMN ungrounded_values jsonb NOT NULL DEFAULT '[]'"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE analyses DROP COLUMN findings, DROP COLUMN ungrounded_values")
