"""The conversation engine: one customer message in, the bot's replies out.

It loads the conversation's state from storage, understands the message (a button payload
skips the NLU), advances the flow (router.py picks one of flows/), and saves the state in the
same transaction as any ticket it opened, so a restart continues where the customer was.
"""

from __future__ import annotations

import asyncio
import re
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

import structlog

from actions import language
from actions.catalog import LANGUAGES
from actions.catalog import text as say
from actions.flows.base import menu_buttons
from actions.messages import MAX_TEXT, Incoming, Reply
from actions.payload import parse_payload
from actions.router import Router
from actions.state import DialogueState
from actions.turn import Turn
from desk import metrics
from desk.policy import Policy
from desk.tickets import TicketService
from nlu.embedded import EmbeddedNlu
from nlu.intents import Intent
from storage.db import Database
from storage.models import utcnow
from storage.repositories.conversation import ConcurrentTurn, ConversationStore

log = structlog.get_logger(__name__)

# Control characters other than tab and newline never belong in a chat message.
_BROKEN_PAYLOAD = re.compile(r"^/[A-Za-z_][A-Za-z0-9_]*\{")
# Lone surrogates (from `\ud800` in JSON) cannot be stored as UTF-8, so they go too.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff\ud800-\udfff]")
PARSE_CACHE_SIZE = 4096  # texts of up to 4,000 characters: a few MB at most


def _nothing_said() -> dict[str, Any]:
    return {"payload": False, "intent": "", "confidence": 0.0, "slots": {}, "entities": {}, "ranking": []}


class NluBackend(Protocol):
    async def parse(self, text: str) -> dict[str, Any]: ...


