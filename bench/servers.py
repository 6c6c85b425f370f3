"""The servers bench/webchat.py loads: a source tree's app (or the bare endpoint) under uvicorn on
a free port, the tree's own trained NLU model, a fresh PostgreSQL database, and the wait until a
server answers."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.postgres import database_url, recreate_database

ROOT = Path(__file__).resolve().parent.parent
PG_DB = "supportbot_bench_webchat"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fresh_pg_database(n: int = 0) -> str:
    """A new, empty database for one target (never the shared one), dropped and created again."""
    name = f"{PG_DB}_{n}" if n else PG_DB
    asyncio.run(recreate_database(name))
    return database_url(name)


async def wait_ready(url: str, within: float = 90) -> None:
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(url) as response:
                    if response.status in (200, 404, 405):
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.3)
    raise RuntimeError(f"{url} did not come up")


@dataclass(frozen=True)
class Tree:
    """A source tree to serve: this one, or a baseline (its own folder, policy and packages)."""

    root: Path
    package: str  # "bot", or "supportbot.bot" in trees from before the top-level packages

    @classmethod
    def at(cls, root: Path) -> Tree:
        old = (root / "src" / "supportbot").is_dir()
        return cls(root.resolve(), "supportbot.bot" if old else "bot")

    @property
    def env(self) -> dict[str, str]:
        # The tree's folder comes first on the path (`python -m` runs with it as the working folder).
        path = self.root / "src" if self.package.startswith("supportbot.") else self.root
        return {"PYTHONPATH": str(path)}

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", f"{self.package}.cli", *args]


THIS_TREE = Tree(ROOT, "bot")


def start(
    target: str, port: int, env: dict[str, str], workers: int = 1, tree: Tree = THIS_TREE
) -> subprocess.Popen[bytes]:
    app = ["bench.bare:app"] if target == "bare" else [f"{tree.package}.app:create_app", "--factory"]
    if workers > 1:
        app += ["--workers", str(workers)]
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        *app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    # Scripted load from one address is what the abuse limits refuse: off for the benchmark.
    env = {**os.environ, "SUPPORTBOT_RATE_LIMITS": "off", **tree.env, **env}
    cwd = ROOT if target == "bare" else tree.root
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL)


def trees_and_models(
    workdir: Path, baseline: Path | None, labels: tuple[str, str]
) -> tuple[list[tuple[str, Tree]], dict[Tree, Path]]:
    """This tree and, given one, the baseline tree, each with its label and its trained model."""
    trees = [(labels[0], THIS_TREE)]
    if baseline is not None:
        trees.append((labels[1], Tree.at(baseline)))
    return trees, {tree: train_model(workdir, tree) for _, tree in trees}


def train_model(workdir: Path, tree: Tree = THIS_TREE) -> Path:
    """The tree's NLU model, trained by its own code on its own data."""
    model = workdir / f"nlu-{abs(hash(tree.root))}.joblib"
    subprocess.run(
        tree.command("nlu", "train"),
        cwd=tree.root,
        check=True,
        env={**os.environ, **tree.env, "SUPPORTBOT_NLU_MODEL": str(model)},
        stdout=subprocess.DEVNULL,
    )
    return model
