"""Telegram without Slack: a person reached in one question (the chat itself reaches the customer),
an agent's reply through `POST /api/tickets/{id}/replies` arriving as a Telegram message, and
"delete my data" typed leading to the same confirmation as the /forget command."""

from __future__ import annotations

import httpx

from tests.bot.telegram.conftest import MakeApp, keyboard_of, text_of
from tests.helpers import ticket_id_in

CHAT = 555321
TOKEN = "agents-token-0123456789abcdef"


async def test_a_person_answers_a_telegram_customer_through_the_api(make_app: MakeApp) -> None:
    telegram = await make_app(SUPPORTBOT_API_TOKEN=TOKEN)
    asked = await telegram.say(CHAT, "can I talk to a real person please")
    assert "what is it about" in text_of(asked)
    opened = await telegram.say(CHAT, "our invoices show the wrong VAT rate since Monday")
    assert "email" not in text_of(opened)  # Telegram reaches them: no contact question
    ticket_id = ticket_id_in([{"text": m["text"]} for m in opened])
    [ticket] = await telegram.tickets()
    assert (ticket.id, ticket.channel, ticket.category) == (ticket_id, "telegram", "billing")

    transport = httpx.ASGITransport(app=telegram.asgi)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        before = len(telegram.api.calls_to("sendMessage"))
        response = await http.post(
            f"/api/tickets/{ticket_id}/replies",
            json={"text": "We're correcting the VAT rate now.", "agent": "Dara"},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert response.status_code == 201, response.text
    await telegram.api.wait_for("sendMessage", before + 1)
    assert telegram.api.last_message(CHAT)["text"] == "Dara: We're correcting the VAT rate now."

    acked = await telegram.say(CHAT, "hello? anyone there?")
    assert f"I've added that to ticket #{ticket_id}" in text_of(acked)


async def test_typed_delete_my_data_asks_like_the_command(make_app: MakeApp) -> None:
    telegram = await make_app()
    asked = await telegram.say(CHAT, "Delete my data please")
    assert "Delete your data?" in text_of(asked)
    assert keyboard_of(asked[-1]) == ["Yes, delete my data", "No, keep it"]
    done = await telegram.press(CHAT, "Yes, delete my data")
    assert "your data has been deleted" in text_of(done)
