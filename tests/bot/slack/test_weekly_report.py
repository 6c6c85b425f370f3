"""Reports with the life of tickets: `/support stats` (a signed slash command), and the weekly
report, the scheduler's job, once per week however many replicas run it, posted to the managers'
channel with the SLA chart uploaded in its thread (fake Slack Web API)."""

from __future__ import annotations

import asyncio

from bot.jobs import register, run_weekly_report
from bot.scheduler import Scheduler
from tests.bot.slack.conftest import MANAGERS, Desk, payload_of
from tests.bot.slack.fake_slack import FakeSlack
from tests.helpers import pp


async def test_the_weekly_report_is_posted_once_with_its_chart(desk: Desk, fake_slack: FakeSlack) -> None:
    desk.clock.set(pp(2026, 11, 26, 10, 0))  # a ticket in last week's window, answered and resolved
    ticket_id = await desk.open_ticket(priority="high", description="The VPN drops every few minutes")
    async with desk.services.db.session() as session:
        await desk.services.tickets.acknowledge(session, ticket_id, actor="slack:U0AGENT", now=desk.clock())
        await desk.services.tickets.resolve(
            session, ticket_id, actor="slack:U0AGENT", now=pp(2026, 11, 26, 14, 0)
        )
    await desk.deliver()

    desk.clock.set(pp(2026, 11, 30, 8, 0))  # Monday 08:00, the policy's weekly time
    results = await asyncio.gather(run_weekly_report(desk.services), run_weekly_report(desk.services))
    assert sorted(results) == [False, True]
    assert await run_weekly_report(desk.services) is False  # a restart the same week posts nothing more
    await desk.deliver()

    [post] = [m for m in fake_slack.posts(MANAGERS) if "Weekly report" in m.text]
    assert "weekly support report (7 days from Mon 23 Nov)" in post.text
    assert "Opened 1, resolved 1" in post.text
    assert "Resolution time by priority: critical n/a, high 4h" in post.text
    assert "slack:U0AGENT: 1 acknowledged, 0 replies, 1 resolved" in post.text
    [chart] = fake_slack.shared_files
    assert chart["channel"] == fake_slack.channel_id(MANAGERS)
    assert chart["thread_ts"] == post.ts
    assert fake_slack.uploads[chart["id"]].startswith(b"\x89PNG\r\n\x1a\n")

    desk.clock.set(pp(2026, 12, 7, 8, 0))  # the next Monday: a new report
    assert await run_weekly_report(desk.services) is True


def test_the_app_schedules_it(desk: Desk) -> None:
    scheduler = Scheduler()
    register(scheduler, services=desk.services, delivery=desk.delivery)
    assert "weekly_report" in scheduler.job_names()


async def test_support_stats_shows_the_life_of_tickets(desk: Desk, fake_slack: FakeSlack) -> None:
    """`/support stats` (a signed slash command) with an article that solved a web chat customer's problem."""
    replies = await desk.say("web-stats", "cant get into my account, forgot the password :(")
    await desk.say("web-stats", payload_of(replies, "This solved it"))
    ticket_id = await desk.open_ticket(priority="high")
    async with desk.services.db.session() as session:
        await desk.services.tickets.resolve(session, ticket_id, actor="slack:U0AGENT", now=desk.clock())
    answer = await desk.command("stats 7")
    assert "*Self-service* 50.0% (1 solved without a ticket)" in answer
    assert "Top articles: password-reset 1" in answer
    assert "Reopened 0 (0.0% of resolutions)" in answer
    assert "by priority: Critical n/a · High 0m" in answer
    assert "• <@U0AGENT>: 0 acknowledged · 0 replies · 1 resolved" in answer
