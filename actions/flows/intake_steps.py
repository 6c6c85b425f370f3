"""The intake as a table of steps, asked in the order of the policy's intake (section 7).

Each step is one entry: its name (stored as `state.step`), when it is still pending, its
prompt, how an answer is parsed, and what the answer stores in the intake. A new ticket field is
one step here and one field of `Intake` (actions/state.py). Parsing never writes: it returns an
`Answer` to store, a `Retry` (a hint, and the question again), or an `Outcome` that ends the
intake (the flow, actions/flows/intake.py, carries it out).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from actions.contact import clean_name, find_email, find_phone, strip_contact
from actions.flows.base import REPORT_CATEGORIES, yes_no
from actions.messages import Button, Reply
from actions.payload import make_payload
from actions.state import Intake
from actions.turn import Turn
from desk.policy import CATEGORIES, PRIORITIES, Category, Policy
from desk.triage import detect_exclusion, suggest_priority
from nlu.intents import Intent

# In steps that take free text (description, name, email), a question interrupts only when
# the NLU is this sure, so "my printer is down, what are your hours" stays a description.
INTERRUPT_CONFIDENCE = 0.8
PRIORITY_WORDS = {
    "critical": "critical",
    "urgent": "high",
    "high": "high",
    "medium": "medium",
    "normal": "medium",
    "low": "low",
    "minor": "low",
}


@dataclass(frozen=True)
class Answer:
    """A valid answer: `value` is what the step's `store` keeps."""

    value: Any


@dataclass(frozen=True)
class Retry:
    """Not an answer: say `hint` (a catalog key), then ask the step again if `ask_again`."""

    hint: str
    ask_again: bool = True


class Outcome(StrEnum):
    """An answer that ends the intake."""

    DECLINED = "declined"  # the customer keeps an excluded request to themselves
    SOLVED = "solved"  # a troubleshooting step fixed it: no ticket
    OPEN_TICKET = "open_ticket"
    DISCARDED = "discarded"


Parsed = Answer | Retry | Outcome


@dataclass(frozen=True)
class Step:
    name: str
    pending: Callable[[Policy, Turn], bool]  # the intake still lacks this
    prompt: Callable[[Policy, Turn], list[Reply]]
    parse: Callable[[Policy, Turn], Parsed]
    store: Callable[[Turn, Any], None]
    free_text: bool = False  # the answer is typed text, so only a sure question interrupts it
    noted: str | None = None  # catalog key said once an answer is stored


def category_of(policy: Policy, i: Intake) -> Category:
    """The policy's entry for the intake's category (set before any step that needs it)."""
    assert i.category is not None
    return policy.categories[i.category]


def _setter(name: str) -> Callable[[Turn, Any], None]:
    def store(t: Turn, value: Any) -> None:
        setattr(t.intake, name, value)

    return store


# -- category ---------------------------------------------------------------------------------


def _ask_category(policy: Policy, t: Turn) -> list[Reply]:
    categories = [policy.categories[c] for c in CATEGORIES]
    lines = "\n".join(
        t.say("intake.category.line", title=c.title, description=c.description) for c in categories
    )
    buttons = tuple(
        Button(c.title, make_payload(Intent.CHOOSE_CATEGORY, category=key))
        for key, c in zip(CATEGORIES, categories, strict=True)
    )
    return [Reply(t.say("intake.category.ask", categories=lines), buttons)]


def _parse_category(policy: Policy, t: Turn) -> Parsed:
    chosen = (
        t.slots.get("category") if t.intent == Intent.CHOOSE_CATEGORY else REPORT_CATEGORIES.get(t.intent)
    )
    if chosen is None and not t.is_payload:
        lowered = t.text.lower()
        chosen = next((c for c in CATEGORIES if c in lowered or c[:5] in lowered), None)
    return Answer(chosen) if chosen in CATEGORIES else Retry("intake.category.retry")


# -- description ------------------------------------------------------------------------------


def _parse_description(policy: Policy, t: Turn) -> Parsed:
    return Retry("intake.description.retry", ask_again=False) if t.is_payload else Answer(t.text)


def _store_description(t: Turn, text: str) -> None:
    t.intake.description = text
    t.intake.suggested_priority = suggest_priority(text)


# -- priority ---------------------------------------------------------------------------------


def _ask_priority(policy: Policy, t: Turn) -> list[Reply]:
    i = t.intake
    category = category_of(policy, i)
    suggested = i.suggested_priority
    order = list(PRIORITIES)
    if suggested in order:
        order.remove(suggested)
        order.insert(0, suggested)
    buttons = tuple(
        Button(
            t.say(
                "intake.priority.button_suggested" if p == suggested else "intake.priority.button",
                priority=t.label("priority", p),
                definition=category.priorities[p],
            ),
            make_payload(Intent.CHOOSE_PRIORITY, priority=p),
        )
        for p in order
    )
    if suggested:
        text = t.say("intake.priority.ask_suggested", priority=t.label("priority.word", suggested))
    else:
        text = t.say("intake.priority.ask")
    return [Reply(text, buttons)]


