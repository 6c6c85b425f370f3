"""Handoff: bring in a person, asking only what they need, then keep every message on the ticket.

"Talk to a person" takes what the conversation already knows (an intake in progress, the words
of the request itself, contact details given before), asks at most two questions (what it is
about; how to reach them, unless the chat itself reaches them for good, as Telegram does), then
opens the ticket with the category and priority its words suggest and says who answers by when.
From then on every message goes on the ticket and is acknowledged: nobody writes into silence.
"""

from __future__ import annotations

import re

from actions import render
from actions.contact import clean_name, find_email, find_phone, strip_contact
from actions.flows.base import INFO_INTENTS, REPORT_CATEGORIES, Flow, limit_reply, menu_buttons
from actions.messages import Button, Reply
from actions.payload import make_payload
from actions.state import Intake
from actions.turn import Turn
from actions.understand.topics import category_in_words
from desk import metrics
from desk.announce import LASTING_CHATS
from desk.constants import OPEN_STATUSES, TicketStatus
from desk.policy import CATEGORIES, PRIORITIES
from desk.tickets import NewTicket, TicketLimitReached
from desk.triage import subject_of, suggest_priority
from nlu.intents import Intent
from storage.models import Ticket

# The ticket's description (for the agents) when the customer said nothing about the problem.
NO_DESCRIPTION = "The customer asked to talk to a person."
ABOUT_STEP = "handoff_about"  # asked: what is it about?
CONTACT_STEP = "handoff_contact"  # asked: your name and an email address or phone number
# A report intent this sure names the category of what the customer said it is about.
CATEGORY_CONFIDENCE = 0.3
RANKED_CATEGORY_CONFIDENCE = 0.15
# "Cancel" typed instead of an answer leaves from this confidence on.
CANCEL_CONFIDENCE = 0.8

# The words of a request for a person; what is left says what it is about ("..., our ERP is down").
_ASKING_WORDS = frozenset(
    """
    please pls plz can could may would will you i we me us my our i'd i'm id im want need wanna like
    talk speak chat with to a an the some someone somebody anyone real live actual human humans being
    person people agent agents operator staff representative rep manager supervisor support team
    member members now right away asap immediately get connect transfer put through let hi hello hey
    just and or but is are am there here this that it be for of on in about help helpdesk desk service
    customer thanks thank ok okay yes no hand over over
    """.split()
)
# Words that show a "name" is a sentence about the contact details, not a name.
_NOT_NAME_WORDS = frozenset(
    "me my at on or and is email mail phone number call reach contact you can use the it its write text".split()
)
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def says_what_about(text: str) -> bool:
    """The message tells more than "I want a person": words beyond the request itself."""
    return any(w.lower() not in _ASKING_WORDS for w in _WORD.findall(strip_contact(text)))


def category_in(t: Turn) -> str | None:
    """The category the message's words suggest: the NLU's report intent, first or runner-up, or
    else the words themselves ("about our contract": billing)."""
    if t.is_payload:
        return None
    if t.intent in REPORT_CATEGORIES and t.confidence >= CATEGORY_CONFIDENCE:
        return REPORT_CATEGORIES[t.intent]
    for ranked in t.ranking:
        name = ranked.get("name")
        if name in REPORT_CATEGORIES and float(ranked.get("confidence", 0)) >= RANKED_CATEGORY_CONFIDENCE:
            return REPORT_CATEGORIES[str(name)]
    return category_in_words(t.text)


def name_in(text: str) -> str | None:
    """A name given with the contact details ("Sokha Chan, sokha@example.com"), if there is one."""
    # "Sokha Chan - sokha@example.com": the separators around the contact details go too.
    name = clean_name(strip_contact(text).strip(" -\u2013\u2014,;:/|"))
    if name is None or len(name.split()) > 4:
        return None
    if any(w.lower() in _NOT_NAME_WORDS for w in name.split()):
        return None
    return name


# After a ticket is resolved or closed these say nothing about it: no reopening, no follow-up.
_NOT_ABOUT_IT = (
    Intent.GREET,
    Intent.THANK_YOU,
    Intent.GOODBYE,
    Intent.AFFIRM,
    Intent.DENY,
    Intent.PROBLEM_SOLVED,
    Intent.CANCEL,
)


