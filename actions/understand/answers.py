"""A customer's reply at a troubleshooting step, read as the answer it carries.

"yes we reset all admin passwords" is yes (the rest kept as the note), "only me" at "Are other people
affected?" is no, "it says 'Microsoft Outlook has stopped working'" at the error-message step is yes
with that error as the note, "restarting fixed it, thanks!" is fixed, "how do I check that?" asks how.
"""

from __future__ import annotations

import re
from typing import Literal

from actions.understand.concepts import step_concept
from actions.understand.facts import find_concept, first
from actions.understand.fast import gated
from actions.understand.model import StepAnswer
from actions.understand.text import ROMANIZED_ALREADY, lead_words, negated_before, shorten, squeeze, tidy

__all__ = ["StepAnswer", "is_fixed", "read_step_answer"]

# Long replies: the answer is in the first lines; the rest is kept in the note only.
READ_CHARS = 1500

_FIXED = gated(
    r"\b(?:fixed|solved|resolved|sorted(?:\s+out)?)\s+(?:it|that|this|the\s+(?:problem|issue|error|thing)|everything|my\s+(?:problem|issue))\b|"
    r"\b(?:that|this|which|restart(?:ing)?|reboot(?:ing)?|reinstall(?:ing)?|re-?starting\s+\w+|rebooting\s+\w+)\s+(?:has\s+|have\s+|had\s+|seems\s+to\s+have\s+|just\s+)?"
    r"(?:fixed|solved|resolved|sorted|worked|did\s+the\s+trick|helped)\b|\bdid\s+the\s+trick\b|"
    r"\b(?:works|working|runs|running|loads|loading|opens|opening|connects|connected|prints|printing|syncs|syncing|sends|sending)\s+"
    r"(?:fine\s+|normally\s+|properly\s+|again\s+)?(?:now|again)\b|"
    r"\b(?:it|its|that|everything|all|things|problem|issue)(?:'s|\s+is|\s+are|\s+seems|\s+looks)?\s+(?:fine|ok|okay|good|normal|gone|back\s+to\s+normal|back)\s+(?:now|again)\b|"
    r"\b(?:it|its|that|problem|issue)(?:'s|\s+is|\s+has\s+been|\s+got)?\s+(?:fixed|solved|resolved|sorted)\b|"
    r"\ball\s+(?:good|sorted|fixed|working)\s+now\b|\bup\s+and\s+running\s+(?:again|now)\b|"
    r"\b(?:problem|issue|error)\s+(?:is\s+|has\s+|seems\s+|was\s+)?(?:been\s+)?(?:solved|fixed|resolved|gone|sorted)\b|"
    r"\bno\s+longer\s+(?:a\s+problem|an\s+issue|happening|need\s+help)\b|"
    r"\b(?:don't|do\s+not|no\s+longer)\s+need\s+(?:help|a\s+ticket|the\s+ticket|support|it)\s+(?:anymore|any\s+more|now)\b|"
    r"ជួសជុលបានហើយ|ដំណើរការវិញហើយ|ដំណើរការបានហើយ|ដំណើរការវិញ|ល្អវិញហើយ|ប្រើបានវិញ|អស់បញ្ហាហើយ|បាត់បញ្ហា|"
    r"ដើរវិញ|ដើរធម្មតាវិញ|ប្រើកើតវិញ|ប្រើបានធម្មតាវិញ|"
    # "ឥឡូវឃើញហើយ", "ឥឡូវបានហើយ": now I can see it / now it works.
    r"ឥឡូវ(?:នេះ)?\s*(?:ឃើញ|បាន|ដើរ|ដំណើរការ|ប្រើបាន|ល្អ|ចូលបាន|បើកបាន)\S{0,8}?ហើយ|"
    r"\b(?:ok|okay|work|works|working)\s+(?:hz|heuy|huey|hery)\b"
)
# "restarted and it opens fine", "rebooted, now it works": the check they just did made it work; only
# when the sentence ends there or with thanks, not "... works fine but crashes at lunch" or "... works
# on my colleague's laptop".
_FIXED_BY_CHECK = gated(
    r"\b(?:re-?start(?:ed|ing)?|re-?boot(?:ed|ing)?|reinstall(?:ed|ing)?|tried\s+(?:it\s+)?(?:again|now))"
    r"(?:\s+(?:it|them|the\s+\w+|everything))?\s*(?:,\s*|\s+and\s+|\s+)(?:now\s+)?(?:it|that|everything|things|the\s+\w+|all\s+(?:the\s+)?\w+)"
    r"(?:'s|\s+is|\s+seems)?\s+(?:works?|working|opens?|opening|loads?|loading|runs?|running|fine|ok|okay|good|"
    r"shows?\s+up\s+(?:fine|normally|properly|correctly|right)|looks?\s+(?:normal|fine|ok|okay|good|right))"
    r"(?:\s+(?:fine|normally|properly|perfectly|ok|okay|again|now))*"
)
_DONE_TAIL = re.compile(
    r"(?:[\s,;:]*(?:now|again|thanks?(?:\s+(?:a\s+lot|so\s+much|very\s+much))?|thank\s+you(?:\s+(?:so\s+much|very\s+much))?|thx|ty|lol|haha|great|perfect|cheers|"
    r"all\s+good|sorry|:\)|🙏|👍|[\u1780-\u17ff]+))*[\s,;:]*(?:[.!?]|$)"
)
_FIXED_ALONE = re.compile(
    r"^(?:ok\s+|oh\s+|great\s+|wow\s+|yes\s+|yay\s+)?(?:it|now\s+it|that)\s+works[\s!.]*(?:thanks?(?:\s+you)?|thx|ty)?[\s!.]*$"
)
# "stopped working again", "keeps crashing again": the words before turn "working again" around.
_STOPPED = re.compile(r"\b(?:stop(?:s|ped)?|keeps?|quit)\s+$")
# "we need this sorted today", "please get that fixed": a request that it be fixed, not news that it is.
_WANTED = re.compile(r"\b(?:need|needs|want|wants|get|gets|have|has|must|please|let's|lets)\s+$")
_WORKS = re.compile(r"\b(?:works?|working|fine|loads?|loading|opens?|connects?)\b")
_HOW = gated(
    r"\bhow\s+(?:do|can|would|should|could|will|to)\s+(?:i\s+|we\s+|you\s+)?(?:check|know|find|tell|see|do\s+(?:that|this|it)|do|confirm|verify|test|look|restart|"
    r"reboot|disconnect|change|reach|get|note|take|make|screenshot|sign|log|ask|contact|access)\b|"
    r"\bwhere\s+(?:do|can|would|should|could)\s+(?:i|we)\s+(?:check|find|see|look|get)\b|\bwhere\s+(?:is|are|would|can|could)\b|"
    r"\bwhat\s+(?:do\s+you\s+mean|does\s+(?:that|this|it)\s+mean|is\s+(?:a|an)\s+\w+(?:\s+\w+)?\s*\?|should\s+i\s+(?:check|look|do))|"
    r"\b(?:don't|dont|do\s+not|didn't)\s+know\s+(?:how|where|what\s+to)\b|\bnot\s+sure\s+where\b|\bshow\s+me\s+how\b|\bcan\s+you\s+(?:explain|show\s+me|tell\s+me\s+how|guide)\b|"
    r"\bnot\s+sure\s+how\b|\bhow\s+would\s+i\s+know\b|\bwhich\s+(?:one|button|number|message)\b.*\?|"
    r"ធ្វើយ៉ាងម៉េច|ធ្វើម៉េច|យ៉ាងដូចម្តេច|យ៉ាងម៉េច|មើលនៅណា|ឆែកម៉េច|ពិនិត្យម៉េច|ម៉េចដែរ"
)
_NOT_SURE = gated(
    r"\bnot\s+(?:sure|certain|100%|really\s+sure|quite\s+sure)\b|\bno\s+sure\b|\b(?:i\s+)?(?:don't|dont|do\s+not|dunno|donno)\s+know\b|"
    r"\bdunno\b|\bidk\b|\bidnk\b|\bno\s+(?:idea|clue)\b|\bunsure\b|\b(?:can't|cannot|can\s+not)\s+(?:tell|say|remember|recall)\b|"
    r"\bnot\s+the\s+(?:one|person)\s+who\b|\bsomeone\s+else\s+(?:handles|does|did|knows)\b|\bask\s+(?:my|our)\s+(?:colleague|accountant|boss|manager|it)\b|"
    r"\b(?:don't|do\s+not|dont)\s+(?:remember|recall)\b|\bmaybe\b|\bperhaps\b|\bpossibly\b|\bprobably\s+not\b|\bhard\s+to\s+say\b|\bwho\s+knows\b|"
    r"\bsort\s+of\b|\bkind\s+of\b|\bkinda\b|\bsorta\b|\bnot\s+that\s+i\s+(?:know|noticed)\b|\bi\s+guess\b|\bprobably\b|\blikely\b|"
    r"មិនដឹង|អត់ដឹង|មិនច្បាស់|អត់ច្បាស់|ប្រហែល|អត់ចាំ|មិនចាំ|\b(?:ot|ort|min|mun|orn)\s*(?:deng|dg|doeng|dung|dong)\b"
)
# Hedges of degree ("yeah kinda", "sort of, on two of the tablets"): after a clear yes or no they
# qualify it; on their own they say the customer cannot tell.
_DEGREE = re.compile(r"kinda|sorta|kind\s+of|sort\s+of")
_LATER = re.compile(
    r"^(?:ok|okay|k|alright|sure|yes|ya|yeah|one\s+(?:sec|second|moment|min)|wait|hold\s+on|give\s+me)\b[\s,.!]*"
    r"(?:i'll|i\s+will|let\s+me|will\s+do|will\s+try|one\s+(?:sec|second|moment|min)|wait|hold\s+on|give\s+me|i'm\s+going\s+to|gonna|i\s+can\s+try|brb)\b|"
    r"^(?:i'll|i\s+will|let\s+me|will)\s+(?:try|check|do|restart|reboot|look|ask|call|see|test)\b|^(?:one\s+(?:sec|second|moment|min)|wait|hold\s+on|brb)\b"
)


