"""SQLAlchemy 2 models: the one schema on SQLite and PostgreSQL.

Times are stored as UTC (`UTCDateTime`), shown in the policy's timezone by the layers above.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Integer primary keys: BIGINT on PostgreSQL, INTEGER (rowid alias) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Customer(Base):
    """A person who wrote to us on one channel; contact details are remembered for next time."""

    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_customers_channel_external"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    announcements: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set when the platform refuses messages for good (a Telegram user who blocked the bot);
    # cleared when the customer writes again. Announcements skip unreachable customers.
    unreachable_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Conversation(Base):
    """Dialogue state per (channel, sender), so a restart continues where the customer was."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("channel", "sender", name="uq_conversations_channel_sender"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    sender: Mapped[str] = mapped_column(String(128))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    handoff_ticket_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class InboundMessage(Base):
    """Platform message ids already handled: a redelivered message is answered once.

    Keyed by sender too: web chat ids are chosen by the client and Telegram's are unique only
    within one chat, so one customer's id must never replay another customer's answer.
    """

    __tablename__ = "inbound_messages"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    sender: Mapped[str] = mapped_column(String(128), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    replies: Mapped[list[Any]] = mapped_column(default=list)


class TelegramUpdate(Base):
    """Telegram updates received by webhook, kept until handled: with several replicas each
    chat's updates are handled one at a time, in `update_id` order, once
    (bot/channels/telegram/channel.py; storage/repositories/inbound.py)."""

    __tablename__ = "telegram_updates"
    __table_args__ = (Index("ix_telegram_updates_chat", "chat", "update_id"),)

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat: Mapped[str] = mapped_column(String(32))  # "" for an update of no chat
    payload: Mapped[dict[str, Any]]
    received_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    handled_at: Mapped[datetime | None]


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        # The SLA sweep reads only tickets it has something to do for, soonest first.
        Index(
            "ix_tickets_sla_check",
            "sla_check_at",
            postgresql_where=text("sla_check_at IS NOT NULL"),
            sqlite_where=text("sla_check_at IS NOT NULL"),
        ),
        Index("ix_tickets_status", "status", "priority", "tier"),
        Index("ix_tickets_customer", "customer_id", "created_at"),
        # The stats report reads these columns of the tickets opened (created_stats) and resolved
        # (resolved_stats) in a period: covering indexes let it skip the table (migration 0009).
        Index(
            "ix_tickets_created_stats",
            "created_at",
            "category",
            "priority",
            "response_due_at",
            "first_response_at",
        ),
        # The managers' reports: the oldest open ticket (a plain created_at scan would walk the
        # whole closed history first), and tickets resolved in a period. The predicate names the
        # open statuses (desk.tickets.OPEN_STATUSES); a query uses the index only when it names
        # the same statuses as literals.
        Index(
            "ix_tickets_open",
            "created_at",
            postgresql_where=text("status IN ('open', 'acknowledged', 'waiting_customer')"),
            sqlite_where=text("status IN ('open', 'acknowledged', 'waiting_customer')"),
        ),
        Index("ix_tickets_resolved_stats", "resolved_at", "category", "priority", "created_at"),
        Index(
            "ix_tickets_lifecycle_check",
            "lifecycle_check_at",
            postgresql_where=text("lifecycle_check_at IS NOT NULL"),
            sqlite_where=text("lifecycle_check_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    category: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(24), default="open")
    tier: Mapped[int] = mapped_column(Integer, default=1)
    channel: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    troubleshooting: Mapped[list[Any]] = mapped_column(default=list)
    exclusion: Mapped[str | None] = mapped_column(String(24))
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")  # en | km
    sentiment: Mapped[str | None] = mapped_column(String(16))  # None, or "frustrated"
    # Slugs of the knowledge articles offered before the ticket that did not solve it.
    articles_tried: Mapped[list[Any] | None]
    maintenance_id: Mapped[int | None] = mapped_column(ForeignKey("maintenance_windows.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    clock_started_at: Mapped[datetime] = mapped_column(default=utcnow)
    response_due_at: Mapped[datetime]
    warn_due_at: Mapped[datetime]
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # SLA sweep bookkeeping: when the sweep must next look at this ticket (the reminder time,
    # then the deadline; NULL once answered), and the highest tiers already reminded / breached.
    sla_check_at: Mapped[datetime | None]
    reminded_tier: Mapped[int] = mapped_column(Integer, default=0)
    breached_tier: Mapped[int] = mapped_column(Integer, default=0)
    # The life after the first response (desk/lifecycle.py). `response_round` 0 is the first
    # response; each customer message after an answer starts round n+1 with its own deadline.
    response_round: Mapped[int] = mapped_column(Integer, default=0)
    next_response_due_at: Mapped[datetime | None]
    next_warn_at: Mapped[datetime | None]
    next_response_at: Mapped[datetime | None]
    sla_breaches: Mapped[int] = mapped_column(Integer, default=0)  # every breached round, on record
    # Waiting on the customer: the running clock is held, its deadline moved on when they answer.
    paused_at: Mapped[datetime | None]
    paused_seconds: Mapped[int] = mapped_column(Integer, default=0)  # wall time spent waiting, in total
    clock_paused: Mapped[bool] = mapped_column(Boolean, default=False)  # a clock was running at the pause
    nudged_at: Mapped[datetime | None]
    # When the lifecycle sweep must next look (nudge, auto-resolve, close); NULL: nothing to do.
    lifecycle_check_at: Mapped[datetime | None]
    owner: Mapped[str | None] = mapped_column(String(128))  # the agent, e.g. `slack:U123`
    reopened_from_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    followup_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))

    customer: Mapped[Customer] = relationship(lazy="raise")
    events: Mapped[list[TicketEvent]] = relationship(
        lazy="raise", order_by="TicketEvent.id", back_populates="ticket"
    )


class AgentShift(Base):
    """An agent on shift for a tier: round-robin hands new tickets to the one waiting longest."""

    __tablename__ = "agent_shifts"

    agent: Mapped[str] = mapped_column(String(128), primary_key=True)  # e.g. `slack:U123`
    tier: Mapped[int] = mapped_column(Integer, primary_key=True)
    on_shift: Mapped[bool] = mapped_column(Boolean, default=True)
    since: Mapped[datetime] = mapped_column(default=utcnow)
    last_assigned_at: Mapped[datetime | None]
    assigned: Mapped[int] = mapped_column(Integer, default=0)


class Attachment(Base):
    """A file the customer sent (a screenshot, a log): the platform's own file id, no bytes.

    Sent during an intake it waits in the conversation (`ticket_id` NULL) and joins the ticket
    when the ticket opens; the agents' desk fetches the file from the platform to show it.
    """

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))  # photo | document
    file_id: Mapped[str] = mapped_column(String(256))
    file_name: Mapped[str] = mapped_column(String(256))
    mime_type: Mapped[str | None] = mapped_column(String(128))
    size: Mapped[int | None] = mapped_column(Integer)
    caption: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ButtonPayload(Base):
    """Button payloads longer than a platform allows (Telegram: 64 bytes of callback data).

    The button carries `key`, a hash of the payload; pressing it looks the payload up here.
    """

    __tablename__ = "button_payloads"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketPost(Base):
    """A ticket's message in a tier's Slack channel; `ts` is known once Slack has it."""

    __tablename__ = "ticket_posts"
    __table_args__ = (UniqueConstraint("ticket_id", "tier", name="uq_ticket_posts_ticket_tier"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    tier: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(80))
    ts: Mapped[str | None] = mapped_column(String(32), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketEvent(Base):
    """The audit trail: every change to a ticket, who made it and when."""

    __tablename__ = "ticket_events"
    # The managers' reports count reopenings and agents' actions in a period.
    __table_args__ = (Index("ix_ticket_events_kind_at", "kind", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(128))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)

    ticket: Mapped[Ticket] = relationship(lazy="raise", back_populates="events")


class OutboxMessage(Base):
    """A notification to deliver (Slack post, Telegram message, web chat push, log line).

    Written in the same transaction as the change that causes it; the delivery job sends it
    once, with retries. `dedupe_key` makes a notification that must exist once (a reminder for
    a ticket at a tier) unique even when two replicas race.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "delivered_at", "dead_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(200))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
    dead_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # Why a row is dead, as a short code (`invalid_auth`, `channel_not_found`, `horizon`...):
    # what `/support status`, `/metrics` and `supportbot outbox list --dead` group by.
    dead_reason: Mapped[str | None] = mapped_column(String(64))
    # Set while a worker holds the row's lease, cleared with its outcome: a row claimed again
    # with it still set was being sent when its worker died (it may have reached the platform).
    claimed_at: Mapped[datetime | None]

    # Not a column: set by the claim when the row's previous lease ran out without an outcome.
    lease_expired = False


class MaintenanceWindow(Base):
    __tablename__ = "maintenance_windows"
    __table_args__ = (Index("ix_maintenance_span", "ends_at", "starts_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    message: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(128), default="system")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None]


class SelfServiceResolution(Base):
    """An intake that ended without a ticket: a troubleshooting step or an article fixed it."""

    __tablename__ = "self_service_resolutions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    channel: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(16))
    step: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # The knowledge article that solved it (its slug), when an article did rather than a step.
    article: Mapped[str | None] = mapped_column(String(80))


class Feedback(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)  # CSAT per period
