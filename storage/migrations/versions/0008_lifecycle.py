"""the life of a ticket: next-response clocks, waiting on the customer, owners, links, shifts

Revision ID: 0008_lifecycle
Revises: 0007_outbox
Create Date: 2026-12-05 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_lifecycle"
down_revision: str | None = "0007_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "agent_shifts",
        sa.Column("agent", sa.String(length=128), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("on_shift", sa.Boolean(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("assigned", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("agent", "tier", name=op.f("pk_agent_shifts")),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("response_round", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("next_response_due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("next_warn_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("next_response_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("sla_breaches", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("paused_seconds", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("clock_paused", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("nudged_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("lifecycle_check_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("owner", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("reopened_from_id", _ID, nullable=True))
        batch_op.add_column(sa.Column("followup_id", _ID, nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_tickets_reopened_from_id_tickets"), "tickets", ["reopened_from_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_tickets_followup_id_tickets"), "tickets", ["followup_id"], ["id"]
        )
        batch_op.create_index(
            "ix_tickets_lifecycle_check",
            ["lifecycle_check_at"],
            unique=False,
            postgresql_where=sa.text("lifecycle_check_at IS NOT NULL"),
            sqlite_where=sa.text("lifecycle_check_at IS NOT NULL"),
        )
    # Tickets already resolved close on the policy's schedule from the first sweep on.
    op.execute("UPDATE tickets SET lifecycle_check_at = resolved_at WHERE status = 'resolved'")


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_lifecycle_check")
        batch_op.drop_constraint(batch_op.f("fk_tickets_followup_id_tickets"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_tickets_reopened_from_id_tickets"), type_="foreignkey")
        for column in (
            "followup_id",
            "reopened_from_id",
            "owner",
            "lifecycle_check_at",
            "nudged_at",
            "clock_paused",
            "paused_seconds",
            "paused_at",
            "sla_breaches",
            "next_response_at",
            "next_warn_at",
            "next_response_due_at",
            "response_round",
        ):
            batch_op.drop_column(column)
    op.drop_table("agent_shifts")
