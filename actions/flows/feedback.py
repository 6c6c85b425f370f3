"""Feedback: a rating button after resolution (any state), then an optional comment.

While the bot waits for the comment the state is `flow=feedback` with the rated ticket in
`feedback_ticket_id`; an intake in progress stays in `state.intake` and carries on after it.
"""

from __future__ import annotations

from typing import Any

from actions.flows.base import Flow, menu_buttons
from actions.messages import Button, Reply
from actions.payload import make_payload
from actions.state import FEEDBACK_STEP, DialogueState, FlowName
from actions.turn import Turn
from desk import feedback
from desk.feedback import FeedbackError
from nlu.intents import Intent

MAX_TICKET_ID = 2**63 - 1


class FeedbackFlow(Flow):
    async def rate(self, t: Turn) -> list[Reply]:
        pending = _waiting_for(t.state)
        ticket_id = _slot_int(t.slots.get("ticket_id"))
        rating = _slot_int(t.slots.get("rating"))
        if ticket_id is None or rating is None:
            return [t.reply("feedback.unreadable")]
        if pending is not None and pending != ticket_id:
            # Rating another ticket skips the comment of the previous one.
            await self._finish(t, pending)
            self._end(t)
        try:
            rated = await feedback.rate(
                t.repo.session,
                policy=self.policy,
                ticket_id=ticket_id,
                customer_id=t.customer.id,
                rating=rating,
                now=t.now,
            )
        except FeedbackError as exc:
            intake = t.state.flow == FlowName.INTAKE and t.state.intake is not None
            return [Reply(str(exc)), *(self.router.intake.advance(t) if intake else [])]
        t.state.start_feedback(ticket_id)
        prompt = t.pick(self.policy.feedback.comment_prompt)
        if rated.updated:
            prompt = t.say("feedback.updated", id=ticket_id, rating=rating, prompt=prompt)
        return [Reply(prompt, (Button(t.say("feedback.skip"), make_payload(Intent.DENY)),))]

    async def comment(self, t: Turn) -> list[Reply] | None:
        """The answer to the comment prompt; None lets the message be handled as usual."""
        ticket_id = _waiting_for(t.state)
        if ticket_id is None:
            t.state.step = None
            return None
        skipped = t.intent == Intent.DENY and (t.is_payload or len(t.text.split()) <= 3)
        if t.is_payload and not skipped:
            # Another button: no comment; the button does what it always does.
            await self._finish(t, ticket_id)
            self._end(t)
            return None
        if not skipped:
            await feedback.comment(
                t.repo.session, ticket_id=ticket_id, customer_id=t.customer.id, text=t.text, now=t.now
            )
        await self._finish(t, ticket_id)
        resume = self._end(t)
        thanks = t.say("feedback.thanks" if skipped else "feedback.thanks_comment")
        if resume or t.conversation.handoff_ticket_id is not None:
            return [Reply(thanks), *resume]
        return [t.reply("feedback.anything_else", *menu_buttons(t), thanks=thanks)]

    def _end(self, t: Turn) -> list[Reply]:
        """Leave the comment step: back to the intake in progress (asking its question), or idle."""
        state = t.state
        state.step = None
        state.feedback_ticket_id = None
        if state.intake is not None:
            state.flow = FlowName.INTAKE
            return self.router.intake.advance(t)
        state.flow = None
        return []

    async def _finish(self, t: Turn, ticket_id: int) -> None:
        """The rating is complete (commented or skipped): alert the managers if it is low."""
        await feedback.alert_if_low(t.repo.session, policy=self.policy, ticket_id=ticket_id, now=t.now)


def _waiting_for(state: DialogueState) -> int | None:
    """The ticket whose comment the bot is waiting for."""
    if state.step != FEEDBACK_STEP or state.flow != FlowName.FEEDBACK:
        return None
    return state.feedback_ticket_id


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