def _words(*words: str) -> frozenset[str]:
    return frozenset(squeeze(w) for w in words)


# Squeezed lead words: "yess", "yesss", "yeees" all read as "yes".
_YES = _words(
    *"""yes ye yea yeah yeh yah ya yep yup yp y ys yse yas yeas yesh yis ues yeap yeb yws yesz yez sure correct
    affirmative absolutely definitely certainly indeed yessir uhuh aye si oui bat baat bart jas jah cha chas ja done""".split()
)
_NO = _words(*"no nope nop nah na n nay negative not never nono ot ort ote otte nvm".split())
_WEAK_NO = _words("nothing", "nobody", "none", "noone", "neither", "nowhere")
# "ឆែកហើយ", "មើលហើយ", "សាកហើយ": checked, looked, tried already: the check is done.
_KM_YES = (
    "បាទ",
    "ចាស",
    "បាត",
    "មែន",
    "ត្រូវហើយ",
    "ហ្នឹងហើយ",
    "រួចហើយ",
    "បានហើយ",
    "ធ្វើរួចហើយ",
    "ធ្លាប់",
    "អូខេ",
    "ឆែកហើយ",
    "ឆែករួចហើយ",
    "មើលហើយ",
    "មើលរួចហើយ",
    "ពិនិត្យហើយ",
    "ពិនិត្យរួចហើយ",
    "សាកហើយ",
    "សាករួចហើយ",
)
# Short Khmer answers that are also the start of other words: only on their own.
_KM_YES_ALONE = re.compile(r"^(?:ចា|ហើយ|បាន)(?:[\s,.!?]|$)")
_KM_NO = ("អត់", "ទេ", "មិនទាន់", "មិនមែន", "មិនបាន", "គ្មាន", "ទាំងអត់", "នៅទេ")
_BARE = re.compile(r"^[\W_]*$")
_NO_PROBLEM = re.compile(r"no\s+(?:problems?|issues?)\s+(?:with|on|at)\b")

