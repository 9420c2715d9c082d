"""Threads: conversations of analyses, each follow-up seeing the turns before it.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03

An analysis's thread is the ``thread_id`` of its request (``AnalysisRequested.thread_id``,
whichever door it came through), so it is a column generated from the stored request:
neither writer of ``analyses`` has to set it. ``threads`` holds the ones created over
REST before their first question (``POST /v1/threads``). The ingress's view gains the
thread and the dataset asked about (a follow-up over REST may leave the dataset out: it
asks about the thread's last one).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE TABLE threads ("
        " thread_id uuid NOT NULL,"
        " tenant_id text NOT NULL,"
        " created_at timestamptz NOT NULL DEFAULT now(),"
        " PRIMARY KEY (tenant_id, thread_id))"
    )
    op.execute(
        "ALTER TABLE analyses ADD COLUMN thread_id uuid"
        " GENERATED ALWAYS AS (CAST(request->>'thread_id' AS uuid)) STORED"
    )
    op.execute(
        "CREATE INDEX analyses_thread ON analyses (tenant_id, thread_id, created_at)"
        " WHERE thread_id IS NOT NULL"
    )
    op.execute(
        "CREATE OR REPLACE VIEW analysis_views AS SELECT analysis_id, tenant_id, status,"
        " question, answer, citations, ungrounded_numbers, ungrounded_values, findings,"
        " tool_calls, usage, timings_ms, error, terminal_event_id, idempotency_key,"
        " request_hash, created_at, finished_at, thread_id,"
        " CAST(request->>'dataset_id' AS uuid) AS dataset_id FROM analyses"
    )


def downgrade() -> None:
    op.execute("DROP VIEW analysis_views")
    op.execute(
        "CREATE VIEW analysis_views AS SELECT analysis_id, tenant_id, status, question, answer,"
        " citations, ungrounded_numbers, ungrounded_values, findings, tool_calls, usage,"
        " timings_ms, error, terminal_event_id, idempotency_key, request_hash,"
        " created_at, finished_at FROM analyses"
    )
    op.execute("DROP INDEX analyses_thread")
    op.execute("ALTER TABLE analyses DROP COLUMN thread_id")
    op.execute("DROP TABLE threads")
