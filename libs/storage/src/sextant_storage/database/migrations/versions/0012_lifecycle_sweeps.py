"""What the orchestrator's lifecycle sweeps read: unfinished analyses, old rows.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

Each orchestrator sweeps, every so often: analyses whose lease expired with nobody
taking them over are driven again (``redriven_at`` spaces the re-drives), analyses past
the deadline end ``failed``, and rows past their retention are pruned. The partial
indexes keep each sweep a short index scan however many analyses have finished.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE analyses ADD COLUMN redriven_at timestamptz")
    op.execute(
        "CREATE INDEX analyses_unfinished ON analyses (created_at)"
        " WHERE status IN ('accepted', 'running')"
    )
    op.execute(
        "CREATE INDEX outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL"
    )
    op.execute("CREATE INDEX processed_events_processed ON processed_events (processed_at)")


def downgrade() -> None:
    op.execute("DROP INDEX processed_events_processed")
    op.execute("DROP INDEX outbox_published")
    op.execute("DROP INDEX analyses_unfinished")
    op.execute("ALTER TABLE analyses DROP COLUMN redriven_at")
