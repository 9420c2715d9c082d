"""The ingress's read view of analyses.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02

The orchestrator owns the analysis lifecycle (``analyses``: status, lease, attempts,
cancel flag, results). The ingress writes only the submission (the ``accepted`` row,
with its idempotency key) and reads through ``analysis_views``: what a client may see,
without the lease and run bookkeeping, so that the orchestrator's columns can change
without the ingress changing with them.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE VIEW analysis_views AS SELECT analysis_id, tenant_id, status, question, answer,"
        " citations, ungrounded_numbers, ungrounded_values, findings, tool_calls, usage,"
        " timings_ms, error, terminal_event_id, idempotency_key, request_hash,"
        " created_at, finished_at FROM analyses"
    )


def downgrade() -> None:
    op.execute("DROP VIEW analysis_views")
