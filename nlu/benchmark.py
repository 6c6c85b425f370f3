"""Measure the embedded engine on public intent datasets (CSV `text,intent`), as `supportbot nlu benchmark` does."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import f1_score

from nlu.embedded import EmbeddedNlu
from nlu.intents import OUT_OF_SCOPE, OUT_OF_SCOPE_LABELS

# Single-utterance latency is measured on this many test rows.
LATENCY_SAMPLE = 500
# In-scope validation accuracy the oos threshold may cost (one point).
IN_SCOPE_BUDGET = 0.01
# Other budgets reported beside it, to show the in-scope / out-of-scope trade-off (all tuned on val).
TRADE_OFF_BUDGETS = (0.0025, 0.005, 0.01, 0.02)


def read_csv(path: Path) -> tuple[list[str], list[str]]:
    """Texts and intents of a `text,intent` CSV file; a ValueError naming the file if it is not one."""
    try:
        with Path(path).open(newline="", encoding="utf-8") as stream:
            reader = csv.DictReader(stream)
            if not reader.fieldnames or not {"text", "intent"} <= set(reader.fieldnames):
                raise ValueError(f"{path}: needs the columns text,intent (found {reader.fieldnames})")
            rows = [(row["text"] or "", (row["intent"] or "").strip()) for row in reader]
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    except csv.Error as exc:
        raise ValueError(f"{path}: not a CSV file ({exc})") from exc
    if not rows:
        raise ValueError(f"{path}: no rows")
    return [text for text, _ in rows], [intent for _, intent in rows]


def is_oos(label: str) -> bool:
    """Whether a label (gold or predicted) means out of scope."""
    return label in OUT_OF_SCOPE_LABELS


def _decisions(scores: np.ndarray, intents: list[str], threshold: float) -> list[str]:
    """Predicted labels for a probability matrix under a threshold."""
    best = scores.argmax(axis=1)
    confident = scores.max(axis=1) >= threshold
    return [intents[i] if ok else OUT_OF_SCOPE for i, ok in zip(best, confident, strict=True)]


def in_scope_accuracy(gold: list[str], predicted: list[str]) -> float:
    """Share of in-scope rows given their own intent."""
    hits = [p == g for g, p in zip(gold, predicted, strict=True) if not is_oos(g)]
    return float(np.mean(hits)) if hits else 0.0


def oos_recall(gold: list[str], predicted: list[str]) -> float:
    """Share of out-of-scope rows recognised as such."""
    hits = [is_oos(p) for g, p in zip(gold, predicted, strict=True) if is_oos(g)]
    return float(np.mean(hits)) if hits else 0.0


def tune_threshold(
    model: EmbeddedNlu,
    texts: list[str],
    gold: list[str],
    *,
    budget: float = IN_SCOPE_BUDGET,
    scores: np.ndarray | None = None,
) -> float:
    """The highest threshold that costs at most `budget` of validation in-scope accuracy.

    A support bot that misreads a real request does more harm than one that chats about the weather,
    so out-of-scope recall is bought only with a bounded loss of in-scope accuracy.
    """
    if not any(is_oos(label) for label in gold):
        return 0.0
    if scores is None:
        scores = model.probabilities(texts)
    best_accuracy = in_scope_accuracy(gold, _decisions(scores, model.intents, 0.0))
    chosen = 0.0
    for candidate in np.arange(0.01, 1.0, 0.01):
        # In-scope accuracy only falls as the threshold rises: stop at the first step over budget.
        if in_scope_accuracy(gold, _decisions(scores, model.intents, candidate)) < best_accuracy - budget:
            break
        chosen = float(candidate)
    return round(chosen, 2)


def _trade_off(
    model: EmbeddedNlu, val: tuple[list[str], list[str]], test: tuple[list[str], list[str]]
) -> list[dict[str, float]]:
    """Test in-scope accuracy and oos recall for thresholds tuned on val under several budgets."""
    val_scores = model.probabilities(val[0])
    test_scores = model.probabilities(test[0])
    rows = []
    for budget in TRADE_OFF_BUDGETS:
        threshold = tune_threshold(model, val[0], val[1], budget=budget, scores=val_scores)
        predicted = _decisions(test_scores, model.intents, threshold)
        rows.append(
            {
                "budget": budget,
                "threshold": threshold,
                "accuracy": round(in_scope_accuracy(test[1], predicted), 4),
                "oos_recall": round(oos_recall(test[1], predicted), 4),
            }
        )
    return rows


def _latencies(model: EmbeddedNlu, texts: list[str]) -> list[float]:
    """Milliseconds per single `parse_sync` call, the way the bot parses messages."""
    model.parse_sync(texts[0])  # warm-up
    timings = []
    for text in texts[:LATENCY_SAMPLE]:
        start = time.perf_counter()
        model.parse_sync(text)
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def run_benchmark(
    train_csv: Path, test_csv: Path, val_csv: Path | None = None, *, embeddings: bool | None = None
) -> dict[str, Any]:
    """Train on `train_csv`, tune the oos threshold on `val_csv` if given, and score on `test_csv`.

    `embeddings` picks the engine as `EmbeddedNlu.train` does (None: SUPPORTBOT_NLU_EMBEDDINGS).
    """
    train_texts, train_intents = read_csv(train_csv)
    test_texts, test_intents = read_csv(test_csv)
    start = time.perf_counter()
    model = EmbeddedNlu.from_texts(train_texts, train_intents, oos_threshold=0.0, embeddings=embeddings)
    train_seconds = time.perf_counter() - start
    trade_off: list[dict[str, float]] | None = None
    if val_csv is not None:
        val_texts, val_intents = read_csv(val_csv)
        model.threshold = tune_threshold(model, val_texts, val_intents)
        if any(is_oos(label) for label in val_intents):
            trade_off = _trade_off(model, (val_texts, val_intents), (test_texts, test_intents))
    predicted = [name for name, _ in model.predict(test_texts)]
    oos_label = next((g for g in test_intents if is_oos(g)), OUT_OF_SCOPE)
    predicted = [oos_label if is_oos(p) else p for p in predicted]
    has_in_scope = any(not is_oos(label) for label in test_intents)
    has_oos = any(is_oos(label) for label in test_intents)
    timings = _latencies(model, test_texts)
    return {
        "engine": model.engine,
        "accuracy": round(in_scope_accuracy(test_intents, predicted), 4) if has_in_scope else None,
        "macro_f1": round(
            float(f1_score(test_intents, predicted, average="macro", labels=sorted(set(test_intents)))), 4
        ),
        "oos_recall": round(oos_recall(test_intents, predicted), 4) if has_oos else None,
        "train_seconds": round(train_seconds, 2),
        "parse_ms_p50": round(float(np.percentile(timings, 50)), 3),
        "parse_ms_p99": round(float(np.percentile(timings, 99)), 3),
        "n_train": len(train_texts),
        "n_test": len(test_texts),
        "n_test_oos": sum(is_oos(label) for label in test_intents),
        "threshold": round(model.threshold, 4),
        **({"oos_trade_off": trade_off} if trade_off is not None else {}),
    }
