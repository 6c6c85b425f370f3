"""The intake's last steps: who the customer is and how to reach them, then the confirmation.

Prompts, parsers and stores for the table in actions/flows/intake_steps.py.
"""

from __future__ import annotations

import re

from actions.contact import clean_name, find_email, find_phone, strip_contact
from actions.flows.base import REPORT_CATEGORIES, yes_no
from actions.flows.intake_answers import INTERRUPT_CONFIDENCE, Answer, Outcome, Parsed, Retry, category_of
from actions.flows.intake_checks import FROM_DESCRIPTION, check_line, details_line
from actions.messages import Button, Reply
from actions.payload import make_payload
from actions.turn import Turn
from actions.understand import read_confirmation
from desk.policy import PRIORITIES, Policy
from nlu.intents import Intent

# The summary's "Correct the checks": ask the checks the description seemed to answer.
REDO_CHECKS = "checks"

# -- contact ----------------------------------------------------------------------------------


def contact_line(*parts: str | None) -> str:
    return ", ".join(x for x in parts if x)


def saved_contact_pending(policy: Policy, t: Turn) -> bool:
    i, c = t.intake, t.customer
    return i.name is None and not i.saved_contact_declined and bool(c.name) and bool(c.email or c.phone)


def ask_saved_contact(policy: Policy, t: Turn) -> list[Reply]:
    c = t.customer
    return [t.reply("intake.contact_confirm.ask", *yes_no(t), contact=contact_line(c.name, c.email, c.phone))]


def parse_yes_no(policy: Policy, t: Turn) -> Parsed:
    if t.intent == Intent.AFFIRM:
        return Answer(True)
    if t.intent == Intent.DENY:
        return Answer(False)
    return Retry("intake.contact_confirm.retry")


def store_saved_contact(t: Turn, use: bool) -> None:
    i = t.intake
    if use:
        i.name, i.email, i.phone = t.customer.name, t.customer.email, t.customer.phone
    else:
        i.saved_contact_declined = True


def ask_name(policy: Policy, t: Turn) -> list[Reply]:
    guess = clean_name(t.msg.display_name or "")
    buttons = (
        (Button(t.say("intake.name.button", name=guess), make_payload(Intent.INFORM, name=guess)),)
        if guess
        else ()
    )
    return [Reply(t.say("intake.name.ask"), buttons)]


def parse_name(policy: Policy, t: Turn) -> Parsed:
    if not t.is_payload and t.intent in REPORT_CATEGORIES and t.confidence >= INTERRUPT_CONFIDENCE:
        return Retry("intake.name.problem_first", ask_again=False)
    if t.is_payload:
        raw = str(t.slots.get("name", ""))
    else:
        # "Sokha, sokha@example.com": the name is what is left without the email or phone.
        raw = t.entities.get("name") or strip_contact(t.text)
    name = clean_name(raw)
    if name is None:
        return Retry("intake.name.retry", ask_again=False)
    if t.is_payload:
        return Answer((name,))
    # Some customers give everything at once: "Sokha, sokha@example.com".
    email = find_email(t.text)
    return Answer((name, email, find_phone(t.text) if email is None else None))


def store_name(t: Turn, given: tuple[str | None, ...]) -> None:
    i = t.intake
    i.name = given[0]
    if len(given) == 3:
        i.email, i.phone = given[1], given[2]


def parse_reach(policy: Policy, t: Turn) -> Parsed:
    email = find_email(t.text) if not t.is_payload else None
    phone = find_phone(t.text) if not t.is_payload and email is None else None
    if email is None and phone is None:
        return Retry("intake.reach.retry", ask_again=False)
    return Answer((email, phone))


def store_reach(t: Turn, reach: tuple[str | None, str | None]) -> None:
    t.intake.email, t.intake.phone = reach


# -- confirmation -----------------------------------------------------------------------------


