"""A client of a Rasa 3.6 server's HTTP API (`rasa run --enable-api`): `POST /model/parse`.

supportbot never imports rasa: Rasa runs as its own process (it needs Python 3.10) and this
client asks it. Every call is bounded: a timeout per attempt, one retry for a dropped
connection, and a circuit breaker that stops asking for `cooldown` seconds after a failure,
so a Rasa that is down costs one failed attempt, not one per message. The caller
(`nlu.backend`) answers from the embedded engine whenever this raises `RasaUnavailable`.
"""

from __future__ import annotations

import asyncio
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import Counter

# Standard logging, like the embedded engine: on stderr even where structlog is not configured
# (`supportbot nlu parse` prints its JSON on stdout).
log = logging.getLogger(__name__)

# Messages the embedded engine parsed because Rasa could not (reason: timeout, unreachable,
# bad_response, circuit_open).
FALLBACKS = Counter(
    "supportbot_nlu_fallbacks_total",
    "Messages parsed by the embedded NLU because the Rasa server did not answer",
    ["reason"],
)

DEFAULT_TIMEOUT = 2.0
DEFAULT_RETRIES = 1
DEFAULT_COOLDOWN = 30.0


class RasaUnavailable(RuntimeError):
    """The Rasa server gave no usable parse; `reason` is the label counted in /metrics."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class RasaClient:
    """`await client.parse(text)` returns the Rasa server's parse dict exactly as it sent it."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        cooldown: float = DEFAULT_COOLDOWN,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"must start with http:// or https:// (got {base_url!r})")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = max(0, retries)
        self.cooldown = cooldown
        self.clock = clock
        self._open_until = 0.0  # while clock() < this, the breaker is open: Rasa is not asked
        self._tripped = False  # a failure opened the breaker and no call has succeeded since
        self._probing = False  # after the cooldown one call tries Rasa again (half-open)
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- the breaker -------------------------------------------------------------------------

    @property
    def state(self) -> str:
        """`closed` (Rasa is asked), `open` (skipped until the cooldown ends) or `half-open`."""
        if not self._tripped:
            return "closed"
        return "open" if self.clock() < self._open_until or self._probing else "half-open"

    def _admit(self) -> bool:
        """Whether this call may ask Rasa; after the cooldown only one call at a time does."""
        if not self._tripped:
            return True
        if self.clock() < self._open_until or self._probing:
            return False
        self._probing = True
        return True

    def _failed(self, error: RasaUnavailable) -> None:
        if not self._tripped:
            log.error(
                "rasa_unavailable url=%s reason=%s error=%r retry_in_seconds=%s",
                self.base_url,
                error.reason,
                error.detail,
                self.cooldown,
            )
        self._tripped = True
        self._probing = False
        self._open_until = self.clock() + self.cooldown

    def _succeeded(self) -> None:
        if self._tripped:
            log.warning("rasa_recovered url=%s", self.base_url)
        self._tripped = False
        self._probing = False
        self._open_until = 0.0

    # -- HTTP --------------------------------------------------------------------------------

    def _http(self) -> httpx.AsyncClient:
        """One pooled client per event loop (a CLI command may run several loops, tests one each)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop or self._client.is_closed:
            self._client = httpx.AsyncClient(
                base_url=self.base_url,
                timeout=httpx.Timeout(self.timeout),
                limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
                headers={"Accept": "application/json"},
            )
            self._loop = loop
        return self._client

    async def aclose(self) -> None:
        """Close the connection pool (it is reopened by the next call)."""
        client, self._client, self._loop = self._client, None, None
        if client is not None and not client.is_closed:
            try:
                await client.aclose()
            except RuntimeError:  # its event loop has already gone
                pass

    async def _post_parse(self, text: str) -> dict[str, Any]:
        try:
            # httpx bounds each phase (connect, write, read); this bounds the whole request.
            async with asyncio.timeout(self.timeout):
                response = await self._http().post("/model/parse", json={"text": text})
        except (httpx.TimeoutException, TimeoutError) as exc:
            raise RasaUnavailable(
                "timeout", f"no answer within {self.timeout}s ({type(exc).__name__})"
            ) from exc
        except httpx.HTTPError as exc:
            raise RasaUnavailable("unreachable", f"{type(exc).__name__}: {exc}") from exc
        if response.status_code != 200:
            raise RasaUnavailable("bad_response", f"HTTP {response.status_code}: {response.text[:200]}")
        try:
            parse = response.json()
        except ValueError as exc:
            raise RasaUnavailable("bad_response", "the answer is not JSON") from exc
        if not isinstance(parse, dict) or not isinstance(parse.get("intent"), dict):
            raise RasaUnavailable("bad_response", "the answer has no intent")
        return parse

    async def parse(self, text: str) -> dict[str, Any]:
        """Rasa's parse of `text`, unchanged; raises `RasaUnavailable` instead of waiting longer.

        A refused or dropped connection and a 5xx answer are retried `retries` times (an idle
        keep-alive connection the server closed is the usual cause); a timeout is not, since
        the customer is already waiting: worst case one `timeout`, then the breaker opens.
        """
        if not self._admit():
            raise RasaUnavailable("circuit_open", f"skipping Rasa for {self.cooldown:.0f}s after a failure")
        attempt = 0
        while True:
            try:
                parse = await self._post_parse(text)
            except RasaUnavailable as error:
                retryable = error.reason == "unreachable" or error.detail.startswith("HTTP 5")
                if retryable and attempt < self.retries:
                    attempt += 1
                    continue
                self._failed(error)
                raise
            except BaseException:
                # Cancelled (the customer's request went away): the trial call is over, Rasa untested.
                self._probing = False
                raise
            self._succeeded()
            return parse


# -- a Rasa server of our own: for `supportbot nlu benchmark --engine rasa`, tests and bench/ ------

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
    from nlu.benchmark import LATENCY_SAMPLE, _in_scope_accuracy, _is_oos, _oos_recall, read_csv

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
    oos_label = next((g for g in test_intents if _is_oos(g)), "out_of_scope")
    predicted = [oos_label if p == "nlu_fallback" or _is_oos(p) else p for p in predicted]
    has_in_scope = any(not _is_oos(label) for label in test_intents)
    has_oos = any(_is_oos(label) for label in test_intents)
    from sklearn.metrics import f1_score

    labels = sorted(set(test_intents))
    return {
        "engine": "rasa",
        "accuracy": round(_in_scope_accuracy(test_intents, predicted), 4) if has_in_scope else None,
        "macro_f1": round(float(f1_score(test_intents, predicted, average="macro", labels=labels)), 4),
        "oos_recall": round(_oos_recall(test_intents, predicted), 4) if has_oos else None,
        "train_seconds": round(train_seconds, 2),
        "parse_ms_p50": round(_percentile(timings, 50), 3),
        "parse_ms_p99": round(_percentile(timings, 99), 3),
        "n_train": len(train_texts),
        "n_test": len(test_texts),
        "n_test_oos": sum(_is_oos(label) for label in test_intents),
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
