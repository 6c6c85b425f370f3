"""A Rasa 3.6 server of our own: for `supportbot nlu benchmark --engine rasa`, the tests and bench/.

supportbot never imports rasa: this finds the `rasa` executable of its own Python 3.10 venv, trains
a model, serves it and measures it over HTTP, and makes sure no Rasa process outlives its parent.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

log = logging.getLogger(__name__)

# Rasa's own chatter off: no telemetry prompt or calls, no TensorFlow banners, no SQLAlchemy 2.0 notice.
RASA_ENV = {
    "RASA_TELEMETRY_ENABLED": "false",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "PYTHONWARNINGS": "ignore::DeprecationWarning",
}


def find_rasa(explicit: Path | str | None = None) -> Path | None:
    """The `rasa` executable: `explicit`, else `.venv-rasa/bin/rasa` here or in the checkout, else PATH."""
    if explicit:
        return Path(explicit)
    from nlu import NLU_DIR

    for root in (Path.cwd(), NLU_DIR.parent):
        candidate = root / ".venv-rasa" / "bin" / "rasa"
        if candidate.exists():
            return candidate
    found = shutil.which("rasa")
    return Path(found) if found else None


def rasa_environment() -> dict[str, str]:
    return {**os.environ, **RASA_ENV}


def _die_with_parent() -> None:
    """Run in the child before exec: on Linux, SIGTERM it when the process that started it dies,
    so a killed test run or benchmark never leaves a Rasa process (about 1 GB) behind."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def train_nlu_model(
    rasa: Path, *, nlu: Path, config: Path, out: Path, name: str, domain: Path | None = None, log: Path
) -> Path:
    """`rasa train nlu` in a child process; the path of the model it wrote (`out/name.tar.gz`)."""
    command = [str(rasa), "train", "nlu", "--nlu", str(nlu), "--config", str(config)]
    command += ["--out", str(out), "--fixed-model-name", name]
    if domain is not None:
        command += ["--domain", str(domain)]
    # Rasa's training cache would land in ./.rasa; keep it beside the model instead.
    env = {"RASA_CACHE_DIRECTORY": str(out / ".rasa-cache"), **rasa_environment()}
    with log.open("ab") as stream:
        done = subprocess.run(
            command, stdout=stream, stderr=subprocess.STDOUT, env=env, preexec_fn=_die_with_parent
        )
    model = out / f"{name}.tar.gz"
    if done.returncode != 0 or not model.exists():
        raise RuntimeError(f"rasa train nlu failed (exit {done.returncode}); see {log}:\n{_tail(log)}")
    return model


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class RasaServer:
    """`rasa run --enable-api` serving `model` on a free loopback port, as a child process.

    Use as a context manager, or `start()` / `stop()`. `url` is its base URL once started.
    """

    def __init__(
        self,
        rasa: Path,
        model: Path,
        *,
        port: int | None = None,
        log: Path | None = None,
        workdir: Path | None = None,
    ) -> None:
        self.rasa = Path(rasa).absolute()
        self.model = Path(model).resolve()
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Its working folder: models trained through its API land in `models/` there.
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="rasa-server-"))
        self.log = (log or self.workdir / "rasa.log").absolute()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 300.0) -> RasaServer:
        """Start the server and wait until its model is loaded (`GET /status` answers 200)."""
        command = [str(self.rasa), "run", "--enable-api", "-i", "127.0.0.1", "-p", str(self.port)]
        command += ["-m", str(self.model)]
        with self.log.open("ab") as stream:
            self.process = subprocess.Popen(
                command,
                cwd=self.workdir,
                stdout=stream,
                stderr=subprocess.STDOUT,
                env=rasa_environment(),
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"rasa run exited with {self.process.returncode}; see {self.log}:\n{_tail(self.log)}"
                )
            try:
                if httpx.get(f"{self.url}/status", timeout=2.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"rasa run did not load {self.model} within {timeout:.0f}s; see {self.log}")

    def stop(self) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after 20 s) and wait for it."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def rss_mb(self) -> float | None:
        """Resident memory of the server process in MiB (Linux), None when unknown."""
        return process_rss_mb(self.pid) if self.pid else None

    def __enter__(self) -> RasaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def process_rss_mb(pid: int) -> float | None:
    """VmRSS of a process from /proc, in MiB; None where /proc is not there."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError):
        return None
    return None


# -- `supportbot nlu benchmark --engine rasa` ------------------------------------------------------


def csv_to_rasa_yaml(texts: list[str], intents: list[str]) -> str:
    """Rasa 3.x NLU training data for (text, intent) pairs, intents in first-seen order."""
    by_intent: dict[str, list[str]] = {}
    for text, intent in zip(texts, intents, strict=True):
        line = " ".join(str(text).split())
        if line and intent:
            by_intent.setdefault(intent, []).append(line)
    blocks = []
    for intent, examples in by_intent.items():
        body = "".join(f"    - {example}\n" for example in dict.fromkeys(examples))
        blocks.append(f"- intent: {json.dumps(intent)}\n  examples: |\n{body}")
    return 'version: "3.1"\nnlu:\n' + "".join(blocks)


def _wait_for_model(client: httpx.Client, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if client.get("/status").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the Rasa server did not load the new model within {timeout:.0f}s")


def train_on_server(url: str, nlu_yaml: str, config: Path, *, timeout: float = 3600.0) -> str:
    """Train through a running server (`POST /model/train`) and load the model it made (`PUT /model`).

    This replaces the model that server serves: only for a server you run for benchmarking.
    """
    intents = sorted({str(m) for m in re.findall(r"^- intent: (.+)$", nlu_yaml, re.M)})
    domain = "intents:\n" + "".join(f"  - {name}\n" for name in intents)
    nlu_part = nlu_yaml.split("\n", 1)[1]  # without its `version:` line
    payload = f'version: "3.1"\n{config.read_text()}\n{domain}\n{nlu_part}'
    with httpx.Client(base_url=url.rstrip("/"), timeout=timeout) as client:
        response = client.post(
            "/model/train",
            content=payload.encode("utf-8"),
            headers={"Content-Type": "application/yaml"},
            params={"save_to_default_model_directory": "true", "force_training": "true"},
        )
        if response.status_code != 200 or "filename" not in response.headers:
            raise RuntimeError(f"{url}/model/train: HTTP {response.status_code}: {response.text[:300]}")
        model_file = f"models/{response.headers['filename']}"
        loaded = client.put("/model", json={"model_file": model_file})
        if loaded.status_code not in (200, 204):
            raise RuntimeError(f"{url}/model: HTTP {loaded.status_code}: {loaded.text[:300]}")
        _wait_for_model(client, 120.0)
    return model_file


def run_rasa_benchmark(
    train_csv: Path,
    test_csv: Path,
    *,
    config: Path,
    rasa: Path | None = None,
    rasa_url: str | None = None,
    workdir: Path | None = None,
) -> dict[str, Any]:
    """The embedded benchmark's numbers for a Rasa model trained on `train_csv` with `config`.

    Without `rasa_url` it trains with `rasa train nlu` and starts `rasa run` on a free port;
    with it, it trains and loads the model through that server's API. Latency is one
    `POST /model/parse` per utterance over loopback HTTP (the way supportbot asks Rasa).
    Rasa has no threshold to tune: its FallbackClassifier (`nlu_fallback`) counts as out of scope.
    """
    from nlu.benchmark import LATENCY_SAMPLE, in_scope_accuracy, is_oos, oos_recall, read_csv

    train_texts, train_intents = read_csv(train_csv)
    test_texts, test_intents = read_csv(test_csv)
    nlu_yaml = csv_to_rasa_yaml(train_texts, train_intents)
    with tempfile.TemporaryDirectory(prefix="supportbot-rasa-bench-", dir=workdir) as tmp:
        folder = Path(tmp)
        (folder / "nlu.yml").write_text(nlu_yaml, encoding="utf-8")
        server: RasaServer | None = None
        started = time.perf_counter()
        if rasa_url:
            train_on_server(rasa_url, nlu_yaml, config)
            train_seconds = time.perf_counter() - started
            url = rasa_url.rstrip("/")
        else:
            if rasa is None or not rasa.exists():
                raise ValueError("no Rasa found: run `make rasa-venv` (builds .venv-rasa) or pass --rasa-bin")
            log_file = folder / "rasa.log"
            model = train_nlu_model(
                rasa, nlu=folder / "nlu.yml", config=config, out=folder, name="bench", log=log_file
            )
            train_seconds = time.perf_counter() - started
            server = RasaServer(rasa, model, log=log_file, workdir=folder).start()
            url = server.url
        try:
            predicted, timings = _parse_all(url, test_texts, LATENCY_SAMPLE)
            rss = server.rss_mb() if server else None
        except httpx.HTTPError as exc:
            raise RuntimeError(f"{url}/model/parse failed: {type(exc).__name__}: {exc}") from exc
        finally:
            if server is not None:
                server.stop()
    fallback_share = sum(p == "nlu_fallback" for p in predicted) / len(predicted)
    oos_label = next((g for g in test_intents if is_oos(g)), "out_of_scope")
    predicted = [oos_label if p == "nlu_fallback" or is_oos(p) else p for p in predicted]
    has_in_scope = any(not is_oos(label) for label in test_intents)
    has_oos = any(is_oos(label) for label in test_intents)
    from sklearn.metrics import f1_score

    labels = sorted(set(test_intents))
    return {
        "engine": "rasa",
        "accuracy": round(in_scope_accuracy(test_intents, predicted), 4) if has_in_scope else None,
        "macro_f1": round(float(f1_score(test_intents, predicted, average="macro", labels=labels)), 4),
        "oos_recall": round(oos_recall(test_intents, predicted), 4) if has_oos else None,
        "train_seconds": round(train_seconds, 2),
        "parse_ms_p50": round(_percentile(timings, 50), 3),
        "parse_ms_p99": round(_percentile(timings, 99), 3),
        "n_train": len(train_texts),
        "n_test": len(test_texts),
        "n_test_oos": sum(is_oos(label) for label in test_intents),
        "fallback_share": round(fallback_share, 4),
        "rasa_url": rasa_url,
        "rasa_rss_mb": rss,
    }


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _parse_all(url: str, texts: list[str], sample: int) -> tuple[list[str], list[float]]:
    """Each text's intent from the server, one request at a time; latencies of the first `sample`."""
    predicted: list[str] = []
    timings: list[float] = []
    with httpx.Client(base_url=url, timeout=30.0) as client:
        client.post("/model/parse", json={"text": texts[0]})  # warm-up
        for i, text in enumerate(texts):
            began = time.perf_counter()
            response = client.post("/model/parse", json={"text": text})
            elapsed = (time.perf_counter() - began) * 1000
            response.raise_for_status()
            if i < sample:
                timings.append(elapsed)
            predicted.append(str((response.json().get("intent") or {}).get("name") or "nlu_fallback"))
    return predicted, timings
