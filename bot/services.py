"""Everything a running supportbot holds, built once from the settings (app, CLI chat, tests)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import structlog

from actions.engine import ConversationEngine, NluBackend
from bot.settings import Settings, SettingsError
from desk.policy import Policy, load_policy
from desk.sla import SlaClock
from desk.tickets import TicketService
from nlu import NLU_DIR, sentence_embeddings
from nlu.backend import Parser, RasaWithFallback
from nlu.embedded import load_or_train
from nlu.rasa_client import RasaClient
from storage.db import Database
from storage.migrate import upgrade
from storage.models import utcnow

log = structlog.get_logger(__name__)


@dataclass
class Services:
    settings: Settings
    policy: Policy
    db: Database
    nlu: NluBackend
    tickets: TicketService
    engine: ConversationEngine

    async def close(self) -> None:
        closer = getattr(self.nlu, "aclose", None)  # the Rasa backend holds an HTTP pool
        if closer is not None:
            await closer()
        await self.db.dispose()


async def load_nlu(settings: Settings) -> NluBackend:
    """The NLU of `NLU_BACKEND`: the embedded model (reused from disk when the training data has
    not changed), or the Rasa server at `RASA_URL` with that model answering when Rasa cannot."""
    data_dir = settings.nlu_data_path or NLU_DIR
    embeddings = {"on": True, "off": False}.get(settings.nlu_embeddings)  # auto: if installed
    if embeddings is None:
        embeddings = sentence_embeddings.available()
    embedded = await asyncio.to_thread(
        load_or_train, data_dir, settings.nlu_model_path, embeddings=embeddings
    )
    return choose_backend(settings.nlu_backend, settings.rasa_url, embedded)


def choose_backend(backend: str, rasa_url: str, embedded: Parser) -> Parser:
    """The parser for `NLU_BACKEND` (`embedded` or `rasa`), given the loaded embedded engine."""
    if backend == "embedded":
        return embedded
    if backend == "rasa":
        try:
            client = RasaClient(rasa_url)
        except ValueError as exc:
            raise SettingsError(f"RASA_URL: {exc}") from None
        return RasaWithFallback(client, embedded)
    raise SettingsError(f"NLU_BACKEND: must be embedded or rasa (got {backend!r})")


async def build_services(
    settings: Settings,
    *,
    migrate: bool = True,
    nlu: NluBackend | None = None,
    now: Callable[[], datetime] = utcnow,
) -> Services:
    """Validate the policy, bring the database to head, load the NLU, wire the engine."""
    policy = load_policy(settings.policy_path)
    if migrate:
        await asyncio.to_thread(upgrade, settings.database_url)
    db = Database(settings.database_url)
    if nlu is None:
        nlu = await load_nlu(settings)
    tickets = TicketService(policy, SlaClock(policy))
    engine = ConversationEngine(
        db=db, nlu=nlu, policy=policy, tickets=tickets, now=now, nlu_name=settings.nlu_backend
    )
    return Services(settings=settings, policy=policy, db=db, nlu=nlu, tickets=tickets, engine=engine)
