"""Leases and cancellation on ``analyses``.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24

* ``lease_owner`` / ``lease_expires_at``: the orchestrator instance running an analysis
  holds a lease it renews while it works. A redelivered request (rebalance, crash) finds
  the lease held and waits instead of starting a second run; once the holder is gone
  and the lease has expired, another instance takes the analysis over and resumes it
  from its checkpoint.
* ``cancel_requested_at`` / ``cancel_reason``: a cancel request, read by the workflow at
  every step boundary.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("analyses", sa.Column("lease_owner", sa.String(128)))
    op.add_column("analyses", sa.Column("lease_expires_at", sa.DateTime(timezone=True)))
    op.add_column("analyses", sa.Column("cancel_requested_at", sa.DateTime(timezone=True)))
    op.add_column("analyses", sa.Column("cancel_reason", sa.Text()))
    op.add_column(
        "analyses", sa.Column("attempts", sa.Integer(), nullable=False, server_default="0")
    )


def downgrade() -> None:
    for column in ("attempts", "cancel_reason", "cancel_requested_at", "lease_expires_at"):
        op.drop_column("analyses", column)
    op.drop_column("analyses", "lease_owner")
