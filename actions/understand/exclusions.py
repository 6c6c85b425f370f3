"""Which service exclusion (policy section 8) a problem description falls under, if any.

The policy's keywords are matched as the desk matches them (`desk.triage.detect_exclusion`), but a
device named only in passing is not a hardware problem: "I lost my phone and can't get the 2FA
codes" is about an account, "our uptime monitor is alerting" about a server, "the CRM won't load
on my laptop" about the CRM. Such mentions are blanked out before the keywords are matched; "my
printer is broken" and "the screen on my laptop flickers" still match.
"""

from __future__ import annotations

import re

from desk.policy import Policy
from desk.triage import detect_exclusion

__all__ = ["exclusion_in"]

_OWNER = r"(?:my|our|his|her|their|the|a|an|one\s+of\s+(?:our|my|the))"
_DEVICE = (
    r"(?:phone|smartphone|mobile|iphone|android|laptop|notebook|macbook|tablet|ipad|computer|pc|desktop|device|"
    r"keyboard|mouse|headset|webcam|scanner|monitor|printer|hard\s+drive|usb(?:\s+(?:stick|drive))?|token)s?"
)
# A device lost or stolen: what is missing is access (codes, data), not a repair.
_LOST = re.compile(
    rf"\b(?:lost|lose|losing|misplaced|forgot|forgotten|stole|stolen)\s+{_OWNER}\s+(?:\w+\s+){{0,2}}?{_DEVICE}\b|"
    rf"\b{_OWNER}\s+(?:\w+\s+){{0,2}}?{_DEVICE}\s+(?:was|were|got|has\s+been|have\s+been|had\s+been|is|are)\s+"
    rf"(?:\w+\s+)?(?:stolen|lost|taken|missing|nicked|gone)\b|\bstolen\s+{_DEVICE}\b"
)
# A device the customer works on or from: "won't load on my laptop", "from my phone". Printers,
# screens and the like are not the way to reach something: "can't print on the HR printer" stays.
_MEANS = re.compile(
    rf"\b(?:on|from|with|using|via|through|in)\s+{_OWNER}\s+(?:\w+\s+)?"
    r"(?:phone|smartphone|mobile|iphone|android|laptop|notebook|macbook|tablet|ipad|computer|pc|desktop|device)s?\b"
)
# "my phone number", "the phone extension": a number, not a handset.
_NUMBER = re.compile(
    r"\b(?:my|our|the|a)\s+(?:\w+\s+)?phone\s+(?:number|no\b|extension|ext\b|line|call|bill)"
)
# Monitoring software, not a screen: "our uptime monitor", "server monitor alerts", "please monitor".
_SOFTWARE_MONITOR = re.compile(
    r"\b(?:uptime|server|network|status|site|website|web|performance|resource|activity|health|traffic|bandwidth|"
    r"service|ping|log|security|system|cpu|disk|backup|temperature)\s+monitors?\b|"
    r"\bmonitors?\s+(?:alerts?|alerting|alerted|tool|dashboard|app|software|service|agent|reports?)\b|"
    r"\b(?:to|please|can\s+you|could\s+you|we|you)\s+monitor\b"
)
# Words of a fault in the device itself: with them, a device named in passing may be the problem.
_FAULT = re.compile(
    r"\b(?:broken|broke|cracked|crack|smashed|damaged|dead|overheat\w*|hot|noise|noisy|grinding|beep\w*|smok\w*|"
    r"burn\w*|swollen|swell\w*|flicker\w*|dim|pixels?|hinge|spill\w*|dropped|fell|wet|charger|charging|"
    r"power\s+button|fan|jam\w*|won't\s+(?:turn|switch|power|charge|boot)|doesn't\s+(?:turn|charge|boot)|"
    r"not\s+(?:turning|booting)|stuck\s+keys?|keys?\s+(?:stick|stuck|don't|doesn't))\b"
)


def _blank(text: str, pattern: re.Pattern[str]) -> str:
    return pattern.sub(lambda m: " " * len(m.group()), text)


def exclusion_in(text: str, policy: Policy) -> str | None:
    """The first exclusion of the policy whose keywords the description mentions, leaving out
    devices named only in passing (lost or stolen, used to reach something, a phone number) and
    monitoring software."""
    lowered = text.lower()
    masked = _blank(_blank(_blank(lowered, _LOST), _NUMBER), _SOFTWARE_MONITOR)
    if not _FAULT.search(lowered):
        masked = _blank(masked, _MEANS)
    return detect_exclusion(masked, policy)