def _parse_priority(policy: Policy, t: Turn) -> Parsed:
    chosen: str | None = None
    if t.intent == Intent.CHOOSE_PRIORITY:
        chosen = t.slots.get("priority")
    elif t.intent == Intent.AFFIRM and t.intake.suggested_priority:
        chosen = t.intake.suggested_priority
    elif not t.is_payload:
        words = re.findall(r"[a-z]+", t.text.lower())
        chosen = next((PRIORITY_WORDS[w] for w in words if w in PRIORITY_WORDS), None)
    return Answer(chosen) if chosen in PRIORITIES else Retry("intake.priority.retry")


# -- exclusion (policy section 8) -------------------------------------------------------------


def _exclusion_pending(policy: Policy, t: Turn) -> bool:
    i = t.intake
    if i.exclusion_checked:
        return False
    if detect_exclusion(i.description or "", policy) is not None:
        return True
    i.exclusion_checked = True
    return False


def _ask_exclusion(policy: Policy, t: Turn) -> list[Reply]:
    kind = detect_exclusion(t.intake.description or "", policy)
    assert kind is not None
    exclusion = policy.exclusions[kind]
    buttons = (
        Button(t.say("intake.exclusion.yes"), f"/{Intent.AFFIRM}"),
        Button(t.say("intake.exclusion.no"), f"/{Intent.DENY}"),
    )
    text = t.say(
        "intake.exclusion.ask",
        title=exclusion.title.lower(),
        description=exclusion.description.rstrip(".").lower(),
    )
    return [Reply(text, buttons)]


def _parse_exclusion(policy: Policy, t: Turn) -> Parsed:
    if t.intent == Intent.AFFIRM:
        return Answer(detect_exclusion(t.intake.description or "", policy))
    if t.intent == Intent.DENY:
        return Outcome.DECLINED
    return Retry("intake.exclusion.retry")


def _store_exclusion(t: Turn, kind: str | None) -> None:
    t.intake.exclusion = kind
    t.intake.exclusion_checked = True


# -- troubleshooting (policy section 7) -------------------------------------------------------


def current_check(policy: Policy, i: Intake) -> str:
    """The troubleshooting step the customer is answering."""
    return category_of(policy, i).troubleshooting[len(i.troubleshooting)]


def _ask_check(policy: Policy, t: Turn) -> list[Reply]:
    i = t.intake
    steps = category_of(policy, i).troubleshooting
    n = len(i.troubleshooting)
    buttons = (
        *yes_no(t),
        Button(t.say("intake.troubleshoot.fixed"), f"/{Intent.PROBLEM_SOLVED}"),
    )
    key = "intake.troubleshoot.ask_first" if n == 0 else "intake.troubleshoot.ask"
    return [Reply(t.say(key, n=n + 1, total=len(steps), step=steps[n]), buttons)]


def _parse_check(policy: Policy, t: Turn) -> Parsed:
    if t.intent == Intent.PROBLEM_SOLVED:
        return Outcome.SOLVED
    if t.intent not in (Intent.AFFIRM, Intent.DENY):
        return Retry("intake.troubleshoot.retry")
    answer = "yes" if t.intent == Intent.AFFIRM else "no"  # stored as data, not shown as such
    return Answer({"step": current_check(policy, t.intake), "answer": answer})


# -- contact ----------------------------------------------------------------------------------


def contact_line(*parts: str | None) -> str:
    return ", ".join(x for x in parts if x)


def _saved_contact_pending(policy: Policy, t: Turn) -> bool:
    i, c = t.intake, t.customer
    return i.name is None and not i.saved_contact_declined and bool(c.name) and bool(c.email or c.phone)


def _ask_saved_contact(policy: Policy, t: Turn) -> list[Reply]:
    c = t.customer
    return [t.reply("intake.contact_confirm.ask", *yes_no(t), contact=contact_line(c.name, c.email, c.phone))]


def _parse_yes_no(policy: Policy, t: Turn) -> Parsed:
    if t.intent == Intent.AFFIRM:
        return Answer(True)
    if t.intent == Intent.DENY:
        return Answer(False)
    return Retry("intake.contact_confirm.retry")


def _store_saved_contact(t: Turn, use: bool) -> None:
    i = t.intake
    if use:
        i.name, i.email, i.phone = t.customer.name, t.customer.email, t.customer.phone
    else:
        i.saved_contact_declined = True


