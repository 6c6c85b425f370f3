"""The managers' reports as `/support` shows them: status, SLA risk, statistics, one ticket.

mrkdwn of the figures desk/reports.py and desk/stats.py compute (the digest's plain text is
desk/digest.py's); times are Slack date tokens, shown in each reader's own timezone.
bot/slack/commands.py runs the command and answers with these.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.slack import mrkdwn as md
from desk import reports, stats
from desk.digest import percent, span
from desk.policy import Policy

MAX_AGENTS = 15  # lines of agents in `/support stats`
MAX_EVENTS = 25


def category_title(name: str, policy: Policy) -> str:
    category = policy.categories.get(name)
    return category.title if category else name


def brief_line(brief: reports.TicketBrief, policy: Policy) -> str:
    status = brief.status.replace("_", " ")
    return (
        f"• *#{brief.id}* {brief.priority} · {category_title(brief.category, policy)} · tier {brief.tier} · "
        f"{status}: {md.escape(md.cut(brief.subject, 80))} (due {md.date_token(brief.response_due_at, policy)})"
    )


def _risk_lines(
    title: str, briefs: list[reports.TicketBrief], total: int | None, policy: Policy
) -> list[str]:
    if not briefs:
        return []
    count = total if total is not None else len(briefs)
    more = f" (showing {len(briefs)})" if count > len(briefs) else ""
    return [f"{title}: {count}{more}", *(brief_line(b, policy) for b in briefs)]


def status_text(report: reports.StatusReport, policy: Policy, now: datetime) -> str:
    priorities = " · ".join(f"{name} {count}" for name, count in report.open_by_priority.items())
    tiers = " · ".join(f"tier {tier}: {count}" for tier, count in report.open_by_tier.items()) or "none"
    breached = report.breached_total if report.breached_total is not None else len(report.breached)
    at_risk = report.at_risk_total if report.at_risk_total is not None else len(report.at_risk)
    lines = [
        f"*Support desk status* · {md.date_token(now, policy)}",
        f"*Open tickets:* {report.open_total} ({priorities})",
        f"*By tier:* {tiers}",
        f"*SLA:* {breached} breached, {at_risk} due within the hour",
    ]
    lines += _risk_lines(":rotating_light: *Breached*", report.breached, report.breached_total, policy)
    lines += _risk_lines(":warning: *At risk*", report.at_risk, report.at_risk_total, policy)
    if report.oldest is not None:
        oldest = report.oldest
        lines.append(
            f"*Oldest open:* #{oldest.id} ({oldest.priority}, {oldest.status.replace('_', ' ')}) since "
            f"{md.date_token(oldest.created_at, policy)}: {md.escape(md.cut(oldest.subject, 80))}"
        )
    dead = f"*Undelivered notifications (dead letters):* {report.dead_letters}"
    lines.append(dead + (" :warning:" if report.dead_letters else ""))
    return "\n".join(lines)


def sla_text(report: reports.SlaReport, policy: Policy, now: datetime) -> str:
    lines = [f"*SLA risk* · {md.date_token(now, policy)}"]
    breached = _risk_lines(":rotating_light: *Breached*", report.breached, report.breached_total, policy)
    at_risk = _risk_lines(
        ":warning: *At risk (due within the hour)*", report.at_risk, report.at_risk_total, policy
    )
    if not breached and not at_risk:
        lines.append(":white_check_mark: No unanswered ticket is breached or due within the hour.")
    return "\n".join(lines + breached + at_risk)


def _breakdown_line(name: str, b: stats.Breakdown) -> str:
    return (
        f"• {name}: opened {b.opened}, resolved {b.resolved}, SLA met {percent(b.sla_met_pct)}, "
        f"first response median {span(b.median_first_response_seconds)}"
    )


def stats_text(report: stats.StatsReport, policy: Policy) -> str:
    period = "today" if report.days == 1 else f"last {report.days} days"
    high = policy.feedback.scale[1]
    csat = (
        f"CSAT {report.csat_average:.2f} of {high} ({report.csat_count} ratings)"
        if report.csat_count and report.csat_average is not None
        else "CSAT: no ratings"
    )
    lines = [
        f"*Statistics, {period}* (since {md.date_token(report.since, policy)})",
        f"Opened {report.opened} · resolved {report.resolved} · solved by self-service {report.self_service_solved}",
        f"First response median {span(report.median_first_response_seconds)} · "
        f"SLA met {percent(report.sla_met_pct)} · {csat}",
        "*By category*",
        *(_breakdown_line(category_title(n, policy), b) for n, b in report.by_category.items()),
        "*By priority*",
        *(_breakdown_line(n.capitalize(), b) for n, b in report.by_priority.items()),
        *life_lines(report, policy),
    ]
    return "\n".join(lines)


def life_lines(report: stats.StatsReport, policy: Policy) -> list[str]:
    """Self-service, reopenings, resolution times and the agents' work (desk/stats.py definitions)."""
    lines = [
        f"*Self-service* {percent(report.self_service_rate_pct)} ({report.self_service_solved} solved without a ticket)"
    ]
    if report.top_articles:
        lines.append(
            "Top articles: " + " · ".join(f"{md.escape(slug)} {n}" for slug, n in report.top_articles)
        )
    lines.append(f"Reopened {report.reopened} ({percent(report.reopen_rate_pct)} of resolutions)")
    by_category = " · ".join(
        f"{category_title(n, policy)} {span(s)}" for n, s in report.resolution_median_by_category.items()
    )
    by_priority = " · ".join(
        f"{n.capitalize()} {span(s)}" for n, s in report.resolution_median_by_priority.items()
    )
    lines += [f"*Resolution time* (median) by category: {by_category}", f"by priority: {by_priority}"]
    if report.next_response_met_pct is not None:
        lines.append(f"Next responses on time {percent(report.next_response_met_pct)}")
    if report.waiting_customer_seconds is not None:
        lines.append(f"Time waiting on customers {span(report.waiting_customer_seconds)}")
    if report.agents:
        lines.append("*Agents*")
        lines += [
            f"• {md.actor_label(a.actor)}: {a.acknowledged} acknowledged · {a.replies} replies · {a.resolved} resolved"
            for a in report.agents[:MAX_AGENTS]
        ]
    return lines