class ConversationEngine:
    """Channel-independent: every transport calls `handle` with an `Incoming`."""

    def __init__(
        self,
        *,
        db: Database,
        nlu: NluBackend,
        policy: Policy,
        tickets: TicketService,
        now: Callable[[], datetime] = utcnow,
        nlu_name: str = "embedded",
    ) -> None:
        self.db = db
        self.turns = ConversationStore(db)
        self.nlu = nlu
        self.policy = policy
        self.tickets = tickets
        self.now = now
        self.nlu_name = nlu_name
        self.flows = Router(policy=policy, tickets=tickets)
        # The embedded model answers the same text the same way for the life of the process, and
        # chat repeats itself ("yes", "thanks", a customer's email twice): remember recent parses.
        # A Rasa server (or its fallback while Rasa is down) is asked every time.
        self._parsed: OrderedDict[str, dict[str, Any]] | None = (
            OrderedDict() if isinstance(nlu, EmbeddedNlu) else None
        )
        # One turn at a time per conversation in this process; the row lock covers replicas.
        self._locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    async def handle(self, msg: Incoming) -> list[Reply]:
        started = time.perf_counter()
        metrics.MESSAGES.labels(msg.channel).inc()
        try:
            return await self._handle(msg)
        finally:
            metrics.TURN_SECONDS.labels(msg.channel).observe(time.perf_counter() - started)

    async def _handle(self, msg: Incoming) -> list[Reply]:
        text = _CONTROL.sub("", msg.text or "").strip()
        truncated = len(text) > MAX_TEXT
        if truncated:
            text = text[:MAX_TEXT]
        files = msg.metadata.get("attachments")
        if not text and not files:
            metrics.REJECTED.labels("empty").inc()
            hinted = language.from_metadata(msg.metadata) or "en"
            return [Reply(say("engine.empty", hinted))]
        # A file without a caption has nothing to understand; the files flow files it (flows/files.py).
        understanding = await self._understand(text) if text else _nothing_said()
        key = (msg.channel, msg.sender)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        async with lock:
            for attempt in range(2):
                try:
                    return await self._turn(msg, text, truncated, understanding)
                except ConcurrentTurn:
                    # Another replica created the same conversation or handled the same message
                    # id at the same moment: the second try sees its row.
                    if attempt:
                        raise
        raise AssertionError("unreachable")

    async def _understand(self, text: str) -> dict[str, Any]:
        payload = parse_payload(text)
        if payload is not None:
            return {
                "payload": True,
                "intent": payload.intent,
                "confidence": 1.0,
                "slots": payload.slots,
                "entities": {},
                "ranking": [],
            }
        if _BROKEN_PAYLOAD.match(text):
            # `/intent{...` with broken JSON: a button we never sent, not a description.
            return {
                "payload": True,
                "intent": "",
                "confidence": 1.0,
                "slots": {},
                "entities": {},
                "ranking": [],
            }
        parsed = self._parsed
        if parsed is not None and (cached := parsed.get(text)) is not None:
            parsed.move_to_end(text)
            return {
                **cached,
                "slots": {},
                "entities": dict(cached["entities"]),
                "ranking": list(cached["ranking"]),
            }
        started = time.perf_counter()
        parse = await self.nlu.parse(text)
        metrics.NLU_SECONDS.labels(self.nlu_name).observe(time.perf_counter() - started)
        entities: dict[str, str] = {}
        for entity in parse.get("entities", []):
            entities.setdefault(str(entity["entity"]), str(entity["value"]))
        intent = parse.get("intent") or {}
        name = intent.get("name") or Intent.OUT_OF_SCOPE
        understanding = {
            "payload": False,
            # Rasa's FallbackClassifier says `nlu_fallback` where the embedded engine says out_of_scope.
            "intent": Intent.OUT_OF_SCOPE if name == Intent.NLU_FALLBACK else name,
            "confidence": float(intent.get("confidence") or 0.0),
            "slots": {},
            "entities": entities,
            "ranking": parse.get("intent_ranking", []),
        }
        if parsed is not None:
            parsed[text] = {
                **understanding,
                "entities": dict(entities),
                "ranking": list(understanding["ranking"]),
            }
            if len(parsed) > PARSE_CACHE_SIZE:
                parsed.popitem(last=False)
        return understanding

    async def _turn(
        self, msg: Incoming, text: str, truncated: bool, understanding: dict[str, Any]
    ) -> list[Reply]:
        async with self.turns.transaction() as tx:
            # One statement: the conversation (locked on PostgreSQL), its customer, and the answer
            # already given to this message id if it is a retry.
            conversation, customer, seen = await tx.load(msg.channel, msg.sender, msg.message_id)
            if seen is not None:
                return [Reply.from_dict(r) for r in seen]
            now = self.now()
            if conversation is None or customer is None:
                conversation, customer = await tx.create(
                    msg.channel, msg.sender, now=now, conversation=conversation
                )
            state = DialogueState.from_dict(conversation.state)
            lang = language.resolve(state, text, msg.metadata, is_payload=understanding["payload"])
            turn = Turn(
                msg=msg,
                repo=tx,
                conversation=conversation,
                customer=customer,
                state=state,
                text=text,
                truncated=truncated,
                now=now,
                is_payload=understanding["payload"],
                intent=understanding["intent"],
                confidence=understanding["confidence"],
                slots=understanding["slots"],
                entities=understanding["entities"],
                ranking=understanding["ranking"],
                lang=lang,
                digits=state.digits or "latn",
            )
            replies = await self._respond(turn)
            if truncated:
                replies.insert(0, turn.reply("engine.truncated", limit=MAX_TEXT))
            conversation.state = state.to_dict()
            conversation.updated_at = turn.now
            if msg.message_id:
                await tx.remember(
                    channel=msg.channel,
                    sender=msg.sender,
                    message_id=msg.message_id,
                    replies=[r.to_dict() for r in replies],
                    now=turn.now,
                )
            return replies

    async def _respond(self, t: Turn) -> list[Reply]:
        """The language button and unspoken languages here; everything else in the flows."""
        if t.is_payload and t.intent == language.SET_LANGUAGE:
            t.lang = language.choose(t.state, str(t.slots.get("language", "")))
            switched = t.reply("language.switched", *menu_buttons(t))
            if t.state.flow is not None and t.state.intake is not None:
                # Carry on with the intake: its question again, now in the chosen language.
                return [Reply(switched.text), *self.flows.intake.advance(t)]
            return [switched]
        idle = t.state.flow is None and t.conversation.handoff_ticket_id is None
        if idle and not t.is_payload and t.text and language.unspoken(t.text):
            # Both languages, since the customer may read either; the conversation keeps its own.
            return [Reply("\n\n".join(say("language.unsupported", lang) for lang in LANGUAGES))]
        return await self.flows.respond(t)
