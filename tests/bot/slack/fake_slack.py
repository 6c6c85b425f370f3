"""A fake Slack Web API on loopback, speaking the real wire format (aiohttp).

Like slack-bolt's `tests/mock_web_api_server`, the SDK reaches it through its `base_url`
(`SLACK_API_URL`). It takes form, multipart, JSON and query-string arguments, checks the bearer
token, answers `{"ok": true, ...}` with real-looking `ts`, channel IDs and permalinks, keeps the
messages it was sent (threads, updates), takes file uploads (`files.getUploadURLExternal`, the
upload URL, `files.completeUploadExternal`) and `response_url` posts, records every call, and
fails on demand: 429 with `Retry-After`, a 500 with an HTML body as a broken proxy would send, an
error answer (`{"ok": false, "error": "not_in_channel"}`), or no answer at all: `go_down()` closes
the port (connection refused) until `come_back()` opens it again. Messages keep their `metadata`,
which `conversations.history` / `conversations.replies` return with `include_all_metadata`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.helpers import Failure, aiohttp_on_loopback, next_failure

TOKEN = "xoxb-test-0000000000-supportbot"
TEAM = "T0IONETECH"
BOT_USER = "U0BOT"
BOT_ID = "B0BOT"
WORKSPACE = "https://ionetech.slack.com"


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    status: int = 200


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    reply_broadcast: bool = False
    updates: int = 0
    user: str = BOT_USER
    metadata: dict[str, Any] | None = None

    def wire(self, with_metadata: bool) -> dict[str, Any]:
        """As conversations.history returns it."""
        found: dict[str, Any] = {
            "type": "message",
            "user": self.user,
            "bot_id": BOT_ID,
            "text": self.text,
            "ts": self.ts,
        }
        if self.thread_ts:
            found["thread_ts"] = self.thread_ts
        if with_metadata and self.metadata:
            found["metadata"] = self.metadata
        return found

    def action_ids(self) -> list[str]:
        return [
            element.get("action_id")
            for block in self.blocks
            if block.get("type") == "actions"
            for element in block.get("elements", [])
        ]

    def all_text(self) -> str:
        """The text and every text of its blocks, for assertions."""
        return self.text + "\n" + json.dumps(self.blocks, ensure_ascii=False)


@dataclass
class FakeSlack:
    token: str = TOKEN
    calls: list[Call] = field(default_factory=list)
    channels: dict[str, str] = field(default_factory=dict)  # name (without #) → ID
    messages: list[Message] = field(default_factory=list)
    ephemerals: list[dict[str, Any]] = field(default_factory=list)
    uploads: dict[str, bytes] = field(default_factory=dict)
    shared_files: list[dict[str, Any]] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)  # posts to response_url
    views: list[dict[str, Any]] = field(default_factory=list)  # modals opened with views.open
    users: dict[str, str] = field(
        default_factory=lambda: {"U0AGENT": "Dara Sok", "U0MANAGER": "Sophea Lim", "U0OTHER": "Vibol Chea"}
    )
    failures: list[Failure] = field(default_factory=list)
    delays: dict[str, float] = field(default_factory=dict)  # method → seconds before answering
    errors: dict[str, str] = field(default_factory=dict)  # method → error answered (ok: false)
    lags: dict[str, float] = field(default_factory=dict)  # method → seconds between doing and answering
    url: str = ""
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application(client_max_size=10 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/respond/{key}", self._respond)
        self._runner, self.url = await aiohttp_on_loopback(app)
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def go_down(self) -> None:
        """Close the port: every call is refused (as during an outage) until `come_back()`."""
        assert self._runner is not None
        for site in list(self._runner.sites):
            await site.stop()

    async def come_back(self) -> None:
        """Listen again on the same port."""
        assert self._runner is not None
        port = int(self.url.rsplit(":", 1)[1])
        await web.TCPSite(self._runner, "127.0.0.1", port, reuse_address=True).start()

    def lag(self, method: str, seconds: float) -> None:
        """Do `method` at once but answer only after `seconds` (the caller may die meanwhile)."""
        self.lags[method] = seconds

    def refuse(self, method: str, error: str) -> None:
        """Answer `method` with `{"ok": false, "error": error}` (e.g. not_in_channel) until `recover()`."""
        self.errors[method] = error

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, key: str = "cmd") -> str:
        return f"{self.url}/respond/{key}"

    # -- scripting -------------------------------------------------------------------------------

    def fail(
        self, method: str = "*", *, status: int = 429, retry_after: int | None = 1, times: int | None = 1
    ) -> None:
        """The next `times` calls of `method` fail (None: until `recover()`)."""
        self.failures.append(Failure(method, status, retry_after if status == 429 else None, times))

    def slow(self, method: str, seconds: float) -> None:
        """Answer `method` only after `seconds` (a slow Slack)."""
        self.delays[method] = seconds

    def recover(self) -> None:
        self.failures.clear()
        self.errors.clear()

    def channel_id(self, name_or_id: str) -> str:
        """The ID of a channel (created on first mention, like a channel the bot was invited to)."""
        if name_or_id in self.channels.values():
            return name_or_id
        name = name_or_id.removeprefix("#")
        if name not in self.channels:
            self.channels[name] = f"C0{name.upper().replace('-', '')[:9]}{len(self.channels)}"
        return self.channels[name]

    # -- queries for tests -----------------------------------------------------------------------

    def calls_to(self, method: str, *, ok: bool = True) -> list[Call]:
        return [c for c in self.calls if c.method == method and (c.status == 200) == ok]

    def posts(self, channel: str) -> list[Message]:
        """Root messages in a channel (by name or ID), oldest first."""
        cid = self.channel_id(channel)
        return [m for m in self.messages if m.channel == cid and m.thread_ts is None]

    def thread(self, channel: str, ts: str) -> list[Message]:
        cid = self.channel_id(channel)
        return [m for m in self.messages if m.channel == cid and m.thread_ts == ts]

    def message(self, channel: str, ts: str) -> Message:
        cid = self.channel_id(channel)
        [found] = [m for m in self.messages if m.channel == cid and m.ts == ts]
        return found

    def ticket_posts(self, channel: str, ticket_id: int) -> list[Message]:
        return [m for m in self.posts(channel) if m.blocks and m.text.startswith(f"#{ticket_id} ")]

    # -- the wire --------------------------------------------------------------------------------

    async def _args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            ctype = request.content_type
            if ctype == "application/json":
                args.update(await request.json())
            elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                args.update({k: v for k, v in form.items() if isinstance(v, str)})
        for key in ("blocks", "files", "attachments", "view"):
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        return args

    def _failure(self, method: str) -> Failure | None:
        return next_failure(self.failures, method)

    def _ts(self) -> str:
        return f"{int(time.time())}.{next(self._ids):06d}"

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        args = await self._args(request)
        if method in self.delays:
            await asyncio.sleep(self.delays[method])
        failure = self._failure(method)
        if failure is not None:
            self.calls.append(Call(method, args, failure.status))
            if failure.status == 429:
                return web.json_response(
                    {"ok": False, "error": "ratelimited"},
                    status=429,
                    headers={"Retry-After": str(failure.retry_after or 1)},
                )
            return web.Response(
                status=failure.status, text="<html><body>Bad gateway</body></html>", content_type="text/html"
            )
        self.calls.append(Call(method, args))
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if method in self.errors:
            return web.json_response({"ok": False, "error": self.errors[method]})
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"}, status=404)
        body = handler(args)
        if method in self.lags:
            await asyncio.sleep(self.lags[method])
        return web.json_response(body)

    @staticmethod
    def _error(error: str) -> dict[str, Any]:
        return {"ok": False, "error": error}

    def _known_channel(self, value: Any) -> str | None:
        """Methods that take a channel ID only (chat.update, chat.getPermalink...)."""
        return value if isinstance(value, str) and value in self.channels.values() else None

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"{WORKSPACE}/",
            "team": "I One Tech Solutions",
            "user": "supportbot",
            "team_id": TEAM,
            "user_id": BOT_USER,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = args.get("channel")
        if not channel:
            return self._error("channel_not_found")
        if not args.get("text") and not args.get("blocks"):
            return self._error("no_text")
        cid = self.channel_id(str(channel))
        thread_ts = args.get("thread_ts")
        if thread_ts is not None and not any(m.channel == cid and m.ts == thread_ts for m in self.messages):
            return self._error("thread_not_found")
        message = Message(
            channel=cid,
            ts=self._ts(),
            text=str(args.get("text") or ""),
            blocks=list(args.get("blocks") or []),
            thread_ts=thread_ts,
            reply_broadcast=bool(args.get("reply_broadcast")),
            metadata=args.get("metadata") if isinstance(args.get("metadata"), dict) else None,
        )
        self.messages.append(message)
        return {
            "ok": True,
            "channel": cid,
            "ts": message.ts,
            "message": {
                "type": "message",
                "user": BOT_USER,
                "bot_id": BOT_ID,
                "text": message.text,
                "ts": message.ts,
            },
        }

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        cid = self._known_channel(args.get("channel"))
        if cid is None:
            return self._error("channel_not_found")
        found = [m for m in self.messages if m.channel == cid and m.ts == args.get("ts")]
        if not found:
            return self._error("message_not_found")
        message = found[0]
        if "text" in args:
            message.text = str(args["text"] or "")
        if "blocks" in args:
            message.blocks = list(args["blocks"] or [])
        message.updates += 1
        return {"ok": True, "channel": cid, "ts": message.ts, "text": message.text}

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        cid = self._known_channel(args.get("channel"))
        if cid is None:
            return self._error("channel_not_found")
        if not args.get("user"):
            return self._error("user_not_in_channel")
        self.ephemerals.append({**args, "channel": cid})
        return {"ok": True, "message_ts": self._ts()}

    def _chat_getPermalink(self, args: dict[str, Any]) -> dict[str, Any]:
        cid = self._known_channel(args.get("channel"))
        if cid is None:
            return self._error("channel_not_found")
        found = [m for m in self.messages if m.channel == cid and m.ts == args.get("message_ts")]
        if not found:
            return self._error("message_not_found")
        message = found[0]
        link = f"{WORKSPACE}/archives/{cid}/p{message.ts.replace('.', '')}"
        if message.thread_ts:
            link += f"?thread_ts={message.thread_ts}&cid={cid}"
        return {"ok": True, "channel": cid, "permalink": link}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        view = args.get("view")
        if not args.get("trigger_id"):
            return self._error("invalid_trigger_id")
        if not isinstance(view, dict) or view.get("type") != "modal":
            return self._error("invalid_arguments")
        opened = {**view, "id": f"V{next(self._ids):08d}", "team_id": TEAM, "state": {"values": {}}}
        self.views.append(opened)
        return {"ok": True, "view": opened}

    def _conversations_list(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "channels": [
                {"id": cid, "name": name, "is_channel": True} for name, cid in self.channels.items()
            ],
            "response_metadata": {"next_cursor": ""},
        }

    def _history_page(self, found: list[Message], args: dict[str, Any]) -> dict[str, Any]:
        oldest = float(args.get("oldest") or 0)
        with_metadata = str(args.get("include_all_metadata", "")).lower() in {"1", "true"}
        found = [m for m in found if float(m.ts) >= oldest]
        return {
            "ok": True,
            "messages": [m.wire(with_metadata) for m in found],
            "has_more": False,
            "response_metadata": {"next_cursor": ""},
        }

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        cid = self._known_channel(args.get("channel"))
        if cid is None:
            return self._error("channel_not_found")
        roots = [m for m in self.messages if m.channel == cid and (m.thread_ts is None or m.reply_broadcast)]
        return self._history_page(list(reversed(roots)), args)  # newest first, as Slack answers

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        cid = self._known_channel(args.get("channel"))
        if cid is None:
            return self._error("channel_not_found")
        ts = args.get("ts")
        thread = [m for m in self.messages if m.channel == cid and (m.ts == ts or m.thread_ts == ts)]
        if not thread:
            return self._error("thread_not_found")
        return self._history_page(thread, args)  # the parent first, then replies oldest first

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = args.get("user")
        if user not in self.users:
            return self._error("user_not_found")
        name = self.users[user]
        return {
            "ok": True,
            "user": {
                "id": user,
                "team_id": TEAM,
                "name": name.split()[0].lower(),
                "real_name": name,
                "is_bot": False,
                "profile": {"real_name": name, "display_name": name},
            },
        }

    def _files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("filename") or not str(args.get("length", "")).isdigit():
            return self._error("invalid_arguments")
        file_id = f"F0{next(self._ids):08d}"
        return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        files = args.get("files") or []
        if not files or any(f.get("id") not in self.uploads for f in files):
            return self._error("file_not_found")
        channel = args.get("channel_id")
        if channel is not None and self._known_channel(channel) is None:
            return self._error("channel_not_found")
        thread_ts = args.get("thread_ts")
        if thread_ts is not None and not any(m.ts == thread_ts for m in self.messages):
            return self._error("invalid_thread_ts")
        shared = [
            {
                "id": f["id"],
                "title": f.get("title"),
                "channel": channel,
                "thread_ts": thread_ts,
                "initial_comment": args.get("initial_comment"),
            }
            for f in files
        ]
        self.shared_files.extend(shared)
        return {"ok": True, "files": [{"id": f["id"], "title": f["title"]} for f in shared]}

    async def _upload(self, request: web.Request) -> web.Response:
        self.uploads[request.match_info["file_id"]] = await request.read()
        self.calls.append(Call("upload", {"file_id": request.match_info["file_id"]}))
        return web.Response(text=f"OK - {len(self.uploads[request.match_info['file_id']])}")

    async def _respond(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.responses.append({"key": request.match_info["key"], **body})
        return web.Response(text="ok")
