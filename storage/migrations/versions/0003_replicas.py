"""telegram_updates: webhook updates kept until handled, per chat in update_id order

Revision ID: 0003_replicas
Revises: 0002
Create Date: 2026-12-05 06:58:41
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_replicas"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "telegram_updates",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chat", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_telegram_updates")),
    )
    op.create_index("ix_telegram_updates_chat", "telegram_updates", ["chat", "update_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_telegram_updates_chat", table_name="telegram_updates")
    op.drop_table("telegram_updates")
