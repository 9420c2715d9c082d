"""Analysis events as the ingress saw them on Kafka: the history behind the SSE stream.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24

The ingress records every progress and terminal event it consumes, so a client that
reconnects with ``Last-Event-ID`` gets exactly what it missed, whichever ingress replica
it reaches, and an analysis that a producer published straight to Kafka can be followed
too. The key is (analysis, sequence): a step that re-ran after a crash repeats its
sequence and its event id, so it is recorded once.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "analysis_events",
        sa.Column("analysis_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("sequence", sa.Integer, primary_key=True),
        sa.Column("event_id", UUID(as_uuid=True), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("envelope", JSONB, nullable=False),
        sa.Column(
            "recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_index("analysis_events_recorded", "analysis_events", ["recorded_at"])


def downgrade() -> None:
    op.drop_index("analysis_events_recorded", table_name="analysis_events")
    op.drop_table("analysis_events")
