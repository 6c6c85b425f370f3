"""Web chat throughput: N concurrent customers over the REST channel, next to a bare endpoint.

    .venv/bin/python bench/webchat.py [--clients 50] [--seconds 15] [--databases sqlite,postgres]
                                      [--workers 2] [--baseline DIR [--slice 3]] [--steps]
    .venv/bin/python bench/webchat.py --replicas 2 [--redis] [--clients 50] [--seconds 15]

Each target runs as its own uvicorn process (one worker, as `supportbot serve` does; on
PostgreSQL also `--workers N` processes); the load comes from this process with aiohttp.
`--baseline DIR` runs the same targets again from another source tree (a whole one, for example
`git archive <commit> | tar -x -C DIR`; older trees with their code under `src/supportbot/` too),
with its own policy and its own trained NLU model, so a change is measured before and after in one
run on the same machine. Both trees' servers then run at once and take the load in turns, a
slice of `--slice` seconds each (the order swapped every round), so that a machine whose speed
drifts during the run (a shared one) slows both alike; the table adds the median of the per-slice
ratios of messages/s, with its quartiles. Every customer runs a real intake (free text, priority
button, troubleshooting answers, contact, confirmation) so each message is NLU + a database write,
and every tenth message opens a ticket. Prints messages/s and latency percentiles side by side
(`--steps`: also per message of the script, which shows which turns make the tail).

`--replicas N` measures several `supportbot serve` replicas on one PostgreSQL instead: the same
load through one port, a round-robin TCP proxy (bench/replicas.py, its own process) in front of
1 replica and then of N, in the same run with the same replicas running. With `--redis`
(REDIS_URL, default redis://127.0.0.1:6379/0) the replicas share socket.io through Redis, and
agents' replies are timed across replicas: socket.io customers on replica A, each with a ticket,
and signed Slack thread replies (a fake Slack on loopback) sent to replica B, or to A for
comparison; from the request to the customer's `bot_uttered`, p50/p99.

The targets run with `SUPPORTBOT_RATE_LIMITS=off`: fifty scripted customers on one address, each
answering as fast as the server does, are exactly what the abuse limits stop. Each customer starts
as a new visitor and speaks with the session id the server mints in its first answer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("SUPPORTBOT_BENCH_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
PG_DB = "supportbot_bench_webchat"

# The opening answers no troubleshooting check by itself (a report "for everyone" would pre-fill
# "others affected?" in trees that read it), so older trees run the same ten turns as this one.
SCRIPT = [
    "our ERP crashes since this morning",
    '/choose_priority{"priority":"high"}',
    "/affirm",
    "/deny",
    "/affirm",
    "/affirm",
    "Sokha Chan",
    "sokha@example.com",
    "/affirm",
    "what is the status of my tickets",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fresh_pg_database(n: int = 0) -> str:
    """A new, empty database for one target (never the shared one), dropped and created again."""
    import asyncpg

    admin = PG_ADMIN.replace("postgresql+asyncpg://", "postgresql://")
    name = f"{PG_DB}_{n}" if n else PG_DB

    async def recreate() -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(recreate())
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


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


async def customer(
    http: aiohttp.ClientSession,
    url: str,
    stop: float,
    latencies: list[float],
    errors: list[str],
    by_step: list[list[float]] | None = None,
) -> None:
    while time.monotonic() < stop:
        sender = f"new-{uuid.uuid4().hex}"  # the server answers with the session it minted
        for step, text in enumerate(SCRIPT):
            if time.monotonic() >= stop:
                return
            began = time.perf_counter()
            try:
                async with http.post(url, json={"sender": sender, "message": text}) as response:
                    body = await response.read()
                    if response.status != 200:
                        errors.append(str(response.status))
                        continue
                    if step == 0:
                        sender = json.loads(body)[0]["recipient_id"]
            except aiohttp.ClientError as exc:
                errors.append(type(exc).__name__)
                continue
            latencies.append(time.perf_counter() - began)
            if by_step is not None:
                by_step[step].append(latencies[-1])


def percentile(sorted_seconds: list[float], q: float) -> float:
    """The q-quantile of sorted latencies, in milliseconds."""
    if not sorted_seconds:
        return 0.0
    return sorted_seconds[min(len(sorted_seconds) - 1, int(q * len(sorted_seconds)))] * 1000


async def load(
    port: int, clients: int, seconds: float, by_step: list[list[float]] | None = None
) -> dict[str, float]:
    url = f"http://127.0.0.1:{port}/webhooks/rest/webhook"
    latencies: list[float] = []
    errors: list[str] = []
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as http:
        # Warm up (the first requests load caches), then measure.
        await asyncio.gather(*(customer(http, url, time.monotonic() + 2, [], []) for _ in range(clients)))
        began = time.monotonic()
        stop = began + seconds
        await asyncio.gather(*(customer(http, url, stop, latencies, errors, by_step) for _ in range(clients)))
        elapsed = time.monotonic() - began
    return summary(latencies, len(errors), elapsed)


async def run_target(
    name: str,
    env: dict[str, str],
    clients: int,
    seconds: float,
    workers: int = 1,
    by_step: list[list[float]] | None = None,
    tree: Tree = THIS_TREE,
) -> dict[str, float]:
    port = free_port()
    process = start("bare" if name == "bare endpoint" else "app", port, env, workers, tree)
    try:
        await wait_ready(f"http://127.0.0.1:{port}/healthz")
        return await load(port, clients, seconds, by_step)
    finally:
        process.terminate()
        process.wait(timeout=20)


def summary(latencies: list[float], errors: int, elapsed: float) -> dict[str, float]:
    latencies.sort()
    return {
        "messages": len(latencies),
        "rate": len(latencies) / elapsed,
        "p50": percentile(latencies, 0.50),
        "p99": percentile(latencies, 0.99),
        "mean": statistics.fmean(latencies) * 1000 if latencies else 0.0,
        "errors": errors,
    }


async def run_pair(
    pair: list[tuple[str, dict[str, str], int, Tree]],
    clients: int,
    seconds: float,
    slice_seconds: float,
    by_step: list[list[list[float]]],
) -> tuple[list[dict[str, float]], list[float]]:
    """This tree and the baseline served at once, loaded in turns; each one's results over all its
    slices (and latencies per step into `by_step`, one list per tree), and the ratio of their
    messages/s in each round (this tree / the baseline)."""
    ports = [free_port() for _ in pair]
    processes = [
        start("app", port, env, workers, tree)
        for port, (_, env, workers, tree) in zip(ports, pair, strict=True)
    ]
    try:
        for port in ports:
            await wait_ready(f"http://127.0.0.1:{port}/healthz")
        urls = [f"http://127.0.0.1:{port}/webhooks/rest/webhook" for port in ports]
        latencies: list[list[float]] = [[] for _ in pair]
        errors: list[list[str]] = [[] for _ in pair]
        elapsed = [0.0 for _ in pair]
        rates: list[list[float]] = [[] for _ in pair]
        connector = aiohttp.TCPConnector(limit=clients)
        async with aiohttp.ClientSession(connector=connector) as http:
            for url in urls:  # warm up both (the first requests load caches)
                await asyncio.gather(
                    *(customer(http, url, time.monotonic() + 2, [], []) for _ in range(clients))
                )
            for round_ in range(max(2, round(seconds / slice_seconds))):
                order = list(range(len(pair)))
                for i in order if round_ % 2 == 0 else order[::-1]:
                    before, began = len(latencies[i]), time.monotonic()
                    await asyncio.gather(
                        *(
                            customer(
                                http, urls[i], began + slice_seconds, latencies[i], errors[i], by_step[i]
                            )
                            for _ in range(clients)
                        )
                    )
                    took = time.monotonic() - began
                    elapsed[i] += took
                    rates[i].append((len(latencies[i]) - before) / took)
        results = [summary(latencies[i], len(errors[i]), elapsed[i]) for i in range(len(pair))]
        return results, [a / b for a, b in zip(rates[0], rates[1], strict=True)]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--workers", type=int, default=2, help="PostgreSQL also with N workers (1: skip)")
    parser.add_argument("--baseline", type=Path, help="a source tree to measure next to this one")
    parser.add_argument(
        "--slice", type=float, default=3.0, help="with --baseline: seconds of load each tree takes in turn"
    )
    parser.add_argument("--steps", action="store_true", help="also latency per step of the intake script")
    parser.add_argument(
        "--replicas", type=int, default=1, help="N replicas behind one port vs 1 (PostgreSQL)"
    )
    parser.add_argument("--redis", action="store_true", help="with --replicas: share socket.io through Redis")
    parser.add_argument("--latency-customers", type=int, default=10)
    parser.add_argument("--latency-rounds", type=int, default=5)
    args = parser.parse_args()
    if args.replicas > 1:
        replicas_main(args)
        return

    workdir = Path(tempfile.mkdtemp(prefix="supportbot-bench-"))
    trees = [("", THIS_TREE)]
    if args.baseline is not None:
        trees.append((" (baseline)", Tree.at(args.baseline)))
    models = {tree: train_model(workdir, tree) for _, tree in trees}
    targets: list[tuple[str, dict[str, str], int, Tree]] = [("bare endpoint", {}, 1, THIS_TREE)]
    for database in args.databases.split(","):
        for workers in (1, args.workers) if database == "postgres" and args.workers > 1 else (1,):
            for suffix, tree in trees:
                if database == "sqlite":
                    url = f"sqlite+aiosqlite:///{workdir}/bench-{len(targets)}.db"
                else:
                    url = fresh_pg_database(len(targets))
                label = database if workers == 1 else f"{database} x{workers}"
                env = {
                    "DATABASE_URL": url,
                    "SUPPORTBOT_NLU_MODEL": str(models[tree]),
                    "SUPPORTBOT_LOG_LEVEL": "WARNING",
                }
                targets.append((f"supportbot, {label}{suffix}", env, workers, tree))
    results: list[tuple[str, dict[str, float]]] = []
    steps: list[tuple[str, list[list[float]]]] = []
    ratios: dict[str, list[float]] = {}
    i = 0
    while i < len(targets):
        # With a baseline, each target of this tree runs together with the baseline's (run_pair).
        paired = args.baseline is not None and i > 0
        pair = targets[i : i + 2] if paired else targets[i : i + 1]
        i += len(pair)
        for _, env, workers, tree in pair:
            if workers > 1:  # workers start at once: migrate first, so they do not race to create tables
                subprocess.run(
                    tree.command("db", "upgrade"),
                    cwd=tree.root,
                    check=True,
                    env={**os.environ, **tree.env, **env},
                    stdout=subprocess.DEVNULL,
                )
        if paired:
            names = " and ".join(name for name, *_ in pair)
            print(
                f"running {names} in turns ({args.clients} clients, {args.seconds:.0f}s each)...",
                file=sys.stderr,
            )
            pair_steps: list[list[list[float]]] = [[[] for _ in SCRIPT] for _ in pair]
            pair_results, ratios[pair[0][0]] = asyncio.run(
                run_pair(pair, args.clients, args.seconds, args.slice, pair_steps)
            )
            results.extend((name, result) for (name, *_), result in zip(pair, pair_results, strict=True))
            steps.extend((name, s) for (name, *_), s in zip(pair, pair_steps, strict=True))
            continue
        name, env, workers, tree = pair[0]
        print(f"running {name} ({args.clients} clients, {args.seconds:.0f}s)...", file=sys.stderr)
        by_step: list[list[float]] = [[] for _ in SCRIPT]
        result = asyncio.run(run_target(name, env, args.clients, args.seconds, workers, by_step, tree))
        results.append((name, result))
        steps.append((name, by_step))
    shutil.rmtree(workdir, ignore_errors=True)

    bare_rate = results[0][1]["rate"]
    print(f"\n{args.clients} concurrent customers over the REST channel, {os.cpu_count()} cores")
    print("(SUPPORTBOT_RATE_LIMITS=off: the abuse limits would refuse this scripted load)\n")
    extra = f" {'vs baseline (q1-q3)':>19} |" if ratios else ""
    print(
        f"| {'target':<34} | {'messages/s':>10} | {'vs bare':>7} | {'p50 ms':>7} | {'p99 ms':>7} | {'errors':>6} |"
        + extra
    )
    print(
        f"|{'-' * 36}|{'-' * 12}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 8}|"
        + ("-" * 21 + "|" if ratios else "")
    )
    for name, r in results:
        cell = ""
        if ratios:
            cell = " " * 19 + " |"
            if name in ratios:
                q1, median, q3 = statistics.quantiles(ratios[name], n=4)
                cell = f" {f'{median:.2f} ({q1:.2f}-{q3:.2f})':>19} |"
        print(
            f"| {name:<34} | {r['rate']:>10.0f} | {r['rate'] / bare_rate:>7.2f} | {r['p50']:>7.1f} | "
            f"{r['p99']:>7.1f} | {r['errors']:>6.0f} |" + cell
        )
    if args.steps:
        print_steps(steps[1:])  # the bare endpoint answers every step alike


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


def replicas_main(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="supportbot-bench-"))
    env = {
        "DATABASE_URL": fresh_pg_database(90),
        "SUPPORTBOT_NLU_MODEL": str(train_model(workdir)),
        "SUPPORTBOT_LOG_LEVEL": "WARNING",
        "SUPPORTBOT_RATE_LIMITS": "off",  # one machine plays every customer
        "SUPPORTBOT_SWEEP_SECONDS": "3600",
    }
    if args.redis:
        env["REDIS_URL"] = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        env["SUPPORTBOT_REDIS_PREFIX"] = f"bench-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        [sys.executable, "-m", "bot.cli", "db", "upgrade"],
        cwd=ROOT,
        check=True,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
    )
    throughput, latency = asyncio.run(run_replicas(args, env))
    shutil.rmtree(workdir, ignore_errors=True)
    where = "Redis" if args.redis else "no Redis"
    print(
        f"\n{args.clients} concurrent customers over the REST channel through one port, PostgreSQL, {where}, "
        f"{os.cpu_count()} cores\n"
    )
    print(
        f"| {'replicas behind the proxy':<27} | {'messages/s':>10} | {'p50 ms':>7} | {'p99 ms':>7} | {'errors':>6} |"
    )
    print(f"|{'-' * 29}|{'-' * 12}|{'-' * 9}|{'-' * 9}|{'-' * 8}|")
    for name, r in throughput:
        print(
            f"| {name:<27} | {r['rate']:>10.0f} | {r['p50']:>7.1f} | {r['p99']:>7.1f} | {r['errors']:>6.0f} |"
        )
    if latency:
        print("\nagents' replies (signed Slack thread replies) to a web chat customer on replica A\n")
        print(f"| {'reply sent to':<22} | {'replies':>7} | {'p50 ms':>7} | {'p99 ms':>7} | {'max ms':>7} |")
        print(f"|{'-' * 24}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 9}|")
        for label, seconds in latency.items():
            seconds.sort()
            top = seconds[-1] * 1000 if seconds else 0.0
            print(
                f"| {label:<22} | {len(seconds):>7} | {percentile(seconds, 0.5):>7.1f} | "
                f"{percentile(seconds, 0.99):>7.1f} | {top:>7.1f} |"
            )


def start_proxy(port: int, backends: list[int]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "bench/replicas.py", "proxy", str(port), *map(str, backends)]
    return subprocess.Popen(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})


async def run_replicas(
    args: argparse.Namespace, env: dict[str, str]
) -> tuple[list[tuple[str, dict[str, float]]], dict[str, list[float]]]:
    from bench.replicas import cross_replica_latency, slack_env
    from tests.bot.slack.fake_slack import FakeSlack

    fake = FakeSlack()
    await fake.start()
    env = {**env, **slack_env(fake.api_url)}
    ports = [free_port() for _ in range(args.replicas)]
    processes = [start("app", port, env) for port in ports]
    proxies: list[subprocess.Popen[bytes]] = []
    try:
        for port in ports:
            await wait_ready(f"http://127.0.0.1:{port}/healthz")
        throughput = []
        for count in (1, args.replicas):
            front = free_port()
            proxies.append(start_proxy(front, ports[:count]))
            await wait_ready(f"http://127.0.0.1:{front}/healthz")
            print(f"running {count} replica(s) behind the proxy ({args.clients} clients)...", file=sys.stderr)
            label = "1 replica" if count == 1 else f"{count} replicas"
            throughput.append((label, await load(front, args.clients, args.seconds)))
        latency: dict[str, list[float]] = {}
        if args.redis:
            print("timing agents' replies across replicas...", file=sys.stderr)
            a, b = (f"http://127.0.0.1:{port}" for port in ports[:2])
            latency = await cross_replica_latency(
                a,
                {"the other replica (B)": b, "the same replica (A)": a},
                fake,
                customers=args.latency_customers,
                rounds=args.latency_rounds,
                tier1="#support-tier1",
            )
        return throughput, latency
    finally:
        for process in [*proxies, *processes]:
            process.terminate()
        for process in [*proxies, *processes]:
            process.wait(timeout=20)
        await fake.stop()


def print_steps(steps: list[tuple[str, list[list[float]]]]) -> None:
    """p50 / p99 in ms of each message of the script, one column per target: where the tail is."""
    print("\nper step of the intake, p50 / p99 ms\n")
    print("| step | " + " | ".join(name.removeprefix("supportbot, ") for name, _ in steps) + " |")
    print("|---|" + "---|" * len(steps))
    for i, text in enumerate(SCRIPT):
        cells = []
        for _, by_step in steps:
            timings = sorted(by_step[i])
            cells.append(f"{percentile(timings, 0.5):.0f} / {percentile(timings, 0.99):.0f}")
        print(f"| {i + 1}. {text[:28]} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