def _ask_name(policy: Policy, t: Turn) -> list[Reply]:
    guess = clean_name(t.msg.display_name or "")
    buttons = (
        (Button(t.say("intake.name.button", name=guess), make_payload(Intent.INFORM, name=guess)),)
        if guess
        else ()
    )
    return [Reply(t.say("intake.name.ask"), buttons)]


def _parse_name(policy: Policy, t: Turn) -> Parsed:
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


def _store_name(t: Turn, given: tuple[str | None, ...]) -> None:
    i = t.intake
    i.name = given[0]
    if len(given) == 3:
        i.email, i.phone = given[1], given[2]


def _parse_reach(policy: Policy, t: Turn) -> Parsed:
    email = find_email(t.text) if not t.is_payload else None
    phone = find_phone(t.text) if not t.is_payload and email is None else None
    if email is None and phone is None:
        return Retry("intake.reach.retry", ask_again=False)
    return Answer((email, phone))


def _store_reach(t: Turn, reach: tuple[str | None, str | None]) -> None:
    t.intake.email, t.intake.phone = reach


# -- confirmation -----------------------------------------------------------------------------


def summary(policy: Policy, t: Turn) -> Reply:
    i = t.intake
    category = category_of(policy, i)
    lines = [
        t.say("intake.summary.head"),
        t.say("intake.summary.category", title=category.title),
        t.say(
            "intake.summary.priority",
            priority=i.priority and t.label("priority", i.priority),
            definition=category.priorities[i.priority or "medium"],
        ),
        t.say("intake.summary.problem", description=i.description),
        t.say("intake.summary.contact", contact=contact_line(i.name, i.email, i.phone)),
    ]
    if i.troubleshooting:
        checks = "; ".join(f"{s['step']} {s['answer']}" for s in i.troubleshooting)
        lines.append(t.say("intake.summary.checks", checks=checks))
    if i.exclusion:
        lines.append(t.say("intake.summary.note", title=policy.exclusions[i.exclusion].title))
    lines.append(t.say("intake.summary.ask"))
    buttons = (
        Button(t.say("intake.confirm.open"), f"/{Intent.AFFIRM}"),
        Button(t.say("intake.confirm.change_priority"), f"/{Intent.CHANGE_PRIORITY}"),
        Button(t.say("intake.confirm.cancel"), f"/{Intent.CANCEL}"),
    )
    return Reply("\n".join(lines), buttons)


def _parse_confirm(policy: Policy, t: Turn) -> Parsed:
    if t.intent == Intent.AFFIRM:
        return Outcome.OPEN_TICKET
    if t.intent == Intent.CHANGE_PRIORITY:
        return Answer(None)  # clears the priority, which is asked again
    if t.intent == Intent.DENY:
        return Outcome.DISCARDED
    return Retry("intake.confirm.retry")


STEPS: tuple[Step, ...] = (
    Step(
        "category",
        pending=lambda p, t: t.intake.category is None,
        prompt=_ask_category,
        parse=_parse_category,
        store=_setter("category"),
    ),
    Step(
        "description",
        pending=lambda p, t: t.intake.description is None,
        prompt=lambda p, t: [t.reply("intake.description.ask")],
        parse=_parse_description,
        store=_store_description,
        free_text=True,
    ),
    Step(
        "priority",
        pending=lambda p, t: t.intake.priority is None,
        prompt=_ask_priority,
        parse=_parse_priority,
        store=_setter("priority"),
    ),
    Step(
        "exclusion",
        pending=_exclusion_pending,
        prompt=_ask_exclusion,
        parse=_parse_exclusion,
        store=_store_exclusion,
        noted="intake.exclusion.passed_on",
    ),
    Step(
        "troubleshoot",
        pending=lambda p, t: len(t.intake.troubleshooting) < len(category_of(p, t.intake).troubleshooting),
        prompt=_ask_check,
        parse=_parse_check,
        store=lambda t, answer: t.intake.troubleshooting.append(answer),
    ),
    Step(
        "contact_confirm",
        pending=_saved_contact_pending,
        prompt=_ask_saved_contact,
        parse=_parse_yes_no,
        store=_store_saved_contact,
    ),
    Step(
        "name",
        pending=lambda p, t: t.intake.name is None,
        prompt=_ask_name,
        parse=_parse_name,
        store=_store_name,
        free_text=True,
    ),
    Step(
        "reach",
        pending=lambda p, t: t.intake.email is None and t.intake.phone is None,
        prompt=lambda p, t: [t.reply("intake.reach.ask", name=t.intake.name)],
        parse=_parse_reach,
        store=_store_reach,
        free_text=True,
    ),
    Step(
        "confirm",
        pending=lambda p, t: True,
        prompt=lambda p, t: [summary(p, t)],
        parse=_parse_confirm,
        store=_setter("priority"),
    ),
)
STEP_BY_NAME: dict[str, Step] = {step.name: step for step in STEPS}