def summary(policy: Policy, t: Turn) -> Reply:
    i = t.intake
    category = category_of(policy, i)
    lines = [
        t.say("intake.summary.head"),
        t.say("intake.summary.category", title=t.pick(category.title)),
        t.say(
            "intake.summary.priority",
            priority=i.priority and t.label("priority", i.priority),
            definition=t.pick(category.priorities[i.priority or "medium"]),
        ),
        t.say("intake.summary.problem", description=i.description),
        t.say("intake.summary.contact", contact=contact_line(i.name, i.email, i.phone)),
    ]
    if i.troubleshooting:
        checks = "; ".join(check_line(t, s, policy=policy) for s in i.troubleshooting)
        lines.append(t.say("intake.summary.checks", checks=checks))
    details = details_line(t, i)
    if details:
        lines.append(details)
    if i.exclusion:
        lines.append(t.say("intake.summary.note", title=t.pick(policy.exclusions[i.exclusion].title)))
    taken = any(s.get("source") == FROM_DESCRIPTION for s in i.troubleshooting)
    if taken:
        lines.append(t.say("intake.summary.correct_hint"))
    lines.append(t.say("intake.summary.ask"))
    buttons = (
        Button(t.say("intake.confirm.open"), make_payload(Intent.AFFIRM)),
        Button(t.say("intake.confirm.change_priority"), make_payload(Intent.CHANGE_PRIORITY)),
        *(
            (Button(t.say("intake.confirm.correct"), make_payload(Intent.INFORM, redo=REDO_CHECKS)),)
            if taken
            else ()
        ),
        Button(t.say("intake.confirm.cancel"), make_payload(Intent.CANCEL)),
    )
    return Reply("\n".join(lines), buttons)


_YES_FIRST = re.compile(r"\s*(?:yes|yeah|yep|yup|ye|ok|okay|sure|please)\b")


def _lower(new: str, current: str) -> bool:
    """`new` is a less severe priority than `current` (PRIORITIES runs from critical down)."""
    return PRIORITIES.index(new) > PRIORITIES.index(current)


def hear_confirm(policy: Policy, t: Turn) -> Parsed | None:
    """ "yes please", "go ahead", "ye send it" open the ticket; "make it urgent" changes its priority."""
    read = read_confirmation(t.text, t.intake.priority)
    if read.kind == "confirm":
        return Outcome.OPEN_TICKET
    if read.kind == "cancel":
        return Outcome.DISCARDED
    if read.kind == "fixed":
        return Outcome.SOLVED
    if read.kind == "change_priority" and read.priority in PRIORITIES:
        current = t.intake.priority
        if _YES_FIRST.match(t.text.lower()) and current in PRIORITIES and _lower(read.priority, current):
            return Outcome.OPEN_TICKET  # "yes asap": a go-ahead in a hurry, not a lower priority
        return Answer(read.priority)
    return None


def parse_confirm(policy: Policy, t: Turn) -> Parsed:
    if t.intent == Intent.AFFIRM:
        return Outcome.OPEN_TICKET
    if t.intent == Intent.CHANGE_PRIORITY:
        return Answer(None)  # clears the priority, which is asked again
    if t.intent == Intent.INFORM and t.slots.get("redo") == REDO_CHECKS:
        return Answer(REDO_CHECKS)
    if t.intent == Intent.DENY:
        return Outcome.DISCARDED
    if not t.is_payload:
        heard = hear_confirm(policy, t)
        if heard is not None:
            return heard
    # A short question back, with the buttons, rather than the whole summary again.
    return Retry(
        "intake.confirm.retry",
        ask_again=False,
        replies=(t.reply("intake.confirm.retry", *_confirm_buttons(t)),),
    )


def _confirm_buttons(t: Turn) -> tuple[Button, ...]:
    return (
        Button(t.say("intake.confirm.open"), make_payload(Intent.AFFIRM)),
        Button(t.say("intake.confirm.change_priority"), make_payload(Intent.CHANGE_PRIORITY)),
        Button(t.say("intake.confirm.cancel"), make_payload(Intent.CANCEL)),
    )


def store_confirm(t: Turn, value: str | None) -> None:
    """A priority (None: ask it again), or the checks taken from the description to ask after all."""
    i = t.intake
    if value == REDO_CHECKS:
        i.troubleshooting = [s for s in i.troubleshooting if s.get("source") != FROM_DESCRIPTION]
        i.known = {}
        return
    i.priority = value
