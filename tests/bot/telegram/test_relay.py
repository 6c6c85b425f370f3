"""A Telegram customer and an agent in Slack: the customer's screenshot lands in the ticket's thread,
replies go both ways, and resolution asks for the rating with inline buttons."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import httpx
import pytest
from sqlalchemy import select

from bot.app import create_app
from bot.channels.telegram.throttle import Throttle
from nlu.embedded import EmbeddedNlu
from storage.models import Attachment, Feedback
from tests.bot.slack.conftest import TIER1, Desk, slack_desk, slack_env
from tests.bot.slack.fake_slack import FakeSlack
from tests.bot.telegram import fake_telegram as tg
from tests.bot.telegram.conftest import TelegramApp, keyboard_of, telegram_env, text_of
from tests.bot.telegram.fake_telegram import FakeBotApi
from tests.helpers import FrozenClock, eventually, settings_for

CHAT = 555003
SCREENSHOT = b"\x89PNG\r\n\x1a\n" + b"erp-error-dialog" * 64


class Both:
    def __init__(self, telegram: TelegramApp, desk: Desk) -> None:
        self.telegram = telegram
        self.desk = desk


@pytest.fixture
async def both(db_url: str, nlu: EmbeddedNlu, clock: FrozenClock, api: FakeBotApi) -> AsyncIterator[Both]:
    async with AsyncExitStack() as stack:
        slack = FakeSlack()
        await slack.start()
        stack.push_async_callback(slack.stop)
        env = {**slack_env(slack), **telegram_env(api)}
        asgi = create_app(settings_for(db_url, **env), nlu=nlu, now=clock)
        await stack.enter_async_context(asgi.fastapi.router.lifespan_context(asgi.fastapi))
        stack.push_async_callback(slack_desk(asgi).aclose)
        asgi.channels["telegram"].throttle = Throttle(chat_interval=0.001)  # see conftest.make_app
        http = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://test")
        )
        telegram = TelegramApp(asgi=asgi, api=api, clock=clock)
        await telegram.ready()
        yield Both(telegram, Desk(asgi=asgi, http=http, fake=slack, clock=clock))


async def test_files_and_replies_cross_between_telegram_and_slack(both: Both) -> None:
    customer, desk, api = both.telegram, both.desk, both.telegram.api
    opened = await customer.say(CHAT, "I want to talk to a person, our ERP is down")
    match = re.search(r"ticket #(\d+)", text_of(opened))
    assert match, text_of(opened)
    ticket_id = int(match.group(1))
    await desk.deliver()
    root = await desk.root(ticket_id)

    # A screenshot: attached to the ticket, uploaded into its thread with the caption.
    api.add_file("AgACAgIAAxkBAAIBscreenshot", SCREENSHOT)
    noted = await customer.send(tg.photo_update(CHAT, "AgACAgIAAxkBAAIBscreenshot", caption="this dialog"))
    assert f"I've added your photo to your ticket #{ticket_id}" in text_of(noted)
    await desk.deliver()
    [shared] = await eventually(lambda: desk.fake.shared_files, what="the upload")
    assert shared["thread_ts"] == root.ts and shared["channel"] == desk.fake.channel_id(TIER1)
    assert "this dialog" in shared["initial_comment"]
    assert SCREENSHOT in desk.fake.uploads.values()
    async with desk.services.db.reader() as session:
        [attachment] = (await session.execute(select(Attachment))).scalars()
    assert attachment.ticket_id == ticket_id and attachment.kind == "photo"
    assert [e.kind for e in await desk.events(ticket_id, "attachment")] == ["attachment"]

    # The agent answers in the thread: the customer reads it in Telegram.
    before = len(api.calls_to("sendMessage"))
    await desk.reply(ticket_id, "Hello, which screen shows this dialog?")
    await desk.deliver()
    await api.wait_for("sendMessage", before + 1)
    assert api.last_message(CHAT)["text"].endswith(": Hello, which screen shows this dialog?")

    # The customer answers in Telegram: it lands in the thread.
    await customer.say(CHAT, "The invoices screen, every time", replies=False)
    await desk.deliver()
    await eventually(
        lambda: [
            m
            for m in desk.fake.thread(TIER1, root.ts)
            if m.text == "Customer: The invoices screen, every time"
        ],
        what="the customer's words in the thread",
    )

    # Resolved in Slack: the customer rates with inline buttons.
    await desk.press(desk.fake.message(TIER1, root.ts), "ticket_resolve")
    await desk.deliver()
    rating = await eventually(
        lambda: next((m for m in api.messages(CHAT) if "★" in "".join(keyboard_of(m))), None),
        what="the rating request",
    )
    assert keyboard_of(rating)[0].startswith("5 ★")
    thanks = await customer.press(CHAT, "4 ★")
    assert "thank" in text_of(thanks).lower()
    async with desk.services.db.reader() as session:
        [feedback] = (await session.execute(select(Feedback))).scalars()
    assert (feedback.ticket_id, feedback.rating) == (ticket_id, 4)


async def test_a_screenshot_during_the_intake_goes_with_the_ticket(both: Both) -> None:
    customer, desk, api = both.telegram, both.desk, both.telegram.api
    await customer.say(CHAT, "/new")
    await customer.press(CHAT, "Technical")
    api.add_file("BQACAgIAAxkBAAIBlog", b"2026-11-30 09:58 ERROR payroll: division by zero\n")
    kept = await customer.send(tg.document_update(CHAT, "BQACAgIAAxkBAAIBlog", file_name="payroll.log"))
    assert "I've kept your file payroll.log" in text_of(kept)
    assert "describe the problem" in text_of(kept)  # and the intake asks its question again
    await customer.say(CHAT, "payroll export fails with an error since this morning")
    await customer.press(CHAT, "Medium")
    for _ in range(4):
        await customer.press(CHAT, "No")
    await customer.press(CHAT, "I'm Sokha Chan")
    await customer.say(CHAT, "+855 12 345 678")
    await customer.press(CHAT, "Open the ticket")
    [ticket] = await customer.tickets()
    async with desk.services.db.reader() as session:
        [attachment] = (await session.execute(select(Attachment))).scalars()
    assert attachment.ticket_id == ticket.id and attachment.file_name == "payroll.log"
    await desk.deliver()
    await eventually(lambda: desk.fake.shared_files, what="the log file in the ticket's thread")
    assert b"division by zero" in b"".join(desk.fake.uploads.values())
