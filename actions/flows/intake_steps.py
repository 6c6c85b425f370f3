"""The intake as a table of steps, asked in the order of the policy's intake (section 7).

Each step is one entry: its name (stored as `state.step`), when it is still pending, its
prompt, how an answer is parsed, and what the answer stores in the intake. A new ticket field is
one step here (its functions beside the others of its kind, here or in intake_contact.py) and
one field of `Intake` (actions/state.py). Parsing never writes: it returns an
`Answer` to store, a `Retry` (a hint, and the question again), or an `Outcome` that ends the
intake (the flow, actions/flows/intake.py, carries it out).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from actions.flows.base import REPORT_CATEGORIES
from actions.flows.intake_answers import Answer, Outcome, Parsed, Retry, category_of
from actions.flows.intake_checks import ask_check, checks_pending, hear_check, parse_check
from actions.flows.intake_contact import (
    ask_name,
    ask_saved_contact,
    hear_confirm,
    parse_confirm,
    parse_name,
    parse_reach,
    parse_yes_no,
    saved_contact_pending,
    store_confirm,
    store_name,
    store_reach,
    store_saved_contact,
    summary,
)
from actions.messages import Button, Reply
from actions.payload import make_payload
from actions.turn import Turn
from actions.understand import Feelings, read_confirmation, read_feelings
from actions.understand.exclusions import exclusion_in
from desk.policy import CATEGORIES, PRIORITIES, Policy
from desk.triage import suggest_priority
from nlu.intents import Intent

# Replies at a step that answered nothing before the bot stops asking it (see intake_checks.py).
MAX_TRIES = 2
_SEVERITY = ("low", "medium", "high", "critical")
_ACKNOWLEDGED = {"outage": "intake.heard.outage", "frustrated": "intake.heard.frustrated"}

# How close a typed word must be to a priority word to be read as it ("meduim", "hihg").
TYPO_CUTOFF = 0.75
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
    # Reads a typed reply's own words before the NLU's intents may take it elsewhere ("how do I
    # check that?" is not the help menu at a check): an answer, or None to go on as usual.
    hear: Callable[[Policy, Turn], Parsed | None] | None = None


def _setter(name: str) -> Callable[[Turn, Any], None]:
    def store(t: Turn, value: Any) -> None:
        setattr(t.intake, name, value)

    return store


def suggested_priority(text: str, feelings: Feelings) -> str | None:
    """The most severe of what the words suggest: the triage's keywords, the urgency they express,
    and at least high for an outage or a frustrated customer."""
    suggested = [suggest_priority(text), feelings.urgency]
    if feelings.outage or feelings.frustrated:
        suggested.append("high")
    known = [p for p in suggested if p in _SEVERITY]
    return max(known, key=_SEVERITY.index) if known else None


def first_look(t: Turn, text: str) -> str | None:
    """Keep the description, with the priority and sentiment its words suggest; the catalog key of
    the sentence that acknowledges how the customer feels, if it calls for one."""
    i = t.intake
    i.description = text
    feelings = t.feelings if text is t.text else read_feelings(text)
    i.suggested_priority = suggested_priority(text, feelings)
    if feelings.frustrated:
        i.sentiment = "frustrated"
        return _ACKNOWLEDGED["frustrated"]
    if feelings.outage:
        return _ACKNOWLEDGED["outage"]
    if feelings.urgency:
        return "intake.heard.urgent"
    return None


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
    first_look(t, text)


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


def _priority_in_words(t: Turn) -> str | None:
    """ "not urgent", "make it high", "the suggested one is fine", "meduim": the priority meant."""
    read = read_confirmation(t.text, None)
    if read.kind == "change_priority":
        return read.priority
    if read.kind == "confirm" and t.intake.suggested_priority:
        return t.intake.suggested_priority
    return misspelled_priority(t.text)


def _swapped(word: str, target: str) -> bool:
    """`word` is `target` with two neighbouring letters swapped ("lwo" for "low")."""
    if len(word) != len(target) or word == target:
        return False
    diff = [n for n, (a, b) in enumerate(zip(word, target, strict=True)) if a != b]
    return (
        len(diff) == 2
        and diff[1] == diff[0] + 1
        and word[diff[0]] == target[diff[1]]
        and word[diff[1]] == target[diff[0]]
    )


def misspelled_priority(text: str) -> str | None:
    """The priority a typo means: "meduim", "hihg", and short words with two letters swapped ("lwo")."""
    for word in re.findall(r"[a-z]+", text.lower()):
        if len(word) > 3:
            close = difflib.get_close_matches(word, PRIORITY_WORDS, n=1, cutoff=TYPO_CUTOFF)
        else:
            close = [p for p in PRIORITY_WORDS if word == p or _swapped(word, p)]
        if close:
            return PRIORITY_WORDS[close[0]]
    return None


def _hear_priority(policy: Policy, t: Turn) -> Parsed | None:
    """A priority in the words is the answer, even when the NLU reads "hihg" as a greeting."""
    chosen = _priority_in_words(t)
    return Answer(chosen) if chosen in PRIORITIES else None


def _parse_priority(policy: Policy, t: Turn) -> Parsed:
    chosen: str | None = None
    if t.intent == Intent.CHOOSE_PRIORITY:
        chosen = t.slots.get("priority")
    elif t.intent == Intent.AFFIRM and t.intake.suggested_priority:
        chosen = t.intake.suggested_priority
    elif not t.is_payload:
        chosen = _priority_in_words(t)
    if chosen in PRIORITIES:
        return Answer(chosen)
    if not t.is_payload and t.intake.tries + 1 >= MAX_TRIES:
        # Never the same question a third time: the suggestion (or medium) stands, changeable at the end.
        return Answer(t.intake.suggested_priority or "medium", noted=("intake.priority.taken",))
    return Retry("intake.priority.retry")


# -- exclusion (policy section 8) -------------------------------------------------------------


def _exclusion_pending(policy: Policy, t: Turn) -> bool:
    i = t.intake
    if i.exclusion_checked:
        return False
    if exclusion_in(i.description or "", policy) is not None:
        return True
    i.exclusion_checked = True
    return False


def _ask_exclusion(policy: Policy, t: Turn) -> list[Reply]:
    kind = exclusion_in(t.intake.description or "", policy)
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
        return Answer(exclusion_in(t.intake.description or "", policy))
    if t.intent == Intent.DENY:
        return Outcome.DECLINED
    return Retry("intake.exclusion.retry")


def _hear_exclusion(policy: Policy, t: Turn) -> Parsed | None:
    """ "yes please pass it on to a technician" is the yes, not a request for a person."""
    read = read_confirmation(t.text, None)
    if read.kind == "confirm":
        return Answer(exclusion_in(t.intake.description or "", policy))
    if read.kind == "cancel":
        return Outcome.DECLINED
    return None


def _store_exclusion(t: Turn, kind: str | None) -> None:
    t.intake.exclusion = kind
    t.intake.exclusion_checked = True


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
        hear=_hear_priority,
    ),
    Step(
        "exclusion",
        pending=_exclusion_pending,
        prompt=_ask_exclusion,
        parse=_parse_exclusion,
        hear=_hear_exclusion,
        store=_store_exclusion,
        noted="intake.exclusion.passed_on",
    ),
    Step(
        "troubleshoot",
        pending=checks_pending,
        prompt=ask_check,
        parse=parse_check,
        store=lambda t, answer: t.intake.troubleshooting.append(answer),
        hear=hear_check,
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
        store=store_confirm,
        hear=hear_confirm,
    ),
)
STEP_BY_NAME: dict[str, Step] = {step.name: step for step in STEPS}
