"""The embedded NLU next to Rasa 3.6 (the shipped nlu/config.yml), on the same train/test data.

    .venv/bin/python bench/nlu_vs_rasa.py [--banking77 DIR] [--rasa-train-limit N] [--json OUT]

Datasets: the project's own nlu/ (a stratified 80/20 split, seed 0, annotations stripped) and
BANKING77 (its own train/test CSV files). Each engine runs in a child process of its own, so
memory is measured per engine: `serve RSS` is the resident memory of a process holding the
trained model after parsing the test set (the embedded engine loaded by a fresh Python process;
Rasa's `rasa run` server), `peak RSS` the most any of that engine's processes used, training
included. Embedded latency is `parse_sync` in process; Rasa latency is `POST /model/parse` over
loopback HTTP, which is how supportbot asks it. Rasa needs .venv-rasa (`make rasa-venv`).

--rasa-train-limit N trains Rasa (and, for a like-for-like row, the embedded engine too) on a
stratified sample of N training rows of BANKING77, since DIET's 100 epochs on all 10,003 rows
take long on two cores; the embedded engine is always also measured on the full training set.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

DEFAULT_BANKING77 = Path("/work/shared/benchmarks/nlu/banking77")
COLUMNS = [
    ("dataset", "{}"),
    ("engine", "{}"),
    ("n_train", "{}"),
    ("n_test", "{}"),
    ("accuracy", "{:.4f}"),
    ("macro_f1", "{:.4f}"),
    ("oos_recall", "{:.4f}"),
    ("train_seconds", "{:.1f}"),
    ("parse_ms_p50", "{:.2f}"),
    ("parse_ms_p99", "{:.2f}"),
    ("serve_rss_mb", "{:.0f}"),
    ("peak_rss_mb", "{:.0f}"),
]


def write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["text", "intent"])
        writer.writerows(rows)
    return path


def read_rows(path: Path) -> list[tuple[str, str]]:
    with path.open(newline="", encoding="utf-8") as stream:
        return [(row["text"], row["intent"]) for row in csv.DictReader(stream)]


def stratified_sample(rows: list[tuple[str, str]], size: int, seed: int = 0) -> list[tuple[str, str]]:
    """`size` rows keeping each intent's share (sklearn's stratified split, fixed seed)."""
    from sklearn.model_selection import train_test_split

    if size >= len(rows):
        return rows
    kept, _ = train_test_split(rows, train_size=size, random_state=seed, stratify=[i for _, i in rows])
    return list(kept)


def project_split(folder: Path) -> tuple[Path, Path]:
    """The project's nlu/ examples, split 80/20 per intent with seed 0 (the same split every run)."""
    from sklearn.model_selection import train_test_split

    from nlu.training_data import load_training_data

    examples = load_training_data(ROOT / "nlu").examples
    train, test = train_test_split(
        examples, test_size=0.2, random_state=0, stratify=[intent for _, intent in examples]
    )
    return write_csv(folder / "nlu-train.csv", train), write_csv(folder / "nlu-test.csv", test)


# -- workers: one child process per engine and dataset ----------------------------------------------


def _vm_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def worker_embedded(train: Path, test: Path, model_out: Path) -> dict[str, Any]:
    from nlu.benchmark import read_csv, run_benchmark
    from nlu.embedded import EmbeddedNlu

    result = run_benchmark(train, test)
    texts, intents = read_csv(train)
    EmbeddedNlu.from_texts(texts, intents).save(model_out)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def worker_embedded_serve(model: Path, test: Path) -> dict[str, Any]:
    """A fresh process holding only the trained model, after parsing the test set."""
    from nlu.benchmark import read_csv
    from nlu.embedded import EmbeddedNlu

    loaded = EmbeddedNlu.load(model)
    for text in read_csv(test)[0]:
        loaded.parse_sync(text)
    return {"serve_rss_mb": _vm_rss_mb()}


def worker_rasa(train: Path, test: Path) -> dict[str, Any]:
    from nlu.rasa_server import find_rasa, run_rasa_benchmark

    rasa = find_rasa()
    if rasa is None:
        raise SystemExit("no .venv-rasa/bin/rasa: run `make rasa-venv` first")
    result = run_rasa_benchmark(train, test, config=ROOT / "nlu" / "config.yml", rasa=rasa)
    result["serve_rss_mb"] = result.pop("rasa_rss_mb")
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return result


def run_worker(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--worker", *args], capture_output=True, text=True, cwd=ROOT
    )
    if done.returncode != 0:
        raise SystemExit(f"worker {args[0]} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def measure(dataset: str, engine: str, train: Path, test: Path, folder: Path) -> dict[str, Any]:
    started = time.perf_counter()
    if engine == "embedded":
        model = folder / f"{dataset}-{len(read_rows(train))}.pickle"
        result = run_worker("embedded", str(train), str(test), str(model))
        result |= run_worker("embedded-serve", str(model), str(test))
    else:
        result = run_worker("rasa", str(train), str(test))
    result |= {"dataset": dataset, "engine": engine, "wall_seconds": round(time.perf_counter() - started, 1)}
    print(json.dumps(result), file=sys.stderr, flush=True)  # each row as soon as it is measured
    return result


def table(results: list[dict[str, Any]]) -> str:
    head = [name for name, _ in COLUMNS]
    rows = [
        [fmt.format(r[name]) if r.get(name) is not None else "-" for name, fmt in COLUMNS] for r in results
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"  # noqa: E731
    return "\n".join([line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--banking77", type=Path, default=DEFAULT_BANKING77, help="folder with train.csv, test.csv"
    )
    parser.add_argument(
        "--rasa-train-limit", type=int, default=0, help="stratified BANKING77 sample for Rasa"
    )
    parser.add_argument("--skip-rasa", action="store_true", help="measure the embedded engine only")
    parser.add_argument("--skip-banking77", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        kind, *paths = args.worker
        workers = {"embedded": worker_embedded, "embedded-serve": worker_embedded_serve, "rasa": worker_rasa}
        print(json.dumps(workers[kind](*map(Path, paths))))
        return

    engines = ["embedded"] if args.skip_rasa else ["embedded", "rasa"]
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="nlu-vs-rasa-") as tmp:
        folder = Path(tmp)
        train, test = project_split(folder)
        for engine in engines:
            results.append(measure("supportbot nlu/", engine, train, test, folder))
        if not args.skip_banking77:
            b_train, b_test = args.banking77 / "train.csv", args.banking77 / "test.csv"
            rows = read_rows(b_train)
            limit = args.rasa_train_limit
            if limit and limit < len(rows):
                results.append(measure("banking77", "embedded", b_train, b_test, folder))
                sample = write_csv(folder / "banking77-sample.csv", stratified_sample(rows, limit))
                for engine in engines:
                    results.append(measure(f"banking77 ({limit} train)", engine, sample, b_test, folder))
            else:
                for engine in engines:
                    results.append(measure("banking77", engine, b_train, b_test, folder))
    print(table(results))
    print(
        "\nembedded: parse_sync in process; rasa: POST /model/parse over loopback HTTP. "
        "train_seconds for rasa is the `rasa train nlu` process (TensorFlow start included). "
        f"cpus: {os.cpu_count()}"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
