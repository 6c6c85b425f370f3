"""The Telegram wire format (no network): updates read, messages written, flood limits kept."""

from __future__ import annotations

import html

from hypothesis import given
from hypothesis import strategies as st

from bot.channels.telegram import wire
from bot.channels.telegram.throttle import Throttle
from tests.bot.telegram import fake_telegram as tg


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_throttle_keeps_thirty_a_second_overall() -> None:
    clock = Clock()
    throttle = Throttle(clock=clock)
    starts = [clock.now + throttle.reserve(f"chat-{n}") for n in range(90)]
    assert starts == sorted(starts)
    for first in starts:  # (less a nanosecond: thirty float steps of 1/30 may add up to 0.9999999)
        assert sum(1 for s in starts if first <= s < first + 1.0 - 1e-9) <= 30
    assert starts[-1] - starts[0] >= 89 / 30 - 1e-9


def test_throttle_allows_a_short_burst_per_chat_then_one_a_second() -> None:
    clock = Clock()
    throttle = Throttle(clock=clock)
    waits = [throttle.reserve("chat") for _ in range(6)]
    assert all(w < 0.2 for w in waits[:3])  # the replies of one turn go out together
    assert [round(w, 2) for w in waits[3:]] == [1.0, 2.0, 3.0]  # then one a second
    clock.now += 10  # a quiet chat gets its burst back
    assert throttle.reserve("chat") == 0


def test_a_429_pauses_every_chat() -> None:
    clock = Clock()
    throttle = Throttle(clock=clock)
    throttle.pause(7)
    assert throttle.reserve("a") == 7
    assert 7 < throttle.reserve("b") < 7.1


def test_reading_updates() -> None:
    start = wire.read_update(tg.text_update(1001, "/start"), "ionetech_support_bot")
    assert (start.kind, start.chat_id, start.text, start.display_name) == (
        "message",
        1001,
        "/greet",
        "Sokha Chan",
    )
    assert (
        wire.read_update(tg.text_update(1001, "/hours@other_bot"), "ionetech_support_bot").text
        == "/hours@other_bot"
    )
    photo = wire.read_update(tg.photo_update(1001, "big-file", caption="error dialog"))
    assert photo.text == "error dialog"
    assert [(f["kind"], f["file_id"]) for f in photo.attachments] == [
        ("photo", "big-file")
    ]  # the largest size
    document = wire.read_update(
        tg.document_update(1001, "doc-1", file_name="erp.log", mime_type="text/plain")
    )
    assert document.attachments[0] | {"size": None} == {
        "kind": "document",
        "file_id": "doc-1",
        "file_name": "erp.log",
        "mime_type": "text/plain",
        "size": None,
    }
    assert wire.read_update(tg.text_update(-100, "hello all", chat_type="group")).kind == "ignored"
    assert wire.read_update(tg.text_update(-100, "/help", chat_type="group")).kind == "group"
    assert wire.read_update(tg.edited_text_update(1001, 5, "typo fixed")).kind == "ignored"


def test_outgoing_text_is_escaped_and_split_within_telegrams_limit() -> None:
    [message] = wire.messages_for({"text": "<b>not bold</b> & <script>", "buttons": []})
    assert message == {"text": "&lt;b&gt;not bold&lt;/b&gt; &amp; &lt;script&gt;", "parse_mode": "HTML"}
    long = ("A line of the policy.\n" * 400).strip()
    parts = wire.messages_for({"text": long, "buttons": [{"title": "OK", "payload": "/affirm"}]})
    assert len(parts) == 3
    assert all(len(html.unescape(p["text"])) <= wire.MAX_TEXT for p in parts)
    assert "\n".join(html.unescape(p["text"]) for p in parts).replace("\n\n", "\n") == long
    assert [("reply_markup" in p) for p in parts] == [False, False, True]  # the buttons under the last


@given(st.text(min_size=1, max_size=120))
def test_any_payload_fits_in_callback_data(payload: str) -> None:
    data = wire.callback_data(payload)
    assert 1 <= len(data.encode()) <= wire.MAX_CALLBACK_DATA
    if len(payload.encode()) > wire.MAX_CALLBACK_DATA:
        assert wire.long_payloads([{"title": "x", "payload": payload}]) == {data: payload}


def test_malformed_updates_are_named() -> None:
    assert wire.malformed({"update_id": 1, "message": {"chat": {"id": 5}, "text": "hi"}}) is None
    assert wire.malformed([]) == "an update is a JSON object"
    assert "update_id" in str(wire.malformed({"update_id": -1}))
    assert "callback_query.id" in str(wire.malformed({"update_id": 1, "callback_query": {"id": None}}))


def test_a_pressed_message_keeps_its_choice_and_whole_entities_at_the_length_limit() -> None:
    message = {"text": "Q&A " * 1100}  # over Telegram's 4,096 characters once the choice is added
    edited = wire.pressed_text(message, "Yes & no")
    assert edited.endswith("» Yes &amp; no")
    plain = html.unescape(edited)
    assert len(plain) <= wire.MAX_TEXT
    assert html.escape(plain, quote=False) == edited  # no entity cut in half
