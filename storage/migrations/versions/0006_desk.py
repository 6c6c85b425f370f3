"""self-service articles (the one that solved an intake, the ones a ticket tried), events by kind and time

Revision ID: 0006_desk
Revises: 0005_khmer
Create Date: 2026-12-05 07:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_desk"
down_revision: str | None = "0005_khmer"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("self_service_resolutions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("article", sa.String(length=80), nullable=True))
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("articles_tried", sa.JSON(), nullable=True))
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_events_kind_at", ["kind", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_events_kind_at")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("articles_tried")
    with op.batch_alter_table("self_service_resolutions", schema=None) as batch_op:
        batch_op.drop_column("article")
