"""The LLM usage ledger: one row per model call that answered, for budgets and reports.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03

The orchestrator writes a row when a call returns (its tokens as the provider reported
them and its cost at the configured prices), keyed by a fresh call id, and sums a
tenant's rows since the start of the budget's period before each call; the ingress
reports them (``GET /v1/usage``). A call whose result was checkpointed is never made
again, so never written again; a call made again after a crash was billed again by the
provider, and is written again.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE TABLE llm_usage ("
        " call_id uuid PRIMARY KEY,"
        " analysis_id uuid NOT NULL,"
        " tenant_id text NOT NULL,"
        " step text NOT NULL,"
        " provider text NOT NULL,"
        " model text NOT NULL,"
        " input_tokens integer NOT NULL CHECK (input_tokens >= 0),"
        " output_tokens integer NOT NULL CHECK (output_tokens >= 0),"
        " cost double precision NOT NULL DEFAULT 0 CHECK (cost >= 0),"
        " created_at timestamptz NOT NULL DEFAULT now())"
    )
    op.execute("CREATE INDEX llm_usage_tenant_time ON llm_usage (tenant_id, created_at)")
    op.execute("CREATE INDEX llm_usage_analysis ON llm_usage (analysis_id)")


def downgrade() -> None:
    op.execute("DROP TABLE llm_usage")
