"""`/support` for managers: every subcommand, the chart upload, the refusal for everybody else."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.slack import inbound
from storage.models import MaintenanceWindow
from tests.bot.slack.conftest import MANAGER, MANAGERS, OTHER, TIER2, Desk
from tests.bot.slack.fake_slack import FakeSlack
from tests.helpers import eventually


async def test_others_get_a_polite_refusal(desk: Desk) -> None:
    for text in ("status", "help", "escalate 1"):
        answer = await desk.command(text, user=OTHER)
        assert answer.startswith("Sorry, `/support` is for the support managers.")


async def test_help(desk: Desk) -> None:
    for text in ("help", "", "HELP"):
        answer = await desk.command(text)
        for usage in (
            "status",
            "ticket ID",
            "sla",
            "stats [DAYS]",
            "escalate ID [reason]",
            "maintenance add START END",
        ):
            assert usage in answer
    answer = await desk.command("frobnicate")
    assert "I don't know `frobnicate`" in answer and "/support help" in answer


async def test_status_sla_and_ticket(desk: Desk) -> None:
    critical = await desk.open_ticket(priority="critical", sender="web-c")
    medium = await desk.open_ticket(
        priority="medium", sender="web-m", description="Invoice shows the wrong total"
    )
    await desk.deliver()

    answer = await desk.command("status")
    assert "*Open tickets:* 2 (critical 1 · high 0 · medium 1 · low 0)" in answer
    assert "*By tier:* tier 1: 2" in answer
    assert f"*Oldest open:* #{critical}" in answer
    assert "dead letters):* 0" in answer

    assert "No unanswered ticket is breached or due within the hour" in await desk.command("sla")
    desk.clock.advance(minutes=10)
    answer = await desk.command("sla")
    assert "*At risk (due within the hour)*: 1" in answer and f"*#{critical}* critical" in answer
    desk.clock.advance(minutes=60)
    answer = await desk.command("sla")
    assert "*Breached*: 1" in answer and f"*#{critical}*" in answer
    assert f"#{medium}" not in answer

    answer = await desk.command(f"ticket #{critical}")
    assert f"*#{critical} Technical issue · Critical*" in answer
    assert "Sokha Chan, sokha@example.com" in answer
    assert "first response none yet" in answer and "SLA breached" in answer
    assert "|Slack thread>" in answer
    assert "*Timeline* (1 event)" in answer and "created by the customer" in answer
    assert "there is no ticket #999" in await desk.command("ticket 999")
    assert "is not a ticket number" in await desk.command("ticket abc")


async def test_stats_with_a_chart(desk: Desk, fake_slack: FakeSlack) -> None:
    await desk.open_ticket()
    answer = await desk.command("stats")
    assert "*Statistics, last 7 days*" in answer and "Opened 1" in answer
    assert "*By category*" in answer and "Technical issue: opened 1" in answer and "*By priority*" in answer
    [shared] = await eventually(lambda: fake_slack.shared_files, what="the chart upload")
    assert shared["channel"] == fake_slack.channel_id(MANAGERS)
    assert fake_slack.uploads[shared["id"]].startswith(b"\x89PNG\r\n\x1a\n")
    assert "Statistics, today" in await desk.command("stats 1")
    for bad in ("0", "366", "abc", "-3"):
        assert "DAYS must be a whole number from 1 to 365" in await desk.command(f"stats {bad}")


async def test_escalate(desk: Desk, fake_slack: FakeSlack) -> None:
    ticket_id = await desk.open_ticket()
    await desk.deliver()
    answer = await desk.command(f"escalate {ticket_id} the customer is a hospital")
    assert f"Ticket #{ticket_id} is escalated to tier 2 (Specialized technicians" in answer
    ticket = await desk.ticket(ticket_id)
    assert ticket.tier == 2
    [event] = [e for e in ticket.events if e.kind == "escalated"]
    assert event.actor == f"slack:{MANAGER}" and event.data["reason"] == "the customer is a hospital"
    await eventually(lambda: fake_slack.ticket_posts(TIER2, ticket_id), what="the tier-2 post")
    assert "does not exist" in await desk.command("escalate 999")
    await desk.command(f"escalate {ticket_id}")
    assert "already at tier 3, the top tier" in await desk.command(f"escalate {ticket_id}")


async def test_maintenance_add_list_cancel(desk: Desk) -> None:
    answer = await desk.command('maintenance add 2026-12-05 22:00 2026-12-06 02:00 "Database upgrade"')
    assert answer.startswith(":construction: Scheduled maintenance #1:") and "Database upgrade" in answer
    assert "Customers are told 2 days and 1 hour before it starts." in answer
    # ISO 8601 with an offset, and Slack's typographic quotes.
    answer = await desk.command(
        "maintenance add 2026-12-07T22:00+07:00 2026-12-07T23:30+07:00 “Network switch”"
    )
    assert "Scheduled maintenance #2" in answer and "Network switch" in answer
    async with desk.services.db.reader() as session:
        windows = list(
            (await session.execute(select(MaintenanceWindow).order_by(MaintenanceWindow.id))).scalars()
        )
    assert [(w.starts_at, w.ends_at, w.created_by) for w in windows] == [
        (
            datetime(2026, 12, 5, 15, 0, tzinfo=UTC),
            datetime(2026, 12, 5, 19, 0, tzinfo=UTC),
            f"slack:{MANAGER}",
        ),
        (
            datetime(2026, 12, 7, 15, 0, tzinfo=UTC),
            datetime(2026, 12, 7, 16, 30, tzinfo=UTC),
            f"slack:{MANAGER}",
        ),
    ]

    listed = await desk.command("maintenance list")
    assert "*#1* scheduled" in listed and "*#2* scheduled" in listed and "Network switch" in listed
    assert "Cancelled maintenance #1: Database upgrade" in await desk.command("maintenance cancel 1")
    listed = await desk.command("maintenance list")
    assert "*#1*" not in listed and "*#2*" in listed
    assert "no scheduled maintenance window #1" in await desk.command("maintenance cancel 1")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('maintenance add 2026-12-06 02:00 2026-12-05 22:00 "Backwards"', "the end must be after the start"),
        ('maintenance add 2026-11-01 08:00 2026-11-01 09:00 "Long ago"', "already over"),
        ('maintenance add 2026-12-05 2026-12-06 02:00 "No time"', "give START a time too"),
        ('maintenance add tomorrow 2026-12-06 02:00 "Vague"', "`tomorrow` is not a date and time"),
        ("maintenance add 2026-12-05 22:00 2026-12-06 02:00", "add a message for the customers"),
        ('maintenance add 2026-12-05 22:00 2026-12-06 02:00 "unclosed', "check the quotes"),
        ("maintenance add", "START is missing"),
        ("maintenance", "use `maintenance add START END"),
    ],
)
async def test_maintenance_mistakes_are_explained(desk: Desk, text: str, error: str) -> None:
    assert error in await desk.command(text)


async def test_slow_answers_come_through_the_response_url(
    desk: Desk, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbound, "ACK_BUDGET", 0.0)
    await desk.open_ticket()
    answer = await desk.command("status")
    assert "*Open tickets:* 1" in answer
    assert fake_slack.responses[-1]["response_type"] == "ephemeral"
    assert fake_slack.responses[-1]["replace_original"] is False


async def test_a_failed_chart_upload_is_explained(desk: Desk, fake_slack: FakeSlack) -> None:
    fake_slack.fail("files.getUploadURLExternal", status=500)
    answer = await desk.command("stats 3")
    assert "*Statistics, last 3 days*" in answer
    note = await eventually(
        lambda: [r for r in fake_slack.responses if "couldn't post the chart" in r["text"]], what="the note"
    )
    assert note[0]["response_type"] == "ephemeral"
    assert fake_slack.shared_files == []
