"""An existing Rasa web widget's client library (socket.io-client from npm, run by Node) talking
to `/socket.io/`: long-polling first, then the upgrade to WebSocket, Rasa's events unchanged."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

from tests.bot.test_socketio import Served, served  # noqa: F401 (the fixture)
from tests.helpers import need

NODE_DIR = Path(__file__).resolve().parents[1] / "node"


async def run_widget(url: str, session_id: str, *messages: str) -> list[dict[str, Any]]:
    node = shutil.which("node")
    need(node is not None, "Node.js")
    need((NODE_DIR / "node_modules" / "socket.io-client").exists(), "socket.io-client (npm ci in tests/node)")
    assert node is not None
    process = await asyncio.create_subprocess_exec(
        node,
        str(NODE_DIR / "rasa_widget_client.mjs"),
        url,
        session_id,
        *messages,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    lines = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    assert process.returncode == 0, (lines, err.decode())
    return lines


async def test_a_rasa_widget_client_holds_a_conversation(served: Served) -> None:  # noqa: F811
    lines = await run_widget(
        served.url, "node-1", "/greet", "our ERP keeps crashing since this morning, this is critical", "#1"
    )
    # "node-1" was not minted by the server: the widget is confirmed a fresh session, and keeps it.
    confirmed = lines[0]["session_confirm"]
    assert confirmed != "node-1" and served.asgi.channels["webchat"].sessions.is_minted(confirmed)
    assert lines[-1]["done"] is True
    assert lines[-1]["transport"] == "websocket"  # upgraded from long-polling
    uttered = [line["bot_uttered"] for line in lines if "bot_uttered" in line]
    assert uttered[0]["text"].startswith("Hello!")
    first_quick = uttered[0]["quick_replies"][0]
    assert first_quick == {"content_type": "text", "title": "Report a problem", "payload": "/report_issue"}
    texts = [u["text"] for u in uttered]
    assert any("looks critical" in t for t in texts)
    # "#1" pressed the first (suggested) priority: the intake moved on to the first check.
    assert "Step 1 of" in texts[-1]


async def test_the_conversation_survives_a_reconnect_with_the_same_session(served: Served) -> None:  # noqa: F811
    first = await run_widget(
        served.url, "node-2", "our ERP keeps crashing since this morning, this is critical", "#1"
    )
    session_id = first[0]["session_confirm"]  # the id the server minted, kept by the widget
    lines = await run_widget(served.url, session_id, "/affirm")  # a new connection, the same session
    assert lines[0] == {"session_confirm": session_id}
    uttered = [line["bot_uttered"]["text"] for line in lines if "bot_uttered" in line]
    assert uttered and uttered[-1].startswith("Step 2 of")
