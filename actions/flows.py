"""The flows of a support conversation (state diagram: docs/conversation.mmd).

Idle: greet, answer questions (hours, contact, maintenance, my tickets), hand off to a person,
or start the intake. Intake: category → description → priority → exclusion check →
troubleshooting steps → contact → summary → ticket. Questions and "talk to a person" work at
any step; "cancel" leaves the intake at any step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from actions import render
from actions.contact import clean_name, find_email, find_phone, strip_contact
from actions.messages import Button, Incoming, Reply
from actions.payload import make_payload
from actions.state import DialogueState, Intake
from desk import feedback, maintenance, metrics, privacy
from desk.feedback import FeedbackError
from desk.policy import CATEGORIES, PRIORITIES, Category, Policy
from desk.tickets import OPEN_STATUSES, NewTicket, TicketService
from desk.triage import detect_exclusion, subject_of, suggest_priority
from storage.models import Attachment, Conversation, Customer, SelfServiceResolution, Ticket

REPORT_INTENTS = {
    "report_technical_issue": "technical",
    "report_billing_issue": "billing",
    "report_infrastructure_issue": "infrastructure",
    "report_security_issue": "security",
}
INFO_INTENTS = ("working_hours", "contact_channels", "maintenance_info", "ticket_status", "help")
# Below this confidence a report is real but its category is a guess: ask with buttons.
CATEGORY_CONFIDENCE = 0.55
# In steps that take free text (description, name, email), a question interrupts only when
# the NLU is this sure, so "my printer is down, what are your hours" stays a description.
INTERRUPT_CONFIDENCE = 0.8
FREE_TEXT_STEPS = ("description", "name", "reach")
# Feedback: after a rating the bot waits for an optional comment. The rated ticket's id is kept in
# `state.flow` as `feedback:ID` (the intake, if one was in progress, stays in `state.intake`).
# The customer's own data (buttons and commands only): announcements on/off, delete my data.
ACCOUNT_INTENTS = (
    "stop_announcements",
    "resume_announcements",
    "forget_me",
    "forget_confirmed",
    "forget_cancel",
)
FEEDBACK_STEP = "feedback_comment"
FEEDBACK_FLOW = "feedback:"
MAX_TICKET_ID = 2**63 - 1
_PROBLEM_WORDS = re.compile(
    r"\b(problem|issue|trouble|not working|doesn'?t work|does not work|broken|error|fault|bug|"
    r"report (a|an) (problem|issue)|need (help|support)|help me)\b"
)
PRIORITY_WORDS = {
    "critical": "critical",
    "urgent": "high",
    "high": "high",
    "medium": "medium",
    "normal": "medium",
    "low": "low",
    "minor": "low",
}
STATUS_WORDS = {
    "open": "waiting for an engineer",
    "acknowledged": "an engineer is working on it",
    "waiting_customer": "waiting for your reply",
    "resolved": "resolved",
    "closed": "closed",
}


@dataclass
class Turn:
    """Everything one message's handling needs."""

    msg: Incoming
    session: AsyncSession
    conversation: Conversation
    customer: Customer
    state: DialogueState
    text: str
    truncated: bool
    now: datetime
    is_payload: bool
    intent: str
    confidence: float
    slots: dict[str, Any]
    entities: dict[str, str]
    ranking: list[dict[str, Any]] = field(default_factory=list)

    @property
    def intake(self) -> Intake:
        assert self.state.intake is not None
        return self.state.intake


def menu_buttons() -> tuple[Button, ...]:
    return (
        Button("Report a problem", "/report_issue"),
        Button("My tickets", "/ticket_status"),
        Button("Working hours", "/working_hours"),
        Button("Contact us", "/contact_channels"),
        Button("Talk to a person", "/human_handoff"),
    )


YES_NO = (Button("Yes", "/affirm"), Button("No", "/deny"))


