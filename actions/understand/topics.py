"""The category a message's own words name, beside the NLU's guess.

Signs of an attack ("47 failed login attempts from another country", "we were hacked", a phishing
link, ransomware) or a lost second factor ("lost my phone with the authenticator") make a report a
security issue whatever else it names (the VPN, the email): the policy handles those as security. When the NLU names no category (a request for a
person), the words of money ("contract", "30 users", "invoice") or of servers still place it.
"""

from __future__ import annotations

from actions.understand.fast import gated
from actions.understand.text import clean, negated_before

__all__ = ["category_in_words", "sounds_like_security"]

_ATTACK = gated(
    r"\b(?:hack(?:ed|er|ers|ing)?|breach(?:ed)?|phish\w*|ransom\w*|malware|spyware|trojan|keylogger|virus(?:es)?|"
    r"brute[- ]?force\w*|data\s+leak\w*|leaked|compromised|unauthori[sz]ed\s+(?:access|login|logins|sign-?ins?|users?|payments?)|"
    r"suspicious\s+(?:login|logins|log-?ins?|sign-?ins?|activity|access)|"
    r"(?:\d+|many|multiple|several|hundreds\s+of|lots\s+of|repeated)\s+(?:failed|unsuccessful|wrong)\s+(?:login|log-?in|sign-?in|password)\s+attempts|"
    r"(?:logins?|log-?ins?|sign-?ins?|attempts?|access(?:ed)?|logged\s+in)\s+from\s+(?:an?\s+)?(?:ip\s+(?:address\s+)?in\s+)?"
    r"(?:another|other|a\s+different|a\s+foreign|foreign|unknown|strange|an\s+unknown)\s+(?:country|countries|location|ip|device)|"
    r"someone\s+(?:got|broke|logged|has\s+been\s+logging|is\s+logging|has\s+logged)\s+in(?:to)?\s+(?:our|my|the)\b|"
    # A second factor lost or stolen: whoever has it may get in, and the owner cannot.
    r"(?:lost|stolen|misplaced|stole)\b[^.!?]{0,60}?\b(?:2fa|mfa|authenticator|otp|two[- ]factor|verification\s+codes?|security\s+key)|"
    r"(?:2fa|mfa|authenticator|otp|two[- ]factor|security\s+key)\b[^.!?]{0,60}?\b(?:lost|stolen|misplaced))"
    r"|លួចចូល|មេរោគ|វីរុស"
)
_MONEY = gated(
    r"\b(?:invoices?|bill|bills|billing|billed|charged?|charges|payments?|refund\w*|subscriptions?|contract|contracts|"
    r"pricing|price|prices|quote|renewal|renew|licen[cs]es?|seats|fee|fees|discount|receipt|vat|(?:\d+|more|fewer|extra)\s+users)\b"
    r"|វិក្កយបត្រ|បង់ប្រាក់|បង់លុយ|កិច្ចសន្យា"
)
_SERVERS = gated(
    r"\b(?:servers?|hosting|domain|dns|backups?|data\s*cent(?:er|re)|maintenance|firewall|network\s+outage)\b|ម៉ាស៊ីនមេ|server"
)


def sounds_like_security(text: str) -> bool:
    """Words of a breach, an attack, malware or a lost second factor, not negated ("no virus found"
    is not one)."""
    return _attack_in(clean(text)[:4000])


def _attack_in(cleaned: str) -> bool:
    return any(not negated_before(cleaned, m.start(), 2) for m in _ATTACK.finditer(cleaned))


def category_in_words(text: str) -> str | None:
    """security, billing or infrastructure when the words name one (in that order), else None."""
    cleaned = clean(text)[:4000]
    if _attack_in(cleaned):
        return "security"
    if _MONEY.search(cleaned):
        return "billing"
    if _SERVERS.search(cleaned):
        return "infrastructure"
    return None
