"""Idle: greetings, thanks, the menu, contact details given out of the blue, and the fallback.

Reports start the intake, questions go to the info flow, "talk to a person" to the handoff.
Typed messages are heard first for what the intent alone misses: a refund or a manager demanded
goes to billing and a person; an outage reported in anger ("it IS down. nothing loads.") is a
report, not a maintenance question.
"""

from __future__ import annotations

import re

from actions import render
from actions.contact import clean_name, find_email, find_phone
from actions.flows.base import INFO_INTENTS, REPORT_CATEGORIES, Flow, menu_buttons
from actions.flows.intake import CATEGORY_CONFIDENCE
from actions.flows.intake_steps import suggested_priority
from actions.messages import Reply
from actions.state import Intake
from actions.turn import Turn
from actions.understand import Feelings, sounds_like_security
from desk import maintenance
from nlu.intents import Intent

_PROBLEM_WORDS = re.compile(
    r"\b(problem|issue|trouble|not working|doesn'?t work|does not work|broken|error|fault|bug|"
    r"report (a|an) (problem|issue)|need (help|support)|help me|"
    r"something('?s| is)? (wrong|off|not right)|(went|gone|going) wrong)\b"
)
_NOT_IN_SCOPE = (Intent.OUT_OF_SCOPE, Intent.NLU_FALLBACK)
# "Is the system down?": a question, answered (with the offer to report an outage) unless angry.
_QUESTION = re.compile(r"\?\s*$|^\s*(is|are|was|were|any|do|does|did|has|have|will|why)\b")
FRUSTRATED = "frustrated"
# Said back with the menu, by intent.
_ANSWERS: dict[str, tuple[str, bool]] = {
    Intent.THANK_YOU: ("idle.thanks", False),
    Intent.GOODBYE: ("idle.goodbye", False),
    Intent.PROBLEM_SOLVED: ("idle.solved", True),
    Intent.CANCEL: ("idle.nothing_to_cancel", True),
    Intent.AFFIRM: ("idle.how_can_i_help", True),
    Intent.DENY: ("idle.how_can_i_help", True),
}


class IdleFlow(Flow):
    async def turn(self, t: Turn) -> list[Reply]:
        intent = t.intent
        router = self.router
        if not t.is_payload:
            heard = await self.heard(t)
            if heard is not None:
                return heard
        if intent in REPORT_CATEGORIES or intent == Intent.REPORT_ISSUE:
            return router.intake.start(t)
        if intent == Intent.OUT_OF_SCOPE and not t.is_payload and _sounds_like_a_problem(t):
            # "I have a problem": a report whose category the message does not tell; ask it.
            return router.intake.start(t)
        if intent in INFO_INTENTS:
            return await router.info.answer(t, intent)
        if intent == Intent.HUMAN_HANDOFF:
            return await router.handoff.start(t)
        if intent == Intent.GREET:
            return [await self.greeting(t)]
        if intent == Intent.INFORM:
            return self.remember_contact(t)
        answer = _ANSWERS.get(intent)
        if answer is not None:
            key, with_menu = answer
            return [t.reply(key, *menu_buttons(t)) if with_menu else t.reply(key)]
        if t.is_payload:
            return [t.reply("idle.unavailable", *menu_buttons(t))]
        return [self.fallback(t)]

    async def heard(self, t: Turn) -> list[Reply] | None:
        """Where the customer's feelings send a typed message, or None to follow its intent."""
        feelings = t.feelings
        if feelings.refund:
            return await self.to_a_person(t, feelings, category="billing")
        if t.intent == Intent.HUMAN_HANDOFF or feelings.wants_person:
            # "could I talk to someone from your accounts team?": a person; the handoff takes the
            # category from the words when the NLU names none.
            return await self.to_a_person(t, feelings, category=REPORT_CATEGORIES.get(t.intent))
        sure_report = t.intent in REPORT_CATEGORIES and t.confidence >= CATEGORY_CONFIDENCE
        if sure_report or t.intent == Intent.REPORT_ISSUE:
            return None
        if t.intent not in REPORT_CATEGORIES and sounds_like_security(t.text):
            # A scam, a found USB stick, a hacked account: a security report whatever the NLU guessed.
            return self.router.intake.start(t, category="security")
        if feelings.outage and (feelings.frustrated or not _QUESTION.search(t.text.lower())):
            # "it IS down. nothing loads.": an outage of the service, whatever the NLU guessed.
            return self.router.intake.start(t, category="infrastructure")
        return None

    async def to_a_person(self, t: Turn, feelings: Feelings, *, category: str | None) -> list[Reply]:
        """The handoff, with the category, priority and sentiment the words suggest."""
        if category is None and feelings.outage:
            category = "infrastructure"
        sentiment = FRUSTRATED if feelings.frustrated else None
        # The handoff takes the message's words as what it is about when they say more than
        # "a person, please"; how the customer felt goes on the ticket it opens.
        t.state.intake = Intake(
            category=category,
            suggested_priority=suggested_priority(t.text, feelings),
            sentiment=sentiment,
        )
        replies = await self.router.handoff.start(t)
        await self.router.intake.mark_sentiment(t, sentiment)
        return [t.reply("idle.heard.frustrated"), *replies] if sentiment else replies

    async def greeting(self, t: Turn) -> Reply:
        window = await maintenance.active_window(t.repo.session, t.now)
        under_way = (
            t.say(
                "idle.greet.maintenance",
                until=render.when(window.ends_at, self.policy, t.lang),
                message=window.message,
            )
            if window is not None
            else " "
        )
        return t.reply(
            "idle.greet",
            *menu_buttons(t),
            company=self.policy.company,
            open_status=render.open_status(self.policy, self.clock, t.now, t.lang),
            under_way=under_way,
        )

    def fallback(self, t: Turn) -> Reply:
        return t.reply("idle.fallback", *menu_buttons(t), company=self.policy.company)

    def remember_contact(self, t: Turn) -> list[Reply]:
        """Contact details given outside an intake are kept for the next ticket."""
        email = find_email(t.text) or t.entities.get("email")
        phone = find_phone(t.text) if email is None else None
        name = clean_name(t.entities.get("name") or "")
        noted = []
        if name:
            t.customer.name = name
            noted.append(t.say("idle.noted.name"))
        if email:
            t.customer.email = email
            noted.append(t.say("idle.noted.email"))
        if phone:
            t.customer.phone = phone
            noted.append(t.say("idle.noted.phone"))
        if not noted:
            return [self.fallback(t)]
        return [t.reply("idle.noted", *menu_buttons(t), what=t.say("idle.noted.and").join(noted))]


def _sounds_like_a_problem(t: Turn) -> bool:
    """The NLU's best in-scope guess is a report, or the words say there is a problem."""
    runner_up = next((r for r in t.ranking if r.get("name") not in _NOT_IN_SCOPE), None)
    if runner_up and runner_up["name"] in REPORT_CATEGORIES and float(runner_up.get("confidence", 0)) >= 0.2:
        return True
    return bool(_PROBLEM_WORDS.search(t.text.lower()))
