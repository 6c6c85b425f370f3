"""The load driver of bench/webchat.py: scripted customers over the REST channel, each running a
real intake in a loop, against one server or against two in turns, summed up as messages/s and
latency percentiles."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid

import aiohttp

from bench.servers import THIS_TREE, Tree, free_port, start, wait_ready

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
