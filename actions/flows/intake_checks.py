"""The intake's troubleshooting checks (policy section 7), answered in the customer's own words.

A reply that carries an answer and more ("yes we reset all admin passwords", "only me") is that
answer, its words kept as the note beside the step; "not sure" is an answer; "how do I check that?"
gets a hint and the question again. What the description already answered is taken from it
(`source: description`) and not asked. A reply that answers nothing gets one short re-ask; after
two such replies the step is recorded as `no_answer` with their words, and the intake moves on.
"""

from __future__ import annotations

from typing import Any

from actions.flows.base import yes_no
from actions.flows.intake_answers import Answer, Outcome, Parsed, Retry, category_of
from actions.messages import Button, Reply
from actions.payload import make_payload
from actions.state import Intake
from actions.turn import Turn
from actions.understand import facts_from_description, read_step_answer, step_concept
from desk.policy import Policy, Text
from nlu.intents import Intent

# Replies at one step that answered nothing before the step is recorded as it stands.
MAX_TRIES = 2
# A typed yes/no the word reader missed still counts when the NLU is this sure of it.
NLU_ANSWER_CONFIDENCE = 0.8
ANSWERS = ("yes", "no", "not_sure")
NO_ANSWER = "no_answer"
# A "not sure" of this many words or fewer says nothing more than the answer.
BARE_WORDS = 3
FROM_DESCRIPTION = "description"
# The "how do I check that?" hint of each step's concept (actions/understand/concepts.py).
HOW_TO_CHECK: dict[str, str] = {
    "restart": "intake.troubleshoot.how.restart",
    "others_affected": "intake.troubleshoot.how.others_affected",
    "internet": "intake.troubleshoot.how.internet",
    "error_message": "intake.troubleshoot.how.error_message",
    "invoice_checked": "intake.troubleshoot.how.invoice_checked",
    "bank_confirmed": "intake.troubleshoot.how.bank_confirmed",
    "maintenance_window": "intake.troubleshoot.how.maintenance_window",
    "other_network": "intake.troubleshoot.how.other_network",
    "password_changed": "intake.troubleshoot.how.password_changed",
    "disconnected": "intake.troubleshoot.how.disconnected",
}
_DETAILS = ("product", "since", "error")


def steps_of(policy: Policy, i: Intake) -> list[Text]:
    return category_of(policy, i).troubleshooting


def next_index(policy: Policy, i: Intake) -> int | None:
    """The first step without an answer (answers may come out of order after a correction)."""
    answered = {s.get("step") for s in i.troubleshooting}
    return next((n for n, step in enumerate(steps_of(policy, i)) if step not in answered), None)


def current_check(policy: Policy, i: Intake) -> str:
    """The troubleshooting step the customer is answering."""
    n = next_index(policy, i)
    assert n is not None
    return steps_of(policy, i)[n]


def in_policy_order(policy: Policy, i: Intake) -> list[dict[str, str]]:
    """The answers in the order of the policy's steps, for the ticket."""
    order = {str(step): n for n, step in enumerate(steps_of(policy, i))}
    return sorted(i.troubleshooting, key=lambda s: order.get(s.get("step", ""), len(order)))


def entry(step: str, answer: str, note: str = "", source: str | None = None) -> dict[str, str]:
    """One troubleshooting answer as the ticket keeps it."""
    out = {"step": step, "answer": answer, "note": note}
    if source:
        out["source"] = source
    return out


def prefill(policy: Policy, i: Intake) -> None:
    """Once, when the checks start: what the description already answers, and the details it names."""
    if i.prefilled:
        return
    i.prefilled = True
    facts = facts_from_description(i.description or "", steps_of(policy, i))
    i.known = {
        str(n): {"answer": a.kind, "note": a.note}
        for n, a in facts.answers.items()
        if a.kind in ("yes", "no")
    }
    details = {"product": facts.product, "since": facts.since, "error": facts.error}
    i.details = {k: v for k, v in details.items() if v}


def checks_pending(policy: Policy, t: Turn) -> bool:
    """Steps still to answer, after taking those the description answered."""
    i = t.intake
    steps = steps_of(policy, i)
    prefill(policy, i)
    while (n := next_index(policy, i)) is not None:
        known = i.known.get(str(n))
        if known is None:
            return True
        i.troubleshooting.append(entry(steps[n], known["answer"], known["note"], FROM_DESCRIPTION))
    return False


def check_buttons(t: Turn) -> tuple[Button, ...]:
    return (
        *yes_no(t),
        Button(t.say("intake.troubleshoot.not_sure"), make_payload(Intent.INFORM, answer="not_sure")),
        Button(t.say("intake.troubleshoot.fixed"), make_payload(Intent.PROBLEM_SOLVED)),
    )


