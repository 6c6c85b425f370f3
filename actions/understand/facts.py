"""What a text says about one troubleshooting concept, in a reply at that step or anywhere in a
problem description ("only me", "every computer in the finance department", "reinstalled it twice",
"it says 'Microsoft Outlook has stopped working'")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from actions.understand.concepts import Concept
from actions.understand.fast import Gated, gated
from actions.understand.text import ROMANIZED_ALREADY, has_negator, negated_before, shorten

# Device and network words used by several concepts.
_OTHER_PLACE = (
    r"(?:(?:my\s+|the\s+|a\s+|another\s+|other\s+|different\s+|second\s+)?(?:phone|mobile(?:\s+data)?|[345]g|hotspot|home|"
    r"(?:another|other|different|second)\s+(?:network|wi-?fi|connection|computer|pc|laptop|device|internet)|"
    r"laptop|tablet|ipad|cellular|data|office\s+wi-?fi|guest\s+wi-?fi|home\s+wi-?fi|house))"
)

_ERRORISH = re.compile(
    r"error|fail|denied|cannot|can't|unable|invalid|not\s+respond|stopped|exception|time(?:d)?\s*out|"
    r"not\s+found|refused|expired|incorrect|wrong|crash|unavailable|forbidden|unauthori[sz]ed|"
    r"0x[0-9a-f]{4,}|\b[45]\d\d\b|not\s+(?:available|allowed|supported|connect)|could\s+not|couldn't|"
    r"warning|blocked|locked|corrupt|missing|problem|កំហុស|មិនអាច"
)
_QUOTED = re.compile(r'"([^"\n]{3,300})"|(?:^|(?<=[\s:(\[]))\'([^\'\n]{3,300})\'(?=$|[\s.,;:!?)\]])')
_ERROR_CUE = gated(
    r"\b(?:error(?:\s+message)?(?:\s+(?:is|was|says|said|reads|saying))?\s*:|"
    r"error(?:\s+message)?\s+(?:is|was|says|said|reads|saying)|"
    r"(?:it|that|screen|window|box|pop-?up|dialog|message|error|app|program|application|outlook|excel|word|"
    r"system|browser|page|site|website|quickbooks|vpn|teams|windows|computer|pc|server|login)\s+"
    r"(?:says|said|reads|displays|displayed|shows|showed|keeps\s+saying|is\s+saying|just\s+says)|"
    r"message\s+(?:saying|that\s+says|which\s+says)|(?:with|get|got|getting|see|seeing)\s+(?:the\s+|an\s+|a\s+|this\s+)?"
    r"(?:error|message|warning)(?:\s+message)?\s*(?:saying|that\s+says|:)|pops?\s+up\s+(?:with|saying)|"
    r"popped\s+up\s+(?:with|saying))\s*:?\s*(?P<err>[^.!?\n]{3,200})"
)
_ERROR_CODE = re.compile(
    r"\b(?:error|code|err)\s*(?:code\s*)?#?:?\s*(0x[0-9a-f]{4,8}|[a-z]{0,4}-?\d{3,6})\b|\b(0x[0-9a-f]{8})\b"
)
_NO_ERROR = gated(
    r"\bno\s+(?:error|message|warning|pop-?up|code)s?\b|\b(?:doesn't|does\s+not|didn't|did\s+not|don't|won't)\s+"
    r"(?:show|give|display|say)\s+(?:me\s+)?(?:any|an|a|the)?\s*(?:error|message|thing|anything)|\bjust\s+"
    r"(?:closes|crashes|freezes|disappears|hangs|quits|shuts|goes\s+(?:white|black|blank)|spins|loads\s+forever)|"
    r"\bnothing\s+(?:shows|appears|pops|comes\s+up|happens)|\bwithout\s+(?:any\s+|an\s+)?(?:error|message|warning)|"
    r"\bblank\s+(?:screen|page)|\bគ្មានសារ"
)
_REPORTED = re.compile(r"\b(?:saying|says|said|alert|notification|warning|told\s+me|message)\b")
_QUOTE_CUE = re.compile(r"error|say|said|message|show|pop|display|warning|read|get|got|appear")
_WRONG_DATA = re.compile(r"(?:the\s+|a\s+)?(?:wrong|incorrect)\s+(?!password|credentials|username|pin\b)")
_NOTHING = re.compile(r"(?:nothing|no\s+error|no\s+message|none|anything)\b")
_STRONG_CUE = re.compile(r"error|says|said|reads")
_SCREENSHOT = gated(r"\b(?:screen\s*shot|screen\s*cap|snip|photo|picture|pic|print\s*screen)s?\b|រូបថត")


# Groups of people and machines a customer counts ("all three tills", "both front desk computers").
_GROUP = (
    r"(?:users|staff|computers|pcs|machines|devices|employees|colleagues|co-?workers|people|laptops|branches|"
    r"offices|accounts|team|shops|stores|locations|sites|outlets|terminals|tablets|tills|registers|printers|"
    r"phones|screens|cashiers|counters)"
)

# "didn't record anyone's check-in", "doesn't work for anybody": under a negation "anyone" is
# everyone. Not after asking or telling ("haven't asked anyone"), which says nothing about them.
_ANYONE = gated(r"\b(?:anyone|anybody|any\s+of\s+(?:us|them|our\s+\w+|the\s+\w+))(?:'s)?\b")
_TOLD = re.compile(
    r"\b(?:ask|asked|tell|told|call|called|contact|contacted|check|checked|notify|notified|inform|informed|"
    r"talk|talked|spoke|speak|see|seen|saw|know|knew|bother|bothered|email|emailed|message|messaged)\b"
)


@dataclass(frozen=True, slots=True)
class Found:
    """One answer found for a concept: its kind, where it is, and the note it carries."""

    kind: Literal["yes", "no"]
    start: int
    end: int
    note: str = ""


Rule = tuple[Literal["yes", "no"], Gated, bool]


def _c(pattern: str) -> Gated:
    return gated(pattern)


# Per concept: (kind, pattern, negation inside counts). A "yes" match turns into "no" when the words
# before it negate it ("haven't restarted") or, for the rules marked True, a word inside it does
# ("internet is not working"); "no" rules are negative already.
_RULES: dict[Concept, tuple[Rule, ...]] = {
    "restart": (
        (
            "yes",
            _c(
                r"\b(?:re-?start(?:ed|ing)|re-?boot(?:ed|ing)|reinstall(?:ed|ing)|re-installed|"
                r"(?:turned|switched|shut|powered)\s+(?:it\s+|them\s+|everything\s+|the\s+\w+\s+)?(?:off\s+and\s+(?:back\s+)?on|off\s+and\s+on\s+again|down\s+and\s+(?:back\s+)?(?:on|up))|"
                r"(?:shut|switched|turned|powered)\s+(?:it\s+|them\s+|the\s+\w+\s+)?(?:down|off)\b[^.!?]{0,50}?\b(?:turned|switched|powered|started|booted)\s+(?:it\s+|them\s+)?(?:back\s+)?on|"
                r"power[- ]?cycled|tried\s+(?:to\s+)?(?:restart|reboot|reinstall)\w*|did\s+a\s+(?:restart|reboot)|"
                r"(?:a|the)\s+(?:restart|reboot)\s+(?:didn't|did\s+not|doesn't|does\s+not)\s+help)\b"
                r"|បិទបើក|ចាប់ផ្តើមឡើងវិញ|restart\s*ហើយ|(?:បាន|ធ្លាប់)\s*restart|"
                # "restart រាប់មិនអស់ហើយ" (more times than I can count), "restart ៣ដងហើយ", and
                # Romanized "restart 2 dong hz" (twice already).
                r"(?:restart|reboot)\w*\s*(?:ច្រើនដង|រាប់មិនអស់|ច្រើនលើក|[0-9០-៩]+\s*(?:ដង|លើក))|"
                r"\b(?:restart|reboot|bit\s+bek|bet\s+bek)\w*\s+(?:\w+\s+){0,3}?" + ROMANIZED_ALREADY + r"\b"
            ),
            False,
        ),
    ),
    "others_affected": (
        (
            "no",
            _c(
                r"\b(?:only|just)\s+(?:me|mine|myself|my|on\s+my|for\s+me|(?:this|one|1)\s+(?:computer|pc|laptop|one|machine|device|account|user|person)|i|affects\s+me|happening\s+to\s+me)\b|\bme\s+only\b|"
                r"\b(?:nobody|no\s*one|no-one|none\s+of\s+the\s+others)\s+else\b|"
                r"\b(?:everyone|everybody|others?|colleagues?|co-?workers|the\s+rest|other\s+(?:people|users|computers|pcs|devices|laptops|machines|staff))"
                r"(?:\s+else)?(?:\s+(?:in|at|on)\s+(?:the\s+|my\s+|our\s+)?\w+)?\s+(?:is|are|seems?|works?|working|have\s+no|has\s+no|can\s+\w+|could\s+\w+)?\s*"
                r"(?:fine|ok|okay|working|good|normal|normally|without\s+(?:any\s+)?(?:problems?|issues?)|not\s+affected|unaffected|no\s+problem|no\s+issue)|"
                r"\b(?:i'm|i\s+am)\s+the\s+only\s+one\b|\bonly\s+(?:one|1)\s+(?:computer|pc|user|person|laptop|device|machine)\b|"
                r"\b(?:only|just)\s+(?:her|his|their|the\s+one|one|1)\s+(?:\w+\s+)?(?:computer|pc|laptop|machine|device|account|phone|tablet|till|screen)\b|"
                r"\btae\s+(?:knhom|khnhom|knom|kh?nhom)\b|"
                r"តែខ្ញុំ|ខ្ញុំម្នាក់|តែម្នាក់"
            ),
            False,
        ),
        (
            "yes",
            _c(
                # "evry one", "everone": the quantifiers as they are often typed.
                r"\b(?:ev[ea]?r?y?\s?(?:one|body)|all\s+(?:of\s+(?:us|them|our)|(?:the\s+|our\s+|my\s+)?(?:\w+\s+)?"
                + _GROUP
                + r")|"
                r"(?:the\s+)?whole\s+(?:\w+\s+)?(?:office|team|company|department|floor|branch|building|staff)|"
                r"(?:the\s+)?entire\s+(?:\w+\s+)?(?:office|team|company|department|floor|branch|building|staff)|"
                r"ev[ea]?ry\s+(?:\w+\s+)?(?:computer|pc|user|one|machine|laptop|device|staff|employee|body|single)|"
                r"both\s+(?:of\s+)?(?:the\s+|our\s+|my\s+)?(?:\w+\s+){0,2}"
                + _GROUP
                + r"|both\s+of\s+(?:us|them)|"
                r"(?:several|many|multiple|some|two|three|four|five|\d+|a\s+few|few)\s+(?:other\s+)?(?:people|users|colleagues|computers|pcs|machines|devices|staff|co-?workers|employees|laptops|shops|stores|branches|of\s+us)|"
                r"(?:my\s+|our\s+)?(?:colleagues?|co-?workers?|boss|team|others|other\s+people|other\s+users|friends?|staff|manager|accountant|everyone\s+else)(?:'s)?\s+(?:\w+\s+){0,4}(?:too|also|as\s+well|same)|"
                r"(?:same|also)\s+(?:for|on|with)\s+(?:my\s+|our\s+)?(?:colleagues?|co-?workers?|others|everyone|other|all)|"
                r"(?:nobody|no\s*one)\s+(?:in|at|on|here|can|could|is\s+able)|"
                r"not\s+just\s+me|not\s+only\s+me)"
                # Khmer and Romanized "all ... the same" ("ទាំង៣នាក់ជួបដូចគ្នា", "teang ofis jub doch knea").
                r"|គ្រប់គ្នា|ទាំងអស់គ្នា|អ្នកផ្សេងក៏|គ្រប់កុំព្យូទ័រ|ជួបដូចគ្នា|ក៏ជួបដែរ|ទាំង\S{0,20}?ដូចគ្នា|"
                r"\b(?:teang|tang)\s+(?:\w+\s+){0,3}?(?:doch\s+(?:knea|kna)|jub|juob|jorb)\b|\bknea\s+(?:teang|tang)\s+(?:os|ors|oss)\b"
            ),
            False,
        ),
    ),
    "internet": (
        (
            "no",
            _c(
                r"\bno\s+(?:internet|wi-?fi|connection|network)\b|\b(?:internet|wi-?fi|wifi\s+connection|connection|network)\s+(?:is\s+|was\s+|keeps\s+|has\s+been\s+|seems\s+)?"
                r"(?:down|out|off|dead|slow|unstable|cut|cutting\s+out|dropping|disconnecting|disconnected|intermittent|going\s+(?:down|off))\b|\b(?:can't|cannot|can\s+not)\s+(?:open|load|reach|access|browse)\s+(?:any|other)\b"
                r"|អ៊ីនធឺណិតដាច់|ដាច់អ៊ីនធឺណិត|អត់អ៊ីនធឺណិត|គ្មានអ៊ីនធឺណិត|"
                r"\b(?:internet|net|wi-?fi)\s+(?:ot|min|mun)\s+(?:\w+\s+)?(?:brae|brer|bre|chol|dae|der|ban|mean)\b|\b(?:internet|net|wi-?fi)\s+dach\b"
            ),
            False,
        ),
        (
            "yes",
            # "internet has no problem": a negation that says it works.
            _c(
                r"\b(?:internet|wi-?fi|network|connection|net)\s+(?:is\s+|has\s+|got\s+)?(?:no\s+problems?|not\s+the\s+problem|no\s+issues?)\b|"
                r"\bno\s+(?:problems?|issues?)\s+with\s+(?:the\s+|our\s+|my\s+)?(?:internet|wi-?fi|network|connection)\b|"
                r"អ៊ីនធឺណិត\S{0,4}?(?:គ្មានបញ្ហា|អត់មានបញ្ហា|មិនមានបញ្ហា|អត់អីទេ|អត់មានអីទេ)"
            ),
            False,
        ),
        (
            "yes",
            _c(
                r"\b(?:internet|wi-?fi|connection|network|other\s+(?:web)?sites|websites|google|youtube|facebook|gmail|"
                r"browsing|other\s+(?:services|apps|pages)|everything\s+else|the\s+rest|telegram)\b[^.!?]{0,25}?\b"
                r"(?:works?|working|fine|ok|okay|good|normal|loads?|loading|opens?|is\s+up|no\s+problem)\b|"
                r"\bi\s+can\s+(?:browse|open|use|access|load)\s+(?:other|google|youtube|facebook|websites|the\s+internet)"
                r"|អ៊ីនធឺណិតដំណើរការ|អ៊ីនធឺណិតល្អ|អ៊ីនធឺណិតប្រើបាន|អ៊ីនធឺណិតធម្មតា|"
                r"\b(?:internet|net|wi-?fi|facebook|google|youtube|telegram)\s+(?:\w+\s+)?(?<!\bot\s)(?<!\bmin\s)(?:brae|brer|bre|chol|dae|der)\s+ban\b"
            ),
            True,
        ),
    ),
    "error_message": (),  # read by _error_message below
    "invoice_checked": (
        (
            "no",
            _c(
                r"\b(?:don't|do\s+not|didn't|did\s+not|never|haven't|have\s+not|hasn't|not\s+yet|still\s+haven't)\s+(?:have|get|got|receive|received|see|seen|find|found)\s+(?:the\s+|an\s+|any\s+|our\s+|my\s+)?(?:invoice|bill|contract)|"
                r"\b(?:can't|cannot|couldn't)\s+find\s+(?:the\s+|my\s+|our\s+)?(?:invoice|bill|contract)"
            ),
            False,
        ),
        (
            "yes",
            _c(
                r"\b(?:checked|compared|looked\s+at|verified|reviewed|went\s+through|matched|checking|double[- ]checked)\b[^.!?]{0,30}?\b(?:invoice|bill|amount|contract|order|number|quote)|"
                r"\b(?:invoice|amount|bill|total|price|charge)s?\b[^.!?]{0,30}?\b(?:matches|match|correct|wrong|different|higher|lower|double|twice|more\s+than|less\s+than|should\s+be|instead\s+of|but\s+(?:the\s+|our\s+)?(?:contract|order|quote|agreement))\b|"
                r"\binv[-#\s]?\d{3,}|\binvoice\s+(?:no\.?|number|#)\s*:?\s*\w*\d|\$\s?\d+|\b\d+(?:\.\d+)?\s?(?:usd|dollars|riel|khr)\b|"
                r"\b(?:found|pulled\s+out|dug\s+out|got\s+out|have\s+(?:got\s+)?)\s+(?:our|the|my)\s+(?:order(?:\s+form)?|contract|agreement|quote|quotation|purchase\s+order)\b"
            ),
            False,
        ),
    ),
    "bank_confirmed": (
        (
            "no",
            _c(
                r"\bbank\s+(?:is\s+|was\s+)?(?:closed|not\s+open)|\b(?:can't|cannot|couldn't)\s+(?:reach|call|contact)\s+(?:the\s+|my\s+|our\s+)?bank"
            ),
            False,
        ),
        (
            "yes",
            _c(
                r"\b(?:bank|aba|acleda|wing|canadia|ppcbank|ftb|sathapana|bank\s+app|statement)\b[^.!?]{0,40}?\b(?:shows?|showing|showed|says|said|confirm(?:s|ed)?|deducted|debited|charged|took|taken|left|lists?|paid|went\s+through)\b|"
                r"\b(?:money|payment|amount|funds|\$\s?\d+|it)\b[^.!?]{0,30}?\b(?:left|deducted|debited|taken|gone|went\s+out|came\s+out|charged|went\s+through)\b|"
                r"\b(?:charged|debited|deducted|paid|billed|taken)\s+(?:me\s+|us\s+)?(?:twice|two\s+times|double|2\s+times)\b|"
                r"\b(?:two|2|double|duplicate)\s+(?:payments|charges|transactions|deductions)\b|"
                r"\b(?:called|contacted|asked|checked\s+with|spoke\s+(?:to|with))\s+(?:the\s+|my\s+|our\s+)?bank\b"
                r"|ធនាគារ\S*(?:បញ្ជាក់|បង្ហាញ)|កាត់លុយ|លុយបានកាត់"
            ),
            True,
        ),
    ),
    "maintenance_window": (
        (
            "yes",
            _c(
                r"\b(?:checked|looked|saw|seen|read|visited|see|check)\b[^.!?]{0,30}?\b(?:maintenance|status\s+page|status|announcement|announcements|notice|notices|website|email|emails|telegram\s+channel|channel)\b|"
                r"\bno\s+(?:maintenance|announcement|notice|planned\s+work|scheduled\s+work)\b|"
                r"\b(?:didn't|did\s+not|don't|haven't|couldn't)\s+(?:see|saw|find|notice|get|receive|spot)\s+(?:any|an|a)\s+(?:\w+\s+)?(?:announcement|maintenance|notice|email|message|window)|"
                r"\b(?:received|got|saw|seen|read)\s+(?:your\s+|the\s+|an?\s+|our\s+)?(?:\w+\s+)?(?:maintenance|announcement|notice)\b|"
                r"\b(?:nothing|no\s+maintenance)\s+(?:is\s+|was\s+|has\s+been\s+)?(?:announced|scheduled|posted|listed|planned)\b|"
                r"\bthere\s+(?:is|was|isn't|wasn't)\s+(?:no\s+|any\s+|a\s+)?(?:maintenance|announcement)\b|"
                r"\b(?:maintenance|announcement)\s+(?:is\s+|was\s+)?(?:tonight|today|now|scheduled|announced|at\s+\d)"
            ),
            False,
        ),
    ),
    "other_network": (
        (
            "no",
            _c(
                r"\b(?:same|also\s+(?:down|not|fails|broken)|either|neither|too)\b[^.!?]{0,40}?"
                + _OTHER_PLACE
                + r"|"
                + _OTHER_PLACE
                + r"[^.!?]{0,30}?\b(?:either|too|as\s+well|same|also)\b|\b(?:only|just)\s+(?:have\s+)?(?:one|this)\s+(?:network|connection|device|computer)\b|"
                r"\b(?:not|nowhere|doesn't\s+work|can't\s+reach\s+it)\s+(?:from\s+)?anywhere\b|"
                r"\b(?:only|just)\s+have\s+(?:the\s+|one\s+|this\s+|our\s+|my\s+)?(?:\w+\s+)?(?:network|wi-?fi|connection|device|computer|internet)\b|"
                r"\bno\s+other\s+(?:network|wi-?fi|connection|device|computer)\b|"
                r"\b(?:unreachable|not\s+reachable|down|fails?|failing|doesn't\s+work|does\s+not\s+work|not\s+working|can't\s+(?:reach|access|connect|open)|cannot\s+(?:reach|access|connect|open))"
                r"[^.!?]{0,30}?(?:also|even|too|either)?\s*(?:from|on|at|with|using|via)\s+" + _OTHER_PLACE
            ),
            False,
        ),
        (
            "yes",
            _c(
                r"\b(?:works?|working|loads?|opens?|fine|ok|okay|reachable|accessible|connects?|reach\s+it|access\s+it|open\s+it|can\s+(?:access|reach|open|connect|log\s*in|use))\b[^.!?]{0,40}?\b(?:on|from|with|using|at|via|over)\s+"
                + _OTHER_PLACE
                + r"|\b(?:on|from|with|using|at|via|over)\s+"
                + _OTHER_PLACE
                + r"\b[^.!?]{0,30}?\b(?:works?|working|loads?|opens?|is\s+fine|it's\s+fine|fine|ok|okay|reachable|accessible|connects?|i\s+can)\b"
            ),
            True,
        ),
    ),
    "password_changed": (
        (
            "yes",
            _c(
                r"\b(?:changed|change|reset|resetted|rotated|updated|new|set\s+a\s+new)\b[^.!?]{0,30}?\bpass(?:word|words|wd|code|codes)?\b|"
                r"\bpass(?:word|words)\s+(?:was\s+|were\s+|has\s+been\s+|have\s+been\s+|is\s+)?(?:changed|reset|rotated|updated)\b|"
                r"\b(?:signed|logged|kicked|forced)\s+(?:\w+\s+){0,3}(?:out|off)\b|\b(?:enabled|turned\s+on|set\s+up)\s+(?:2fa|mfa|two[- ]factor)"
                r"|ប្តូរពាក្យសម្ងាត់|ដូរពាក្យសម្ងាត់|ដូរ\s*password|ប្តូរ\s*password"
            ),
            False,
        ),
    ),
    "disconnected": (
        (
            "no",
            _c(r"\bstill\s+(?:connected|online|on\s+the\s+network|plugged\s+in|running)\b"),
            False,
        ),
        (
            "yes",
            _c(
                r"\b(?:disconnected|unplugged|isolated|quarantined|pulled\s+(?:out\s+)?(?:the\s+)?(?:network\s+|ethernet\s+|lan\s+|internet\s+)?(?:cable|plug)|"
                r"turned\s+off\s+(?:the\s+|its\s+|their\s+)?(?:wi-?fi|network|internet)|took\s+(?:it|them|the\s+\w+)\s+off(?:line|\s+the\s+network)|"
                r"(?:shut|powered|switched|turned)\s+(?:it|them|the\s+\w+|all)\s+(?:off|down)|offline\s+now|is\s+offline|are\s+offline)\b"
                r"|ផ្តាច់"
            ),
            False,
        ),
    ),
}


def _error_message(cleaned: str, shown: str, reply: bool) -> list[Found]:
    """The first of each kind of error evidence: a quoted text, an "it says ...", an error code, a
    "no error", a screenshot (replies only)."""
    found: list[Found] = []
    source = shown if len(shown) == len(cleaned) else cleaned
    for m in _QUOTED.finditer(cleaned):
        i = 1 if m.group(1) is not None else 2
        before = cleaned[max(0, m.start() - 60) : m.start()]
        if reply or _ERRORISH.search(m.group(i)) or _QUOTE_CUE.search(before):
            found.append(Found("yes", m.start(), m.end(), shorten(source[m.start(i) : m.end(i)], 200)))
            break
    for m in _ERROR_CUE.finditer(cleaned):
        err = m.group("err").strip(" :\"'")
        if _NOTHING.match(err):
            found.append(Found("no", m.start(), m.end()))
            break
        if not reply and _WRONG_DATA.match(err):
            continue  # "the app shows wrong hours": wrong data on the screen, not an error message
        if reply or _ERRORISH.search(err) or _STRONG_CUE.search(m.group()):
            text = source[m.start("err") : m.end("err")].strip(" :\"'")
            found.append(Found("yes", m.start(), m.end(), shorten(text, 200)))
            break
    code = _ERROR_CODE.search(cleaned)
    if code is not None:
        found.append(Found("yes", code.start(), code.end(), shorten(source[code.start() : code.end()], 200)))
    none = _NO_ERROR.search(cleaned)
    if none is not None:
        found.append(Found("no", none.start(), none.end()))
    if reply:
        shot = _SCREENSHOT.search(cleaned)
        if shot is not None:
            neg = negated_before(cleaned, shot.start(), 4)
            found.append(Found("no" if neg else "yes", shot.start(), shot.end(), "" if neg else "screenshot"))
    return found


def find_concept(cleaned: str, shown: str, concept: Concept, *, reply: bool) -> list[Found]:
    """Every answer to `concept` in a text: `cleaned` is `text.clean`, `shown` is `text.tidy` (for
    notes). `reply`: the text answers this step (a bare error text counts as the error message)."""
    if concept == "error_message":
        found = _error_message(cleaned, shown, reply)
        if reply and not found and len(cleaned) <= 300 and _ERRORISH.search(cleaned):
            found.append(Found("yes", 0, len(cleaned), shorten(shown, 200)))
        return found
    found = []
    if concept == "others_affected":
        for anyone in _ANYONE.finditer(cleaned):
            before = cleaned[max(0, anyone.start() - 30) : anyone.start()]
            if negated_before(cleaned, anyone.start(), 4) and not _TOLD.search(before.split(",")[-1]):
                found.append(Found("yes", anyone.start(), anyone.end()))
                break
    # Only the earliest answer counts (`first`), so each rule's first match is enough.
    for kind, pattern, inside in _RULES[concept]:
        m = pattern.search(cleaned)
        if m is not None:
            if (
                concept == "password_changed"
                and kind == "yes"
                and _REPORTED.search(cleaned, max(0, m.start() - 30), m.start())
            ):
                continue  # "an email saying my password was changed": what happened, not what they did
            if kind == "yes" and (negated_before(cleaned, m.start()) or (inside and has_negator(m.group()))):
                found.append(Found("no", m.start(), m.end()))
            else:
                found.append(Found(kind, m.start(), m.end()))
    return found


def first(found: list[Found]) -> Found | None:
    """The earliest answer found (ties: "no" rules come first in each list, so an explicit "only me"
    wins over the "me" it contains)."""
    return min(found, key=lambda f: f.start) if found else None
