"""The customer's reply to the ticket summary ("Shall I open the ticket?"): confirm, cancel, change the
priority, or the problem went away meanwhile."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from actions.understand.answers import is_fixed
from actions.understand.fast import Gated, gated
from actions.understand.text import clean, lead_words, negated_before, squeeze

__all__ = ["PRIORITIES", "Confirmation", "read_confirmation"]

ConfirmKind = Literal["confirm", "cancel", "change_priority", "fixed", "none"]
Priority = Literal["critical", "high", "medium", "low"]
PRIORITIES: tuple[Priority, ...] = ("critical", "high", "medium", "low")


@dataclass(frozen=True, slots=True)
class Confirmation:
    """kind, and for change_priority the policy priority asked for (critical|high|medium|low)."""

    kind: ConfirmKind
    priority: Priority | None = None


_CANCEL = gated(
    r"\bcancel\w*\b|\bnever\s*mind\b|\bnvm\b|\bforget\s+(?:it|about\s+it|that)\b|\b(?:don't|do\s+not|dont|no\s+need\s+to)\s+"
    r"(?:send|open|submit|create|file|bother|need)\b|^no\s+need\b[\s.!]*(?:thanks?|thank\s+you)?[\s.!]*$|\bstop\b|\bdon't\s+bother\b|\bnot\s+(?:now|anymore|needed)\b|"
    r"\bdelete\s+(?:it|this|the\s+ticket)\b|\bscrap\s+(?:it|that)\b|\babort\b|\bi\s+changed\s+my\s+mind\b|\bleave\s+it\b|"
    r"\bno\s+thanks?\b|\bno\s+thank\s+you\b|"
    r"បោះបង់|ឈប់|កុំផ្ញើ|កុំបើក|មិនបាច់|អត់បាច់|លុបចោល"
)
_DONT = re.compile(r"\b(?:don't|do\s+not|dont|not)\s+$")
_EDIT = gated(
    r"\b(?:change|update|correct|fix|edit)\s+(?:the\s+|my\s+|our\s+)?(?:e-?mail|phone|number|name|description|category|contact|address)\b|"
    r"\b(?:e-?mail|phone|name|number|address|description|category)\s+(?:is\s+|was\s+)?(?:wrong|incorrect|not\s+right|outdated)\b"
)
_QUESTION = re.compile(
    r"(?:what|how|when|where|why|who|which|will|would|can|could|is|are|do|does)\b[^?]*\?\s*$"
)
_CONFIRM = gated(
    r"\b(?:yes|yeah|yep|yup|ye|ya|yea|sure|ok|okay|okey|k|alright|correct|confirm(?:ed)?|submit|send|open|create|file|proceed|"
    r"go\s+ahead|go\s+on|go\s+for\s+it|let's\s+go|do\s+it|please\s+do|sounds\s+good|looks\s+good|looks\s+right|all\s+good|perfect|great|fine|right|that's\s+right|"
    r"exactly|right|agreed|approve|lgtm|bat|jas|cha)\b|👍|✅|👌|"
    r"បាទ|ចាស|យល់ព្រម|ផ្ញើ|បើក|ព្រម|ត្រូវហើយ|អូខេ|ល្អ"
)
_CONFIRM_WORDS = frozenset(
    squeeze(w)
    for w in """yes ye yeah yea yep yup ya y ys yse yas sure ok okay okey k confirm submit send proceed correct perfect
    great fine alright bat jas cha chas""".split()
)
_GO = re.compile(r"^go(?:\s+go)*[\s!.]*$")  # "go", "go go go!": alone, it means go ahead
_NO_WORDS = frozenset(squeeze(w) for w in ("no", "nope", "nah", "na", "n", "not"))

_LOWER = gated(
    r"\b(?:lower|lowest|decrease|reduce|less|downgrade|not\s+(?:that|so|very|too|really)?\s*(?:urgent|important|critical|serious|high)|"
    r"no\s+(?:rush|hurry)|can\s+wait|not\s+a\s+(?:big\s+)?(?:deal|rush)|not\s+urgent|minor|whenever)\b|"
    # Khmer "not (very) urgent", "no hurry", "can wait".
    r"(?:មិន|អត់)(?:សូវ|ទាន់)?\s*(?:បន្ទាន់|ប្រញាប់|សំខាន់)|ចាំបាន|"
    # The same in Romanized Khmer: "ot bontean te", "min sov brovap te", "cham ban".
    r"\b(?:ot|min|mun)\s+(?:sov\s+|son\s+|toan\s+)?(?:bontean|bonteanh|bon\s+tean|brovap|brobrab|sonkhan|sam\s*khan)\b|\bcham\s+ban\b"
)
_HIGHER = gated(r"\b(?:higher|highest|raise|increase|bump|upgrade|escalate|more\s+urgent)\b")
# Priority words, most severe first; the first found in the text is the one asked for.
_LEVELS: tuple[tuple[Priority, Gated], ...] = (
    (
        "critical",
        gated(
            r"\bcritical\b|\bcrit\b|\bemergency\b|\btop\s+priority\b|\bp1\b|\bsev(?:erity)?\s*1\b|\bhighest\b|\bextremely\s+urgent\b|"
            r"\bvery\s+urgent\b|\bsuper\s+urgent\b|\bmost\s+urgent\b|ធ្ងន់ធ្ងរបំផុត|សំខាន់បំផុត|បន្ទាន់បំផុត"
        ),
    ),
    (
        "high",
        gated(
            r"\bhigh\b|\burgent\b|\basap\b|\bimportant\b|\bp2\b|\bpriority\s+high\b|បន្ទាន់|ខ្ពស់|\bbontean\b|\bkhpos\b|\bkhpus\b"
        ),
    ),
    (
        "medium",
        gated(
            r"\bmedium\b|\bmed\b|\bnormal\b|\bmoderate\b|\bmid\b|\bregular\b|\bstandard\b|\bp3\b|មធ្យម|"
            r"\bmathyum\b|\bmatyum\b|\bmatyom\b|\bmak?tyum\b"
        ),
    ),
    (
        "low",
        gated(
            r"\blow\b|\blowest\b|\bminor\b|\bp4\b|\bno\s+rush\b|\bcan\s+wait\b|ទាប|\btiab\b|\bteab\b|\bteap\b"
        ),
    ),
)
_PRIORITY_CUE = gated(
    r"\bpriority\b|\bmake\s+(?:it|this|that)\b|\bset\s+(?:it|this)\b|\bchange\b|\bmark\s+(?:it|this)\b|\bas\s+(?:a\s+)?\w+\b|"
    r"\b(?:it's|it\s+is|this\s+is|that's|its)\s+(?:\w+\s+)?(?:urgent|critical|important|an\s+emergency|high|low|medium|minor)\b|"
    r"\b(?:urgent|critical|emergency|asap|high|low|medium|normal|minor|bontean|khpos|khpus|tiab|teab|mathyum)\b|"
    r"អាទិភាព|បន្ទាន់|ខ្ពស់|មធ្យម|ទាប|\bcham\s+ban\b"
)


def _priority(cleaned: str, current: str | None) -> Priority | None:
    lower = _LOWER.search(cleaned)
    if lower and not negated_before(cleaned, lower.start()):
        # "not urgent", "lower priority please": one step down from the current priority, or low.
        for level, pattern in _LEVELS:
            m = pattern.search(cleaned)
            if m and level in ("medium", "low") and not negated_before(cleaned, m.start()):
                return level
        if current in PRIORITIES:
            return PRIORITIES[min(PRIORITIES.index(current) + 1, len(PRIORITIES) - 1)]
        return "low"
    higher = _HIGHER.search(cleaned)
    best: tuple[int, Priority] | None = None
    for level, pattern in _LEVELS:
        for m in pattern.finditer(cleaned):
            if negated_before(cleaned, m.start()):
                continue
            if best is None or m.start() < best[0]:
                best = (m.start(), level)
            break
    if best is not None:
        return best[1]
    if higher:
        if current in PRIORITIES:
            return PRIORITIES[max(PRIORITIES.index(current) - 1, 0)]
        return "high"
    return None


def read_confirmation(text: str, current_priority: str | None = None) -> Confirmation:
    """Read a reply to the summary. "yes please", "go ahead", "ye send it" confirm; "make it urgent",
    "lower priority please" change the priority (relative changes move one step from
    `current_priority` when given); "cancel", "never mind" cancel; "restarting fixed it" is fixed."""
    cleaned = clean(text)[:1000]
    if not cleaned:
        return Confirmation("none")
    if is_fixed(cleaned):
        return Confirmation("fixed")
    cancel = _CANCEL.search(cleaned)
    if cancel and not _DONT.search(cleaned, max(0, cancel.start() - 12), cancel.start()):
        return Confirmation("cancel")
    if _EDIT.search(cleaned):
        # "yes but change the email to ...": a correction, not a confirmation; the caller asks what.
        return Confirmation("none")
    if _PRIORITY_CUE.search(cleaned) or _HIGHER.search(cleaned) or _LOWER.search(cleaned):
        level = _priority(cleaned, current_priority)
        if level is not None:
            return Confirmation("change_priority", level)
    words = lead_words(cleaned, 3)
    if words and words[0] in _NO_WORDS:
        # A bare "no" cancels; "no, the email is wrong" asks for a change this function does not read.
        return (
            Confirmation("cancel")
            if len(words) == 1 or words[1] in ("thanks", "thank", "thx")
            else Confirmation("none")
        )
    if _QUESTION.match(cleaned):
        return Confirmation("none")  # "what happens after I confirm?"
    if words and words[0] in _CONFIRM_WORDS:
        return Confirmation("confirm")
    if _GO.match(cleaned):
        return Confirmation("confirm")
    m = _CONFIRM.search(cleaned)
    if m and not negated_before(cleaned, m.start()) and len(cleaned) < 200:
        return Confirmation("confirm")
    return Confirmation("none")
