"""The managers' daily digest and weekly report as plain text, from the status and the stats.

bot/jobs.py queues them for the managers' channel; Slack's richer answers to `/support` are
bot/slack/report_texts.py's. `span` and `percent` write durations and shares the same way in both.
"""

from __future__ import annotations

from desk.policy import Policy
from desk.reports import StatusReport
from desk.stats import StatsReport


def span(seconds: float | None) -> str:
    """A duration as people read it in a report: `45m`, `3h 05m`, `2d 4h`."""
    if seconds is None:
        return "n/a"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m" if minutes else f"{hours}h"
    return f"{hours // 24}d {hours % 24}h"


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}%"


def digest_text(status: StatusReport, stats: StatsReport, *, policy: Policy) -> str:
    """A short plain-text summary for the managers' channel (one fact per line)."""
    tz = policy.tz
    since = stats.since.astimezone(tz)
    period = "today" if stats.days == 1 else f"last {stats.days} days, since {since:%a %d %b}"
    breached = status.breached_total if status.breached_total is not None else len(status.breached)
    at_risk = status.at_risk_total if status.at_risk_total is not None else len(status.at_risk)
    priorities = ", ".join(f"{count} {name}" for name, count in status.open_by_priority.items() if count)
    tiers = ", ".join(f"tier {tier}: {count}" for tier, count in status.open_by_tier.items())
    lines = [f"{policy.company} support digest ({period})"]
    open_line = f"Open tickets: {status.open_total}"
    if status.open_total:
        open_line += f" ({priorities}; {tiers})"
    lines.append(open_line)
    lines.append(f"SLA now: {breached} breached, {at_risk} at risk within the hour")
    for brief in status.breached[:3]:
        lines.append(
            f"  breached #{brief.id} {brief.priority}, due {brief.response_due_at.astimezone(tz):%a %d %b %H:%M}: "
            f"{brief.subject[:60]}"
        )
    if status.oldest is not None:
        oldest = status.oldest
        lines.append(
            f"Oldest open: #{oldest.id} ({oldest.priority}, {oldest.status}) "
            f"since {oldest.created_at.astimezone(tz):%a %d %b %H:%M}"
        )
    lines.append(
        f"Opened {stats.opened}, resolved {stats.resolved}, solved by self-service {stats.self_service_solved}"
    )
    lines.append(
        f"First response median {span(stats.median_first_response_seconds)}, "
        f"SLA met {percent(stats.sla_met_pct)}"
    )
    high = policy.feedback.scale[1]
    if stats.csat_count:
        assert stats.csat_average is not None
        lines.append(f"CSAT {stats.csat_average:.2f} of {high} from {stats.csat_count} ratings")
    else:
        lines.append("CSAT: no ratings")
    if status.dead_letters:
        lines.append(f"Undelivered notifications (dead letters): {status.dead_letters}")
    return "\n".join(lines)


def life_text(stats: StatsReport) -> list[str]:
    """The life of tickets in plain text: self-service, reopenings, resolution times, agents."""
    lines = [
        f"Self-service {percent(stats.self_service_rate_pct)} ({stats.self_service_solved} solved without a ticket)"
    ]
    if stats.top_articles:
        lines.append("Top articles: " + ", ".join(f"{slug} {n}" for slug, n in stats.top_articles))
    lines.append(f"Reopened {stats.reopened} ({percent(stats.reopen_rate_pct)} of resolutions)")
    lines.append(
        "Resolution time by category: "
        + ", ".join(f"{n} {span(s)}" for n, s in stats.resolution_median_by_category.items())
    )
    lines.append(
        "Resolution time by priority: "
        + ", ".join(f"{n} {span(s)}" for n, s in stats.resolution_median_by_priority.items())
    )
    if stats.next_response_met_pct is not None:
        lines.append(f"Next responses on time {percent(stats.next_response_met_pct)}")
    if stats.waiting_customer_seconds is not None:
        lines.append(f"Time waiting on customers {span(stats.waiting_customer_seconds)}")
    for agent in stats.agents[:10]:
        lines.append(
            f"  {agent.actor}: {agent.acknowledged} acknowledged, {agent.replies} replies, {agent.resolved} resolved"
        )
    return lines


def weekly_text(status: StatusReport, stats: StatsReport, *, policy: Policy) -> str:
    """The managers' weekly report: the digest's figures over seven days, and the life of tickets."""
    digest = digest_text(status, stats, policy=policy).splitlines()
    since = stats.since.astimezone(policy.tz)
    head = f"{policy.company} weekly support report (7 days from {since:%a %d %b})"
    return "\n".join([head, *digest[1:], *life_text(stats)])
