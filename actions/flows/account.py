"""The customer's own data (buttons and commands only): announcements on and off, delete my data."""

from __future__ import annotations

from actions.flows.base import Flow, menu_buttons
from actions.messages import Button, Reply
from actions.payload import make_payload
from actions.turn import Turn
from desk import privacy
from nlu.intents import Intent

ACCOUNT_INTENTS: frozenset[str] = frozenset(
    {
        Intent.STOP_ANNOUNCEMENTS,
        Intent.RESUME_ANNOUNCEMENTS,
        Intent.FORGET_ME,
        Intent.FORGET_CONFIRMED,
        Intent.FORGET_CANCEL,
    }
)


FORGET_STEP = "forget_confirm"  # the question was asked; only now does /forget_confirmed delete


class AccountFlow(Flow):
    async def turn(self, t: Turn) -> list[Reply]:
        intent = t.intent
        if intent == Intent.STOP_ANNOUNCEMENTS:
            t.customer.announcements = False
            resume = Button(t.say("account.resume_button"), make_payload(Intent.RESUME_ANNOUNCEMENTS))
            return [t.reply("account.stopped", resume)]
        if intent == Intent.RESUME_ANNOUNCEMENTS:
            t.customer.announcements = True
            return [t.reply("account.resumed")]
        if intent == Intent.FORGET_ME or (intent == Intent.FORGET_CONFIRMED and t.state.step != FORGET_STEP):
            # Deleting asks first, in this conversation, whatever payload arrives: a bare
            # /forget_confirmed (a script, a stale button) is asked about like /forget.
            t.state.clear()
            t.state.step = FORGET_STEP
            return [
                t.reply(
                    "account.forget.ask",
                    Button(t.say("account.forget.yes"), make_payload(Intent.FORGET_CONFIRMED)),
                    Button(t.say("account.forget.no"), make_payload(Intent.FORGET_CANCEL)),
                )
            ]
        if intent == Intent.FORGET_CANCEL:
            t.state.clear()
            return [t.reply("account.forget.cancelled", *menu_buttons(t))]
        kept = await privacy.forget_customer(
            t.repo.session, tickets=self.tickets, customer=t.customer, conversation=t.conversation, now=t.now
        )
        t.state.clear()
        t.state.handoff_acknowledged = False
        if kept:
            return [t.reply("account.forgotten.records", n=kept)]
        return [t.reply("account.forgotten")]
