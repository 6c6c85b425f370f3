"""The intake as a table of steps, asked in the order of the policy's intake (section 7).

Each step is one entry: its name (stored as `state.step`), when it is still pending, its
prompt, how an answer is parsed, and what the answer stores in the intake. A new ticket field is
one step here (its functions beside the others of its kind, here or in intake_contact.py) and
one field of `Intake` (actions/state.py). Parsing never writes: it returns an
`Answer` to store, a `Retry` (a hint, and the question again), or an `Outcome` that ends the
intake (the flow, actions/flows/intake.py, carries it out).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from actions.flows.base import REPORT_CATEGORIES, yes_no
from actions.flows.intake_answers import Answer, Outcome, Parsed, Retry, category_of
from actions.flows.intake_contact import (
    ask_name,
    ask_saved_contact,
    parse_confirm,
    parse_name,
    parse_reach,
    parse_yes_no,
    saved_contact_pending,
    store_name,
    store_reach,
    store_saved_contact,
    summary,
)
from actions.messages import Button, Reply
from actions.payload import make_payload
from actions.state import Intake
from actions.turn import Turn
from desk.policy import CATEGORIES, PRIORITIES, Policy
from desk.triage import detect_exclusion, suggest_priority
from nlu.intents import Intent

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
class Step:
    name: str
    pending: Callable[[Policy, Turn], bool]  # the intake still lacks this
    prompt: Callable[[Policy, Turn], list[Reply]]
    parse: Callable[[Policy, Turn], Parsed]
    store: Callable[[Turn, Any], None]
    free_text: bool = False  # the answer is typed text, so only a sure question interrupts it
    noted: str | None = None  # catalog key said once an answer is stored


def _setter(name: str) -> Callable[[Turn, Any], None]:
    def store(t: Turn, value: Any) -> None:
        setattr(t.intake, name, value)

    return store


# -- category ---------------------------------------------------------------------------------


def _ask_category(policy: Policy, t: Turn) -> list[Reply]:
    categories = [policy.categories[c] for c in CATEGORIES]
    lines = "\n".join(
        t.say("intake.category.line", title=t.pick(c.title), description=t.pick(c.description))
        for c in categories
    )
    buttons = tuple(
        Button(t.pick(c.title), make_payload(Intent.CHOOSE_CATEGORY, category=key))
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
                definition=t.pick(category.priorities[p]),
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
        Button(t.say("intake.exclusion.yes"), make_payload(Intent.AFFIRM)),
        Button(t.say("intake.exclusion.no"), make_payload(Intent.DENY)),
    )
    text = t.say(
        "intake.exclusion.ask",
        title=t.pick(exclusion.title).lower(),
        description=t.pick(exclusion.description).rstrip(".").lower(),
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
        Button(t.say("intake.troubleshoot.fixed"), make_payload(Intent.PROBLEM_SOLVED)),
    )
    key = "intake.troubleshoot.ask_first" if n == 0 else "intake.troubleshoot.ask"
    return [Reply(t.say(key, n=n + 1, total=len(steps), step=t.pick(steps[n])), buttons)]


def _parse_check(policy: Policy, t: Turn) -> Parsed:
    if t.intent == Intent.PROBLEM_SOLVED:
        return Outcome.SOLVED
    if t.intent not in (Intent.AFFIRM, Intent.DENY):
        return Retry("intake.troubleshoot.retry")
    answer = "yes" if t.intent == Intent.AFFIRM else "no"  # stored as data, not shown as such
    return Answer({"step": current_check(policy, t.intake), "answer": answer})


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
        pending=saved_contact_pending,
        prompt=ask_saved_contact,
        parse=parse_yes_no,
        store=store_saved_contact,
    ),
    Step(
        "name",
        pending=lambda p, t: t.intake.name is None,
        prompt=ask_name,
        parse=parse_name,
        store=store_name,
        free_text=True,
    ),
    Step(
        "reach",
        pending=lambda p, t: t.intake.email is None and t.intake.phone is None,
        prompt=lambda p, t: [t.reply("intake.reach.ask", name=t.intake.name)],
        parse=parse_reach,
        store=store_reach,
        free_text=True,
    ),
    Step(
        "confirm",
        pending=lambda p, t: True,
        prompt=lambda p, t: [summary(p, t)],
        parse=parse_confirm,
        store=_setter("priority"),
    ),
)
STEP_BY_NAME: dict[str, Step] = {step.name: step for step in STEPS}
