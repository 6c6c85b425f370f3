"""The intake: from a report to a ticket, one step of actions/flows/intake_steps.py at a time.

Questions and "talk to a person" work at any step (the step is asked again after a question);
"cancel" leaves the intake at any step, and "that fixed it" ends it as solved at any step. Typed
replies are read for what they say first (a step's `hear`), so an answer with details is the
answer; words that answered nothing are kept and go on the ticket.
"""

from __future__ import annotations

from datetime import datetime

from actions import render
from actions.catalog import DEFAULT_LANGUAGE, label, text
from actions.flows.base import INFO_INTENTS, REPORT_CATEGORIES, Flow, limit_reply, menu_buttons
from actions.flows.intake_answers import INTERRUPT_CONFIDENCE, Answer, Outcome, Parsed, Retry
from actions.flows.intake_checks import current_check, in_policy_order
from actions.flows.intake_steps import STEP_BY_NAME, STEPS, Step, first_look
from actions.messages import Reply
from actions.turn import Turn
from actions.understand.answers import is_fixed
from actions.understand.text import clean
from actions.understand.topics import sounds_like_security
from desk import metrics
from desk.policy import CATEGORIES, localized
from desk.tickets import NewTicket, TicketLimitReached
from desk.triage import subject_of
from nlu.intents import Intent
from storage.models import Ticket

# Below this confidence a report is real but its category is a guess: ask with buttons.
CATEGORY_CONFIDENCE = 0.55
# "Cancel" typed in a free-text step leaves the intake from this confidence on.
CANCEL_CONFIDENCE = 0.6
# The step whose typed answer is the problem itself: "printer works again now but the scanner
# doesn't" there is a description, not "solved".
_OWN_TEXT_STEPS = frozenset({"description"})
# On the ticket (for the agents), before the words typed during the intake that answered no step.
ALSO_SAID = "Also said during the intake:"
FRUSTRATED = "frustrated"