_GENERIC_YES = gated(
    r"\b(?:i|we|i've|we've)(?:\s+have|\s+had)?\s+(?:already\s+|just\s+|also\s+|both\s+)?(?:did|done|tried|checked|confirmed|verified|noted|"
    r"taken|took|made|called|asked|contacted|restarted|rebooted|changed|reset|disconnected|unplugged|looked|compared|saved|written|wrote|"
    r"copied|photographed|have\s+it|got\s+it|did\s+it|do)\b|\balready\b|\btried\s+(?:that|it|this|both|everything|all)\b|\bdone\b|"
    r"\bof\s+course\b|\bi\s+(?:think|believe)\s+so\b|\bsure\s+did\b|\byes\b|\bdid\s+(?:it|that|both)\b|\bhave\s+done\b|"
    r"\bthey\s+are\b|"
    # Romanized Khmer "looked / checked / tried / did it already" (មើលហើយ, ឆែកហើយ, សាកហើយ, ធ្វើហើយ).
    rf"\b(?:merl|mel|mer|meul|check|chek|chhek|sak|tver|twer|restart)\s+(?:\w+\s+)?{ROMANIZED_ALREADY}\b"
)
_GENERIC_NO = gated(
    r"\b(?:haven't|have\s+not|havent|hadn't|didn't|did\s+not|didnt|not\s+yet|never|hasn't|has\s+not|not\s+really|not\s+at\s+all|"
    r"nope|no\s+one|nobody|nothing|none|don't|do\s+not|dont|can't|cannot|couldn't|isn't|aren't|wasn't|no|forgot|forget)\b"
)


