"""Instructions per customer message, counted by valgrind: a measure the machine's noise leaves alone.

    .venv/bin/python bench/instructions.py [--baseline DIR] [--customers 30] [--warm-up 10]
                                           [--databases sqlite,postgres]

On a shared machine the webchat benchmark's messages/s drift by a third within minutes; the number
of instructions a message takes does not. Each tree's app (this one, and with `--baseline` another
tree, as for bench/webchat.py) runs in a process of its own under valgrind's callgrind, driven
in-process through its ASGI interface: the lifespan starts it, then scripted customers post the
intake of bench/webchat_load.py to the REST webhook one message at a time (the whole app but
uvicorn and the socket: middleware, routing, NLU, flows, the database driver). Counting starts after
`--warm-up` customers (caches filled, code paths taken once) and stops after `--customers` more.
The table gives instructions per message, and the ratio to the baseline. The two trees run at once,
one per core. Instructions are not time (cache misses, system calls and waiting are not in them),
so this ranks changes of the CPU work; bench/webchat.py measures what customers see.

Needs valgrind (Debian's `valgrind` package). Under it a message takes about fifty times as long.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import uuid
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/instructions.py` puts bench/ on the path, not the project
    sys.path.insert(0, str(ROOT))

from bench.servers import Tree, fresh_pg_database, trees_and_models  # noqa: E402
from bench.webchat_load import SCRIPT  # noqa: E402

WEBHOOK = "/webhooks/rest/webhook"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--baseline", type=Path, help="a source tree to count next to this one")
    parser.add_argument("--customers", type=int, default=30, help="customers counted, ten messages each")
    parser.add_argument("--warm-up", type=int, default=10, help="customers before counting starts")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--child", nargs=2, metavar=("PACKAGE", "CUSTOMERS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(child(args.child[0], int(args.child[1]), args.warm_up))
        return

    workdir = Path(tempfile.mkdtemp(prefix="supportbot-instructions-"))
    trees, models = trees_and_models(workdir, args.baseline, ("this tree", "baseline"))
    rows: list[tuple[str, list[float]]] = []
    for database in args.databases.split(","):
        print(f"counting {database} ({args.warm_up} + {args.customers} customers)...", file=sys.stderr)
        runs = []
        for n, (_, tree) in enumerate(trees):
            url = (
                f"sqlite+aiosqlite:///{workdir}/{n}.db" if database == "sqlite" else fresh_pg_database(n + 1)
            )
            runs.append(count(tree, url, models[tree], args.customers, args.warm_up, workdir / f"{n}.out"))
        counted = [finish(run) for run in runs]
        rows.append((database, [c / (args.customers * len(SCRIPT)) for c in counted]))
    names = [name for name, _ in trees]
    print(f"\ninstructions per message ({len(SCRIPT)}-message intake, {args.customers} customers)\n")
    header = "| database | " + " | ".join(names) + (" | this / baseline |" if len(trees) > 1 else " |")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for database, per in rows:
        ratio = f" {per[0] / per[1]:.3f} |" if len(per) > 1 else ""
        print(f"| {database} | " + " | ".join(f"{p:,.0f}" for p in per) + " |" + ratio)


def count(
    tree: Tree, url: str, model: Path, customers: int, warm_up: int, out: Path
) -> subprocess.Popen[str]:
    command = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",  # counting starts when the child asks (callgrind_control -i on)
        f"--callgrind-out-file={out}",
        sys.executable,
        str(Path(__file__).resolve()),
        "--warm-up",
        str(warm_up),
        "--child",
        tree.package,
        str(customers),
    ]
    env = {
        **os.environ,
        **tree.env,
        "DATABASE_URL": url,
        "SUPPORTBOT_NLU_MODEL": str(model),
        "SUPPORTBOT_RATE_LIMITS": "off",
        "SUPPORTBOT_LOG_LEVEL": "WARNING",
        "PYTHONHASHSEED": "0",
    }
    return subprocess.Popen(
        command, cwd=tree.root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


def finish(run: subprocess.Popen[str]) -> int:
    _, err = run.communicate()
    found = re.search(r"Collected\s*:\s*(\d+)", err)
    if run.returncode != 0 or found is None:
        raise RuntimeError(f"the counted run failed:\n{err[-3000:]}")
    return int(found.group(1))


# -- the child: one tree's app, under valgrind ------------------------------------------------------


async def child(package: str, customers: int, warm_up: int) -> None:
    app_module = __import__(f"{package}.app", fromlist=["create_app"])
    app = app_module.create_app()
    async with lifespan(app) as state:
        for n in range(warm_up + customers):
            if n == warm_up:
                instrument("on")
            sender = f"new-{uuid.uuid4().hex}"  # the server answers with the session it minted
            for step, text in enumerate(SCRIPT):
                replies = await post(app, state, {"sender": sender, "message": text})
                if step == 0:
                    sender = replies[0]["recipient_id"]
        instrument("off")


def instrument(on_off: str) -> None:
    subprocess.run(
        ["callgrind_control", "-i", on_off, str(os.getpid())], check=True, stdout=subprocess.DEVNULL
    )


@asynccontextmanager
async def lifespan(app: Any) -> Any:
    """The ASGI lifespan protocol, as a server runs it: started on entry, shut down on exit."""
    state: dict[str, Any] = {}
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": state}
    running = asyncio.create_task(app(scope, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    if (await outbox.get())["type"] != "lifespan.startup.complete":
        raise RuntimeError("the app did not start")
    try:
        yield state
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await running


async def post(app: Any, state: dict[str, Any], body: dict[str, Any]) -> Any:
    raw = json.dumps(body).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": WEBHOOK,
        "raw_path": WEBHOOK.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(raw)).encode()),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 80),
        "state": dict(state),
    }
    sent = False
    answered = asyncio.Event()
    answer: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:  # as a server does: the client is gone once the answer is out
            await answered.wait()
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        answer.append(message)

    try:
        await app(scope, receive, send)
    finally:
        answered.set()
    status = answer[0]["status"]
    body_out = b"".join(m.get("body", b"") for m in answer if m["type"] == "http.response.body")
    if status != 200:
        raise RuntimeError(f"{status}: {body_out[:300]!r}")
    return json.loads(body_out)


if __name__ == "__main__":
    main()
