"""How a customer feels and what they demand: frustration, urgency, an outage, a person, a refund.

Tuned against false alarms: a calm message with an "I" in capitals, an acronym (VPN, ERP), one "!"
or "tried again" is not anger; one strong marker ("are you kidding", "unacceptable", "third time") or
two weak ones (shouting, "!!!", "again", "still") are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from actions.understand.fast import Gated, gated
from actions.understand.text import negated_before, tidy

__all__ = ["Feelings", "read_feelings"]

Urgency = Literal["critical", "high"]


@dataclass(frozen=True, slots=True)
class Feelings:
    frustrated: bool = False
    urgency: Urgency | None = None
    outage: bool = False
    wants_person: bool = False
    refund: bool = False
    reasons: list[str] = field(default_factory=list)


def _c(pattern: str) -> Gated:
    return gated(pattern)


# Strong frustration: one is enough.
_STRONG = _c(
    r"\b(?:are|r)\s+(?:you|u)\s+(?:kidding|joking|serious)|\bkidding\s+me\b|\bpaying\s+(?:you\s+)?for\s+nothing\b|"
    r"\bunacceptable\b|\bridiculous\b|\buseless\b|\bpathetic\b|\bincompetent\b|\bdisgrace\w*\b|\bterrible\b|\bhorrible\b|"
    r"\bawful\b|\bworst\b|\bfed\s+up\b|\bsick\s+(?:and\s+tired\s+)?of\b|\btired\s+of\b|\bhow\s+many\s+(?:more\s+)?times\b|"
    r"\b(?:second|third|fourth|fifth|\d+(?:st|nd|rd|th))\s+time\b|\bwaste\s+of\s+(?:time|money)\b|\bwasting\s+(?:my|our)\s+time\b|"
    r"\bstop\s+(?:asking|sending|wasting|telling)\b|\bwtf\b|\bffs\b|\bwhat\s+the\s+(?:hell|heck|f\w*)\b|\bdamn\w*\b|\bshit\w*\b|\bfuck\w*|\bfck\w*|\bfuk\w*|\bcrap\b|\bbullshit\b|"
    r"\b(?:angry|furious|pissed|annoyed|disappointed)\b|"
    r"\bfrustrat\w+\b|\bjoke\b|\bagain\s+and\s+again\b|\bover\s+and\s+over\b|\bnobody\s+(?:answers|responds|replied|helps|cares|calls)\b|"
    r"\bno\s*one\s+(?:answers|responds|replied|helps|cares|calls)\b|\b(?:nobody|no\s*one)\s+(?:ever\s+)?(?:answer|respond|reply|help|care|pick)s?\b|"
    r"\b(?:called|emailed|wrote|messaged|asked|tried)\s+(?:you\s+)?(?:\d+|three|four|five|six|several|many|so\s+many)\s+times\b|\bstill\s+(?:no\s+(?:answer|reply|response|one)|waiting|nothing)\b|"
    r"\b(?:cancel|terminate|end)\s+(?:my|our|the)\s+(?:contract|subscription|service)\b|\bswitch(?:ing)?\s+(?:to\s+)?(?:another|a\s+different)\s+(?:provider|company|vendor)\b|"
    r"\bnever\s+(?:works|worked|again)\b|\bdoes\s+(?:anyone|anybody)\s+(?:work|read|care)\b|\bhello\?{2,}|\banyone\s+there\?{2,}|"
    r"ខឹង|ធុញទ្រាន់|អន់ណាស់|មិនអាចទទួលយកបាន|ហួសហេតុ|ម្តងទៀតហើយ|ច្រើនដងហើយ|លេងសើច"
)
# Weak frustration: two are needed.
_WEAK = (
    (
        "'again'",
        _c(
            r"\b(?:down|broken|not\s+working|failing|failed|crashed|crashing|happening|happened|stopped|again\?|yet)\s+again\b|\bonce\s+again\b|\bagain\s*[!?]|\bagain\s+today\b"
        ),
    ),
    ("'still'", _c(r"\bstill\s+(?:not|down|broken|no|can't|cannot|doesn't|isn't|failing|the\s+same)\b")),
    (
        "'seriously'",
        _c(
            r"\bseriously\b|\bcome\s+on\b|\bplease+\s+(?:just\s+)?fix\b|\bjust\s+fix\s+it\b|\bfix\s+it\s+now\b"
        ),
    ),
    (
        "'every day/week'",
        _c(
            r"\bevery\s+(?:single\s+)?(?:day|week|morning|time)\b|\ball\s+the\s+time\b|\bconstantly\b|\bkeeps?\s+happening\b"
        ),
    ),
    (
        "waiting",
        _c(
            r"\b(?:waiting|waited)\s+(?:for\s+)?(?:hours|days|\d+\s+(?:hours|days)|all\s+day|since)\b|\bfor\s+(?:hours|days)\b"
        ),
    ),
    (
        "'why ...??'",
        # An exasperated question: "why does it log us out every 2 minutes??", "WHY is it so slow".
        _c(r"\bwhy\b[^.!?\n]{0,120}?(?:\?\s*){2,}|\bwhy\s+(?:on\s+earth|the\s+hell|again|always)\b"),
    ),
    (
        "losing money",
        _c(r"\blos(?:e|ing|t)\s+(?:money|customers|clients|sales|business)\b|\bcosting\s+(?:us|me)\b"),
    ),
)
_CRITICAL = _c(
    r"\bcritical\b|\bemergency\b|\b(?:whole|entire)\s+(?:company|office|business|system|network|team|branch)\b|"
    r"\b(?:nobody|no\s*one|none\s+of\s+us)\s+(?:(?:in|at)\s+(?:the\s+|our\s+)?\w+\s+)?(?:can|could|is\s+able)\b|\beveryone\s+(?:is\s+)?(?:down|affected|blocked|stuck|offline)\b|"
    r"\ball\s+(?:users|staff|computers|branches|systems|employees)\b[^.!?]{0,30}\b(?:down|can't|cannot|offline|affected|not\s+working)|"
    r"\b(?:production|prod|pos|payroll|payment\s+system)\s+(?:is\s+)?(?:down|offline)\b|\blos(?:e|ing|t)\s+(?:money|customers|sales)\b|"
    r"\b(?:hacked|ransomware|breach|breached|data\s+leak|compromised|virus\s+everywhere)\b|\bcan't\s+work\s+at\s+all\b|"
    r"\b(?:down|offline|not\s+working|broken)\s+for\s+(?:all|everyone|everybody|the\s+whole|every)\b|\bcompletely\s+down\b|\beverything\s+is\s+down\b|\btotal\s+outage\b|ធ្ងន់ធ្ងរបំផុត|អាសន្ន"
)
_HIGH = _c(
    r"\burgent\w*\b|\basap\b|\bas\s+soon\s+as\s+possible\b|\bimmediately\b|\bright\s+away\b|\btoday\b[^.!?]{0,20}\b(?:need|must|deadline)|"
    r"\b(?:need|must|have\s+to|has\s+to)\b[^.!?]{0,25}?\b(?:today|tonight|this\s+(?:morning|afternoon)|by\s+\d|before\s+(?:noon|tomorrow|tonight|\d))\b|\bdeadline\s+(?:is\s+)?(?:today|tonight|tomorrow|this\s+afternoon)\b|\bhurry\b|\b(?:can't|cant|cannot|can\s+not)\s+work\b|\bblock(?:ed|ing)\s+(?:us|me|our|my)\b|"
    r"\bbefore\s+(?:tomorrow|tonight|the\s+meeting|\d)|បន្ទាន់|ប្រញាប់|ជាបន្ទាន់"
)
_NOT_URGENT = _c(
    r"\bnot\s+(?:\w+\s+)?urgent\b|\bno\s+(?:rush|hurry)\b|\bcan\s+wait\b|\bwhenever\b|\bnot\s+a\s+priority\b|\bnot\s+critical\b"
)
_OUTAGE = _c(
    r"\b(?:is|are|was|went|goes|go|been|it's|its|system|server|site|website|service|services|everything|network|internet|app|portal|"
    r"email|vpn|erp|pos|still|completely|totally|all)\s+(?:completely\s+|totally\s+|still\s+|all\s+)?down\b(?!\s*(?:load|payment|the\s+(?:street|road|list|page)|arrow))|"
    r"\bdown\s+(?:again|for\s+(?:hours|days|everyone|all)|since)\b|\bnothing\s+(?:loads|works|opens|is\s+working|responds|is\s+loading)\b|"
    r"\boutage\b|\boffline\b|\bnot\s+responding\b|\bunreachable\b|\b(?:can't|cannot|can\s+not)\s+(?:access|reach|open|load|connect\s+to)\s+"
    r"(?:anything|the\s+(?:system|server|site|website|portal|service))\b|\bno\s+(?:internet|connection|network|access)\b|\b(?:50[0234]|404)\s+(?:error|bad|gateway|service)|"
    r"\bserver\s+error\b|\bnot\s+(?:working|loading)\s+(?:at\s+all|for\s+(?:anyone|everyone|all))\b|"
    r"\beverything\s+(?:is\s+)?(?:broken|dead|frozen)\b|\bservice\s+(?:is\s+|temporarily\s+)?unavailable\b|"
    r"\bbad\s+gateway\b|\bgateway\s+time-?out\b|ដាច់|ដំណើរការមិនបាន|អត់ដំណើរការ"
)
_PERSON = _c(
    r"\b(?:want|need|demand|get|give|speak|talk|connect|put|transfer|let\s+me|call|see|escalate|bring|send)\b[^.!?\n]{0,25}?"
    r"\b(?:a|your|the|real|actual|live|some|any)\s+(?:real\s+|actual\s+|live\s+)?(?:manager|supervisor|boss|human|person|agent|technician|engineer|someone|somebody|people|staff|representative|rep)\b|"
    r"\b(?:speak|talk|chat)\s+(?:to|with)\s+(?:someone|somebody|a\s+human|a\s+person|an?\s+agent|a\s+technician|a\s+manager|your\s+manager|staff|support|a\s+real)|"
    r"\b(?:real|live|actual)\s+(?:person|human|agent|people)\b|\bnot\s+a\s+(?:bot|robot|machine)\b|\bare\s+you\s+a\s+(?:bot|robot|human)\b|"
    r"\b(?:manager|supervisor|human)\s*(?:now|please|asap|!)|\bcall\s+me\b|\bphone\s+me\b|\bring\s+me\b|"
    r"\b(?:whoever|someone|somebody|the\s+person|the\s+one|anyone)\s+(?:who(?:'s|\s+is)\s+|that(?:'s|\s+is)\s+|is\s+)?in\s+charge\b|"
    r"\b(?:whoever|someone|somebody)\s+(?:who(?:'s|\s+is)\s+)?(?:responsible|senior|higher\s+up)\b|"
    r"អ្នកគ្រប់គ្រង|មនុស្សពិត|និយាយជាមួយបុគ្គលិក|និយាយជាមួយមនុស្ស|ប្រធាន|តេមកខ្ញុំ|ខលមក"
)
_REFUND = _c(
    r"\brefund\w*\b|\bmoney\s+back\b|\breimburse\w*\b|\bcharge\s*back\b|\bcompensat\w+\b|\bcredit\s+(?:note|back|us|me)\b|"
    r"\bpay\s+(?:me|us)\s+back\b|\bget\s+(?:my|our)\s+money\b|\breturn\s+(?:my|our|the)\s+(?:money|payment)\b|"
    r"សងប្រាក់|សងលុយ|ប្រាក់វិញ|លុយវិញ"
)
_NO_REFUND = _c(
    r"\b(?:don't|do\s+not|not|no)\s+(?:\w+\s+){0,2}(?:a\s+)?refund|\bno\s+need\s+(?:for\s+)?(?:a\s+)?refund"
)
# Capitals that are not shouting: acronyms and product names customers type in capitals.
_ACRONYMS = frozenset(
    "I VPN ERP CRM POS PC PCS IT USB HTTP HTTPS DNS SSL TLS API SQL PDF WIFI LAN WAN ID OK INV USD KHR ABA ACLEDA "
    "RDP SMTP IMAP POP VM AWS CPU RAM SSD HDD OS MS MFA 2FA OTP QR CEO CFO HR AM PM IP URL FTP NAS UPS TV SMS "
    "GMAIL AD NTP DHCP SAP CSV XLS PDF MAC IOS ISP MB GB TB KB SIM LED UI UX ASAP NOW".split()
)
# No leading \b: a pattern that starts with a class is scanned fast by `re`; the word start is
# checked on the match.
_CAPS_WORD = re.compile(r"[A-Z][A-Z']{2,}\b")
_NOT_LETTERS = bytes(c for c in range(256) if not chr(c).isascii() or not chr(c).isalpha())
_NOT_UPPER = bytes(c for c in range(256) if not chr(c).isascii() or not chr(c).isupper())
# Runs of "!" and "?": the ones with two "!" or three "?" count ("!!", "?!!", "???").
_MARK_RUNS = re.compile(r"[!?]{2,}")
_NOW_CAPS = re.compile(r"(?:NOW|ASAP|IMMEDIATELY|URGENT)\b")


def _word_starts(shown: str, pattern: re.Pattern[str]) -> list[re.Match[str]]:
    """The matches of `pattern` that start a word."""
    return [m for m in pattern.finditer(shown) if m.start() == 0 or not shown[m.start() - 1].isalnum()]


def _shouting(shown: str) -> bool:
    """Several words in capitals that are not acronyms, or a message mostly in capitals."""
    words = 0
    for m in _CAPS_WORD.finditer(shown):
        if (m.start() == 0 or not shown[m.start() - 1].isalnum()) and m.group().strip("'") not in _ACRONYMS:
            words += 1
            if words == 3:
                return True
    if words < 2:
        return False
    raw = shown.encode("ascii", "ignore")
    letters = len(raw.translate(None, _NOT_LETTERS))
    return letters >= 12 and len(raw.translate(None, _NOT_UPPER)) / letters > 0.6


def read_feelings(text: str) -> Feelings:
    """Frustration, urgency, outage, a person asked for, a refund asked for; `reasons` names what was
    seen (for the agents' note and for tuning)."""
    shown = tidy(text)[:4000]
    cleaned = shown.lower()
    reasons: list[str] = []
    score = 0
    strong = [m for m in _STRONG.finditer(cleaned) if not negated_before(cleaned, m.start(), 2)]
    if strong:
        score += 2
        reasons.extend(f"'{m.group()}'" for m in strong[:3])
    if _shouting(shown):
        score += 1
        reasons.append("capitals")
    marks = [r for r in _MARK_RUNS.findall(shown) if r.count("!") >= 2 or "???" in r]
    if any(len(m) >= 3 for m in marks) or len(marks) >= 3:
        score += 1
        reasons.append("'!!!'")
    for name, pattern in _WEAK:
        m = pattern.search(cleaned)
        if m and not negated_before(cleaned, m.start(), 2):
            score += 1
            reasons.append(name)
    now_caps = next(iter(_word_starts(shown, _NOW_CAPS)), None)
    if now_caps:
        score += 1
        reasons.append(f"'{now_caps.group()}'")

    outage = False
    for m in _OUTAGE.finditer(cleaned):
        if not negated_before(cleaned, m.start(), 2) and not re.search(
            r"\b(?:if|when|whether|in\s+case)\b", cleaned[max(0, m.start() - 25) : m.start()]
        ):
            outage = True
            reasons.append("outage")
            break

    urgency: Urgency | None = None
    calm = _NOT_URGENT.search(cleaned)
    critical = _CRITICAL.search(cleaned)
    if critical and not negated_before(cleaned, critical.start(), 2):
        urgency = "critical"
        reasons.append(f"critical: '{critical.group()}'")
    elif not calm:
        high = _HIGH.search(cleaned)
        if high or now_caps:
            urgency = "high"
            reasons.append(f"urgent: '{high.group()}'" if high else "urgent")
    if (
        outage
        and urgency is None
        and not calm
        and re.search(r"\b(?:everyone|everybody|all\s+(?:of\s+us|users|staff)|whole|entire)\b", cleaned)
    ):
        urgency = "critical"
        reasons.append("outage for many")

    wants_person = False
    person = _PERSON.search(cleaned)
    if (
        person
        and not negated_before(cleaned, person.start(), 2)
        and not re.search(
            r"\b(?:don't|do\s+not|no\s+need\s+to)\b", cleaned[max(0, person.start() - 20) : person.start()]
        )
    ):
        wants_person = True
        reasons.append("asks for a person")

    refund = bool(_REFUND.search(cleaned)) and not _NO_REFUND.search(cleaned)
    if refund:
        reasons.append("asks for a refund")
    if (wants_person or refund) and score >= 1:
        score += 1
    return Feelings(
        frustrated=score >= 2,
        urgency=urgency,
        outage=outage,
        wants_person=wants_person,
        refund=refund,
        reasons=reasons,
    )
