"""Saved replies: named answers agents send often, with the ticket's facts filled in.

They live in `replies/<language>/<name>.md` (English `en` and Khmer `km`, every name in both): a
YAML front matter with the `title` agents pick it by, then the text. A folder of Markdown rather
than keys in policy.yml: replies are long, multi-line prose written by the support team and
translated one file at a time, like the knowledge articles; the policy stays the rules.

Placeholders: `{customer_name}`, `{ticket_id}`, `{deadline}` (the ticket's response deadline in
the policy's timezone). Any other `{...}` fails at load, naming the file.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from desk.policy import Policy
from desk.ticket_transitions import TicketError
from desk.tickets import TicketService
from storage.models import Ticket

LANGUAGES = ("en", "km")
PLACEHOLDERS = ("customer_name", "ticket_id", "deadline")
# In a checkout the replies sit at the repository root; a wheel carries them in the package.
_HERE = Path(__file__).resolve().parent
DEFAULT_ROOT = next(
    (p for p in (_HERE.parent / "replies", _HERE / "replies") if p.is_dir()), _HERE.parent / "replies"
)
# What `{customer_name}` says when the customer gave no name.
NO_NAME = {"en": "there", "km": "លោកអ្នក"}
MAX_TEXT = 3000  # a Slack modal's text input holds 3,000 characters

_FRONT_MATTER = re.compile(r"\A---\r?\n(.*?)\r?\n---\r?\n(.*)\Z", re.DOTALL)
_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class SavedReplyError(ValueError):
    """A reply file that cannot be used, or a name that does not exist."""


@dataclass(frozen=True)
class SavedReply:
    name: str
    language: str
    title: str
    text: str
    path: Path


def parse_reply(path: Path) -> SavedReply:
    def bad(reason: str) -> SavedReplyError:
        return SavedReplyError(f"{path}: {reason}")

    try:
        raw = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise bad(f"cannot read: {exc}") from None
    found = _FRONT_MATTER.match(raw)
    if not found:
        raise bad("no front matter: the file must start with a line '---', the YAML, then '---'")
    try:
        meta: Any = yaml.safe_load(found.group(1))
    except yaml.YAMLError as exc:
        raise bad(f"front matter is not valid YAML: {exc}") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("title"), str) or not meta["title"].strip():
        raise bad("front matter needs a non-empty `title`")
    language = str(meta.get("language") or path.parent.name)
    if language not in LANGUAGES or language != path.parent.name:
        raise bad(f"`language` {language!r} must be the folder's, one of {', '.join(LANGUAGES)}")
    if not _NAME.match(path.stem):
        raise bad("the file name must be lower-case words joined by hyphens")
    text = found.group(2).strip()
    if not text:
        raise bad("the reply has no text")
    if len(text) > MAX_TEXT:
        raise bad(f"the reply is longer than {MAX_TEXT} characters")
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
    except ValueError as exc:
        raise bad(f"broken placeholder: {exc}") from None
    unknown = sorted(fields - set(PLACEHOLDERS))
    if unknown:
        raise bad(f"unknown placeholder(s) {', '.join(unknown)}; use {', '.join(PLACEHOLDERS)}")
    return SavedReply(name=path.stem, language=language, title=meta["title"].strip(), text=text, path=path)


class SavedReplies:
    """Every saved reply, by name and language."""

    def __init__(self, replies: list[SavedReply]) -> None:
        self._by_key = {(r.language, r.name): r for r in replies}
        self._names = sorted({r.name for r in replies})

    @classmethod
    def load(cls, root: Path = DEFAULT_ROOT) -> SavedReplies:
        if not root.is_dir():
            raise SavedReplyError(f"{root}: no such replies folder")
        replies = [parse_reply(p) for lang in LANGUAGES for p in sorted((root / lang).glob("*.md"))]
        names = {lang: {r.name for r in replies if r.language == lang} for lang in LANGUAGES}
        for lang in LANGUAGES:
            for name in sorted(set().union(*names.values()) - names[lang]):
                raise SavedReplyError(
                    f"{root / lang / (name + '.md')}: missing ({name!r} exists in another language)"
                )
        return cls(replies)

    def names(self) -> list[str]:
        return list(self._names)

    def get(self, name: str, language: str = "en") -> SavedReply:
        reply = self._by_key.get((language, name)) or self._by_key.get(("en", name))
        if reply is None:
            known = ", ".join(self._names) or "none"
            raise SavedReplyError(f"no saved reply {name!r} (known: {known})")
        return reply


_SHARED: dict[Path, SavedReplies] = {}


def shared(root: Path = DEFAULT_ROOT) -> SavedReplies:
    """The replies under `root`, loaded once per process."""
    replies = _SHARED.get(root)
    if replies is None:
        replies = _SHARED[root] = SavedReplies.load(root)
    return replies


def deadline_text(at: datetime, policy: Policy, language: str) -> str:
    """The deadline as customers read it, in the policy's timezone."""
    local = at.astimezone(policy.tz)
    if language == "km":
        return f"{local:%d/%m/%Y %H:%M}"
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M}"


_KHMER = re.compile("[\u1780-\u17ff]")


def ticket_language(ticket: Ticket) -> str:
    """The customer's language: the ticket's own when it records one, else Khmer for a description
    written in Khmer script, else English."""
    language = getattr(ticket, "language", None)
    if language in LANGUAGES:
        return str(language)
    return "km" if _KHMER.search(ticket.description or "") else "en"


def render(reply: SavedReply, ticket: Ticket, policy: Policy) -> str:
    """`reply` with the ticket's facts in; `ticket` is loaded with its customer."""
    name = (ticket.customer.name or "").strip() or NO_NAME[reply.language]
    return reply.text.format(
        customer_name=name,
        ticket_id=ticket.id,
        deadline=deadline_text(ticket.response_due_at, policy, reply.language),
    )


async def render_for_ticket(
    session: AsyncSession,
    *,
    tickets: TicketService,
    ticket_id: int,
    name: str,
    language: str | None = None,
    replies: SavedReplies | None = None,
) -> str:
    """The saved reply `name` for ticket `ticket_id`, in `language` (default: the customer's)."""
    ticket = await tickets.get(session, ticket_id)
    if ticket is None:
        raise TicketError(f"ticket #{ticket_id} does not exist")
    reply = (replies or shared()).get(name, language or ticket_language(ticket))
    return render(reply, ticket, tickets.policy)
