"""Messages to Telegram customers: announcements within the flood limits, 429 `retry_after`,
blocked customers, an outage that loses nothing, `/stop` and `/forget`."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select

from desk import maintenance
from desk.announce import announce_due
from storage.models import Conversation, Customer, InboundMessage, OutboxMessage, Ticket
from tests.bot.telegram import fake_telegram as tg
from tests.bot.telegram.conftest import MakeApp, TelegramApp, keyboard_of, text_of
from tests.helpers import eventually

CHAT = 555004


async def _known_customers(app: TelegramApp, chats: list[int]) -> None:
    """Customers who talked to the bot lately (announcements go to them)."""
    now = app.clock()
    async with app.services.db.session() as session:
        for chat in chats:
            customer = Customer(channel="telegram", external_id=str(chat), created_at=now)
            session.add(customer)
            await session.flush()
            session.add(
                Conversation(
                    channel="telegram",
                    sender=str(chat),
                    customer_id=customer.id,
                    state={},
                    created_at=now,
                    updated_at=now,
                )
            )
            app.api.add_chat(chat)


async def _schedule_and_announce(app: TelegramApp, *, in_hours: float = 0.5) -> int:
    now = app.clock()
    async with app.services.db.session() as session:
        await maintenance.schedule(
            session,
            starts_at=now + timedelta(hours=in_hours),
            ends_at=now + timedelta(hours=in_hours + 2),
            message="Core switch firmware upgrade",
            created_by="slack:U0MANAGER",
            now=now,
        )
    return await announce_due(app.services.db, policy=app.services.policy, now=now)


async def _drain(app: TelegramApp) -> None:
    """Deliver until no customer message waits (the app's own outbox job may be sending some)."""
    delivery = app.asgi.fastapi.state.delivery

    async def nothing_waits() -> bool:
        await delivery.run_once(kind="customer")
        async with app.services.db.reader() as session:
            query = select(OutboxMessage.id).where(
                OutboxMessage.kind == "customer",
                OutboxMessage.delivered_at.is_(None),
                OutboxMessage.dead_at.is_(None),
            )
            return (await session.execute(query)).first() is None

    await eventually(nothing_waits, within=30, what="every customer message to leave the outbox")


def _announcements(app: TelegramApp) -> list[tg.Call]:
    return [c for c in app.api.calls_to("sendMessage") if "Scheduled maintenance" in c.params["text"]]


async def test_announcements_reach_everyone_within_telegrams_flood_limits(make_app: MakeApp) -> None:
    app = await make_app(real_throttle=True)
    chats = list(range(700_001, 700_076))
    await _known_customers(app, chats)
    stop = await app.say(chats[0], "/stop")
    assert "won't receive maintenance announcements" in text_of(stop)
    assert keyboard_of(stop[-1]) == ["Resume announcements"]

    assert await _schedule_and_announce(app) == len(chats) - 1
    started = time.monotonic()
    await _drain(app)
    elapsed = time.monotonic() - started

    sent = [c for c in _announcements(app) if c.status == 200]
    assert sorted(c.params["chat_id"] for c in sent) == chats[1:]  # once each, not the one who said /stop
    assert "Core switch firmware upgrade" in sent[0].params["text"]
    # About 30 messages a second at most. The throttle books exact slots (test_wire.py); what the
    # Bot API sees also carries each request's time in flight, which a busy machine stretches.
    times = sorted(c.at for c in sent)
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert busiest <= 33, busiest  # unthrottled, all 74 arrive within a fraction of a second
    assert times[-1] - times[0] >= (len(times) - 1) / 30 - 0.1
    assert elapsed >= (len(times) - 31) / 30


async def test_flood_control_retry_after_is_honoured(polling: TelegramApp) -> None:
    api = polling.api
    api.fail_next("sendMessage", status=429, retry_after=2)
    update = polling.api.push_update(tg.text_update(CHAT, "/hours"))
    target = f"telegram:{CHAT}"

    async def rate_limited() -> bool:
        rows = await polling.outbox(target)
        return bool(rows) and "rate limited" in (rows[0].last_error or "")

    await eventually(rate_limited, what="the 429 to be recorded")
    [row] = await polling.outbox(target)
    assert row.attempts == 0 and row.dead_at is None and row.delivered_at is None
    assert row.next_attempt_at == polling.clock() + timedelta(seconds=2)
    assert polling.channel.throttle._paused_until > time.monotonic()  # every send waits, not just this one

    polling.clock.advance(seconds=2)
    await _drain(polling)
    [row] = await polling.outbox(target)
    assert row.delivered_at is not None
    assert "Our support team works" in api.last_message(CHAT)["text"]
    assert update["update_id"]


async def test_a_customer_who_blocked_the_bot_is_not_retried_or_announced_to(polling: TelegramApp) -> None:
    api = polling.api
    await polling.say(CHAT, "/start")
    api.block(CHAT)
    assert await _schedule_and_announce(polling) == 1
    await _drain(polling)
    refused = [c for c in api.calls_to("sendMessage") if c.params["chat_id"] == CHAT and c.status == 403]
    assert len(refused) == 1
    [row] = [r for r in await polling.outbox(f"telegram:{CHAT}") if r.payload.get("event") == "maintenance"]
    assert row.dead_at is not None and row.last_error.startswith("undeliverable")
    customer = await polling.customer(CHAT)
    assert customer is not None and customer.unreachable_at is not None

    polling.clock.advance(hours=1)  # the window is under way: a new announcement, not for them
    assert await announce_due(polling.services.db, policy=polling.services.policy, now=polling.clock()) == 0

    # They unblock the bot and write again: reachable again.
    api.unblock(CHAT)
    await polling.say(CHAT, "/hours")
    customer = await polling.customer(CHAT)
    assert customer is not None and customer.unreachable_at is None


async def test_blocking_and_unblocking_reported_by_telegram(polling: TelegramApp) -> None:
    await polling.say(CHAT, "/start")

    def member_update(status: str) -> dict[str, object]:
        return {
            "update_id": tg.next_update_id(),
            "my_chat_member": {
                "chat": tg.chat(CHAT),
                "from": tg.user(CHAT),
                "date": int(time.time()),
                "old_chat_member": {"user": tg.BOT_USER, "status": "member"},
                "new_chat_member": {"user": tg.BOT_USER, "status": status, "until_date": 0},
            },
        }

    polling.api.push_update(member_update("kicked"))
    await eventually(lambda: _unreachable(polling), what="the customer marked unreachable")
    polling.api.push_update(member_update("member"))
    await eventually(lambda: _reachable(polling), what="the customer reachable again")


async def _unreachable(app: TelegramApp) -> bool:
    customer = await app.customer(CHAT)
    return customer is not None and customer.unreachable_at is not None


async def _reachable(app: TelegramApp) -> bool:
    customer = await app.customer(CHAT)
    return customer is not None and customer.unreachable_at is None


async def test_an_outage_of_the_bot_api_loses_no_message(polling: TelegramApp) -> None:
    api = polling.api
    api.fail_next("sendMessage", status=502, times=None)  # a proxy's HTML error page, until recover()
    for text in ("/hours", "/contact"):
        polling.api.push_update(tg.text_update(CHAT, text))

    async def both_failed() -> bool:
        rows = await polling.outbox(f"telegram:{CHAT}")
        return len(rows) == 2 and all(r.attempts >= 1 for r in rows)

    await eventually(both_failed, what="both replies to fail once")
    assert not api.messages(CHAT)

    api.recover()
    polling.clock.advance(minutes=15)  # past the backoff
    await _drain(polling)
    texts = [m["text"] for m in api.messages(CHAT)]
    assert len(texts) == 2
    assert texts[0].startswith("Our support team works") and "sales@ionetechsolution.biz" in texts[1]


async def test_forget_deletes_the_customers_data_after_confirmation(polling: TelegramApp) -> None:
    await polling.say(CHAT, "I want to talk to a person, the VPN is down")
    [ticket] = await polling.tickets()
    asked = await polling.say(CHAT, "/forget")
    assert keyboard_of(asked[-1]) == ["Yes, delete my data", "No, keep it"]
    kept = await polling.press(CHAT, "No, keep it")
    assert "nothing was deleted" in text_of(kept)
    assert await polling.customer(CHAT) is not None

    await polling.say(CHAT, "/forget")
    done = await polling.press(CHAT, "Yes, delete my data")
    assert "your data has been deleted" in text_of(done) and "1 ticket(s) remain" in text_of(done)
    assert await polling.customer(CHAT) is None
    async with polling.services.db.reader() as session:
        kept_ticket = await session.get(Ticket, ticket.id)
        customer = await session.get(Customer, ticket.customer_id)
        conversations = (
            await session.execute(select(Conversation).where(Conversation.sender == str(CHAT)))
        ).all()
        answers = (
            await session.execute(select(InboundMessage).where(InboundMessage.sender == str(CHAT)))
        ).all()
        queued = (
            await session.execute(select(OutboxMessage).where(OutboxMessage.target == f"telegram:{CHAT}"))
        ).all()
    assert kept_ticket is not None and customer is not None
    assert (customer.name, customer.email, customer.phone, customer.announcements) == (
        None,
        None,
        None,
        False,
    )
    assert customer.external_id == f"forgotten-{customer.id}"
    assert conversations == []
    assert len(answers) == 1 and len(queued) == 1  # only the "deleted" answer itself
    events = [e.kind for e in (await _events(polling, ticket.id))]
    assert "customer_forgotten" in events

    hello = await polling.say(CHAT, "/start")  # a new beginning, a new customer
    assert "How can I help you today?" in text_of(hello)
    assert await polling.customer(CHAT) is not None


async def _events(app: TelegramApp, ticket_id: int) -> list[object]:
    async with app.services.db.reader() as session:
        ticket = await app.services.tickets.get(session, ticket_id, with_events=True)
        assert ticket is not None
        return list(ticket.events)
