"""Knowledge article search: latency over the held-out questions, and their precision and recall.

    PYTHONPATH=. .venv/bin/python bench/kb.py [--rounds 20] [--all]

Loads the articles once (the load and index time is printed too), then times
`KnowledgeBase.search` on every held-out question of tests/desk/kb_questions.csv (`--all`: every
question), `--rounds` times after one warm-up round, and prints p50, p90, p99 and max per
language and overall, in milliseconds, with the precision and recall of the shipped thresholds.
The CPU columns (the thread's CPU time) leave out time the process spent waiting for a core: on
a busy machine the wall-clock tail is mostly that.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import statistics
import time
from pathlib import Path

from desk.knowledge import LANGUAGES, KnowledgeBase, evaluate, load_questions

GOAL_P50_MS = 2.0  # the goal for one search, the median over the questions
QUESTIONS = Path(__file__).resolve().parent.parent / "tests" / "desk" / "kb_questions.csv"


def percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--all", action="store_true", help="every question, not only the held-out half")
    args = parser.parse_args()

    started = time.perf_counter()
    kb = KnowledgeBase.load()
    loaded = time.perf_counter() - started
    questions = [q for q in load_questions(QUESTIONS) if args.all or not q.tune]
    print(f"{len(kb.articles())} articles loaded and indexed in {loaded * 1000:.0f} ms")
    print(f"{len(questions)} questions x {args.rounds} rounds; thresholds {kb.thresholds}")

    for q in questions:  # warm-up
        kb.search(q.text, q.language)
    timings: dict[str, list[float]] = {lang: [] for lang in LANGUAGES}
    cpu: dict[str, list[float]] = {lang: [] for lang in LANGUAGES}
    gc.collect()
    for _ in range(args.rounds):
        for q in questions:
            start, start_cpu = time.perf_counter(), time.thread_time()
            kb.search(q.text, q.language)
            cpu[q.language].append((time.thread_time() - start_cpu) * 1000)
            timings[q.language].append((time.perf_counter() - start) * 1000)

    print(
        f"{'':8} {'n':>6} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} {'mean ms':>8}"
        f" {'cpu p50':>8} {'cpu p99':>8}"
    )
    for name in (*LANGUAGES, "all"):
        langs = LANGUAGES if name == "all" else (name,)
        values = sorted(itertools.chain.from_iterable(timings[lang] for lang in langs))
        cpu_values = sorted(itertools.chain.from_iterable(cpu[lang] for lang in langs))
        print(
            f"{name:8} {len(values):>6} {percentile(values, 0.5):8.3f} {percentile(values, 0.9):8.3f} "
            f"{percentile(values, 0.99):8.3f} {values[-1]:8.3f} {statistics.fmean(values):8.3f}"
            f" {percentile(cpu_values, 0.5):8.3f} {percentile(cpu_values, 0.99):8.3f}"
        )
    overall = sorted(itertools.chain.from_iterable(timings.values()))
    p50 = percentile(overall, 0.5)
    print(f"goal: p50 under {GOAL_P50_MS} ms: {'met' if p50 < GOAL_P50_MS else 'NOT met'} ({p50:.3f} ms)")
    for name in (*LANGUAGES, "all"):
        chosen = [q for q in questions if name in ("all", q.language)]
        figures = evaluate(kb, chosen)
        print(
            f"{name:8} precision {figures.precision:.3f} recall {figures.recall:.3f} "
            f"(answered {figures.answered}, answerable {figures.answerable}, "
            f"answered though no article fits {figures.false_on_unanswerable})"
        )


if __name__ == "__main__":
    main()
