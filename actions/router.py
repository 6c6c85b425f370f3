"""Which flow answers a message (state diagram: docs/conversation.mmd).

In this order: the customer's data buttons (any state); files (after their caption was handled
as a message); a rating button (any state, handoff included: ratings are never relayed); the
comment on a rating; a conversation an agent has (relayed); the intake in progress (an answer to
the self-service articles first); idle. Once an intake knows the problem, the articles flow adds
its offer to the replies.
"""

from __future__ import annotations

from datetime import datetime

from actions.flows.account import FORGET_STEP, AccountFlow
from actions.flows.articles import ArticlesFlow
from actions.flows.feedback import FeedbackFlow
from actions.flows.files import FilesFlow
from actions.flows.handoff import HandoffFlow
from actions.flows.idle import IdleFlow
from actions.flows.info import InfoFlow
from actions.flows.intake import IntakeFlow
from actions.messages import Reply
from actions.state import FEEDBACK_STEP, FlowName
from actions.turn import Turn
from desk.policy import Policy
from desk.tickets import TicketService
from nlu.intents import Intent
from storage.models import Ticket


class Router:
    """Decides the replies for one turn and updates the state it carries."""

    def __init__(self, *, policy: Policy, tickets: TicketService) -> None:
        self.policy = policy
        self.tickets = tickets
        self.idle = IdleFlow(self)
        self.intake = IntakeFlow(self)
        self.info = InfoFlow(self)
        self.handoff = HandoffFlow(self)
        self.files = FilesFlow(self)
        self.account = AccountFlow(self)
        self.feedback = FeedbackFlow(self)
        self.articles = ArticlesFlow(self)

    async def respond(self, t: Turn) -> list[Reply]:
        if t.customer.unreachable_at is not None:
            t.customer.unreachable_at = None  # they wrote to us, so messages reach them again
        if self.account.recognise(t):
            return await self.account.turn(t)
        if t.state.step == FORGET_STEP:
            answered = await self.account.answer(t)
            if answered is not None:
                return answered
        # Anything else leaves the question unanswered: a later confirmation asks again.
        t.state.forget_asked = False
        files = t.msg.metadata.get("attachments") or []
        if not files:
            return await self.respond_text(t)
        # A file's caption is handled as a message first; the files then follow the state it left.
        replies = await self.respond_text(t) if t.text else []
        return await self.files.turn(t, files, replies)

    async def respond_text(self, t: Turn) -> list[Reply]:
        if t.intent == Intent.RATE and t.is_payload:
            return await self.feedback.rate(t)
        if t.state.step == FEEDBACK_STEP:
            handled = await self.feedback.comment(t)
            if handled is not None:
                return handled
        if t.conversation.handoff_ticket_id is not None:
            handled = await self.handoff.turn(t)
            if handled is not None:
                return handled
        if t.state.flow == FlowName.HANDOFF and t.state.intake is not None:
            handled = await self.handoff.collect(t)
            if handled is not None:
                return handled
        if t.state.flow == FlowName.INTAKE and t.state.intake is not None:
            answered = await self.articles.turn(t)
            if answered is not None:
                return answered
            return self.articles.offer(t, await self.intake.turn(t))
        t.state.clear()
        return self.articles.offer(t, await self.idle.turn(t))

    def opened_text(
        self,
        ticket: Ticket,
        now: datetime,
        *,
        name: str | None = None,
        lang: str = "en",
        digits: str = "latn",
    ) -> str:
        """What the customer reads once the intake's ticket is open (tests break a turn here)."""
        return self.intake.opened_text(ticket, now, name=name, lang=lang, digits=digits)
