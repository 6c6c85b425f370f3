"""`bench/webchat.py --replicas N`: the same load through one port, a round-robin proxy
(bench/replicas.py) in front of 1 replica and then of N on one PostgreSQL, and with `--redis`
agents' replies timed across replicas; its tables."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from bench.servers import ROOT, free_port, fresh_pg_database, start, train_model, wait_ready
from bench.webchat_load import load, percentile


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
