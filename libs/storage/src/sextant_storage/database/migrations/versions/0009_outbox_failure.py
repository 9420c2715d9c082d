"""Why an outbox row was given up on, instead of it blocking every row after it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24

A row Kafka can never accept (larger than the producer's ``max_request_size`` or the
brokers' ``message.max.bytes``) was retried forever, and the relay publishes in order:
every later event of the service waited behind it. Such a row now leaves the outbox
(``published_at`` set, so the unpublished index stays small) with ``failure`` saying why.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE outbox ADD COLUMN failure text")


def downgrade() -> None:
    op.execute("ALTER TABLE outbox DROP COLUMN failure")
