"""A client of a Rasa 3.6 server's HTTP API (`rasa run --enable-api`): `POST /model/parse`.

supportbot never imports rasa: Rasa runs as its own process (it needs Python 3.10) and this
client asks it. Every call is bounded: a timeout per attempt, one retry for a dropped
connection, and a circuit breaker that stops asking for `cooldown` seconds after a failure,
so a Rasa that is down costs one failed attempt, not one per message. The caller
(`nlu.backend`) answers from the embedded engine whenever this raises `RasaUnavailable`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
from prometheus_client import Counter

# Standard logging, like the embedded engine: on stderr even where structlog is not configured
# (`supportbot nlu parse` prints its JSON on stdout).
log = logging.getLogger(__name__)

# Messages the embedded engine parsed because Rasa could not (reason: timeout, unreachable,
# bad_response, circuit_open).
FALLBACKS = Counter(
    "supportbot_nlu_fallbacks_total",
    "Messages parsed by the embedded NLU because the Rasa server did not answer",
    ["reason"],
)

DEFAULT_TIMEOUT = 2.0
DEFAULT_RETRIES = 1
DEFAULT_COOLDOWN = 30.0


class RasaUnavailable(RuntimeError):
    """The Rasa server gave no usable parse; `reason` is the label counted in /metrics."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class RasaClient:
    """`await client.parse(text)` returns the Rasa server's parse dict exactly as it sent it."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        cooldown: float = DEFAULT_COOLDOWN,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"must start with http:// or https:// (got {base_url!r})")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = max(0, retries)
        self.cooldown = cooldown
        self.clock = clock
        self._open_until = 0.0  # while clock() < this, the breaker is open: Rasa is not asked
        self._tripped = False  # a failure opened the breaker and no call has succeeded since
        self._probing = False  # after the cooldown one call tries Rasa again (half-open)
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- the breaker -------------------------------------------------------------------------

    @property
    def state(self) -> str:
        """`closed` (Rasa is asked), `open` (skipped until the cooldown ends) or `half-open`."""
        if not self._tripped:
            return "closed"
        return "open" if self.clock() < self._open_until or self._probing else "half-open"

    def _admit(self) -> bool:
        """Whether this call may ask Rasa; after the cooldown only one call at a time does."""
        if not self._tripped:
            return True
        if self.clock() < self._open_until or self._probing:
            return False
        self._probing = True
        return True

    def _failed(self, error: RasaUnavailable) -> None:
        if not self._tripped:
            log.error(
                "rasa_unavailable url=%s reason=%s error=%r retry_in_seconds=%s",
                self.base_url,
                error.reason,
                error.detail,
                self.cooldown,
            )
        self._tripped = True
        self._probing = False
        self._open_until = self.clock() + self.cooldown

    def _succeeded(self) -> None:
        if self._tripped:
            log.warning("rasa_recovered url=%s", self.base_url)
        self._tripped = False
        self._probing = False
        self._open_until = 0.0

    # -- HTTP --------------------------------------------------------------------------------

    def _http(self) -> httpx.AsyncClient:
        """One pooled client per event loop (a CLI command may run several loops, tests one each)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop or self._client.is_closed:
            self._client = httpx.AsyncClient(
                base_url=self.base_url,
                timeout=httpx.Timeout(self.timeout),
                limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
                headers={"Accept": "application/json"},
            )
            self._loop = loop
        return self._client

    async def aclose(self) -> None:
        """Close the connection pool (it is reopened by the next call)."""
        client, self._client, self._loop = self._client, None, None
        if client is not None and not client.is_closed:
            try:
                await client.aclose()
            except RuntimeError:  # its event loop has already gone
                pass

    async def _post_parse(self, text: str) -> dict[str, Any]:
        try:
            # httpx bounds each phase (connect, write, read); this bounds the whole request.
            async with asyncio.timeout(self.timeout):
                response = await self._http().post("/model/parse", json={"text": text})
        except (httpx.TimeoutException, TimeoutError) as exc:
            raise RasaUnavailable(
                "timeout", f"no answer within {self.timeout}s ({type(exc).__name__})"
            ) from exc
        except httpx.HTTPError as exc:
            raise RasaUnavailable("unreachable", f"{type(exc).__name__}: {exc}") from exc
        if response.status_code != 200:
            raise RasaUnavailable("bad_response", f"HTTP {response.status_code}: {response.text[:200]}")
        try:
            parse = response.json()
        except ValueError as exc:
            raise RasaUnavailable("bad_response", "the answer is not JSON") from exc
        if not isinstance(parse, dict) or not isinstance(parse.get("intent"), dict):
            raise RasaUnavailable("bad_response", "the answer has no intent")
        return parse

    async def parse(self, text: str) -> dict[str, Any]:
        """Rasa's parse of `text`, unchanged; raises `RasaUnavailable` instead of waiting longer.

        A refused or dropped connection and a 5xx answer are retried `retries` times (an idle
        keep-alive connection the server closed is the usual cause); a timeout is not, since
        the customer is already waiting: worst case one `timeout`, then the breaker opens.
        """
        if not self._admit():
            raise RasaUnavailable("circuit_open", f"skipping Rasa for {self.cooldown:.0f}s after a failure")
        attempt = 0
        while True:
            try:
                parse = await self._post_parse(text)
            except RasaUnavailable as error:
                retryable = error.reason == "unreachable" or error.detail.startswith("HTTP 5")
                if retryable and attempt < self.retries:
                    attempt += 1
                    continue
                self._failed(error)
                raise
            except BaseException:
                # Cancelled (the customer's request went away): the trial call is over, Rasa untested.
                self._probing = False
                raise
            self._succeeded()
            return parse
