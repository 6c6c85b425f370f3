"""mrkdwn for the agents' desk: escaped text, quotes, date tokens, mentions and channel links,
and Slack's markup read back as plain text for customers.

Text that comes from customers or agents is escaped (`&`, `<`, `>`), so nobody can smuggle a
`<!channel>` mention or a disguised link into the agents' channels.
"""

from __future__ import annotations

import re
from datetime import datetime

from desk.policy import Policy


def escape(text: str) -> str:
    """Slack's three control characters, escaped as its docs ask."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quote(text: str, limit: int) -> str:
    """A block quote of escaped text, every line prefixed (mrkdwn quotes one line at a time)."""
    return "\n".join(f"&gt; {line}" for line in cut(escape(text.strip()), limit).splitlines() or [""])


def local_fallback(at: datetime, policy: Policy) -> str:
    local = at.astimezone(policy.tz)
    city = policy.timezone.rsplit("/", 1)[-1].replace("_", " ")
    return f"{local:%a} {local.day} {local:%b %Y}, {local:%H:%M} ({city} time)"


def date_token(at: datetime, policy: Policy) -> str:
    """Slack shows it in each reader's own timezone; the fallback is the policy's local time."""
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{local_fallback(at, policy)}>"


def actor_label(actor: str) -> str:
    """`slack:U123` → a mention; the SLA sweep and customers by role."""
    kind, _, ident = actor.partition(":")
    if kind == "slack" and re.fullmatch(r"[UW][A-Z0-9]+", ident):
        return f"<@{ident}>"
    if kind == "sla":
        return "the SLA clock"
    if kind == "customer":
        return "the customer"
    return escape(actor)


def channel_link(channel: str) -> str:
    """A channel ID as a clickable link; a `#name` as it is."""
    if re.fullmatch(r"[CG][A-Z0-9]+", channel):
        return f"<#{channel}>"
    return escape(channel if channel.startswith("#") else f"#{channel}")


_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")


def plain_text(text: str, names: dict[str, str] | None = None) -> str:
    """Slack mrkdwn as a customer should read it: links spelled out, mentions named, entities undone."""
    names = names or {}

    def one(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith("@"):
            name = label or names.get(target[1:])
            return f"@{name}" if name else "a colleague"
        if target.startswith("#"):
            return f"#{label}" if label else "a channel"
        if target.startswith("!"):
            if target.startswith(("!date", "!subteam")):
                return label or ""
            return ""  # <!here>, <!channel>, <!everyone>
        if target.startswith("mailto:"):
            return label or target.removeprefix("mailto:")
        if label and label != target:
            return f"{label} ({target})"
        return target

    out = _LINK.sub(one, text)
    return out.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()
