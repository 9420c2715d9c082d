"""Webhooks: tenants' endpoints, and the deliveries owed to them.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03

A delivery row is written in the same statement that records a terminal event for SSE
(the ingress's event recorder), once per subscribed endpoint and event: the table is the
outbox of the HTTP deliveries, so none is lost when a process dies, and
``UNIQUE (webhook_id, event_id)`` keeps a redelivered Kafka record from owing it twice.
The deliverer claims due rows with a lease (``FOR UPDATE SKIP LOCKED``: replicas share
the work), and keeps each row's outcome for ``GET /v1/webhooks/{id}/deliveries``.
The signing secret is stored as it is: every delivery is signed with it.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE TABLE webhooks ("
        " webhook_id uuid PRIMARY KEY,"
        " tenant_id text NOT NULL,"
        " url text NOT NULL,"
        " events text[] NOT NULL,"
        " secret text NOT NULL,"
        " created_at timestamptz NOT NULL DEFAULT now())"
    )
    op.execute("CREATE INDEX webhooks_tenant ON webhooks (tenant_id)")
    op.execute(
        "CREATE TABLE webhook_deliveries ("
        " delivery_id uuid PRIMARY KEY,"
        " webhook_id uuid NOT NULL REFERENCES webhooks ON DELETE CASCADE,"
        " tenant_id text NOT NULL,"
        " event_id uuid NOT NULL,"
        " event_type text NOT NULL,"
        " analysis_id uuid NOT NULL,"
        " payload jsonb NOT NULL,"
        " status text NOT NULL DEFAULT 'pending'"
        "  CHECK (status IN ('pending', 'delivered', 'failed')),"
        " attempts integer NOT NULL DEFAULT 0,"
        " next_attempt_at timestamptz NOT NULL DEFAULT now(),"
        " leased_until timestamptz,"
        " last_status_code integer,"
        " last_error text,"
        " created_at timestamptz NOT NULL DEFAULT now(),"
        " finished_at timestamptz,"
        " UNIQUE (webhook_id, event_id))"
    )
    op.execute(
        "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)"
        " WHERE status = 'pending'"
    )
    op.execute("CREATE INDEX webhook_deliveries_of ON webhook_deliveries (webhook_id, created_at)")


def downgrade() -> None:
    op.execute("DROP TABLE webhook_deliveries")
    op.execute("DROP TABLE webhooks")
