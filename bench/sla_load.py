"""The database of bench/sla.py, `supportbot_bench`: created afresh, migrated and bulk-loaded with
COPY, as an open desk for the sweep or as two years of history for the reports."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import asyncpg

from bench.postgres import database_url, dsn, recreate_database
from bench.sla_tickets import NOW, NUDGE_AFTER, TICKET_COLUMNS, Generator, records
from storage.migrate import upgrade

DATABASE = "supportbot_bench"
CHUNK = 50_000


def urls() -> tuple[str, str]:
    """(SQLAlchemy URL, asyncpg DSN) of the bench database."""
    url = database_url(DATABASE)
    return url, dsn(url)


async def copy(
    conn: asyncpg.Connection, table: str, columns: list[str], rows: Iterator[tuple[Any, ...]]
) -> int:
    count = 0
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK:
            await conn.copy_records_to_table(table, records=chunk, columns=columns)
            count += len(chunk)
            chunk = []
    if chunk:
        await conn.copy_records_to_table(table, records=chunk, columns=columns)
        count += len(chunk)
    return count


async def reset_database() -> None:
    await recreate_database(DATABASE)
    await asyncio.to_thread(upgrade, urls()[0])


async def load_customers(conn: asyncpg.Connection, customers: int) -> None:
    await copy(
        conn,
        "customers",
        ["id", "channel", "external_id", "name", "announcements", "created_at"],
        (
            (i, "webchat", f"c{i}", f"Customer {i}", True, NOW - timedelta(days=800))
            for i in range(1, customers + 1)
        ),
    )


async def finish_load(conn: asyncpg.Connection) -> None:
    for table in ("customers", "conversations", "tickets", "outbox", "feedback", "self_service_resolutions"):
        await conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
        )
    await conn.execute("VACUUM ANALYZE")


async def load_open_desk(open_count: int, due: int, nudges: int, seed: int) -> tuple[list[int], list[int]]:
    """`open_count` open tickets from the last 10 days; `due` of them have their reminder due now
    (every other one on a next-response clock), the next `nudges` wait on a customer to nudge now."""
    gen = Generator(seed)
    conn = await asyncpg.connect(urls()[1])
    try:
        customers = max(1, open_count // 5)
        await load_customers(conn, customers)
        due_ids: list[int] = []
        nudge_ids: list[int] = []

        def rows() -> Iterator[tuple[Any, ...]]:
            for ticket_id in range(1, open_count + 1):
                created = NOW - timedelta(seconds=gen.rng.uniform(0, 10 * 86400))
                row = gen.open(ticket_id, created, customers, NOW)
                if ticket_id <= due:  # reminder due a moment ago, deadline still ahead
                    row.update(
                        status="open",
                        tier=1,
                        first_response_at=None,
                        warn_due_at=NOW - timedelta(seconds=gen.rng.uniform(1, 240)),
                        response_due_at=NOW + timedelta(minutes=20),
                        reminded_tier=0,
                        breached_tier=0,
                        response_round=0,
                        next_warn_at=None,
                        next_response_due_at=None,
                        paused_at=None,
                        lifecycle_check_at=None,
                    )
                    row["sla_check_at"] = row["warn_due_at"]
                    if ticket_id % 2:  # answered once; the customer's latest message waits
                        row.update(
                            first_response_at=NOW - timedelta(hours=2),
                            status="acknowledged",
                            response_round=1,
                            next_warn_at=row["warn_due_at"],
                            next_response_due_at=row["response_due_at"],
                            warn_due_at=NOW - timedelta(hours=3),
                            response_due_at=NOW - timedelta(hours=2),
                        )
                    due_ids.append(ticket_id)
                elif ticket_id <= due + nudges:  # asked two days ago and never answered
                    paused = NOW - NUDGE_AFTER - timedelta(seconds=gen.rng.uniform(1, 240))
                    row.update(status="waiting_customer", paused_at=paused, nudged_at=None, sla_check_at=None)
                    row["first_response_at"] = row["first_response_at"] or paused
                    row["lifecycle_check_at"] = paused + NUDGE_AFTER
                    nudge_ids.append(ticket_id)
                elif row["sla_check_at"] is not None and row["sla_check_at"] <= NOW:
                    row["sla_check_at"] = NOW + timedelta(seconds=gen.rng.uniform(60, 2 * 86400))
                elif row["first_response_at"] is None and row["sla_check_at"] is None:
                    # Breached at the top tier long ago: off the sweep, as the sweep leaves it.
                    row["tier"], row["breached_tier"], row["reminded_tier"] = 3, 3, 3
                if (
                    row["lifecycle_check_at"] is not None
                    and row["lifecycle_check_at"] <= NOW
                    and ticket_id > due + nudges
                ):
                    row["lifecycle_check_at"] = NOW + timedelta(seconds=gen.rng.uniform(60, 2 * 86400))
                yield tuple(row[c] for c in TICKET_COLUMNS)

        await copy(conn, "tickets", TICKET_COLUMNS, rows())
        await finish_load(conn)
        return due_ids, nudge_ids
    finally:
        await conn.close()


async def load_history(total: int, open_share: float, seed: int) -> dict[str, int]:
    """`total` tickets over two years, `open_share` of them open, with outbox, feedback, self-service."""
    gen = Generator(seed)
    rng = gen.rng
    span = 730 * 86400
    ages = sorted(rng.uniform(0, span) for _ in range(total))  # newest first
    open_target = round(total * open_share)
    recent_target = round(open_target * 0.85)
    stale_p = (open_target - recent_target) / max(1.0, total - recent_target / 0.8)
    customers = max(1, total // 20)
    conn = await asyncpg.connect(urls()[1])
    counts: dict[str, int] = {}
    try:
        await load_customers(conn, customers)
        conversations = 1000
        await copy(
            conn,
            "conversations",
            ["id", "channel", "sender", "state", "created_at", "updated_at"],
            ((i, "webchat", f"s{i}", "{}", NOW, NOW) for i in range(1, conversations + 1)),
        )
        opened = 0
        tickets: list[dict[str, Any]] = []
        for index, age in enumerate(ages):
            ticket_id = total - index  # ids ascend with creation time
            created = NOW - timedelta(seconds=age)
            recent = opened < recent_target
            is_open = rng.random() < 0.8 if recent else rng.random() < stale_p
            if is_open:
                opened += 1
                tickets.append(gen.open(ticket_id, created, customers, NOW))
            else:
                tickets.append(gen.done(ticket_id, created, customers, NOW))
        tickets.reverse()
        counts["tickets"] = await copy(conn, "tickets", TICKET_COLUMNS, iter(records(tickets)))
        counts["open"] = opened

        def outbox() -> Iterator[tuple[Any, ...]]:
            for i, row in enumerate(tickets, start=1):
                sent = row["created_at"] + timedelta(seconds=2)
                delivered = sent if sent < NOW else None
                dead = None
                if i % 25_000 == 0:  # a few dead letters
                    delivered, dead = None, sent
                yield (
                    i,
                    "agent",
                    "#support-tier1",
                    row["id"],
                    "{}",
                    row["created_at"],
                    1,
                    sent,
                    delivered,
                    dead,
                )

        counts["outbox"] = await copy(
            conn,
            "outbox",
            [
                "id",
                "kind",
                "target",
                "ticket_id",
                "payload",
                "created_at",
                "attempts",
                "next_attempt_at",
                "delivered_at",
                "dead_at",
            ],
            outbox(),
        )

        def feedback() -> Iterator[tuple[Any, ...]]:
            n = 0
            for row in tickets:
                if row["resolved_at"] is not None and rng.random() < 0.25:
                    n += 1
                    rating = rng.choices([1, 2, 3, 4, 5], [0.04, 0.06, 0.15, 0.35, 0.4])[0]
                    yield (n, row["id"], rating, row["resolved_at"] + timedelta(minutes=5))

        counts["feedback"] = await copy(
            conn, "feedback", ["id", "ticket_id", "rating", "created_at"], feedback()
        )

        def self_service() -> Iterator[tuple[Any, ...]]:
            for i in range(1, total // 8 + 1):
                at = NOW - timedelta(seconds=rng.uniform(0, span))
                yield (i, rng.randint(1, conversations), "webchat", "technical", "restart", at)

        counts["self_service"] = await copy(
            conn,
            "self_service_resolutions",
            ["id", "conversation_id", "channel", "category", "step", "at"],
            self_service(),
        )
        # A trail for the ticket whose timeline is timed.
        await conn.executemany(
            "INSERT INTO ticket_events (ticket_id, at, kind, actor, data) VALUES ($1, $2, $3, 'bench', '{}')",
            [
                (total, NOW - timedelta(minutes=30 - i), kind)
                for i, kind in enumerate(["created", "escalated"])
            ],
        )
        await finish_load(conn)
        return counts
    finally:
        await conn.close()


async def without_stale_open() -> int:
    """Close the open tickets older than 30 days: a tidy desk, where every open ticket is recent."""
    conn = await asyncpg.connect(urls()[1])
    try:
        status = await conn.execute(
            "UPDATE tickets SET status = 'closed', closed_at = $1 "
            "WHERE status IN ('open', 'acknowledged', 'waiting_customer') AND created_at < $2",
            NOW,
            NOW - timedelta(days=30),
        )
        await conn.execute("VACUUM ANALYZE tickets")
    finally:
        await conn.close()
    return int(status.split()[-1])
