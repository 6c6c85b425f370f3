"""stats indexes: covering indexes for the managers' statistics

The stats report reads, of the tickets opened in a period, their category, priority, deadline and
first response, and of those resolved in it, their category, priority and creation. With these
columns in the index the database answers from the index alone (no table lookups). They replace
the plain created_at and resolved_at indexes, which they serve as well (same leading column).

Revision ID: 0009_stats_indexes
Revises: 0008_lifecycle
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009_stats_indexes"
down_revision: str | None = "0008_lifecycle"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CREATED = ["created_at", "category", "priority", "response_due_at", "first_response_at"]
RESOLVED = ["resolved_at", "category", "priority", "created_at"]


def upgrade() -> None:
    op.create_index("ix_tickets_created_stats", "tickets", CREATED, unique=False)
    op.create_index("ix_tickets_resolved_stats", "tickets", RESOLVED, unique=False)
    op.drop_index("ix_tickets_created", table_name="tickets")
    op.drop_index("ix_tickets_resolved", table_name="tickets")


def downgrade() -> None:
    op.create_index("ix_tickets_resolved", "tickets", ["resolved_at"], unique=False)
    op.create_index("ix_tickets_created", "tickets", ["created_at"], unique=False)
    op.drop_index("ix_tickets_resolved_stats", table_name="tickets")
    op.drop_index("ix_tickets_created_stats", table_name="tickets")
