"""Charts: the tool results of a completed analysis drawn as Vega-Lite specifications.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03

Stored with the analysis like its findings (the completed event carries them too), and
shown by the ingress's view.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    "analysis_id, tenant_id, status, question, answer, citations, ungrounded_numbers,"
    " ungrounded_values, findings, tool_calls, usage, timings_ms, error, terminal_event_id,"
    " idempotency_key, request_hash, created_at, finished_at, thread_id,"
    " CAST(request->>'dataset_id' AS uuid) AS dataset_id,"
    " (SELECT i.request FROM analysis_interrupts i WHERE i.analysis_id = a.analysis_id"
    "  AND i.resolved_at IS NULL ORDER BY i.created_at DESC LIMIT 1) AS interrupt"
)


def upgrade() -> None:
    op.execute("ALTER TABLE analyses ADD COLUMN charts jsonb NOT NULL DEFAULT '[]'")
    op.execute(
        f"CREATE OR REPLACE VIEW analysis_views AS SELECT {_COLUMNS}, charts FROM analyses a"  # noqa: S608 - fixed columns
    )


def downgrade() -> None:
    op.execute("DROP VIEW analysis_views")
    op.execute(f"CREATE VIEW analysis_views AS SELECT {_COLUMNS} FROM analyses a")  # noqa: S608
    op.execute("ALTER TABLE analyses DROP COLUMN charts")