def _at(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _event_detail(kind: str, data: dict[str, Any]) -> str:
    if kind == "escalated":
        reason = f": {data['reason']}" if data.get("reason") else ""
        return f" (tier {data.get('from_tier')} → {data.get('to_tier')}{reason})"
    for key in ("text", "note", "reason", "comment"):
        if data.get(key):
            return f": {md.cut(str(data[key]), 120)}"
    if kind == "created":
        return f" ({data.get('priority')}, {data.get('category')}, via {data.get('channel')})"
    if data.get("sla_state"):
        return f" (SLA {data['sla_state']})"
    return ""


def ticket_text(timeline: dict[str, Any], policy: Policy, link: str | None) -> str:
    customer = timeline.get("customer") or {}
    who = ", ".join(str(x) for x in (customer.get("name"), customer.get("email"), customer.get("phone")) if x)

    def token(key: str, empty: str) -> str:
        at = _at(timeline.get(key))
        return md.date_token(at, policy) if at else empty

    head = f"#{timeline['id']} {category_title(str(timeline['category']), policy)} · {str(timeline['priority']).capitalize()}"
    lines = [
        f"*{md.escape(head)}*: {md.escape(str(timeline.get('subject') or ''))}",
        f"Status {str(timeline['status']).replace('_', ' ')} · tier {timeline['tier']} · via {timeline['channel']}"
        + (f" · <{link}|Slack thread>" if link else ""),
        f"Customer: {md.escape(who) or 'no contact details'}",
        f"Owner: {md.actor_label(str(timeline['owner'])) if timeline.get('owner') else 'nobody yet'}"
        + (f" · clock {str(timeline['clock']).replace('_', ' ')}" if timeline.get("clock") else "")
        + (
            f" · next response due {token('next_response_due_at', '?')}"
            if timeline.get("next_response_due_at")
            else ""
        )
        + (f" · {timeline['sla_breaches']} SLA breach(es) on record" if timeline.get("sla_breaches") else ""),
        f"Created {token('created_at', '?')} · response due {token('response_due_at', '?')} · "
        f"first response {token('first_response_at', 'none yet')}"
        + (f" · resolved {token('resolved_at', '')}" if timeline.get("resolved_at") else ""),
        f"SLA {timeline.get('sla_state')} · time used on the SLA clock {span(timeline.get('business_time_used_seconds'))}"
        + (f" ({timeline['sla_clock']})" if timeline.get("sla_clock") else ""),
    ]
    events = list(timeline.get("events") or [])
    lines.append(
        f"*Timeline* ({len(events)} event{'' if len(events) == 1 else 's'}"
        + (f", the last {MAX_EVENTS}" if len(events) > MAX_EVENTS else "")
        + ")"
    )
    for event in events[-MAX_EVENTS:]:
        at = _at(event.get("at"))
        kind = str(event.get("kind"))
        data = event.get("data") if isinstance(event.get("data"), dict) else {}
        when_ = md.date_token(at, policy) if at else "?"
        actor = md.actor_label(str(event.get("actor") or ""))
        lines.append(f"• {when_} {kind.replace('_', ' ')} by {actor}{md.escape(_event_detail(kind, data))}")
    return "\n".join(lines)
