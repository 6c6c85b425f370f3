"""Several replicas for bench/webchat.py: a round-robin TCP proxy, and agents' replies across replicas.

- The proxy (`python bench/replicas.py proxy PORT BACKEND...`, its own process so that it does
  not share the load generator's event loop) hands each new TCP connection to the next backend
  in turn. The load's keep-alive connections are thus spread evenly over the replicas, as a
  load balancer without session affinity would; a socket.io connection stays where it landed.
- `cross_replica_latency` connects socket.io customers to replica A, opens a ticket for each
  (`/human_handoff`), then sends agents' replies as Slack sends them (a signed thread reply
  event) to replica B, or to A for comparison, and times each from the request to the
  customer's `bot_uttered` on A.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import socketio
from slack_sdk.signature import SignatureVerifier

SIGNING_SECRET = "bench-signing-secret-0123456789abcdef"
AGENT = "U0AGENT"


# -- the proxy -----------------------------------------------------------------------------------------


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def proxy(port: int, backends: list[int]) -> None:
    turn = itertools.cycle(backends)

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", next(turn))
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))

    server = await asyncio.start_server(accept, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


# -- agents' replies across replicas ---------------------------------------------------------------------


def slack_env(api_url: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": "xoxb-test-0000000000-supportbot",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": api_url,
        "SUPPORTBOT_CORS_ORIGINS": "",
    }


def _signed_event(channel: str, thread_ts: str, text: str, n: int) -> tuple[bytes, dict[str, str]]:
    ts = f"{time.time():.6f}"
    event = {
        "type": "message",
        "channel": channel,
        "channel_type": "channel",
        "user": AGENT,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "thread_ts": thread_ts,
        "team": "T0IONETECH",
        "client_msg_id": f"bench-{n}",
    }
    body = json.dumps(
        {
            "token": "unused",
            "team_id": "T0IONETECH",
            "api_app_id": "A0SUPPORT",
            "event": event,
            "type": "event_callback",
            "event_id": f"EvBench{n:08d}",
            "event_time": int(time.time()),
        }
    )
    stamp = str(int(time.time()))
    signature = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=stamp, body=body)
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": str(signature),
    }
    return body.encode(), headers


@dataclass
class Customer:
    sio: socketio.AsyncClient = field(default_factory=lambda: socketio.AsyncClient(reconnection=False))
    ticket: int | None = None
    session_id: str = ""  # the one the server confirmed: it mints its own
    awaited: dict[str, asyncio.Future[float]] = field(default_factory=dict)  # text -> its arrival time

    def on_confirm(self, data: Any) -> None:
        self.session_id = str(data.get("session_id", "")) if isinstance(data, dict) else str(data)

    async def say(self, message: str) -> None:
        await self.sio.emit("user_uttered", {"message": message, "session_id": self.session_id})

    def on_message(self, data: Any) -> None:
        text = str(data.get("text", "")) if isinstance(data, dict) else ""
        found = re.search(r"ticket #(\d+)", text)
        if found and self.ticket is None:
            self.ticket = int(found.group(1))
        future = self.awaited.get(text)
        if future is not None and not future.done():
            future.set_result(time.perf_counter())

    def expect(self, text: str) -> asyncio.Future[float]:
        self.awaited[text] = asyncio.get_running_loop().create_future()
        return self.awaited[text]


async def cross_replica_latency(
    a_url: str, replies_to: dict[str, str], fake: Any, *, customers: int, rounds: int, tier1: str
) -> dict[str, list[float]]:
    """Seconds from each agent reply's request to its arrival on the customer's socket on A, by
    the replica the reply was sent to (`replies_to`: label -> base URL)."""
    people = [Customer() for _ in range(customers)]
    for n, person in enumerate(people):
        person.sio.on("bot_uttered", person.on_message)
        person.sio.on("session_confirm", person.on_confirm)
        await person.sio.connect(a_url, transports=["websocket"], wait_timeout=10)
        await person.sio.emit("session_request", {"session_id": f"bench-replicas-{n}-{time.time_ns()}"})
    await asyncio.sleep(0.5)
    for person in people:
        await person.say("I need to talk to a person: the ERP logs me out every 5 minutes")
    await asyncio.sleep(0.5)
    for n, person in enumerate(people):
        await person.say(f"Dara Sok, bench{n}@example.com")  # the handoff asks how to reach them
    roots: dict[int, Any] = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(roots) < customers:
        for person in people:
            if person.ticket is not None and person.ticket not in roots:
                posts = fake.ticket_posts(tier1, person.ticket)
                if posts:
                    roots[person.ticket] = posts[0]
        await asyncio.sleep(0.1)
    if len(roots) < customers:
        raise RuntimeError(f"only {len(roots)} of {customers} tickets reached Slack")
    latencies: dict[str, list[float]] = {label: [] for label in replies_to}
    counter = itertools.count(1)
    async with aiohttp.ClientSession() as http:
        for _ in range(rounds):
            for label, url in replies_to.items():
                for person in people:
                    assert person.ticket is not None
                    root = roots[person.ticket]
                    n = next(counter)
                    text = f"Reply {n}: we are on it"
                    body, headers = _signed_event(root.channel, root.ts, text, n)
                    arrival = person.expect(f"Dara Sok: {text}")
                    sent = time.perf_counter()
                    async with http.post(f"{url}/slack/events", data=body, headers=headers) as response:
                        await response.read()
                    try:
                        latencies[label].append(await asyncio.wait_for(arrival, 35) - sent)
                    except TimeoutError:
                        print(f"reply {n} did not arrive within 35 s", file=sys.stderr)
    for person in people:
        await person.sio.disconnect()
    return latencies


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "proxy":
        asyncio.run(proxy(int(sys.argv[2]), [int(p) for p in sys.argv[3:]]))
    else:
        sys.exit("usage: replicas.py proxy PORT BACKEND_PORT...")
