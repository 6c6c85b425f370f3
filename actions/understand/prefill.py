"""What a problem description already answers, so the intake does not ask it again.

A report that says "reinstalled it twice" and "every computer in the finance department" has answered
"Have you restarted...?" and "Are other people affected?". Facts are matched to the policy's steps by
the concept each step's text names (`concepts.step_concept`), never by the step's position.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from actions.understand.concepts import CONCEPTS, Concept, step_concept
from actions.understand.facts import Found, find_concept, first
from actions.understand.fast import gated
from actions.understand.model import StepAnswer
from actions.understand.text import shorten, tidy

__all__ = ["Facts", "facts_from_description"]

# A description is read whole up to this many characters (a 5,900-character report fits).
READ_CHARS = 8000

# Product names customers mention, as the ticket should show them; the first mentioned is `product`.
_PRODUCTS: tuple[tuple[str, str], ...] = (
    ("Outlook", r"outlook"),
    ("Excel", r"excel"),
    ("Word", r"ms\s+word|microsoft\s+word|word"),
    ("Teams", r"ms\s+teams|microsoft\s+teams|teams"),
    ("Microsoft 365", r"(?:microsoft|office|ms)\s*365|o365|office\s+suite"),
    ("SharePoint", r"sharepoint"),
    ("OneDrive", r"onedrive|one\s+drive"),
    ("VPN", r"vpn|forticlient|anyconnect|openvpn|wireguard"),
    ("QuickBooks", r"quick\s*books|qbo"),
    ("Odoo", r"odoo"),
    ("SAP", r"sap"),
    ("ERP", r"erp"),
    ("CRM", r"crm"),
    ("POS", r"pos|point\s+of\s+sale"),
    ("Email", r"e-?mail|mailbox|gmail|webmail|smtp|imap"),
    ("Remote Desktop", r"remote\s+desktop|rdp|anydesk|teamviewer"),
    ("Website", r"website|web\s+site|web\s+page|homepage|wordpress"),
    ("Server", r"file\s+server|server"),
    ("Wi-Fi", r"wi-?fi|wireless"),
    ("Internet", r"internet"),
    ("Printer", r"printer|printing"),
    ("Windows", r"windows(?:\s+1[01])?"),
    ("Zoom", r"zoom"),
    ("Telegram", r"telegram"),
    ("Chrome", r"chrome"),
    ("Firewall", r"firewall|fortigate|sophos"),
    ("Router", r"router|switch\s+port"),
    ("Backup", r"backups?"),
    ("Database", r"database|sql\s+server|mysql|postgres"),
    ("Domain", r"domain|dns"),
    ("SSL certificate", r"ssl|certificate"),
    ("Antivirus", r"antivirus|anti-virus|defender|kaspersky|eset"),
    ("Invoice", r"invoice|bill"),
    ("Payment", r"payment|aba\s+pay|khqr"),
    ("Subscription", r"subscription|licen[cs]e"),
)
_PRODUCT = gated(r"\b(?:" + "|".join(p for _, p in _PRODUCTS) + r")\b")
_COMMON_WORDS = frozenset({"teams", "word", "zoom", "windows", "backup", "backups", "domain", "switch port"})
_PRODUCT_NAME = tuple((name, re.compile(p)) for name, p in _PRODUCTS)

_DAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|wed|thu|fri|sat|sun)"
_TIME_WORDS = (
    r"(?:this\s+(?:morning|afternoon|evening|week|month)|yesterday(?:\s+(?:morning|afternoon|evening|night))?|last\s+(?:night|week|month|"
    + _DAY
    + r")|today|tonight|"
    + _DAY
    + r"(?:\s+(?:morning|afternoon|evening|night))?|the\s+weekend|\d{1,2}(?::\d{2})?\s*(?:am|pm|o'clock)|\d{1,2}:\d{2}|noon|midnight|"
    r"\d+\s+(?:minutes?|hours?|days?|weeks?|months?)\s+ago|(?:a|an|one|two|three|few|couple\s+of)\s+(?:\w+\s+)?(?:hours?|days?|weeks?)\s+ago|"
    r"(?:the|last|our|your|a|an)\s+(?:\w+\s+){0,2}(?:update|upgrade|migration|maintenance|installation|install|restart|reboot|power\s+cut|"
    r"outage|move|change)(?:\s+(?:yesterday|today|last\s+night|this\s+morning|on\s+" + _DAY + r"))?|"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}|\d{1,2}[/.-]\d{1,2}(?:[/.-]\d{2,4})?|"
    r"the\s+(?:\d{1,2}(?:st|nd|rd|th)|beginning\s+of\s+\w+|start\s+of\s+\w+))"
)
_SINCE = gated(
    r"\b(?:since|after|starting|started|beginning|from)\s+(?:about\s+|around\s+|early\s+|late\s+)?"
    + _TIME_WORDS
    + r"|\b(?:for\s+(?:the\s+)?(?:last|past)\s+(?:\d+|few|couple\s+of|two|three)\s+(?:\w+\s+)?(?:hours?|days?|weeks?)|for\s+(?:\d+|two|three|several)\s+(?:hours?|days?|weeks?))\b"
    + r"|តាំងពីម្សិលមិញ|តាំងពីព្រឹក|តាំងពីថ្ងៃ\S*|ពីម្សិលមិញ"
)
# A bare time, when no "since ..." says it: "it stopped yesterday".
_WHEN = gated(r"\b(?:this\s+morning|yesterday|last\s+night|today)\b|ព្រឹកនេះ|ម្សិលមិញ")


@dataclass(frozen=True, slots=True)
class Facts:
    """What the description answers and the fields found in it.

    answers: step index -> the answer the description already gives to that step (only steps it
    answers). others_affected, restarted, internet_working, ... : the concepts' answers as yes/no/None
    by concept name in `by_concept`. error: the error text quoted or described. product: the first
    product mentioned (products: all, in order). since: when it started, in the customer's words.
    """

    answers: dict[int, StepAnswer] = field(default_factory=dict)
    by_concept: dict[Concept, StepAnswer] = field(default_factory=dict)
    error: str | None = None
    product: str | None = None
    products: tuple[str, ...] = ()
    since: str | None = None


def _sentence(shown: str, found: Found) -> str:
    """The sentence around a fact, as the note."""
    start = max(shown.rfind(c, 0, found.start) for c in ".!?\n") + 1
    ends = [i for i in (shown.find(c, found.end) for c in ".!?\n") if i != -1]
    end = min(ends) if ends else len(shown)
    return shorten(shown[start:end], 200)


def _products(cleaned: str, shown: str) -> tuple[str, ...]:
    seen: list[str] = []
    names: dict[str, str] = {}
    for m in _PRODUCT.finditer(cleaned):
        if m.group() in _COMMON_WORDS and not (len(shown) == len(cleaned) and shown[m.start()].isupper()):
            continue  # "our teams", "a word": only "Teams", "Word" name the product
        name = names.get(m.group())
        if name is None:
            name = names[m.group()] = next(name for name, p in _PRODUCT_NAME if p.fullmatch(m.group()))
        if name not in seen:
            seen.append(name)
    return tuple(seen)


def facts_from_description(text: str, steps: Sequence[str]) -> Facts:
    """The answers the description `text` already gives to the troubleshooting `steps` (the policy's
    step texts, in order), plus the error text, product and start time it mentions."""
    shown = tidy(text)[:READ_CHARS]
    cleaned = shown.lower()
    same = len(cleaned) == len(shown)
    by_concept: dict[Concept, StepAnswer] = {}
    error: str | None = None
    concepts = [step_concept(s) for s in steps]
    wanted: set[Concept] = {c for c in concepts if c is not None} | {
        "error_message",
        "restart",
        "others_affected",
    }
    for concept in (c for c in CONCEPTS if c in wanted):
        fact = first(find_concept(cleaned, shown if same else cleaned, concept, reply=False))
        if fact is None:
            continue
        note = (
            fact.note
            if concept == "error_message" and fact.note
            else _sentence(shown if same else cleaned, fact)
        )
        by_concept[concept] = StepAnswer(fact.kind, note)
        if concept == "error_message" and fact.kind == "yes":
            error = fact.note or None
    answers = {i: by_concept[c] for i, c in enumerate(concepts) if c is not None and c in by_concept}
    products = _products(cleaned, shown)
    since = _SINCE.search(cleaned) or _WHEN.search(cleaned)
    return Facts(
        answers=answers,
        by_concept=by_concept,
        error=error,
        product=products[0] if products else None,
        products=products,
        since=(shown if same else cleaned)[since.start() : since.end()] if since else None,
    )
