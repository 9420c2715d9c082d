"""Events keyed by tenant; cancellations that arrive before their analysis.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

``analysis_events`` was keyed by (analysis, sequence): a producer of another tenant that
published an event for the same analysis id and sequence first took the key, and the
owner's event was dropped as a duplicate. The key now starts with the tenant.

``pending_cancellations`` holds a cancel command whose analysis has no row yet (its
request, published straight to Kafka, is still on its way: the two topics are read
independently). The run reads it like the row's own flag, so the analysis ends
``cancelled`` before its first step instead of the command being dropped.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE analysis_events DROP CONSTRAINT analysis_events_pkey,"
        " ADD PRIMARY KEY (tenant_id, analysis_id, sequence)"
    )
    op.execute(
        "CREATE TABLE pending_cancellations ("
        " tenant_id varchar(64) NOT NULL,"
        " analysis_id uuid NOT NULL,"
        " reason text NOT NULL,"
        " requested_at timestamptz NOT NULL DEFAULT now(),"
        " PRIMARY KEY (analysis_id, tenant_id))"
    )
    op.execute(
        "CREATE INDEX pending_cancellations_requested ON pending_cancellations (requested_at)"
    )


def downgrade() -> None:
    op.execute("DROP TABLE pending_cancellations")
    # The old key holds one event per (analysis, sequence): the earliest recorded stays.
    op.execute(
        "DELETE FROM analysis_events later USING analysis_events earlier"
        " WHERE later.analysis_id = earlier.analysis_id AND later.sequence = earlier.sequence"
        " AND (later.recorded_at, later.tenant_id) > (earlier.recorded_at, earlier.tenant_id)"
    )
    op.execute(
        "ALTER TABLE analysis_events DROP CONSTRAINT analysis_events_pkey,"
        " ADD PRIMARY KEY (analysis_id, sequence)"
    )