class IntakeFlow(Flow):
    def start(self, t: Turn, *, category: str | None = None) -> list[Reply]:
        """A report: keep what the message tells (category, description, how they feel), then ask
        the rest. `category` is one the caller knows from the words (an outage, a refund)."""
        intake = t.state.start_intake()
        guessed = REPORT_CATEGORIES.get(t.intent)
        if not t.is_payload and sounds_like_security(t.text):
            # "47 failed logins on the VPN from another country": the VPN is where, an attack is what.
            intake.category = "security"
        elif category in CATEGORIES:
            intake.category = category
        elif guessed and (t.is_payload or t.confidence >= CATEGORY_CONFIDENCE):
            intake.category = guessed
        heard = None
        if t.is_payload:
            if t.slots.get("category") in CATEGORIES:
                intake.category = t.slots["category"]
        else:
            heard = first_look(t, t.text)
        return [t.reply(heard or "intake.intro"), *self.advance(t)]

    def advance(self, t: Turn) -> list[Reply]:
        """Ask for the first thing the intake still lacks (the last step, confirm, always is)."""
        for step in STEPS:
            if step.pending(self.policy, t):
                t.state.step = step.name
                return step.prompt(self.policy, t)
        raise AssertionError("the confirmation step is always pending")

    async def turn(self, t: Turn) -> list[Reply]:
        step = STEP_BY_NAME.get(t.state.step or "")
        if not t.is_payload and step is not None:
            if t.feelings.frustrated:
                t.intake.sentiment = FRUSTRATED
            if step.name not in _OWN_TEXT_STEPS and is_fixed(clean(t.text)):
                return await self.finish(t, Outcome.SOLVED)  # "restarting fixed it, thanks!"
            if step.hear is not None:
                heard = step.hear(self.policy, t)
                if heard is not None:
                    return await self.carry_out(t, step, heard)
        free_text = step is not None and step.free_text
        interrupt = t.is_payload or not free_text or t.confidence >= INTERRUPT_CONFIDENCE
        # Typed, a cancel needs a sure reading at any step: a misread answer ("restart
        # រាប់មិនអស់ហើយ!!!", restarted more times than I can count) must not throw the intake away.
        if t.intent == Intent.CANCEL and (t.is_payload or t.confidence >= CANCEL_CONFIDENCE):
            t.state.clear()
            return [t.reply("intake.cancelled", *menu_buttons(t))]
        if t.intent == Intent.HUMAN_HANDOFF and interrupt:
            return await self.hand_off(t)
        if t.intent in INFO_INTENTS and interrupt:
            return [*await self.router.info.answer(t, t.intent), *self.advance(t)]
        if t.intent == Intent.GREET and not free_text:
            return [t.reply("intake.greet_again"), *self.advance(t)]
        if step is None:
            return self.advance(t)
        return await self.carry_out(t, step, step.parse(self.policy, t))

    async def carry_out(self, t: Turn, step: Step, parsed: Parsed) -> list[Reply]:
        """Store an answer and ask on, say a retry, or end the intake."""
        i = t.intake
        if isinstance(parsed, Retry):
            if not t.is_payload and t.text.strip():
                i.tries += 1  # the step gives up asking after MAX_TRIES of these
                i.unclear.append(t.text.strip())
            if parsed.replies:
                return list(parsed.replies)
            hint = t.reply(parsed.hint)
            return [hint, *self.advance(t)] if parsed.ask_again else [hint]
        if isinstance(parsed, Answer):
            step.store(t, parsed.value)
            if step.name != "troubleshoot":  # a check keeps them in its note
                i.said.extend(i.unclear)
            i.tries, i.unclear = 0, []
            noted = [t.reply(key) for key in (*parsed.noted, step.noted) if key]
            return [*noted, *self.advance(t)]
        return await self.finish(t, parsed)

    async def hand_off(self, t: Turn) -> list[Reply]:
        """A person, with what the intake knows so far; the ticket keeps how the customer felt."""
        i = t.state.intake
        sentiment = i.sentiment if i is not None else None
        if i is not None and i.description is not None:
            i.description = self.description(t)  # with what else they typed: nothing is lost
        replies = await self.router.handoff.start(t)
        await self.mark_sentiment(t, sentiment)
        return replies

    async def mark_sentiment(self, t: Turn, sentiment: str | None) -> None:
        """Set the sentiment on the ticket the handoff opened or linked (the handoff does not know it)."""
        ticket_id = t.conversation.handoff_ticket_id
        if sentiment is None or ticket_id is None:
            return
        ticket = await self.tickets.get(t.repo.session, ticket_id)
        if ticket is not None:
            ticket.sentiment = sentiment

    async def finish(self, t: Turn, outcome: Outcome) -> list[Reply]:
        """An answer that ends the intake, with or without a ticket."""
        if outcome is Outcome.OPEN_TICKET:
            try:
                return await self.open_ticket(t)
            except TicketLimitReached:
                t.state.clear()
                return [limit_reply(t, self.policy)]
        if outcome is Outcome.SOLVED:
            i = t.intake
            at_check = t.state.step == "troubleshoot" and i.category is not None
            t.repo.record_self_service(
                conversation_id=t.conversation.id,
                channel=t.msg.channel,
                category=i.category or "",
                step=current_check(self.policy, i) if at_check else t.state.step or "",
                at=t.now,
            )
            metrics.SELF_SERVICE.labels(i.category or "").inc()
            t.state.clear()
            return [t.reply("intake.troubleshoot.solved")]
        t.state.clear()
        if outcome is Outcome.DECLINED:
            return [t.reply("intake.exclusion.declined", *menu_buttons(t))]
        return [t.reply("intake.confirm.discarded", *menu_buttons(t))]

    async def open_ticket(self, t: Turn) -> list[Reply]:
        i = t.intake
        customer = t.customer
        customer.name = i.name or customer.name
        customer.email = i.email or customer.email
        customer.phone = i.phone or customer.phone
        ticket = await self.tickets.open(
            t.repo.session,
            customer=customer,
            now=t.now,
            daily_limit=True,
            new=NewTicket(
                category=i.category or "technical",
                priority=i.priority or "medium",
                channel=t.msg.channel,
                description=self.description(t),
                subject=subject_of(i.description or ""),
                troubleshooting=in_policy_order(self.policy, i),
                exclusion=i.exclusion,
                conversation_id=t.conversation.id,
                attachment_ids=tuple(i.attachments),
                language=t.lang,
                sentiment=i.sentiment,
                articles_tried=tuple(i.articles_offered),
            ),
        )
        metrics.TICKETS_OPENED.labels(ticket.category, ticket.priority, ticket.channel).inc()
        t.state.clear()
        return [Reply(self.router.opened_text(ticket, t.now, name=i.name, lang=t.lang, digits=t.digits))]

    @staticmethod
    def description(t: Turn) -> str:
        """The description, and below it whatever else was typed that answered no step."""
        i = t.intake
        said = [*i.said, *i.unclear]
        if not said:
            return i.description or ""
        lines = "\n".join(f"- {s}" for s in said)
        return f"{i.description or ''}\n\n{ALSO_SAID}\n{lines}".strip()

    def opened_text(
        self,
        ticket: Ticket,
        now: datetime,
        *,
        name: str | None = None,
        lang: str = DEFAULT_LANGUAGE,
        digits: str = "latn",
    ) -> str:
        """The ticket's number, category, priority and reply deadline; out of hours, when we're back."""
        policy = self.policy
        facts = {
            "id": render.localize_digits(ticket.id, digits),
            "category": localized(policy.categories[ticket.category].title, lang),
            "priority": label("priority", ticket.priority, lang),
            "due": render.localize_digits(render.when(ticket.response_due_at, policy, lang), digits),
            "zone": render.zone_label(policy, lang),
        }
        parts = [
            text("ticket.opened.thanks", lang, name=name, **facts)
            if name
            else text("ticket.opened", lang, **facts)
        ]
        if not self.clock.is_business_time(now):
            back = render.localize_digits(render.when(self.clock.next_opening(now), policy, lang), digits)
            parts.append(text("ticket.opened.after_hours", lang, back=back))
            parts.append(render.weekend_note(policy, lang))
        if ticket.maintenance_id is not None:
            parts.append(text("ticket.opened.maintenance", lang))
        if ticket.exclusion:
            parts.append(text("ticket.opened.exclusion", lang))
        parts.append(text("ticket.opened.status_hint", lang))
        return " ".join(parts)
