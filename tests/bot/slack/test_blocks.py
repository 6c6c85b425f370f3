"""Block Kit rendering within Slack's limits, date tokens, and Slack mrkdwn read back as plain text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.slack import blocks as bk
from desk.policy import load_policy
from storage.models import Customer, Ticket, TicketEvent

POLICY = load_policy()
CREATED = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)


def make_ticket(**changes: object) -> Ticket:
    ticket = Ticket(
        id=42,
        category="security",
        priority="high",
        status="open",
        tier=1,
        channel="telegram",
        customer_id=1,
        subject="Suspicious logins",
        description="Someone logged in from abroad",
        troubleshooting=[{"step": "Changed the password?", "answer": "yes"}],
        exclusion=None,
        created_at=CREATED,
        response_due_at=CREATED + timedelta(hours=4),
        warn_due_at=CREATED + timedelta(hours=3),
        first_response_at=None,
    )
    ticket.customer = Customer(
        id=1, channel="telegram", external_id="99", name=None, email=None, phone="012 345 678"
    )
    ticket.events = []
    for key, value in changes.items():
        setattr(ticket, key, value)
    return ticket


def check_limits(blocks: list[dict[str, object]]) -> None:
    assert len(blocks) <= 50
    for block in blocks:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150  # type: ignore[index]
        if block["type"] == "section":
            if "text" in block:
                assert len(block["text"]["text"]) <= 3000  # type: ignore[index]
            for field in block.get("fields", []):  # type: ignore[attr-defined]
                assert len(field["text"]) <= 2000
            assert len(block.get("fields", [])) <= 10  # type: ignore[arg-type]
        if block["type"] == "context":
            assert len(block["elements"]) <= 10  # type: ignore[arg-type]
        if block["type"] == "actions":
            assert len(block["elements"]) <= 25  # type: ignore[arg-type]


def test_long_text_stays_within_slacks_limits() -> None:
    description = "\n".join(["x" * 3] * 1000) + "&" * 500
    ticket = make_ticket(
        description=description, subject="s" * 200, troubleshooting=[{"step": "y" * 500, "answer": "no"}] * 20
    )
    ticket.customer.name = "N" * 200
    blocks = bk.ticket_blocks(bk.PostView(ticket=ticket, tier=1, sla_state="running", policy=POLICY))
    check_limits(blocks)


def test_post_for_a_ticket_without_contact_details_and_a_lower_tier() -> None:
    ticket = make_ticket(tier=2, status="acknowledged")
    ticket.events = [
        TicketEvent(kind="acknowledged", actor="slack:U0AGENT", at=CREATED, data={}),
        TicketEvent(
            kind="escalated", actor="sla", at=CREATED, data={"from_tier": 1, "to_tier": 2, "reason": ""}
        ),
    ]
    view = bk.PostView(ticket=ticket, tier=1, sla_state="met", policy=POLICY, channels={1: "C1", 2: "C2"})
    blocks = bk.ticket_blocks(view)
    text = str(blocks)
    assert "_name not given_" in text and "012 345 678" in text and "Telegram" in text
    assert "Escalated to tier 2 by the SLA clock · continues in <#C2>" in text
    assert "Acknowledged by <@U0AGENT>" in text
    assert not [b for b in blocks if b["type"] == "actions"], "buttons live on the current tier's post"
    upper = bk.ticket_blocks(
        bk.PostView(ticket=ticket, tier=2, sla_state="met", policy=POLICY, root_link="https://x/p1")
    )
    [buttons] = [b for b in upper if b["type"] == "actions"]
    assert [e["action_id"] for e in buttons["elements"]] == [
        "ticket_escalate",
        "ticket_resolve",
        "ticket_take",
        "ticket_waiting",
    ]
    assert "<https://x/p1|original thread>" in str(upper)


def test_date_token() -> None:
    assert bk.date_token(CREATED, POLICY) == (
        "<!date^1796007600^{date_short_pretty} {time}|Mon 30 Nov 2026, 10:00 (Phnom Penh time)>"
    )


@pytest.mark.parametrize(
    ("slack", "plain"),
    [
        ("Try <https://erp.example.com/reset|this page>", "Try this page (https://erp.example.com/reset)"),
        ("See <https://erp.example.com>", "See https://erp.example.com"),
        ("Mail <mailto:help@ionetech.biz|help@ionetech.biz>", "Mail help@ionetech.biz"),
        ("<@U0OTHER> will call you", "@Vibol will call you"),
        ("<@U0NOBODY> will call you", "a colleague will call you"),
        ("<!here> ignore", "ignore"),
        ("In <#C0123|support-tier2>", "In #support-tier2"),
        ("a &lt; b &amp;&amp; c &gt; d", "a < b && c > d"),
        ("due <!date^1796007600^{date}|Mon 30 Nov>", "due Mon 30 Nov"),
    ],
)
def test_slack_markup_reads_as_plain_text(slack: str, plain: str) -> None:
    assert bk.plain_text(slack, {"U0OTHER": "Vibol"}) == plain


def test_the_card_shows_the_customers_language() -> None:
    for language, shown in (("km", "*Language*\nKhmer (ភាសាខ្មែរ)"), ("en", "*Language*\nEnglish")):
        blocks = bk.ticket_blocks(
            bk.PostView(ticket=make_ticket(language=language), tier=1, sla_state="running", policy=POLICY)
        )
        check_limits(blocks)
        fields = [f["text"] for b in blocks for f in b.get("fields", [])]  # type: ignore[attr-defined]
        assert shown in fields
