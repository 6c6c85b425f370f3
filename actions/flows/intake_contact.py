"""The intake's last steps: who the customer is and how to reach them, then the confirmation.

Prompts, parsers and stores for the table in actions/flows/intake_steps.py.
"""

from __future__ import annotations

from actions.contact import clean_name, find_email, find_phone, strip_contact
from actions.flows.base import REPORT_CATEGORIES, yes_no
from actions.flows.intake_answers import INTERRUPT_CONFIDENCE, Answer, Outcome, Parsed, Retry, category_of
from actions.messages import Button, Reply
from actions.payload import make_payload
from actions.turn import Turn
from desk.policy import Policy
from nlu.intents import Intent

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
        # Answers keep the policy's English step; the customer reads it in their language.
        steps = {str(step): step for step in category.troubleshooting}
        checks = "; ".join(
            f"{t.pick(steps.get(s['step'], s['step']))} {t.label('answer', s['answer'])}"
            for s in i.troubleshooting
        )
        lines.append(t.say("intake.summary.checks", checks=checks))
    if i.exclusion:
        lines.append(t.say("intake.summary.note", title=t.pick(policy.exclusions[i.exclusion].title)))
    lines.append(t.say("intake.summary.ask"))
    buttons = (
        Button(t.say("intake.confirm.open"), make_payload(Intent.AFFIRM)),
        Button(t.say("intake.confirm.change_priority"), make_payload(Intent.CHANGE_PRIORITY)),
        Button(t.say("intake.confirm.cancel"), make_payload(Intent.CANCEL)),
    )
    return Reply("\n".join(lines), buttons)


def parse_confirm(policy: Policy, t: Turn) -> Parsed:
    if t.intent == Intent.AFFIRM:
        return Outcome.OPEN_TICKET
    if t.intent == Intent.CHANGE_PRIORITY:
        return Answer(None)  # clears the priority, which is asked again
    if t.intent == Intent.DENY:
        return Outcome.DISCARDED
    return Retry("intake.confirm.retry")
