"""Held-out whole conversations: the share the flows bring to the right ticket.

    .venv/bin/python bench/conversations.py [--cases tests/actions/conversations.yaml] [--verbose]

Each case (tests/actions/conversations.yaml, never used for training) is a customer's opening
message and the natural answers they give at each kind of step: the priority, the exclusion
question, each troubleshooting check in turn, the summary. The driver answers whatever step the bot
is at with the case's next answer for that kind of step (name and email are always the same), so a
bot that asks a check twice, or one the case did not expect, runs out of answers and fails. A case
is right when the conversation ends as expected (a ticket, solved by self-service, or a person) with
the expected category, priority band (urgent: high or critical; normal: medium or low), the answers
recorded for the checks (in policy order, pre-filled ones included), the words kept in their notes,
and the sentiment. Goal: at least 95 %.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from actions.messages import Incoming  # noqa: E402
from actions.payload import make_payload  # noqa: E402
from bot.services import Services  # noqa: E402
from nlu.intents import Intent  # noqa: E402

CASES = ROOT / "tests" / "actions" / "conversations.yaml"
BANDS = {"urgent": ("high", "critical"), "normal": ("medium", "low")}
MAX_TURNS = 30
NAME, EMAIL = "Dara Sok", "dara.sok@example.com"


@dataclass
class Result:
    case: str
    ok: bool
    problems: list[str] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)


def _answer(value: Any) -> str:
    """An expected answer: YAML reads a bare yes / no as a boolean."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def load_cases(path: Path = CASES) -> list[dict[str, Any]]:
    cases = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(cases, list)
    return cases


async def run_case(
    services: Services,
    case: dict[str, Any],
    sender: str,
    read_state: Callable[[str], Awaitable[dict[str, Any]]],
    read_tickets: Callable[[str], Awaitable[list[dict[str, Any]]]],
) -> Result:
    """Drive one conversation; compare where it ended with what the case expects."""
    result = Result(case["id"], ok=False)
    replies: dict[str, list[str]] = {
        "priority": list(case.get("priority", [])),
        "exclusion": list(case.get("exclusion", [])),
        # At the category picker a customer presses the button of the kind of problem they have.
        "category": list(case.get("category", []))
        or [make_payload(Intent.CHOOSE_CATEGORY, category=case["expect"].get("category", "technical"))],
        "troubleshoot": list(case.get("checks", [])),
        "confirm": list(case.get("confirm", ["yes please"])),
    }
    contact = {
        "name": [NAME],
        "reach": [EMAIL],
        "contact_confirm": ["yes"],
        # The handoff's own questions: what it is about, then how to reach them.
        "handoff_about": [case["opening"]],
        "handoff_contact": [f"{NAME}, {EMAIL}"],
    }

    async def say(text: str) -> None:
        got = await services.engine.handle(Incoming(channel="webchat", sender=sender, text=text))
        result.transcript.append(f"> {text}")
        result.transcript.extend(f"< {r.text}" for r in got)

    await say(case["opening"])
    for _ in range(MAX_TURNS):
        state = await read_state(sender)
        if state.get("flow") not in ("intake", "handoff"):
            break
        step = str(state.get("step"))
        queue = replies.get(step) or contact.get(step)
        if not queue:
            result.problems.append(f"asked {step} with no answer left")
            return result
        await say(str(queue.pop(0)))
    else:
        result.problems.append("did not end")
        return result

    expect = case["expect"]
    tickets = await read_tickets(sender)
    outcome = expect.get("outcome", "ticket")
    if outcome == "solved":
        if tickets:
            result.problems.append("a ticket was opened for a solved problem")
    elif len(tickets) != 1:
        result.problems.append(f"{len(tickets)} tickets instead of 1")
    else:
        ticket = tickets[0]
        if outcome == "handoff" and not ticket["handoff"]:
            result.problems.append("no person asked to join")
        if "category" in expect and ticket["category"] != expect["category"]:
            result.problems.append(f"category {ticket['category']} != {expect['category']}")
        band = expect.get("priority")
        if band and ticket["priority"] not in BANDS.get(band, (band,)):
            result.problems.append(f"priority {ticket['priority']} not {band}")
        checks = ticket["troubleshooting"]
        wanted = [_answer(a) for a in expect.get("answers", [])]
        if "answers" in expect and [c["answer"] for c in checks] != wanted:
            result.problems.append(f"answers {[c['answer'] for c in checks]} != {wanted}")
        for n, words in (expect.get("notes") or {}).items():
            note = checks[int(n)].get("note") or "" if int(n) < len(checks) else ""
            if str(words).lower() not in note.lower():
                result.problems.append(f"note {n} {note!r} lacks {words!r}")
        if "sentiment" in expect and ticket["sentiment"] != expect["sentiment"]:
            result.problems.append(f"sentiment {ticket['sentiment']} != {expect['sentiment']}")
    result.ok = not result.problems
    return result


async def run_all(services: Services, cases: list[dict[str, Any]]) -> list[Result]:
    """Every case as a new web chat customer, reading state and tickets through the services."""
    from sqlalchemy import select

    from storage.models import Conversation, Customer, Ticket, TicketEvent

    async def read_state(sender: str) -> dict[str, Any]:
        async with services.db.reader() as session:
            query = select(Conversation).where(
                Conversation.channel == "webchat", Conversation.sender == sender
            )
            conversation = (await session.execute(query)).scalar_one_or_none()
            return dict(conversation.state or {}) if conversation is not None else {}

    async def read_tickets(sender: str) -> list[dict[str, Any]]:
        async with services.db.reader() as session:
            query = (
                select(Ticket)
                .join(Customer, Ticket.customer_id == Customer.id)
                .where(Customer.channel == "webchat", Customer.external_id == sender)
            )
            out = []
            for ticket in (await session.execute(query)).scalars():
                events = select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket.id)
                kinds = set((await session.execute(events)).scalars())
                out.append(
                    {
                        "category": ticket.category,
                        "priority": ticket.priority,
                        "troubleshooting": list(ticket.troubleshooting),
                        "sentiment": ticket.sentiment,
                        "handoff": bool(kinds - {"created"}),
                    }
                )
            return out

    return [
        await run_case(services, case, f"held-out-{n}", read_state, read_tickets)
        for n, case in enumerate(cases)
    ]


async def _main(args: argparse.Namespace) -> float:
    from bot.services import build_services
    from bot.settings import load_settings
    from nlu import NLU_DIR
    from nlu.embedded import EmbeddedNlu
    from nlu.training_data import load_training_data

    cases = load_cases(Path(args.cases))
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/conversations.db"
        nlu = EmbeddedNlu.train(load_training_data(NLU_DIR))
        services = await build_services(load_settings(DATABASE_URL=url), migrate=True, nlu=nlu)
        try:
            results = await run_all(services, cases)
        finally:
            await services.close()
    right = sum(r.ok for r in results)
    for r in results:
        if not r.ok:
            print(f"WRONG {r.case}: {'; '.join(r.problems)}")
            if args.verbose:
                print("    " + "\n    ".join(r.transcript))
    share = right / len(results)
    print(f"held-out conversations brought to the right ticket: {right}/{len(results)} = {share:.1%}")
    return share


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=str(CASES))
    parser.add_argument("--verbose", action="store_true", help="print the transcripts of wrong cases")
    share = asyncio.run(_main(parser.parse_args()))
    sys.exit(0 if share >= 0.95 else 1)


if __name__ == "__main__":
    main()
