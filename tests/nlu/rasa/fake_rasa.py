"""A tiny fake Rasa server on loopback: `POST /model/parse` answers as scripted, per request.

Raw asyncio, so a test can make it hang, answer 500, answer garbage or drop the connection
without a response, which a real Rasa does when it crashes or restarts.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

# What each behaviour does with one request.
OK, SLOW, ERROR, DROP, GARBAGE, NO_INTENT = "ok", "slow", "500", "drop", "garbage", "no_intent"


def rasa_parse(text: str) -> dict[str, Any]:
    """What Rasa 3.6 answers, including keys supportbot does not use (they must pass through)."""
    return {
        "text": text,
        "intent": {"name": "greet", "confidence": 0.9731},
        "entities": [],
        "text_tokens": [[0, len(text)]],
        "intent_ranking": [
            {"name": "greet", "confidence": 0.9731},
            {"name": "goodbye", "confidence": 0.0269},
        ],
        "response_selector": {"all_retrieval_intents": [], "default": {"response": {}, "ranking": []}},
    }


@dataclass
class FakeRasa:
    """`script` is consumed one behaviour per request; when empty, `default` applies."""

    default: str = OK
    slow_seconds: float = 1.0
    script: deque[str] = field(default_factory=deque)
    requests: list[dict[str, Any]] = field(default_factory=list)
    server: asyncio.Server | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> FakeRasa:
        self.server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:  # keep-alive: several requests per connection
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {
                    k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                request = {"line": lines[0], "body": json.loads(body) if body else None}
                self.requests.append(request)
                behaviour = self.script.popleft() if self.script else self.default
                if behaviour == DROP:
                    writer.close()
                    return
                if behaviour == SLOW:
                    await asyncio.sleep(self.slow_seconds)
                if behaviour == ERROR:
                    await self._send(writer, 500, b'{"status": "failure"}')
                elif behaviour == GARBAGE:
                    await self._send(writer, 200, b"<html>not json</html>", "text/html")
                elif behaviour == NO_INTENT:
                    await self._send(writer, 200, b'{"text": "hi"}')
                else:
                    text = (request["body"] or {}).get("text", "")
                    await self._send(writer, 200, json.dumps(rasa_parse(text)).encode())
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    @staticmethod
    async def _send(
        writer: asyncio.StreamWriter, status: int, body: bytes, kind: str = "application/json"
    ) -> None:
        reason = {200: "OK", 500: "Internal Server Error"}[status]
        head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n\r\n"
        writer.write(head.encode() + body)
        await writer.drain()
