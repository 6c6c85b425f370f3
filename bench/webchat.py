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
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/webchat.py` puts bench/ on the path, not the project
    sys.path.insert(0, str(ROOT))

from bench.servers import THIS_TREE, Tree, fresh_pg_database, trees_and_models  # noqa: E402
from bench.webchat_load import SCRIPT, percentile, run_pair, run_target  # noqa: E402
from bench.webchat_replicas import replicas_main  # noqa: E402


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
    trees, models = trees_and_models(workdir, args.baseline, ("", " (baseline)"))
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