def is_fixed(cleaned: str) -> bool:
    """The words say the problem went away ("that fixed it", "works now"), not negated."""
    if _FIXED_ALONE.match(cleaned):
        return True
    for m in _FIXED_BY_CHECK.finditer(cleaned):
        if not negated_before(cleaned, m.start()) and _DONE_TAIL.match(cleaned, m.end()):
            if not re.search(r"\b(?:not|n't|never)\b", m.group()):
                return True
    for m in _FIXED.finditer(cleaned):
        if _STOPPED.search(cleaned, max(0, m.start() - 12), m.start()):
            continue
        if _WANTED.search(cleaned, max(0, m.start() - 10), m.start()):
            continue
        if not negated_before(cleaned, m.start()) and not re.search(
            r"\b(?:not|n't|never|hasn't|didn't)\b", m.group()
        ):
            return True
    return False


def _lead(cleaned: str) -> Literal["yes", "no"] | None:
    """'yes' or 'no' when the reply opens with one ("yess i did", "nah", "បាទ"), else None."""
    for word in _KM_YES:
        if cleaned.startswith(word) and not cleaned.startswith(("មិន", "អត់")):
            return "yes"
    if _KM_YES_ALONE.match(cleaned):
        return "yes"
    for word in _KM_NO:
        if cleaned.startswith(word):
            return "no"
    if _NO_PROBLEM.match(cleaned):
        return None  # "no problem with it": not a no
    words = lead_words(cleaned, 2)
    if not words:
        return None
    first_word = words[0]
    if first_word in _YES:
        return "yes"
    if first_word in _NO:
        return "no"
    if first_word in ("of", "i") and len(words) > 1:
        pair = " ".join(words)
        if pair in ("of course", "i did", "i have", "i do"):
            return "yes"
        if pair in ("i didn't", "i haven't", "i don't", "i havent", "i didnt", "i dont"):
            return "no"
    return None


def _rest_after_lead(shown: str) -> str:
    """The reply without its opening answer word ("yes, we reset..." -> "we reset...")."""
    m = re.match(
        r"^\s*(?:[\u1780-\u17ff]+|[\w']+)(?:\s+(?:please|sir|madam|of\s+course|i\s+did|i\s+have|really|yet|at\s+all))?[\s,.!:;\-–—]*",
        shown,
    )
    rest = shown[m.end() :] if m else shown
    return "" if _BARE.match(rest) else shorten(rest)


def read_step_answer(text: str, step: str) -> StepAnswer:
    """Read a customer's reply at the troubleshooting step whose text is `step`.

    kind: yes / no / not_sure / fixed / how_to_check / none. The note keeps what the reply says beyond
    the bare answer (the error text at the error-message step)."""
    shown_all = tidy(text)
    shown = shown_all[:READ_CHARS]
    cleaned = shown.lower()
    if not cleaned or _BARE.match(cleaned):
        return StepAnswer("none")
    note = shorten(shown_all)

    if is_fixed(cleaned):
        return StepAnswer("fixed", note)

    lead = _lead(cleaned)
    how = _HOW.search(cleaned)
    if how and (how.start() < 40 or len(cleaned) < 160):
        # "not yet, I don't know how to change it": not done is the answer; the agent helps with how.
        if how.start() > 0 and lead == "no":
            return StepAnswer("no", note)
        return StepAnswer("how_to_check", note)
    unsure = _NOT_SURE.search(cleaned)
    if unsure and _DEGREE.fullmatch(unsure.group()) and lead is not None:
        unsure = None
    if unsure and unsure.start() < 12:
        return StepAnswer("not_sure", note)
    if _LATER.search(cleaned):
        return StepAnswer("none", note)

    concept = step_concept(step)
    if lead is not None:
        rest = _rest_after_lead(shown_all)
        if lead == "yes" and concept == "error_message":
            error = first(
                [f for f in find_concept(cleaned, shown, concept, reply=False) if f.kind == "yes" and f.note]
            )
            if error is not None:
                return StepAnswer("yes", error.note)
        return StepAnswer(lead, rest)

    if concept is not None:
        fact = first(find_concept(cleaned, shown, concept, reply=True))
        if fact is not None:
            return StepAnswer(fact.kind, fact.note or note)

    if concept in ("internet", "other_network"):
        # "it's slow but works", "working fine": at these steps a working thing is the yes.
        works = _WORKS.search(cleaned)
        if works and not negated_before(cleaned, works.start()):
            return StepAnswer("yes", note)
    if unsure:
        return StepAnswer("not_sure", note)
    if how:
        return StepAnswer("how_to_check", note)
    words = lead_words(cleaned, 1)
    if words and words[0] in _WEAK_NO:
        return StepAnswer("no", note)
    yes = _GENERIC_YES.search(cleaned)
    no = _GENERIC_NO.search(cleaned)
    if yes and (not no or yes.start() < no.start()) and not negated_before(cleaned, yes.start()):
        return StepAnswer("yes", note)
    if no:
        return StepAnswer("no", note)
    return StepAnswer("none", note)
