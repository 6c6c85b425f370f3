"""The Rasa REST channel at its edges, in the real app in process, on both databases: bodies and
messages it refuses (and stores nothing for), messages it answers politely (empty, 10 KB),
redelivered message ids answered the same and counted once, and a language given in metadata.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.bot import http_app
from tests.bot.http_app import ERP, PERSON_PLEASE, WEBHOOK, App, get_ticket, payload_of
from tests.helpers import REST_AUTH, text_of, ticket_id_in

JSON = {"content-type": "application/json"}

# The app in process with its lifespan, and one built with the API token (fixtures).
make_app = http_app.make_app
app = http_app.app


# -- bad input on the REST channel ------------------------------------------------------------------------


async def _chunks(size: int) -> AsyncIterator[bytes]:
    body = b'{"sender": "big", "message": "' + b"x" * size + b'"}'
    for start in range(0, len(body), 8192):
        yield body[start : start + 8192]


BAD_BODIES: list[tuple[str, dict[str, Any], int | None]] = [
    ("malformed-json", {"content": b'{"sender": "a", "message": ', "headers": JSON}, None),
    ("not-json", {"content": b"sender=a&message=hi", "headers": JSON}, None),
    ("missing-sender", {"json": {"message": "hi"}}, 422),
    ("missing-message", {"json": {"sender": "a"}}, 422),
    ("message-number", {"json": {"sender": "a", "message": 5}}, 422),
    ("message-list", {"json": {"sender": "a", "message": ["hi"]}}, 422),
    ("message-null", {"json": {"sender": "a", "message": None}}, 422),
    ("message-object", {"json": {"sender": "a", "message": {"text": "hi"}}}, 422),
    ("body-list", {"json": [{"sender": "a", "message": "hi"}]}, 422),
    ("body-string", {"json": "hi"}, 422),
    ("sender-500", {"json": {"sender": "s" * 500, "message": "hi"}}, 422),
    ("sender-blank", {"json": {"sender": "   ", "message": "hi"}}, 422),
    ("sender-number", {"json": {"sender": 5, "message": "hi"}}, 422),
    ("metadata-string", {"json": {"sender": "a", "message": "hi", "metadata": "x"}}, 422),
    ("over-64kb", {"json": {"sender": "a", "message": "x" * 70_000}}, 413),
    ("binary-json", {"content": b"\xff\xfe\x00\x01\x80\x81garbage\x00\xc3\x28", "headers": JSON}, None),
    (
        "binary-octets",
        {"content": bytes(range(256)) * 4, "headers": {"content-type": "application/octet-stream"}},
        None,
    ),
    ("binary-no-type", {"content": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"}, None),
]


@pytest.mark.parametrize(("body", "expected"), [b[1:] for b in BAD_BODIES], ids=[b[0] for b in BAD_BODIES])
async def test_bad_bodies_get_a_4xx_and_store_nothing(
    app: App, body: dict[str, Any], expected: int | None
) -> None:
    await app.say("someone", "hi")  # some rows exist, so "nothing changed" means something
    before = await app.counts()
    response = await app.client.post(WEBHOOK, **body)
    if expected is None:
        assert 400 <= response.status_code < 500, response.text
    else:
        assert response.status_code == expected, response.text
    assert await app.counts() == before


async def test_a_chunked_body_over_64kb_is_413(app: App) -> None:
    # No Content-Length (Transfer-Encoding: chunked): the size limit must still answer 413.
    before = await app.counts()
    response = await app.client.post(WEBHOOK, content=_chunks(70_000), headers=JSON)
    assert response.status_code == 413, response.text
    assert await app.counts() == before


async def test_control_characters_in_sender_or_message_id_never_crash(app: App) -> None:
    # PostgreSQL refuses NUL in text: the channel has to refuse (or clean) it, never answer 500.
    for body in (
        {"sender": "a\x00b", "message": "hi"},
        {"sender": "a", "message": "hi", "message_id": "m\x00"},
        {"sender": "a", "message": "hi", "metadata": {"message_id": "m\x00"}},
    ):
        response = await app.client.post(WEBHOOK, json=body)
        assert response.status_code < 500, (body, response.text)


@pytest.mark.parametrize(
    "message", ["", "   ", "\x00\x01\x02", "\n\t\n"], ids=["empty", "spaces", "nul", "blank"]
)
async def test_empty_message_gets_a_polite_reply_and_stores_nothing(app: App, message: str) -> None:
    before = await app.counts()
    replies = await app.say("quiet", message)
    assert len(replies) == 1
    assert "didn't catch" in replies[0]["text"]
    assert await app.counts() == before


async def test_a_10kb_message_gets_a_polite_reply(app: App) -> None:
    replies = await app.say("talker", "my printer is broken. " * 466)  # ~10 KB
    assert "first 4000 characters" in replies[0]["text"]
    assert len(replies) >= 2
    counts = await app.counts()
    assert counts["conversations"] == 1


# -- redelivery --------------------------------------------------------------------------------------------


async def test_redelivered_message_ids_answer_the_same_and_change_state_once(app: App) -> None:
    sender = "retrying-client"
    first = await app.say(sender, ERP, message_id="m1")
    assert await app.say(sender, ERP, message_id="m1") == first

    critical = payload_of(first, "Critical")
    step1 = await app.say(sender, critical, message_id="m2")
    assert "Step 1 of 4" in text_of(step1)
    assert await app.say(sender, critical, message_id="m2") == step1

    # Rasa clients may carry the id in `metadata.message_id`.
    step2 = await app.say(sender, "/affirm", metadata={"message_id": "m3"})
    assert "Step 2 of 4" in text_of(step2)
    assert await app.say(sender, "/affirm", metadata={"message_id": "m3"}) == step2
    step3 = await app.say(sender, "/affirm", message_id="m4")
    assert "Step 3 of 4" in text_of(step3), "a redelivered answer was counted twice"

    await app.say(sender, "/affirm", message_id="m5")
    await app.say(sender, "/deny", message_id="m6")
    await app.say(sender, "Sokha Chan", message_id="m7")
    await app.say(sender, "sokha@example.com", message_id="m8")
    opened = await app.say(sender, "/affirm", message_id="m9")
    again = await app.say(sender, "/affirm", message_id="m9")
    assert again == opened
    counts = await app.counts()
    assert counts["tickets"] == 1
    ticket = await get_ticket(app, ticket_id_in(opened))
    assert [s["answer"] for s in ticket["troubleshooting"]] == ["yes", "yes", "yes", "no"]


async def test_concurrent_redelivery_opens_one_ticket(app: App) -> None:
    sender = "impatient"
    body = {"sender": sender, "message": PERSON_PLEASE, "message_id": "same"}
    responses = await asyncio.gather(
        *(app.client.post(WEBHOOK, json=body, headers=REST_AUTH) for _ in range(3))
    )
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert responses[0].json() == responses[1].json() == responses[2].json()
    assert (await app.counts())["tickets"] == 1


async def test_a_message_id_of_another_sender_is_not_replayed(app: App) -> None:
    # Message ids are chosen by clients (often counters): one customer's id must never return
    # another customer's answer (it can carry their tickets, name and email).
    alice = await app.say("alice", "hi", message_id="1")
    assert "Hello" in text_of(alice)
    bob = await app.say("bob", "my invoice is wrong", message_id="1")
    assert "Hello" not in text_of(bob), "bob was given alice's answer to her message 1"
    assert "sorry to hear" in text_of(bob)
    assert (await app.counts())["conversations"] == 2


async def test_the_rest_channels_metadata_language_sets_the_conversations_language(app: App) -> None:
    [hello] = await app.say("khmer-site-visitor", "hello", metadata={"language": "km"})
    assert "សួស្តី" in hello["text"] and hello["buttons"][-1]["title"] == "English"
    # Kept for the conversation: later messages without metadata are answered in Khmer too.
    [thanks] = await app.say("khmer-site-visitor", "thanks")
    assert re.search(r"[\u1780-\u17ff]", thanks["text"]), thanks
    # A language the bot does not speak in metadata changes nothing: English.
    [other] = await app.say("french-visitor", "hello", metadata={"language": "fr-FR"})
    assert other["text"].startswith("Hello!")
