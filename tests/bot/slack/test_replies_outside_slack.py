"""Replies and notes written outside Slack (`POST /api/tickets/{id}/replies`) are echoed into the
ticket's thread, escaped, so the agents in Slack see them; the first one updates the card."""

from __future__ import annotations

from tests.bot.slack.conftest import TIER1, MakeDesk, slack_env
from tests.bot.slack.fake_slack import FakeSlack
from tests.helpers import eventually

TOKEN = "agents-token-0123456789abcdef"


async def test_an_api_reply_and_note_appear_in_the_tickets_thread(
    make_desk: MakeDesk, fake_slack: FakeSlack
) -> None:
    desk = await make_desk(**slack_env(fake_slack, SUPPORTBOT_API_TOKEN=TOKEN))
    ticket_id = await desk.open_ticket(sender="web-api-echo")
    await desk.deliver()
    root = await desk.root(ticket_id)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for body in (
        {"text": "On it <!channel>", "agent": "Dara"},
        {"text": "disk full on erp-2", "agent": "Dara", "internal": True},
    ):
        response = await desk.http.post(f"/api/tickets/{ticket_id}/replies", json=body, headers=auth)
        assert response.status_code == 201, response.text
    await desk.deliver()

    def echoes() -> list[str]:
        return [m.text for m in fake_slack.thread(TIER1, root.ts) if "Dara" in m.text]

    await eventually(lambda: len(echoes()) == 2, what="both echoes in the thread")
    thread = echoes()
    assert thread == [
        "Dara replied to the customer: On it &lt;!channel&gt;",
        "Note by Dara: disk full on erp-2",
    ]
