"""Questions answered in any state: working hours, contact channels, maintenance, my tickets, help."""

from __future__ import annotations

from actions import render
from actions.flows.base import Flow, menu_buttons
from actions.flows.closures import closure_answer
from actions.messages import Button, Reply
from actions.payload import make_payload
from actions.turn import Turn
from desk import maintenance
from desk.constants import DONE_STATUSES, TicketStatus
from nlu.intents import Intent
from storage.repositories.conversation import TicketLine


class InfoFlow(Flow):
    async def answer(self, t: Turn, intent: str) -> list[Reply]:
        policy = self.policy
        if intent == Intent.WORKING_HOURS:
            closure = closure_answer(t, policy, self.clock)  # a question about one day
            if closure is not None:
                return [closure]
            return [
                t.reply(
                    "info.hours",
                    hours=render.hours_summary(policy, t.lang),
                    zone=render.zone_label(policy, t.lang),
                    weekends=t.pick(policy.weekend_support) or t.say("info.hours.weekends"),
                    open_status=render.open_status(policy, self.clock, t.now, t.lang),
                )
            ]
        if intent == Intent.CONTACT_CHANNELS:
            c = policy.contact
            return [
                t.reply(
                    "info.contact",
                    company=policy.company,
                    email=c.email,
                    phone=c.phone,
                    live_chat=t.pick(c.live_chat),
                )
            ]
        if intent == Intent.MAINTENANCE_INFO:
            return [await self.maintenance(t)]
        if intent == Intent.TICKET_STATUS:
            return [await self.status(t)]
        return [t.reply("info.menu", *menu_buttons(t))]

    async def maintenance(self, t: Turn) -> Reply:
        windows = await maintenance.current_and_upcoming(t.repo.session, t.now)
        policy = self.policy
        if not windows:
            if t.state.flow is None and not t.is_payload and t.feelings.outage:
                # "Is the system down?": with nothing scheduled, it may be a fault, not "all is well".
                report = Button(
                    t.say("info.maintenance.report_outage"), make_payload(Intent.REPORT_INFRASTRUCTURE_ISSUE)
                )
                return t.reply("info.maintenance.none_outage", report)
            leads = ", ".join(render.duration(d, t.lang) for d in policy.maintenance.announce_before)
            if leads:
                return t.reply("info.maintenance.none_announced", leads=leads)
            return t.reply("info.maintenance.none")
        lines = []
        for w in windows:
            if w.starts_at <= t.now:
                lines.append(
                    t.say(
                        "info.maintenance.now",
                        until=render.when(w.ends_at, policy, t.lang),
                        message=w.message,
                    )
                )
            else:
                lines.append(
                    t.say(
                        "info.maintenance.scheduled",
                        start=render.when(w.starts_at, policy, t.lang),
                        end=render.when(w.ends_at, policy, t.lang),
                        message=w.message,
                    )
                )
        return t.reply("info.maintenance.list", lines="\n".join(lines))

    async def status(self, t: Turn) -> Reply:
        wanted = t.entities.get("ticket_id") or t.slots.get("ticket_id")
        if wanted is not None:
            digits = "".join(ch for ch in str(wanted) if ch.isdigit())
            # Never reveal another customer's ticket, nor whether it exists: only theirs is read.
            found = (
                await t.repo.ticket_lines(t.customer.id, ticket_id=int(digits), limit=1)
                if digits and len(digits) < 12
                else []
            )
            if not found:
                return t.reply(
                    "status.not_found",
                    Button(t.say("menu.tickets"), make_payload(Intent.TICKET_STATUS)),
                    wanted=digits or wanted,
                )
            return Reply(self.status_line(t, found[0]))
        tickets = await t.repo.ticket_lines(t.customer.id)
        if not tickets:
            return t.reply("status.none", Button(t.say("menu.report"), make_payload(Intent.REPORT_ISSUE)))
        return t.reply("status.list", lines="\n".join(self.status_line(t, x) for x in tickets))

    def status_line(self, t: Turn, ticket: TicketLine) -> str:
        status = ticket.status
        line = t.say(
            "status.line",
            id=ticket.id,
            category=t.pick(self.policy.categories[ticket.category].title),
            priority=t.label("priority.word", ticket.priority),
            status=t.label("ticket_status", status),
            subject=ticket.subject,
        )
        if status == TicketStatus.OPEN and ticket.first_response_at is None:
            line += t.say("status.line.due", due=render.when(ticket.response_due_at, self.policy, t.lang))
        if ticket.resolved_at is not None and status in DONE_STATUSES:
            line += t.say("status.line.resolved_on", at=render.when(ticket.resolved_at, self.policy, t.lang))
        return line
