"""The customer's own data: announcements on and off, delete my data.

Buttons and Telegram commands carry the intent; typed requests ("delete my data", "forget me",
"stop sending me announcements") are recognised here by their words, in every channel and state,
whatever the NLU makes of them, and lead to the same confirmation as the buttons. Deleting asks
first; a typed yes or no answers that question too.
"""

from __future__ import annotations

import re

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
FORGET_STEP = "forget_confirm"  # asked: delete your data?

_PLEASE = (
    r"^(?:(?:hi|hello|hey|ok|okay|so)[,!.\s]+)?(?:please\s+|pls\s+|kindly\s+)?"
    r"(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?|i\s+(?:want|would\s+like|'d\s+like|need)\s+(?:you\s+)?to\s+"
    r"|i\s+want\s+|i'd\s+like\s+)?"
)
_MINE = r"(?:all\s+)?(?:of\s+)?my\s+(?:personal\s+|private\s+)?"
_TYPED: tuple[tuple[re.Pattern[str], Intent], ...] = (
    (
        re.compile(
            _PLEASE
            + r"(?:(?:delete|remove|erase|wipe|purge|clear)\s+"
            + _MINE
            + r"(?:data|information|info|details|account|contact\s+details|records?|profile)"
            + r"|forget\s+(?:me|about\s+me|"
            + _MINE
            + r"(?:data|details))|(?:exercise\s+)?(?:my\s+)?right\s+to\s+(?:be\s+forgotten|erasure))\b",
            re.IGNORECASE,
        ),
        Intent.FORGET_ME,
    ),
    (
        re.compile(
            _PLEASE
            + r"(?:(?:stop|quit|no\s+more)\s+(?:sending\s+(?:me\s+)?)?(?:the\s+|these\s+|your\s+|any\s+)?"
            + r"(?:maintenance\s+)?(?:announcements?|notifications?|notices|alerts|updates|newsletters?)"
            + r"|unsubscribe(?:\s+me)?|opt\s+out|turn\s+off\s+(?:the\s+)?(?:announcements|notifications))\b",
            re.IGNORECASE,
        ),
        Intent.STOP_ANNOUNCEMENTS,
    ),
    (
        re.compile(
            _PLEASE
            + r"(?:resume|restart|turn\s+on|start\s+sending(?:\s+me)?)\s+(?:the\s+)?(?:maintenance\s+)?"
            + r"(?:announcements|notifications)|subscribe(?:\s+me)?\s+again\b",
            re.IGNORECASE,
        ),
        Intent.RESUME_ANNOUNCEMENTS,
    ),
)
# What may follow a request ("..., please", "from your system", "!"); anything else makes it part of
# another sentence ("remove my data from the export" is about an export).
_TAIL = re.compile(
    r"^(?:[\s,]*(?:please|pls|now|right\s+now|thanks|thank\s+you|asap|immediately|completely|permanently|"
    r"for\s+good|too|as\s+well|from\s+your\s+(?:system|systems|database|records|servers|list)|"
    r"from\s+(?:this|the)\s+(?:bot|chat|service)))*[\s.!?]*$",
    re.IGNORECASE,
)
# A request is a short message; longer ones ("the update deleted my data and ...") are reports.
_MAX_WORDS = 14


def typed_request(text: str) -> Intent | None:
    """The account request a typed message makes, or None."""
    words = text.split()
    if not words or len(words) > _MAX_WORDS:
        return None
    cleaned = " ".join(words).replace("\u2019", "'")
    for pattern, intent in _TYPED:
        match = pattern.search(cleaned)
        if match and _TAIL.match(cleaned[match.end() :]):
            return intent
    return None


FORGET_STEP = "forget_confirm"  # the question was asked; only now does /forget_confirmed delete


class AccountFlow(Flow):
    def recognise(self, t: Turn) -> bool:
        """A button, command or typed request of this flow: `t.intent` then names it."""
        if t.is_payload:
            return t.intent in ACCOUNT_INTENTS
        typed = typed_request(t.text)
        if typed is None:
            return False
        t.intent, t.confidence = typed, 1.0
        return True

    async def answer(self, t: Turn) -> list[Reply] | None:
        """A typed yes or no to "delete your data?"; None for anything else (handled as usual)."""
        t.state.step = None
        if t.is_payload:
            return None
        if t.intent == Intent.AFFIRM:
            t.intent = Intent.FORGET_CONFIRMED
            return await self.turn(t)
        if t.intent == Intent.DENY:
            t.intent = Intent.FORGET_CANCEL
            return await self.turn(t)
        return None

    async def turn(self, t: Turn) -> list[Reply]:
        intent = t.intent
        if intent == Intent.STOP_ANNOUNCEMENTS:
            t.customer.announcements = False
            resume = Button(t.say("account.resume_button"), make_payload(Intent.RESUME_ANNOUNCEMENTS))
            return [t.reply("account.stopped", resume)]
        if intent == Intent.RESUME_ANNOUNCEMENTS:
            t.customer.announcements = True
            return [t.reply("account.resumed")]
        if intent == Intent.FORGET_ME or (intent == Intent.FORGET_CONFIRMED and not t.state.forget_asked):
            # Deleting asks first, in this conversation, whatever payload arrives: a bare
            # /forget_confirmed (a script, a stale button) is asked about like /forget.
            t.state.forget_asked = True
            if t.state.flow is None:
                t.state.step = FORGET_STEP  # a typed yes or no answers it (an intake keeps its step)
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