def ask_check(policy: Policy, t: Turn) -> list[Reply]:
    i = t.intake
    steps = steps_of(policy, i)
    n = next_index(policy, i)
    assert n is not None
    asked_before = any(s.get("source") != FROM_DESCRIPTION for s in i.troubleshooting)
    key = "intake.troubleshoot.ask" if asked_before else "intake.troubleshoot.ask_first"
    question = t.say(key, n=n + 1, total=len(steps), step=t.pick(steps[n]))
    # Said once, at the first question: the answers the description gave, taken or still to take.
    taken = [s for s in i.troubleshooting if s.get("source") == FROM_DESCRIPTION]
    taken += [entry(steps[int(k)], v["answer"]) for k, v in sorted(i.known.items()) if int(k) > n]
    if taken and not asked_before:
        facts = "; ".join(check_line(t, s, policy=policy, with_source=False) for s in taken)
        question = f"{t.say('intake.troubleshoot.prefilled', facts=facts)}\n{question}"
    return [Reply(question, check_buttons(t))]


def check_line(t: Turn, s: dict[str, Any], *, policy: Policy | None = None, with_source: bool = True) -> str:
    """One check as the summary shows it: the step, the answer, the customer's words."""
    answer = t.label("answer", str(s.get("answer", "")))
    note = str(s.get("note") or "")
    step: str = str(s.get("step", ""))
    if policy is not None and t.state.intake is not None:
        # Answers keep the policy's English step; the customer reads it in their language.
        step = t.pick(next((x for x in steps_of(policy, t.intake) if x == step), step))
    line = (
        t.say("intake.summary.check_note", step=step, answer=answer, note=note)
        if note
        else t.say("intake.summary.check", step=step, answer=answer)
    )
    if with_source and s.get("source") == FROM_DESCRIPTION:
        line += t.say("intake.summary.from_message")
    return line


def details_line(t: Turn, i: Intake) -> str | None:
    """The product, start and error the description named, for the summary."""
    parts = [t.say(f"intake.summary.detail.{k}", value=i.details[k]) for k in _DETAILS if i.details.get(k)]
    return t.say("intake.summary.details", details="; ".join(parts)) if parts else None


def _answer(policy: Policy, t: Turn, kind: str, note: str) -> Answer:
    if kind == "not_sure" and len(note.split()) <= BARE_WORDS:
        note = ""  # "not sure", "no idea": the answer itself, nothing more to keep
    words = [*t.intake.unclear, note] if note else list(t.intake.unclear)
    return Answer(entry(current_check(policy, t.intake), kind, " / ".join(w for w in words if w)))


def hear_check(policy: Policy, t: Turn) -> Parsed | None:
    """A typed reply read for the answer it carries, before the NLU's intents are looked at."""
    read = read_step_answer(t.text, current_check(policy, t.intake))
    if read.kind == "fixed":
        return Outcome.SOLVED
    if read.kind in ANSWERS:
        return _answer(policy, t, read.kind, read.note)
    if read.kind == "how_to_check":
        return _not_an_answer(policy, t, how=True)
    return None


def parse_check(policy: Policy, t: Turn) -> Parsed:
    if t.intent == Intent.PROBLEM_SOLVED:
        return Outcome.SOLVED
    if t.is_payload:
        if t.intent == Intent.INFORM and t.slots.get("answer") in ANSWERS:
            return _answer(policy, t, str(t.slots["answer"]), "")
        if t.intent in (Intent.AFFIRM, Intent.DENY):
            return _answer(policy, t, "yes" if t.intent == Intent.AFFIRM else "no", "")
        return _not_an_answer(policy, t)
    heard = hear_check(policy, t)
    if heard is not None:
        return heard
    if t.intent in (Intent.AFFIRM, Intent.DENY) and t.confidence >= NLU_ANSWER_CONFIDENCE:
        return _answer(policy, t, "yes" if t.intent == Intent.AFFIRM else "no", t.text.strip())
    return _not_an_answer(policy, t)


def _not_an_answer(policy: Policy, t: Turn, *, how: bool = False) -> Parsed:
    """One short re-ask (with the hint when they asked how); the second time, record and move on."""
    i = t.intake
    step = current_check(policy, i)
    hint = HOW_TO_CHECK.get(step_concept(step) or "", "intake.troubleshoot.how") if how else None
    if i.tries + 1 >= MAX_TRIES:
        words = [*i.unclear, t.text.strip()] if not t.is_payload else list(i.unclear)
        note = " / ".join(w for w in words if w)
        noted = (hint, "intake.troubleshoot.moving_on") if hint else ("intake.troubleshoot.moving_on",)
        return Answer(entry(step, NO_ANSWER, note), noted=noted)
    replies = [t.reply(hint)] if hint else []
    replies.append(t.reply("intake.troubleshoot.reask", *check_buttons(t), step=t.pick(step)))
    return Retry("intake.troubleshoot.reask", ask_again=False, replies=tuple(replies))
