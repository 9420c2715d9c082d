"""Interrupts: an analysis paused for an answer, and the answers it got.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03

``interrupted`` joins the statuses. ``analysis_interrupts`` holds each pause (the
published ``AnalysisInterrupted``) and, once answered, its response: the orchestrator
resumes the workflow from its checkpoint with the response read here, so a crash
between the answer and the resumed step loses nothing. ``woken_at`` restarts the
deadline's clock when an analysis resumes (a person may answer hours later). The view
shows the pending interrupt.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_VIEW_COLUMNS = (
    "analysis_id, tenant_id, status, question, answer, citations, ungrounded_numbers,"
    " ungrounded_values, findings, tool_calls, usage, timings_ms, error, terminal_event_id,"
    " idempotency_key, request_hash, created_at, finished_at, thread_id,"
    " CAST(request->>'dataset_id' AS uuid) AS dataset_id"
)


def upgrade() -> None:
    op.execute("ALTER TABLE analyses DROP CONSTRAINT analyses_status_valid")
    op.execute(
        "ALTER TABLE analyses ADD CONSTRAINT analyses_status_valid CHECK (status IN"
        " ('accepted', 'running', 'interrupted', 'completed', 'failed', 'cancelled'))"
    )
    op.execute("ALTER TABLE analyses ADD COLUMN woken_at timestamptz")
    op.execute(
        "CREATE TABLE analysis_interrupts ("
        " interrupt_id uuid PRIMARY KEY,"
        " analysis_id uuid NOT NULL,"
        " tenant_id text NOT NULL,"
        " request jsonb NOT NULL,"
        " created_at timestamptz NOT NULL DEFAULT now(),"
        " expires_at timestamptz,"
        " response jsonb,"
        " resolved_at timestamptz,"
        " resolved_by text)"
    )
    op.execute(
        "CREATE INDEX analysis_interrupts_analysis ON analysis_interrupts (analysis_id, created_at)"
    )
    op.execute(
        "CREATE INDEX analysis_interrupts_due ON analysis_interrupts (expires_at)"
        " WHERE resolved_at IS NULL AND expires_at IS NOT NULL"
    )
    op.execute(
        f"CREATE OR REPLACE VIEW analysis_views AS SELECT {_VIEW_COLUMNS},"  # noqa: S608 - fixed columns
        " (SELECT i.request FROM analysis_interrupts i WHERE i.analysis_id = a.analysis_id"
        "  AND i.resolved_at IS NULL ORDER BY i.created_at DESC LIMIT 1) AS interrupt"
        " FROM analyses a"
    )


def downgrade() -> None:
    op.execute("DROP VIEW analysis_views")
    op.execute(f"CREATE VIEW analysis_views AS SELECT {_VIEW_COLUMNS} FROM analyses")  # noqa: S608
    op.execute("DROP TABLE analysis_interrupts")
    op.execute("ALTER TABLE analyses DROP COLUMN woken_at")
    # The schema before interrupts has no way to wait: a waiting analysis ends, saying why.
    op.execute(
        "UPDATE analyses SET status = 'failed', finished_at = now(), updated_at = now(),"
        " lease_owner = NULL, lease_expires_at = NULL, error = jsonb_build_object('code',"
        " 'interrupt_timed_out', 'reason', 'it waited for an answer when the database"
        " schema was downgraded below interrupts', 'step', NULL)"
        " WHERE status = 'interrupted'"
    )
    op.execute("ALTER TABLE analyses DROP CONSTRAINT analyses_status_valid")
    op.execute(
        "ALTER TABLE analyses ADD CONSTRAINT analyses_status_valid CHECK (status IN"
        " ('accepted', 'running', 'completed', 'failed', 'cancelled'))"
    )
