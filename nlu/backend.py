"""Which NLU answers: the embedded engine, or a Rasa server with the embedded engine as fallback.

`NLU_BACKEND=embedded` (the default) parses in process. `NLU_BACKEND=rasa` asks the Rasa server
at `RASA_URL` and returns its parse unchanged; when Rasa fails (down, slow, answering nonsense)
that message is parsed by the embedded engine instead, logged, and counted in
`supportbot_nlu_fallbacks_total`, so no customer message goes unanswered.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from nlu.rasa_client import FALLBACKS, RasaClient, RasaUnavailable

log = logging.getLogger(__name__)


class Parser(Protocol):
    async def parse(self, text: str) -> dict[str, Any]: ...


class RasaWithFallback:
    """Rasa's parse when the server answers, the embedded engine's when it does not."""

    name = "rasa"

    def __init__(self, rasa: RasaClient, fallback: Parser) -> None:
        self.rasa = rasa
        self.fallback = fallback

    async def parse(self, text: str) -> dict[str, Any]:
        try:
            return await self.rasa.parse(text)
        except RasaUnavailable as exc:
            FALLBACKS.labels(exc.reason).inc()
            # The breaker logs the outage once as an error; each message it affects is a warning.
            log.warning("nlu_fallback backend=embedded reason=%s rasa_url=%s", exc.reason, self.rasa.base_url)
            return await self.fallback.parse(text)

    async def aclose(self) -> None:
        await self.rasa.aclose()