class Flows:
    """Decides the replies for one turn and updates the state it carries."""

    def __init__(self, *, policy: Policy, tickets: TicketService) -> None:
        self.policy = policy
        self.tickets = tickets
        self.clock = tickets.clock

    async def respond(self, t: Turn) -> list[Reply]:
        if t.customer.unreachable_at is not None:
            t.customer.unreachable_at = None  # they wrote to us, so messages reach them again
        if t.is_payload and t.intent in ACCOUNT_INTENTS:
            return await self._account(t)
        files = t.msg.metadata.get("attachments") or []
        if not files:
            return await self._respond_text(t)
        # A file's caption is handled as a message first; the files then follow the state it left.
        replies = await self._respond_text(t) if t.text else []
        return await self._files(t, files, replies)

    async def _respond_text(self, t: Turn) -> list[Reply]:
        # Ratings work in any state, handoff included: they are never relayed to the agent.
        if t.intent == "rate" and t.is_payload:
            return await self._rate(t)
        if t.state.step == FEEDBACK_STEP:
            handled = await self._feedback_comment(t)
            if handled is not None:
                return handled
        if t.conversation.handoff_ticket_id is not None:
            handled = await self._handoff_turn(t)
            if handled is not None:
                return handled
        if t.state.flow == "intake" and t.state.intake is not None:
            return await self._intake_turn(t)
        t.state.clear()
        return await self._idle_turn(t)

    # -- idle ------------------------------------------------------------------------------

    async def _idle_turn(self, t: Turn) -> list[Reply]:
        intent = t.intent
        if intent in REPORT_INTENTS or intent == "report_issue":
            return self._start_intake(t)
        if intent == "out_of_scope" and not t.is_payload and self._sounds_like_a_problem(t):
            # "I have a problem": a report whose category the message does not tell; ask it.
            return self._start_intake(t)
        if intent in INFO_INTENTS:
            return await self._info(t, intent)
        if intent == "human_handoff":
            return await self._handoff(t)
        if intent == "greet":
            window = await maintenance.active_window(t.session, t.now)
            under_way = (
                f"\nMaintenance is under way until {render.when(window.ends_at, self.policy)}: {window.message}\n"
                if window is not None
                else " "
            )
            return [
                Reply(
                    f"Hello! I'm the support assistant of {self.policy.company}. "
                    f"{render.open_status(self.policy, self.clock, t.now)}{under_way}How can I help you today?",
                    menu_buttons(),
                )
            ]
        if intent == "thank_you":
            return [Reply("You're welcome! If anything else comes up, just write here.")]
        if intent == "goodbye":
            return [Reply("Goodbye, and thank you for contacting us. Write here any time.")]
        if intent == "problem_solved":
            return [Reply("Glad to hear everything works! Anything else I can do for you?", menu_buttons())]
        if intent == "inform":
            return self._remember_contact(t)
        if intent == "cancel":
            return [Reply("There's nothing in progress to cancel. How can I help?", menu_buttons())]
        if intent in ("affirm", "deny"):
            return [Reply("How can I help you?", menu_buttons())]
        if t.is_payload:
            return [Reply("Sorry, that option isn't available here. Here is what I can do:", menu_buttons())]
        return [self._fallback()]

    @staticmethod
    def _sounds_like_a_problem(t: Turn) -> bool:
        """The NLU's best in-scope guess is a report, or the words say there is a problem."""
        runner_up = next(
            (r for r in t.ranking if r.get("name") not in ("out_of_scope", "nlu_fallback")), None
        )
        if runner_up and runner_up["name"] in REPORT_INTENTS and float(runner_up.get("confidence", 0)) >= 0.2:
            return True
        return bool(_PROBLEM_WORDS.search(t.text.lower()))

    def _fallback(self) -> Reply:
        return Reply(
            f"Sorry, I can't help with that. I'm the support assistant of {self.policy.company}: I can "
            "open a ticket for a technical, billing, infrastructure or security problem, tell you the "
            "status of your tickets, our working hours and how to reach us, or bring in a person.",
            menu_buttons(),
        )

    def _remember_contact(self, t: Turn) -> list[Reply]:
        email = find_email(t.text) or t.entities.get("email")
        phone = find_phone(t.text) if email is None else None
        name = t.entities.get("name")
        noted = []
        if name and clean_name(name):
            t.customer.name = clean_name(name)
            noted.append("name")
        if email:
            t.customer.email = email
            noted.append("email")
        if phone:
            t.customer.phone = phone
            noted.append("phone number")
        if not noted:
            return [self._fallback()]
        return [Reply(f"Thanks, I've noted your {' and '.join(noted)}. How can I help?", menu_buttons())]

    # -- intake ----------------------------------------------------------------------------

    def _start_intake(self, t: Turn) -> list[Reply]:
        intake = t.state.start_intake()
        category = REPORT_INTENTS.get(t.intent)
        if category and (t.is_payload or t.confidence >= CATEGORY_CONFIDENCE):
            intake.category = category
        if t.is_payload:
            if t.slots.get("category") in CATEGORIES:
                intake.category = t.slots["category"]
        else:
            intake.description = t.text
            intake.suggested_priority = suggest_priority(t.text)
        intro = "I'm sorry to hear that. Let's get this to the right people."
        return [Reply(intro), *self._advance(t)]

    async def _intake_turn(self, t: Turn) -> list[Reply]:
        step = t.state.step
        free_text = step in FREE_TEXT_STEPS
        interrupt = t.is_payload or not free_text or t.confidence >= INTERRUPT_CONFIDENCE
        if t.intent == "cancel" and (interrupt or t.confidence >= 0.6):
            t.state.clear()
            return [
                Reply("Okay, I've cancelled that; nothing was sent. How else can I help?", menu_buttons())
            ]
        if t.intent == "human_handoff" and interrupt:
            return await self._handoff(t)
        if t.intent in INFO_INTENTS and interrupt:
            return [*await self._info(t, t.intent), *self._prompt(t)]
        if t.intent == "greet" and not free_text:
            return [Reply("Hello again! Let's carry on where we were."), *self._prompt(t)]
        handler = {
            "category": self._on_category,
            "description": self._on_description,
            "priority": self._on_priority,
            "exclusion": self._on_exclusion,
            "troubleshoot": self._on_troubleshoot,
            "contact_confirm": self._on_contact_confirm,
            "name": self._on_name,
            "reach": self._on_reach,
            "confirm": self._on_confirm,
        }.get(step or "")
        if handler is None:
            return self._advance(t)
        return await handler(t)

    def _prompt(self, t: Turn) -> list[Reply]:
        """Ask again what the current step needs."""
        return self._advance(t)

    def _advance(self, t: Turn) -> list[Reply]:
        """Ask for the first thing the intake still lacks (the order of the policy's intake)."""
        i = t.intake
        state = t.state
        if i.category is None:
            state.step = "category"
            buttons = tuple(
                Button(f"{self.policy.categories[c].title}", make_payload("choose_category", category=c))
                for c in CATEGORIES
            )
            lines = [
                f"• {self.policy.categories[c].title}: {self.policy.categories[c].description}"
                for c in CATEGORIES
            ]
            return [Reply("Which kind of problem is it?\n" + "\n".join(lines), buttons)]
        if i.description is None:
            state.step = "description"
            return [
                Reply(
                    "Please describe the problem in a few words: what happens, since when, "
                    "and who is affected?"
                )
            ]
        if i.priority is None:
            state.step = "priority"
            return [self._priority_question(i)]
        if not i.exclusion_checked:
            kind = detect_exclusion(i.description, self.policy)
            if kind is not None:
                state.step = "exclusion"
                exclusion = self.policy.exclusions[kind]
                return [
                    Reply(
                        f"Before we go on, to be transparent: our support does not cover "
                        f"{exclusion.title.lower()} ({exclusion.description.rstrip('.').lower()}). Your message "
                        "sounds like it may fall under that. I can still pass your request on, and the team "
                        "will tell you whether they can help. Shall I pass it on?",
                        (Button("Yes, pass it on", "/affirm"), Button("No, thanks", "/deny")),
                    )
                ]
            i.exclusion_checked = True
        steps = self._category(i).troubleshooting
        if len(i.troubleshooting) < len(steps):
            state.step = "troubleshoot"
            n = len(i.troubleshooting)
            intro = (
                "Some quick checks first; they often solve the problem, and they help our engineers. "
                if n == 0
                else ""
            )
            return [
                Reply(
                    f"{intro}Step {n + 1} of {len(steps)}: {steps[n]}",
                    (
                        Button("Yes", "/affirm"),
                        Button("No", "/deny"),
                        Button("That fixed it!", "/problem_solved"),
                    ),
                )
            ]
        if (
            i.name is None
            and not i.saved_contact_declined
            and t.customer.name
            and (t.customer.email or t.customer.phone)
        ):
            state.step = "contact_confirm"
            return [
                Reply(
                    f"Shall I use the contact details I have for you: {self._contact_line(t.customer)}?",
                    YES_NO,
                )
            ]
        if i.name is None:
            state.step = "name"
            guess = clean_name(t.msg.display_name or "")
            buttons = (Button(f"I'm {guess}", make_payload("inform", name=guess)),) if guess else ()
            return [Reply("So that an engineer can reach you, what is your name?", buttons)]
        if i.email is None and i.phone is None:
            state.step = "reach"
            return [Reply(f"Thanks, {i.name}. What email address or phone number can we reach you at?")]
        state.step = "confirm"
        return [self._summary(i)]

    def _category(self, i: Intake) -> Category:
        """The policy's entry for the intake's category (set before any step that needs it)."""
        assert i.category is not None
        return self.policy.categories[i.category]

    def _priority_question(self, i: Intake) -> Reply:
        category = self._category(i)
        order = list(PRIORITIES)
        if i.suggested_priority in order:
            order.remove(i.suggested_priority)
            order.insert(0, i.suggested_priority)
        buttons = tuple(
            Button(
                f"{p.capitalize()}{' (suggested)' if p == i.suggested_priority else ''}: "
                f"{category.priorities[p]}",
                make_payload("choose_priority", priority=p),
            )
            for p in order
        )
        text = "How urgent is it? Please choose the priority that fits best."
        if i.suggested_priority:
            text = (
                f"From what you wrote, this looks {i.suggested_priority}. Please confirm the priority, "
                "or choose another one."
            )
        return Reply(text, buttons)

    def _summary(self, i: Intake) -> Reply:
        category = self._category(i)
        lines = [
            "Here is your request:",
            f"• Category: {category.title}",
            f"• Priority: {i.priority and i.priority.capitalize()}: {category.priorities[i.priority or 'medium']}",
            f"• Problem: {i.description}",
            f"• Contact: {', '.join(x for x in (i.name, i.email, i.phone) if x)}",
        ]
        if i.troubleshooting:
            done = "; ".join(f"{s['step']} {s['answer']}" for s in i.troubleshooting)
            lines.append(f"• Checks: {done}")
        if i.exclusion:
            lines.append(f"• Note: {self.policy.exclusions[i.exclusion].title} (outside standard support)")
        lines.append("Shall I open the ticket?")
        return Reply(
            "\n".join(lines),
            (
                Button("Open the ticket", "/affirm"),
                Button("Change priority", "/change_priority"),
                Button("Cancel", "/cancel"),
            ),
        )

    @staticmethod
    def _contact_line(customer: Customer) -> str:
        return ", ".join(x for x in (customer.name, customer.email, customer.phone) if x)

    async def _on_category(self, t: Turn) -> list[Reply]:
        i = t.intake
        chosen = t.slots.get("category") if t.intent == "choose_category" else REPORT_INTENTS.get(t.intent)
        if chosen is None and not t.is_payload:
            lowered = t.text.lower()
            chosen = next((c for c in CATEGORIES if c in lowered or c[:5] in lowered), None)
        if chosen not in CATEGORIES:
            return [Reply("Please choose one of the categories with the buttons."), *self._advance(t)]
        i.category = chosen
        return self._advance(t)

    async def _on_description(self, t: Turn) -> list[Reply]:
        if t.is_payload:
            return [Reply("Please type a short description of the problem.")]
        i = t.intake
        i.description = t.text
        i.suggested_priority = suggest_priority(t.text)
        return self._advance(t)

    async def _on_priority(self, t: Turn) -> list[Reply]:
        i = t.intake
        chosen: str | None = None
        if t.intent == "choose_priority":
            chosen = t.slots.get("priority")
        elif t.intent == "affirm" and i.suggested_priority:
            chosen = i.suggested_priority
        elif not t.is_payload:
            words = re.findall(r"[a-z]+", t.text.lower())
            chosen = next((PRIORITY_WORDS[w] for w in words if w in PRIORITY_WORDS), None)
        if chosen not in PRIORITIES:
            return [Reply("Please choose a priority with the buttons."), self._priority_question(i)]
        i.priority = chosen
        return self._advance(t)

    async def _on_exclusion(self, t: Turn) -> list[Reply]:
        i = t.intake
        if t.intent == "affirm":
            i.exclusion = detect_exclusion(i.description or "", self.policy)
            i.exclusion_checked = True
            return [
                Reply("Understood, I'll pass it on and note that it may be outside standard support."),
                *self._advance(t),
            ]
        if t.intent == "deny":
            t.state.clear()
            return [
                Reply(
                    "Understood, I haven't opened a ticket. If there is anything within our services "
                    "I can help with, just tell me.",
                    menu_buttons(),
                )
            ]
        return [Reply("Please answer with the buttons: shall I pass it on anyway?"), *self._advance(t)]

    async def _on_troubleshoot(self, t: Turn) -> list[Reply]:
        i = t.intake
        steps = self._category(i).troubleshooting
        step = steps[len(i.troubleshooting)]
        if t.intent == "problem_solved":
            t.session.add(
                SelfServiceResolution(
                    conversation_id=t.conversation.id,
                    channel=t.msg.channel,
                    category=i.category or "",
                    step=step,
                    at=t.now,
                )
            )
            metrics.SELF_SERVICE.labels(i.category or "").inc()
            t.state.clear()
            return [
                Reply(
                    "Great, I'm glad that fixed it! I haven't opened a ticket. If it comes back, "
                    "just write here."
                )
            ]
        if t.intent not in ("affirm", "deny"):
            return [Reply("Please answer with Yes, No, or That fixed it!"), *self._advance(t)]
        i.troubleshooting.append({"step": step, "answer": "yes" if t.intent == "affirm" else "no"})
        return self._advance(t)

    async def _on_contact_confirm(self, t: Turn) -> list[Reply]:
        i = t.intake
        if t.intent == "affirm":
            i.name, i.email, i.phone = t.customer.name, t.customer.email, t.customer.phone
        elif t.intent == "deny":
            i.saved_contact_declined = True
        else:
            return [Reply("Please answer Yes or No."), *self._advance(t)]
        return self._advance(t)

    async def _on_name(self, t: Turn) -> list[Reply]:
        i = t.intake
        if not t.is_payload and t.intent in REPORT_INTENTS and t.confidence >= INTERRUPT_CONFIDENCE:
            return [
                Reply(
                    "That sounds like more about the problem; I'll need your name first. What is your name?"
                )
            ]
        if t.is_payload:
            raw = str(t.slots.get("name", ""))
        else:
            # "Sokha, sokha@example.com": the name is what is left without the email or phone.
            raw = t.entities.get("name") or strip_contact(t.text)
        name = clean_name(raw)
        if name is None:
            return [Reply("Sorry, that doesn't look like a name. Please type your name, e.g. Sokha Chan.")]
        i.name = name
        # Some customers give everything at once: "Sokha, sokha@example.com".
        if not t.is_payload:
            i.email = find_email(t.text)
            i.phone = find_phone(t.text) if i.email is None else None
        return self._advance(t)

    async def _on_reach(self, t: Turn) -> list[Reply]:
        i = t.intake
        email = find_email(t.text) if not t.is_payload else None
        phone = find_phone(t.text) if not t.is_payload and email is None else None
        if email is None and phone is None:
            return [
                Reply(
                    "Sorry, I couldn't read an email address or phone number there. Please type one, "
                    "e.g. sokha@example.com or 012 345 678."
                )
            ]
        i.email, i.phone = email, phone
        return self._advance(t)

    async def _on_confirm(self, t: Turn) -> list[Reply]:
        i = t.intake
        if t.intent == "affirm":
            return await self._open_ticket(t)
        if t.intent == "change_priority":
            i.priority = None
            return self._advance(t)
        if t.intent == "deny":
            t.state.clear()
            return [
                Reply("Okay, I've discarded it; no ticket was opened. How else can I help?", menu_buttons())
            ]
        return [
            Reply("Please use the buttons: open the ticket, change its priority, or cancel."),
            self._summary(i),
        ]

    async def _open_ticket(self, t: Turn) -> list[Reply]:
        i = t.intake
        customer = t.customer
        customer.name = i.name or customer.name
        customer.email = i.email or customer.email
        customer.phone = i.phone or customer.phone
        ticket = await self.tickets.open(
            t.session,
            customer=customer,
            now=t.now,
            new=NewTicket(
                category=i.category or "technical",
                priority=i.priority or "medium",
                channel=t.msg.channel,
                description=i.description or "",
                subject=subject_of(i.description or ""),
                troubleshooting=list(i.troubleshooting),
                exclusion=i.exclusion,
                conversation_id=t.conversation.id,
                attachment_ids=tuple(i.attachments),
            ),
        )
        metrics.TICKETS_OPENED.labels(ticket.category, ticket.priority, ticket.channel).inc()
        t.state.clear()
        return [Reply(self._opened_text(ticket, t.now, name=i.name))]

    def _opened_text(self, ticket: Ticket, now: datetime, *, name: str | None = None) -> str:
        category = self.policy.categories[ticket.category]
        thanks = f"Thank you, {name}. " if name else ""
        parts = [
            f"{thanks}Your ticket #{ticket.id} is open: {category.title}, priority "
            f"{ticket.priority.capitalize()}. An engineer will reply by "
            f"{render.when(ticket.response_due_at, self.policy)} ({render.zone_label(self.policy)})."
        ]
        if not self.clock.is_business_time(now):
            back = self.clock.next_opening(now)
            parts.append(
                f"We're outside working hours right now; the team is back {render.when(back, self.policy)}."
            )
            parts.append(render.weekend_note(self.policy))
        if ticket.maintenance_id is not None:
            parts.append("Note: maintenance is under way right now, which may be related; we've linked it.")
        if ticket.exclusion:
            parts.append(
                "As mentioned, this may be outside standard support; the team will tell you what they can do."
            )
        parts.append("You can ask me for its status any time.")
        return " ".join(parts)

    # -- information -----------------------------------------------------------------------

    async def _info(self, t: Turn, intent: str) -> list[Reply]:
        policy = self.policy
        if intent == "working_hours":
            return [
                Reply(
                    f"Our support team works {render.hours_summary(policy)} ({render.zone_label(policy)}), "
                    f"except public holidays. Weekends: {policy.weekend_support or 'limited support.'} "
                    f"{render.open_status(policy, self.clock, t.now)}"
                )
            ]
        if intent == "contact_channels":
            c = policy.contact
            return [
                Reply(
                    f"You can reach {policy.company} support by:\n• Email: {c.email}\n• Phone: {c.phone}\n"
                    f"• Live chat: {c.live_chat}"
                )
            ]
        if intent == "maintenance_info":
            return [await self._maintenance(t)]
        if intent == "ticket_status":
            return [await self._status(t)]
        return [Reply("Here is what I can do for you:", menu_buttons())]

    async def _maintenance(self, t: Turn) -> Reply:
        windows = await maintenance.current_and_upcoming(t.session, t.now)
        if not windows:
            leads = ", ".join(render.duration(d) for d in self.policy.maintenance.announce_before)
            ahead = f" We announce maintenance ahead of time ({leads} before it starts)." if leads else ""
            return Reply(f"No maintenance is scheduled right now; all services should be available.{ahead}")
        lines = []
        for w in windows:
            span = f"{render.when(w.starts_at, self.policy)} to {render.when(w.ends_at, self.policy)}"
            if w.starts_at <= t.now:
                lines.append(f"• Under way now, until {render.when(w.ends_at, self.policy)}: {w.message}")
            else:
                lines.append(f"• Scheduled {span}: {w.message}")
        return Reply(
            "Maintenance windows (some services may be unavailable during them):\n" + "\n".join(lines)
        )

    async def _status(self, t: Turn) -> Reply:
        wanted = t.entities.get("ticket_id") or t.slots.get("ticket_id")
        if wanted is not None:
            digits = "".join(ch for ch in str(wanted) if ch.isdigit())
            ticket = await self.tickets.get(t.session, int(digits)) if digits and len(digits) < 12 else None
            # Never reveal another customer's ticket, nor whether it exists.
            if ticket is None or ticket.customer_id != t.customer.id:
                return Reply(
                    f"I can't find ticket #{digits or wanted} among your tickets. "
                    "I can only show tickets opened from this chat.",
                    (Button("My tickets", "/ticket_status"),),
                )
            return Reply(self._status_line(ticket, t.now))
        tickets = await self.tickets.for_customer(t.session, t.customer.id)
        if not tickets:
            return Reply(
                "You have no tickets with us yet. Would you like to report a problem?",
                (Button("Report a problem", "/report_issue"),),
            )
        return Reply("Your tickets:\n" + "\n".join(self._status_line(x, t.now) for x in tickets))

    def _status_line(self, ticket: Ticket, now: datetime) -> str:
        category = self.policy.categories[ticket.category].title
        line = (
            f"• #{ticket.id} {category}, {ticket.priority}: {STATUS_WORDS.get(ticket.status, ticket.status)}"
            f" (“{ticket.subject}”)"
        )
        if ticket.status == "open" and ticket.first_response_at is None:
            line += f"; reply due by {render.when(ticket.response_due_at, self.policy)}"
        if ticket.resolved_at is not None and ticket.status in ("resolved", "closed"):
            line += f" on {render.when(ticket.resolved_at, self.policy)}"
        return line

    # -- handoff ---------------------------------------------------------------------------

    async def _handoff(self, t: Turn) -> list[Reply]:
        """Bring in a person: link the customer's open ticket, or open one from what we know."""
        metrics.HANDOFFS.inc()
        actor = f"customer:{t.customer.id}"
        ticket = await self.tickets.open_for_customer(t.session, t.customer.id)
        if ticket is None:
            i = t.state.intake or Intake()
            description = i.description or (t.text if not t.is_payload else "")
            description = description or "The customer asked to talk to a person."
            ticket = await self.tickets.open(
                t.session,
                customer=t.customer,
                now=t.now,
                actor=actor,
                new=NewTicket(
                    category=i.category or "technical",
                    priority=i.priority or i.suggested_priority or "medium",
                    channel=t.msg.channel,
                    description=description,
                    subject=subject_of(description),
                    troubleshooting=list(i.troubleshooting),
                    exclusion=i.exclusion,
                    conversation_id=t.conversation.id,
                    attachment_ids=tuple(i.attachments),
                ),
            )
            metrics.TICKETS_OPENED.labels(ticket.category, ticket.priority, ticket.channel).inc()
            lead = f"I've opened ticket #{ticket.id} and asked a person to join."
        else:
            lead = f"I've asked a person to join you on your ticket #{ticket.id}."
        await self.tickets.request_human(t.session, ticket.id, actor=actor, now=t.now)
        t.state.clear()
        t.state.handoff_acknowledged = False
        t.conversation.handoff_ticket_id = ticket.id
        when = render.when(ticket.response_due_at, self.policy)
        text = (
            f"{lead} An agent will answer here by {when} ({render.zone_label(self.policy)}) at the latest. "
            "Anything you write now goes to them."
        )
        if not self.clock.is_business_time(t.now):
            text += f" {render.open_status(self.policy, self.clock, t.now)}"
        return [Reply(text, (Button("Back to the bot", "/back_to_bot"),))]

    async def _handoff_turn(self, t: Turn) -> list[Reply] | None:
        """While a person has the conversation the bot relays and stays quiet; None hands back."""
        ticket_id = t.conversation.handoff_ticket_id
        assert ticket_id is not None
        ticket = await self.tickets.get(t.session, ticket_id)
        if t.intent == "back_to_bot" or ticket is None or ticket.status not in OPEN_STATUSES:
            t.conversation.handoff_ticket_id = None
            t.state.handoff_acknowledged = False
            if t.intent == "back_to_bot":
                return [Reply("You're talking to the bot again. How can I help?", menu_buttons())]
            return None
        if t.intent == "human_handoff":
            return [
                Reply(f"You're already connected to the team on ticket #{ticket_id}; they will answer here.")
            ]
        await self.tickets.add_customer_message(
            t.session, ticket_id, text=t.text, actor=f"customer:{t.customer.id}", now=t.now
        )
        if t.state.handoff_acknowledged:
            return []
        t.state.handoff_acknowledged = True
        return [
            Reply(
                f"I've passed that on to the team on ticket #{ticket_id}.",
                (Button("Back to the bot", "/back_to_bot"),),
            )
        ]

    # -- files -----------------------------------------------------------------------------

    async def _files(self, t: Turn, files: list[dict[str, Any]], replies: list[Reply]) -> list[Reply]:
        """Screenshots and files: to the ticket being talked about, the intake, or a new report."""
        rows = [
            Attachment(
                conversation_id=t.conversation.id,
                channel=t.msg.channel,
                kind=str(f["kind"]),
                file_id=str(f["file_id"]),
                file_name=str(f["file_name"]),
                mime_type=f.get("mime_type"),
                size=f.get("size"),
                caption=t.text or None,
                created_at=t.now,
            )
            for f in files
        ]
        t.session.add_all(rows)
        await t.session.flush()
        what = _describe(rows)
        if t.conversation.handoff_ticket_id is None and t.state.flow == "intake" and t.state.intake:
            t.intake.attachments.extend(row.id for row in rows)
            kept = Reply(f"Thanks, I've kept {what}; it will go with your ticket.")
            return [kept, *replies] if replies else [kept, *self._prompt(t)]
        ticket = None
        if t.conversation.handoff_ticket_id is not None:
            ticket = await self.tickets.get(t.session, t.conversation.handoff_ticket_id)
        if ticket is None or ticket.status not in OPEN_STATUSES:
            ticket = await self.tickets.open_for_customer(t.session, t.customer.id)
        if ticket is not None:
            for row in rows:
                await self.tickets.add_attachment(
                    t.session, ticket.id, row, actor=f"customer:{t.customer.id}", now=t.now
                )
            return [Reply(f"I've added {what} to your ticket #{ticket.id}; the team can see it."), *replies]
        # No ticket to add it to: a file sent out of the blue is a problem report.
        intake = t.state.start_intake()
        if t.text:
            intake.description = t.text
            intake.suggested_priority = suggest_priority(t.text)
        intake.attachments = [row.id for row in rows]
        return [
            Reply(f"Thanks, I've got {what}. Let's open a ticket so an engineer can look at it."),
            *self._advance(t),
        ]

    # -- the customer's data -----------------------------------------------------------------

    async def _account(self, t: Turn) -> list[Reply]:
        intent = t.intent
        if intent == "stop_announcements":
            t.customer.announcements = False
            return [
                Reply(
                    "Done: you won't receive maintenance announcements any more. "
                    "Answers about your tickets still reach you here.",
                    (Button("Resume announcements", "/resume_announcements"),),
                )
            ]
        if intent == "resume_announcements":
            t.customer.announcements = True
            return [Reply("Done: you'll hear about maintenance windows again.")]
        if intent == "forget_me":
            return [
                Reply(
                    "This deletes what we keep about you here: your name, email and phone number, and "
                    "this conversation. Your tickets stay as a record of the service, without your "
                    "contact details, and the team can no longer answer you here. Delete your data?",
                    (
                        Button("Yes, delete my data", "/forget_confirmed"),
                        Button("No, keep it", "/forget_cancel"),
                    ),
                )
            ]
        if intent == "forget_cancel":
            return [Reply("Okay, nothing was deleted. How can I help?", menu_buttons())]
        kept = await privacy.forget_customer(
            t.session, tickets=self.tickets, customer=t.customer, conversation=t.conversation, now=t.now
        )
        t.state.clear()
        t.state.handoff_acknowledged = False
        records = f" {kept} ticket(s) remain as records, without your contact details." if kept else ""
        return [Reply(f"Done: your data has been deleted.{records} Write here any time to start again.")]

    # -- feedback --------------------------------------------------------------------------

    @staticmethod
    def _slot_int(value: Any) -> int | None:
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            number = value
        elif isinstance(value, str) and value.strip().isdigit():
            number = int(value.strip())
        else:
            return None
        return number if 0 < number <= MAX_TICKET_ID else None

    @staticmethod
    def _feedback_ticket(state: DialogueState) -> int | None:
        """The ticket whose comment the bot is waiting for."""
        flow = state.flow or ""
        if state.step != FEEDBACK_STEP or not flow.startswith(FEEDBACK_FLOW):
            return None
        digits = flow.removeprefix(FEEDBACK_FLOW)
        return int(digits) if digits.isdigit() else None

    def _end_feedback(self, t: Turn) -> list[Reply]:
        """Leave the comment step: back to the intake in progress (asking its question), or idle."""
        t.state.step = None
        if t.state.intake is not None:
            t.state.flow = "intake"
            return self._prompt(t)
        t.state.flow = None
        return []

    async def _finish_feedback(self, t: Turn, ticket_id: int) -> None:
        """The rating is complete (commented or skipped): alert the managers if it is low."""
        await feedback.alert_if_low(t.session, policy=self.policy, ticket_id=ticket_id, now=t.now)

    async def _rate(self, t: Turn) -> list[Reply]:
        pending = self._feedback_ticket(t.state)
        ticket_id = self._slot_int(t.slots.get("ticket_id"))
        rating = self._slot_int(t.slots.get("rating"))
        if ticket_id is None or rating is None:
            return [Reply("Sorry, I couldn't read that rating. Please use the rating buttons.")]
        if pending is not None and pending != ticket_id:
            # Rating another ticket skips the comment of the previous one.
            await self._finish_feedback(t, pending)
            self._end_feedback(t)
        try:
            rated = await feedback.rate(
                t.session,
                policy=self.policy,
                ticket_id=ticket_id,
                customer_id=t.customer.id,
                rating=rating,
                now=t.now,
            )
        except FeedbackError as exc:
            resume = self._prompt(t) if t.state.flow == "intake" and t.state.intake is not None else []
            return [Reply(str(exc)), *resume]
        t.state.flow = f"{FEEDBACK_FLOW}{ticket_id}"
        t.state.step = FEEDBACK_STEP
        prompt = self.policy.feedback.comment_prompt
        if rated.updated:
            prompt = f"I've updated your rating of ticket #{ticket_id} to {rating} ★. {prompt}"
        return [Reply(prompt, (Button("Skip", "/deny"),))]

    async def _feedback_comment(self, t: Turn) -> list[Reply] | None:
        """The answer to the comment prompt; None lets the message be handled as usual."""
        ticket_id = self._feedback_ticket(t.state)
        if ticket_id is None:
            t.state.step = None
            return None
        skipped = t.intent == "deny" and (t.is_payload or len(t.text.split()) <= 3)
        if t.is_payload and not skipped:
            # Another button: no comment; the button does what it always does.
            await self._finish_feedback(t, ticket_id)
            self._end_feedback(t)
            return None
        if not skipped:
            await feedback.comment(
                t.session, ticket_id=ticket_id, customer_id=t.customer.id, text=t.text, now=t.now
            )
        await self._finish_feedback(t, ticket_id)
        resume = self._end_feedback(t)
        thanks = (
            "Thank you for your feedback; it helps us improve our support."
            if skipped
            else "Thank you, I've passed your comment on to the team; it helps us improve our support."
        )
        if resume or t.conversation.handoff_ticket_id is not None:
            return [Reply(thanks), *resume]
        return [Reply(f"{thanks} Anything else I can help with?", menu_buttons())]


def _describe(rows: list[Attachment]) -> str:
    if len(rows) > 1:
        return f"your {len(rows)} files"
    return "your photo" if rows[0].kind == "photo" else f"your file {rows[0].file_name}"