class HandoffFlow(Flow):
    def back_button(self, t: Turn) -> Button:
        return Button(t.say("button.back_to_bot"), make_payload(Intent.BACK_TO_BOT))

    def reaches_for_good(self, t: Turn) -> bool:
        """The chat itself reaches the customer later (Telegram); a web chat tab may be closed."""
        return t.msg.channel in LASTING_CHATS

    def team(self, ticket: Ticket) -> str:
        return self.policy.escalation.tiers[ticket.tier].name

    # -- asking for a person ----------------------------------------------------------------------

    async def start(
        self, t: Turn, *, category: str | None = None, priority: str | None = None
    ) -> list[Reply]:
        """Bring in a person: link the customer's open ticket, or ask what is missing and open one.

        `category` and `priority`, when the caller knows them (a refund demand: billing), go on
        the ticket as they are; otherwise the customer's words suggest them.
        """
        metrics.HANDOFFS.inc()
        session = t.repo.session
        ticket = await self.tickets.open_for_customer(session, t.customer.id)
        if ticket is not None:
            if not t.is_payload and says_what_about(t.text):
                await self.tickets.add_customer_message(
                    session, ticket.id, text=t.text, actor=t.actor, now=t.now
                )
            return await self.connect(t, ticket, "handoff.linked")
        draft = self.draft(t, category=category, priority=priority)
        t.state.start_handoff(draft)
        return self.ask_next(t, draft, asked=None) or await self.open(t, draft)

    def draft(self, t: Turn, *, category: str | None, priority: str | None) -> Intake:
        """The ticket so far: an intake in progress, the request's own words, saved contact details."""
        i = t.state.intake or Intake()
        c = t.customer
        draft = Intake(
            category=category if category in CATEGORIES else i.category,
            description=i.description,
            priority=priority if priority in PRIORITIES else i.priority,
            suggested_priority=i.suggested_priority,
            sentiment=i.sentiment,
            exclusion=i.exclusion,
            troubleshooting=list(i.troubleshooting),
            name=i.name or c.name or clean_name(t.msg.display_name or ""),
            email=i.email or c.email,
            phone=i.phone or c.phone,
            attachments=list(i.attachments),
        )
        if not t.is_payload and says_what_about(t.text):
            self.take_about(t, draft)
        return draft

    def take_about(self, t: Turn, draft: Intake) -> None:
        """What the customer said it is about: the description, its category, contact details in it."""
        self.take_contact(t, draft, with_name=False)
        words = strip_contact(t.text) or t.text
        draft.description = f"{draft.description}\n\n{words}" if draft.description else words
        draft.category = draft.category or category_in(t)

    def take_contact(self, t: Turn, draft: Intake, *, with_name: bool) -> bool:
        """Email, phone and (asked for) name in the message; True when it had any."""
        email, phone = find_email(t.text), find_phone(t.text)
        draft.email = email or draft.email
        draft.phone = phone or draft.phone
        name = name_in(t.text) if with_name else None
        draft.name = name or draft.name
        return bool(email or phone or name)

    def ask_next(self, t: Turn, draft: Intake, *, asked: str | None) -> list[Reply] | None:
        """The next missing answer's question, each asked once (two at most), or None: open it."""
        if asked is None and not draft.description:
            t.state.step = ABOUT_STEP
            return [t.reply("handoff.ask_about", self.back_button(t))]
        if asked != CONTACT_STEP and not self.reaches_for_good(t) and not (draft.email or draft.phone):
            t.state.step = CONTACT_STEP
            key = "handoff.ask_contact" if not draft.name else "handoff.ask_reach"
            return [t.reply(key, self.back_button(t), name=draft.name)]
        return None

    async def collect(self, t: Turn) -> list[Reply] | None:
        """An answer to one of the handoff's questions; None when the customer went elsewhere."""
        draft = t.intake
        if t.intent in (Intent.BACK_TO_BOT, Intent.CANCEL) and (
            t.is_payload or t.confidence >= CANCEL_CONFIDENCE
        ):
            t.state.clear()
            return [t.reply("handoff.back", *menu_buttons(t))]
        if t.is_payload and t.intent != Intent.HUMAN_HANDOFF:
            t.state.clear()  # another button: the customer moved on
            return None
        asked = t.state.step
        if not t.is_payload:
            if asked == ABOUT_STEP:
                self.take_about(t, draft)
            elif not self.take_contact(t, draft, with_name=True):
                # Not contact details: more about the problem, kept for the agents.
                self.take_about(t, draft)
        return self.ask_next(t, draft, asked=asked) or await self.open(t, draft)

    async def open(self, t: Turn, draft: Intake) -> list[Reply]:
        """Open the ticket from the draft and ask a person to join."""
        customer = t.customer
        customer.name = draft.name or customer.name
        customer.email = draft.email or customer.email
        customer.phone = draft.phone or customer.phone
        description = draft.description or NO_DESCRIPTION
        priority = (
            draft.priority
            or suggest_priority(draft.description or "")
            or draft.suggested_priority
            or "medium"
        )
        try:
            ticket = await self.tickets.open(
                t.repo.session,
                customer=customer,
                now=t.now,
                actor=t.actor,
                daily_limit=True,
                new=NewTicket(
                    category=draft.category or "technical",
                    priority=priority,
                    channel=t.msg.channel,
                    description=description,
                    subject=subject_of(description),
                    troubleshooting=list(draft.troubleshooting),
                    exclusion=draft.exclusion,
                    conversation_id=t.conversation.id,
                    attachment_ids=tuple(draft.attachments),
                    language=t.lang,
                    sentiment=draft.sentiment,
                ),
            )
        except TicketLimitReached:
            t.state.clear()
            return [limit_reply(t, self.policy)]
        metrics.TICKETS_OPENED.labels(ticket.category, ticket.priority, ticket.channel).inc()
        return await self.connect(t, ticket, "handoff.opened")

    async def connect(self, t: Turn, ticket: Ticket, key: str) -> list[Reply]:
        """Tell the agents, put the conversation in their hands, say who answers by when."""
        await self.tickets.request_human(t.repo.session, ticket.id, actor=t.actor, now=t.now)
        t.state.clear()
        t.state.handoff_acknowledged = False
        t.conversation.handoff_ticket_id = ticket.id
        parts = [
            t.say(
                key,
                id=ticket.id,
                category=t.pick(self.policy.categories[ticket.category].title),
                priority=t.label("priority.word", ticket.priority),
                team=self.team(ticket),
                due=render.when(ticket.response_due_at, self.policy, t.lang),
                zone=render.zone_label(self.policy, t.lang),
            )
        ]
        if not self.clock.is_business_time(t.now):
            parts.append(render.open_status(self.policy, self.clock, t.now, t.lang))
        if not self.reaches_for_good(t):
            c = t.customer
            reach = c.email or c.phone
            parts.append(t.say("handoff.away.contact", contact=reach) if reach else t.say("handoff.away"))
        return [Reply(" ".join(parts), (self.back_button(t),))]

    # -- while a person has the conversation ------------------------------------------------------

    async def turn(self, t: Turn) -> list[Reply] | None:
        """Every message goes on the ticket and is acknowledged; None hands back to the bot."""
        ticket_id = t.conversation.handoff_ticket_id
        assert ticket_id is not None
        ticket = await self.tickets.get(t.repo.session, ticket_id)
        done = ticket is not None and ticket.status not in OPEN_STATUSES
        if (
            done
            and t.intent != Intent.BACK_TO_BOT
            and (t.is_payload or not t.text.strip() or t.intent in _NOT_ABOUT_IT)
        ):
            # A button, thanks or a greeting after the end: the assistant answers. A resolved
            # ticket stays linked, so a later "it broke again" still reopens it.
            if ticket is not None and ticket.status == TicketStatus.RESOLVED:
                return None
            ticket = None
        if t.intent == Intent.BACK_TO_BOT or ticket is None:
            t.conversation.handoff_ticket_id = None
            t.state.handoff_acknowledged = False
            if t.intent == Intent.BACK_TO_BOT:
                return [t.reply("handoff.back", *menu_buttons(t))]
            return None
        if t.is_payload:
            if t.intent in INFO_INTENTS:
                return (
                    None  # "My tickets", "Working hours": the bot answers them (a rating is handled before)
                )
            # Another button (an old menu's "Report a problem") would start a flow beside the agent's.
            return [self.waiting(t, ticket, "handoff.already")]
        if t.intent == Intent.HUMAN_HANDOFF:
            return [self.waiting(t, ticket, "handoff.already")]
        wrote = await self.tickets.customer_wrote(
            t.repo.session, ticket_id, text=t.text, actor=t.actor, now=t.now
        )
        due = render.when(wrote.next_due, self.policy, t.lang) if wrote.next_due is not None else ""
        if wrote.followup_of is not None:
            t.conversation.handoff_ticket_id = wrote.ticket.id
            return [
                t.reply(
                    "lifecycle.followup",
                    self.back_button(t),
                    old=wrote.followup_of,
                    id=wrote.ticket.id,
                    due=due,
                )
            ]
        if wrote.reopened:
            return [t.reply("lifecycle.reopened", self.back_button(t), id=ticket_id, due=due)]
        if wrote.next_due is not None:
            # A clock started (the next response) or resumed (after waiting): the next answer's time.
            return [t.reply("lifecycle.next_answer", self.back_button(t), id=ticket_id, due=due)]
        return [self.waiting(t, ticket, "handoff.added")]

    def waiting(self, t: Turn, ticket: Ticket, key: str) -> Reply:
        """The acknowledgement, and while nobody has answered yet, who answers by when."""
        text = t.say(key, id=ticket.id)
        if ticket.first_response_at is None:
            text += " " + t.say(
                "handoff.due",
                team=self.team(ticket),
                due=render.when(ticket.response_due_at, self.policy, t.lang),
                zone=render.zone_label(self.policy, t.lang),
            )
        return Reply(text, (self.back_button(t),))
